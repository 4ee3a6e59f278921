import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliJson } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';

const database = useTestDatabase('import');
const env = () => ({ DATABASE_URL: database.current.url, REBILL_OPERATOR: 'migration-bot' });

const HEADER = 'email,first_name,last_name,country,interval,amount,currency,quickpay_id,timezone,product,first_paid_at,renewals_paid';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebill-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function csvFile(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** A valid row in HEADER's column order: incomplete, or active when `firstPaidAt` is given. */
function row(n: number, over: Partial<Record<'email' | 'interval' | 'amount' | 'country' | 'firstPaidAt' | 'renewalsPaid', string>> = {}): string {
  return [
    over.email ?? `subscriber${n}@example.com`,
    `First${n}`,
    'Imported',
    over.country ?? 'DE',
    over.interval ?? 'month',
    over.amount ?? '12.50',
    'EUR',
    `tok-${n}`,
    'Europe/Berlin',
    '',
    over.firstPaidAt ?? '',
    over.renewalsPaid ?? '',
  ].join(',');
}

async function counts() {
  const { rows } = await sql<{ subscriptions: number; events: number; jobs: number }>`
    select (select count(*)::int from subscriptions) as subscriptions,
           (select count(*)::int from events) as events,
           (select count(*)::int from pgboss.job where name = 'charge-renewal') as jobs`.execute(database.current.db);
  return rows[0]!;
}

async function subscriptionByEmail(email: string) {
  return database.current.db.selectFrom('subscriptions').selectAll().where('customer_email', '=', email).executeTakeFirstOrThrow();
}

describe('rebill import', () => {
  it('imports a mixed file: incomplete rows due at once, paid rows active on their calendar', async () => {
    // Columns in a different order from the documentation, CRLF line ends, an Excel byte order mark,
    // and quoted fields holding commas, doubled quotes and a line break.
    const path = await csvFile(
      'mixed.csv',
      '\uFEFF' +
        [
          'quickpay_id,email,first_name,last_name,country,interval,amount,currency,timezone,product,first_paid_at,renewals_paid',
          'tok-ada,ada@example.com,Ada,"Lovelace, Countess",GB,month,9.99,GBP,Europe/London,,,',
          'tok-grace,grace@example.com,Grace,Hopper,US,month,19.00,USD,America/New_York,"The ""Pro"" plan, monthly",2026-01-31T09:00:00,3',
          'tok-alan,alan@example.com,Alan,Turing,GB,year,120,GBP,,"Yearly, billed in advance",2025-02-28T12:00:00Z,',
          'tok-kenji,kenji@example.com,Kenji,Sato,JP,week,1000,JPY,Asia/Tokyo,,,',
        ].join('\r\n') +
        '\r\n',
    );
    const before = await counts();
    const result = await runCli(['import', '--csv', path, '--reason', 'migration from Chargebee', '--json'], env());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ imported: 4, incomplete: 2, active: 2, dry_run: false, seconds: expect.any(Number) });
    // The scheduler's short queue picks the first charges up; no job flood from an import.
    expect(await counts()).toEqual({ subscriptions: before.subscriptions + 4, events: before.events + 4, jobs: before.jobs });

    const grace = await subscriptionByEmail('grace@example.com');
    const shown = await runCliJson<Record<string, unknown> & { events: Record<string, unknown>[] }>(['show', grace.id], env());
    expect(shown).toMatchObject({
      status: 'active',
      product: 'The "Pro" plan, monthly',
      amount: '19.00',
      currency: 'USD',
      anchor_at: '2026-01-31T09:00:00.000-05:00',
      renewals_paid: 3,
      next_period: 4,
      next_service_mode: 'M3',
      next_renewal_at: '2026-05-31T09:00:00.000-04:00',
    });
    expect(shown.events).toEqual([
      expect.objectContaining({ type: 'enrolled', actor: 'operator:migration-bot', reason: 'migration from Chargebee' }),
    ]);

    const alan = await subscriptionByEmail('alan@example.com');
    expect(alan).toMatchObject({
      status: 'active',
      customer_last_name: 'Turing',
      timezone: 'UTC',
      product_name: 'Yearly, billed in advance',
      next_period: 1,
      next_renewal_at: new Date('2026-02-28T12:00:00Z'),
    });

    const ada = await subscriptionByEmail('ada@example.com');
    const kenji = await subscriptionByEmail('kenji@example.com');
    expect(ada).toMatchObject({ status: 'incomplete', customer_last_name: 'Lovelace, Countess', next_period: 0, product_name: 'Monthly subscription' });
    expect(kenji).toMatchObject({ status: 'incomplete', amount_minor: 1000, currency: 'JPY', interval: 'week' });
    for (const incomplete of [ada, kenji]) {
      expect(incomplete.enqueued_at).toBeNull();
      expect(incomplete.next_renewal_at).toEqual(incomplete.anchor_at);
      expect(incomplete.next_attempt_at!.getTime()).toBeLessThanOrEqual(Date.now());
    }

    const events = await database.current.db.selectFrom('events').selectAll().where('subscription_id', 'in', [ada.id, kenji.id, grace.id, alan.id]).execute();
    expect(events.map((e) => [e.type, e.actor, e.reason])).toEqual(Array(4).fill(['enrolled', 'operator:migration-bot', 'migration from Chargebee']));
  });

  it('writes the same subscription and event as `rebill enrol` for the same values', async () => {
    const values = { email: 'twin@example.com', firstPaidAt: '2026-03-15T10:00:00', renewalsPaid: '2' };
    const path = await csvFile('twin.csv', `${HEADER}\n${row(1, values)}\n`);
    await runCliJson(['import', '--csv', path], env());
    // The same e-mail, card token and plan as the imported row: a second one only when asked for.
    const enrolled = await runCliJson<{ id: string }>(
      ['enrol', '--allow-duplicate', '--email', 'twin@example.com', '--first-name', 'First1', '--last-name', 'Imported', '--country', 'DE', '--interval', 'month',
        '--amount', '12.50', '--currency', 'EUR', '--quickpay-id', 'tok-1', '--timezone', 'Europe/Berlin',
        '--first-paid-at', values.firstPaidAt, '--renewals-paid', values.renewalsPaid],
      env(),
    );
    const twins = await database.current.db.selectFrom('subscriptions').selectAll().where('customer_email', '=', 'twin@example.com').execute();
    expect(twins).toHaveLength(2);
    const imported = twins.find((t) => t.id !== enrolled.id)!;
    const comparable = ({ id: _id, created_at: _c, updated_at: _u, payment_method_id: _m, ...rest }: (typeof twins)[number]) => rest;
    expect(comparable(imported)).toEqual(comparable(twins.find((t) => t.id === enrolled.id)!));
    // Each has a payment method of its own holding the same token.
    const methods = await database.current.db.selectFrom('payment_methods').select(['subscription_id', 'provider', 'token', 'status']).where('subscription_id', 'in', twins.map((t) => t.id)).execute();
    expect(methods).toHaveLength(2);
    expect(methods.map((m) => [m.provider, m.token, m.status])).toEqual([methods[0], methods[0]].map((m) => [m!.provider, m!.token, m!.status]));
    const events = await database.current.db.selectFrom('events').select(['subscription_id', 'type', 'data']).where('subscription_id', 'in', twins.map((t) => t.id)).execute();
    expect(events).toHaveLength(2);
    expect(events[0]!.data).toEqual(events[1]!.data);
  });

  it('reports every bad row with its line number, near the end too, and writes nothing', async () => {
    const lines = [HEADER, row(1)];
    lines.push(row(2, { email: 'not-an-address', country: 'XX' })); // line 3: two problems
    lines.push(row(3).replace(',,', ',"Two-line\nproduct",')); // lines 4-5: one record, refused for its line break
    lines.push(row(4, { interval: 'fortnight' })); // line 6
    lines.push('short@example.com,Short,Row,DE'); // line 7
    lines.push(row(5, { renewalsPaid: '2' })); // line 8: renewals without a first purchase
    for (let n = 6; lines.length < 2998; n++) lines.push(row(n, n % 3 ? {} : { firstPaidAt: '2026-06-01T08:00:00' }));
    lines.push(row(9999, { amount: '0' })); // line 3000, the last record
    const path = await csvFile('bad-rows.csv', `${lines.join('\n')}\n`);
    const before = await counts();

    const text = await runCli(['import', '--csv', path], env());
    expect(text.code).toBe(2);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/6 of 2,998 rows in .*bad-rows\.csv have problems; nothing was imported/);
    expect(text.stderr).toMatch(/^  line 3, column email: e-mail "not-an-address" is not a valid address/m);
    expect(text.stderr).toMatch(/^  line 3, column country: country "XX" is not an ISO 3166/m);
    expect(text.stderr).toMatch(/^  line 4, column product: product name contains a control character \(U\+000A\) at position 9$/m);
    expect(text.stderr).toMatch(/^  line 6, column interval: interval "fortnight" is not one of week, month, quarter, half-year, year/m);
    expect(text.stderr).toMatch(/^  line 7: has 4 fields, the header has 12/m);
    expect(text.stderr).toMatch(/^  line 8, column renewals_paid: renewals_paid needs first_paid_at/m);
    expect(text.stderr).toMatch(/^  line 3000, column amount: amount must be greater than zero/m);

    const json = await runCli(['import', '--csv', path, '--json'], env());
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as { errors: { line: number; problems: { column: string | null; message: string }[] }[]; invalid_rows: number; rows: number };
    expect(report.errors.map((e) => e.line)).toEqual([3, 4, 6, 7, 8, 3000]);
    expect(report.errors[0]!.problems.map((p) => p.column)).toEqual(['email', 'country']);
    expect(report.errors[3]!.problems).toEqual([{ column: null, message: 'has 4 fields, the header has 12' }]);
    expect(report).toMatchObject({ invalid_rows: 6, rows: 2998, errors_not_shown: 0 });
    expect(await counts()).toEqual(before);
  });

  it('refuses to import the same file twice: the second import names each line and writes nothing, dry run alike', async () => {
    const header = `${HEADER},external_id`;
    const path = await csvFile(
      'twice.csv',
      [header, `${row(50101)},shop-101`, `${row(50102)},shop-102`, `${row(50103)},`].join('\n') + '\n',
    );
    const first = await runCliJson<{ imported: number }>(['import', '--csv', path], env());
    expect(first.imported).toBe(3);
    const ids = Object.fromEntries(
      (await database.current.db.selectFrom('subscriptions').select(['customer_email', 'id']).where('customer_email', 'in', ['subscriber50101@example.com', 'subscriber50102@example.com', 'subscriber50103@example.com']).execute())
        .map((s) => [s.customer_email, s.id]),
    );
    const before = await counts();

    for (const dryRun of [[], ['--dry-run']]) {
      const again = await runCli(['import', '--csv', path, ...dryRun], env());
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/3 of 3 rows in .*twice\.csv have problems; nothing was imported/);
      expect(again.stderr).toContain(`  line 2, column external_id: external id "shop-101" is already subscription ${ids['subscriber50101@example.com']}\n`);
      expect(again.stderr).toContain(`  line 3, column external_id: external id "shop-102" is already subscription ${ids['subscriber50102@example.com']}\n`);
      expect(again.stderr).toContain(
        `  line 4: same e-mail, card token and plan as live subscription ${ids['subscriber50103@example.com']} (subscriber50103@example.com, 12.50 EUR every month): pass --allow-duplicate`,
      );
    }
    // --allow-duplicate lets the row without an external id through, never a used external id.
    const allowed = await runCli(['import', '--csv', path, '--allow-duplicate', '--json'], env());
    expect(allowed.code).toBe(2);
    expect(JSON.parse(allowed.stdout).errors.map((e: { line: number }) => e.line)).toEqual([2, 3]);
    expect(await counts()).toEqual(before);
  });

  it('reports duplicates within one file by line, naming both lines, before writing anything', async () => {
    const header = `${HEADER},external_id`;
    const lines = [
      header,
      `${row(50201)},shop-201`, // line 2
      `${row(50202)},shop-202`, // line 3
      `${row(50203)},shop-201`, // line 4: the external id of line 2
      `${row(50204)},`, // line 5
      `${row(50204, { email: 'SUBSCRIBER50204@example.com' })},`, // line 6: line 5 again, the e-mail in capitals
      `${row(50204, { amount: '99.00' })},`, // line 7: another plan, so another purchase
    ];
    const path = await csvFile('repeats.csv', `${lines.join('\n')}\n`);
    const before = await counts();
    for (const dryRun of [[], ['--dry-run']]) {
      const result = await runCli(['import', '--csv', path, ...dryRun], env());
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/2 of 6 rows in .*repeats\.csv have problems/);
      expect(result.stderr).toContain('  line 4, column external_id: external id "shop-201" is also on line 2: each subscription needs its own\n');
      expect(result.stderr).toContain('  line 6: same e-mail, card token and plan as line 5 (SUBSCRIBER50204@example.com, 12.50 EUR every month): pass --allow-duplicate');
    }
    const allowed = await runCli(['import', '--csv', path, '--allow-duplicate', '--json'], env());
    expect(allowed.code).toBe(2);
    expect(JSON.parse(allowed.stdout).errors).toEqual([
      { line: 4, problems: [{ column: 'external_id', message: 'external id "shop-201" is also on line 2: each subscription needs its own' }] },
    ]);
    expect(await counts()).toEqual(before);
  });

  it('refuses NUL, ESC and BEL in cells by line and column, in the dry run as in the import, and writes nothing', async () => {
    const lines = [HEADER, row(50301), row(50302).replace('First50302', 'Fi\0rst'), row(50303).replace('Imported', 'Imp\x1b[31m'), row(50304).replace(',month,', ',month\x07,')];
    const path = await csvFile('control.csv', `${lines.join('\n')}\n`);
    const before = await counts();
    for (const dryRun of [['--dry-run'], []]) {
      const result = await runCli(['import', '--csv', path, ...dryRun], env());
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('  line 3, column first_name: first name contains a control character (U+0000) at position 3\n');
      expect(result.stderr).toContain('  line 4, column last_name: last name contains a control character (U+001B) at position 4\n');
      expect(result.stderr).toContain('  line 5, column interval: interval contains a control character (U+0007) at position 6\n');
      expect(result.stderr).not.toMatch(/invalid byte sequence|[\x00\x07\x1b]/);
    }
    expect(await counts()).toEqual(before);
  });

  it('shows the first 100 bad rows in detail and counts the rest', async () => {
    const lines = [HEADER];
    for (let n = 1; n <= 150; n++) lines.push(row(n, { email: `bad-${n}` }));
    const path = await csvFile('many-bad.csv', `${lines.join('\n')}\n`);
    const result = await runCli(['import', '--csv', path, '--json'], env());
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as { errors: { line: number }[] };
    expect(report).toMatchObject({ invalid_rows: 150, errors_not_shown: 50 });
    expect(report.errors).toHaveLength(100);
    expect(report.errors.at(-1)!.line).toBe(101);
    const text = await runCli(['import', '--csv', path], env());
    expect(text.stderr).toMatch(/\.\.\. and 50 more bad rows/);
  });

  it('--dry-run checks and counts, and writes nothing', async () => {
    const lines = [HEADER];
    for (let n = 1; n <= 30; n++) lines.push(row(n, n <= 12 ? { firstPaidAt: '2026-02-01T08:00:00' } : {}));
    const path = await csvFile('dry-run.csv', `${lines.join('\n')}\n`);
    const before = await counts();
    const report = await runCliJson(['import', '--csv', path, '--dry-run'], env());
    expect(report).toMatchObject({ imported: 0, rows: 30, incomplete: 18, active: 12, dry_run: true });
    const text = await runCli(['import', '--csv', path, '--dry-run'], env());
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Dry run: all 30 rows of .*dry-run\.csv are valid; nothing was written/);
    expect(text.stdout).toMatch(/18 would be incomplete/);
    expect(text.stdout).toMatch(/12 would be active/);
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['an unknown column', `${HEADER},colour,Notes\n${row(1)},red,x\n`, /line 1: unknown columns "colour", "Notes": the columns are email, first_name/],
    ['missing required columns', `email,first_name,last_name,country,interval,currency\nx@example.com,A,B,DE,month,EUR\n`, /line 1: missing required columns "amount", "quickpay_id"/],
    ['a repeated column', `${HEADER},email\n${row(1)},y@example.com\n`, /line 1: column "email" appears twice \(columns 1 and 13\)/],
    ['an empty file', '', /line 1: the file is empty: its first line must name the columns/],
    ['a file with only blank lines', '\r\n\r\n', /line 1: the file is empty/],
    ['a header without rows', `${HEADER}\r\n`, /line 1: there are no rows after the header/],
    ['a quote never closed', `${HEADER}\n${row(1)}\n${row(2).replace('First2', '"First2')}\n${row(3)}\n`, /line 3: the quote opened in field 2 is never closed/],
    ['text that is not UTF-8', Buffer.concat([Buffer.from(`${HEADER}\n${row(1)}\n`), Buffer.from('j\xf6rg@example.com,J\xf6rg', 'latin1')]), /line 3: the file is not UTF-8 text/],
  ])('refuses %s with a clear message (exit 2) and writes nothing', async (_name, content, message) => {
    const path = await csvFile('refused.csv', content);
    const before = await counts();
    const result = await runCli(['import', '--csv', path], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    const json = await runCli(['import', '--csv', path, '--json'], env());
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).errors.length).toBeGreaterThan(0);
    expect(await counts()).toEqual(before);
  });

  it('says so when the file is missing (exit 1) or --csv is not given (exit 2)', async () => {
    const missing = await runCli(['import', '--csv', join(dir, 'nowhere.csv')], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file: .*nowhere\.csv/);
    const directory = await runCli(['import', '--csv', dir], env());
    expect(directory.code).toBe(1);
    expect(directory.stderr).toMatch(/is not a file/);
    const noOption = await runCli(['import'], env());
    expect(noOption.code).toBe(2);
    expect(noOption.stderr).toMatch(/--csv is required/);
  });

  it('imports all or nothing: a database failure in a late chunk rolls back the earlier ones', async () => {
    // Stands in for any failure the checks cannot foresee (a constraint, a lost connection).
    await sql`
      create function refuse_marked_email() returns trigger language plpgsql as $$
      begin
        if new.customer_email = 'refused-by-database@example.com' then raise exception 'refused by the test'; end if;
        return new;
      end $$`.execute(database.current.db);
    await sql`create trigger refuse_marked_email before insert on subscriptions for each row execute function refuse_marked_email()`.execute(database.current.db);
    try {
      const lines = [HEADER];
      for (let n = 1; n <= 2500; n++) lines.push(row(n));
      lines.push(row(2501, { email: 'refused-by-database@example.com' }));
      const path = await csvFile('late-failure.csv', `${lines.join('\n')}\n`);
      const before = await counts();
      const result = await runCli(['import', '--csv', path], env());
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/refused by the test/);
      expect(await counts()).toEqual(before);
    } finally {
      await sql`drop trigger refuse_marked_email on subscriptions`.execute(database.current.db);
      await sql`drop function refuse_marked_email()`.execute(database.current.db);
    }
  });

  it('imports 20,000 rows in chunks, with plain progress lines when stderr is not a terminal', async () => {
    const lines = [HEADER];
    for (let n = 1; n <= 20_000; n++) lines.push(row(n, n % 2 ? {} : { firstPaidAt: '2026-04-10T07:30:00', renewalsPaid: n % 4 ? '' : '1' }));
    const path = await csvFile('large.csv', `${lines.join('\n')}\n`);
    const before = await counts();
    const result = await runCli(['import', '--csv', path, '--reason', 'bulk'], env());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Imported 20,000 subscriptions from .*large\.csv in [\d.]+ s \([\d,]+ rows\/s\)/);
    expect(result.stdout).toMatch(/10,000 incomplete: their first purchase is due now/);
    expect(result.stdout).toMatch(/10,000 active/);
    expect(result.stderr).toMatch(/^import: checking 10%/m);
    expect(result.stderr).toMatch(/^import: importing 100%, 20,000\/20,000 rows/m);
    expect(result.stderr).not.toMatch(/\r/);
    expect(await counts()).toEqual({ subscriptions: before.subscriptions + 20_000, events: before.events + 20_000, jobs: before.jobs });
    const { rows } = await sql<{ status: string; n: number }>`
      select s.status, count(*)::int as n from subscriptions s join events e on e.subscription_id = s.id
      where e.reason = 'bulk' and e.type = 'enrolled' group by s.status order by s.status`.execute(database.current.db);
    expect(rows).toEqual([{ status: 'active', n: 10_000 }, { status: 'incomplete', n: 10_000 }]);
  });
});
