import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestDatabase } from '../support/database.ts';
import { runCli, runCliJson } from '../support/cli.ts';

const database = useTestDatabase('cli');
const env = () => ({ DATABASE_URL: database.current.url, REBILL_OPERATOR: 'support-alice' });

/** Ada's enrolment options, with a card token of its own each time (the same one twice would be a duplicate). */
function ada(): string[] {
  return [
    '--email', 'ada@example.com', '--first-name', 'Ada', '--last-name', 'Lovelace', '--country', 'GB',
    '--interval', 'month', '--amount', '9.99', '--currency', 'GBP', '--quickpay-id', randomUUID(),
  ];
}

async function counts() {
  const { rows } = await sql<{ subscriptions: number; events: number }>`
    select (select count(*)::int from subscriptions) as subscriptions, (select count(*)::int from events) as events`.execute(database.current.db);
  return rows[0]!;
}

function withOption(args: string[], name: string, value: string): string[] {
  const copy = [...args];
  copy[copy.indexOf(name) + 1] = value;
  return copy;
}

describe('rebill enrol', () => {
  it('without --first-paid-at: incomplete, first purchase due now', async () => {
    const before = Date.now();
    const sub = await runCliJson(['enrol', ...ada(), '--timezone', 'Europe/London'], env());
    expect(sub).toMatchObject({ status: 'incomplete', interval: 'month', amount: '9.99', currency: 'GBP', renewals_paid: 0, next_period: 0, next_service_mode: 'M1', timezone: 'Europe/London' });
    const next = Date.parse(sub.next_renewal_at as string);
    expect(next).toBeGreaterThanOrEqual(before - 1000);
    expect(next).toBeLessThanOrEqual(Date.now());
    const shown = await runCliJson<{ events: { type: string; actor: string }[] }>(['show', sub.id as string], env());
    expect(shown.events).toEqual([expect.objectContaining({ type: 'enrolled', actor: 'operator:support-alice' })]);
  });

  it('with --first-paid-at and --renewals-paid: active, next charge is the matching renewal (X3)', async () => {
    const sub = await runCliJson(
      ['enrol', ...ada(), '--timezone', 'America/New_York', '--first-paid-at', '2026-01-31T09:00:00', '--renewals-paid', '3'],
      env(),
    );
    expect(sub).toMatchObject({
      status: 'active',
      anchor_at: '2026-01-31T09:00:00.000-05:00',
      renewals_paid: 3,
      next_period: 4,
      next_service_mode: 'M3',
      next_renewal_at: '2026-05-31T09:00:00.000-04:00',
    });
  });

  it('with --first-paid-at only: the next charge is the first renewal (X2)', async () => {
    const sub = await runCliJson(['enrol', ...ada(), '--first-paid-at', '2026-10-31T12:00:00Z'], env());
    expect(sub).toMatchObject({ status: 'active', next_period: 1, next_service_mode: 'M2', next_renewal_at: '2026-11-30T12:00:00.000Z' });
  });

  it.each([
    ['a bad e-mail', withOption(ada(), '--email', 'ada.example.com'), /e-mail "ada.example.com" is not a valid address/],
    ['an unknown interval', withOption(ada(), '--interval', 'fortnight'), /interval "fortnight" is not one of week, month, quarter, half-year, year/],
    ['a 3-decimal currency', withOption(withOption(ada(), '--currency', 'KWD'), '--amount', '1.250'), /KWD has 3 decimal places/],
    ['an unknown time zone', [...ada(), '--timezone', 'Europe/Atlantis'], /time zone "Europe\/Atlantis" is not an IANA zone/],
    ['a malformed --first-paid-at', [...ada(), '--first-paid-at', '31/01/2026'], /first-paid-at "31\/01\/2026" is not an ISO 8601/],
    ['a future --first-paid-at', [...ada(), '--first-paid-at', '2999-01-01T00:00:00Z'], /is in the future/],
    ['a zero amount', withOption(ada(), '--amount', '0'), /greater than zero/],
    ['more renewals paid than have fallen due', [...ada(), '--first-paid-at', '2026-10-01T00:00:00Z', '--renewals-paid', '99'], /more than the \d+ renewal/],
    ['a missing option', ada().slice(2), /--email is required/],
    ['an unknown option', [...ada(), '--colour', 'red'], /Unknown option '--colour'/],
    // Addresses mail software delivers elsewhere (to bob, or to a@b.com).
    ['a list of two addresses', withOption(ada(), '--email', 'ada,bob@example.com'), /e-mail "ada,bob@example\.com" is not a valid address such as name@example\.com: it contains ","/],
    ['a list with a semicolon', withOption(ada(), '--email', 'ada;bob@example.com'), /e-mail "ada;bob@example\.com" is not a valid address.*it contains ";"/],
    ['an address with a comment', withOption(ada(), '--email', 'a(comment)@example.com'), /e-mail "a\(comment\)@example\.com" is not a valid address.*comments are not accepted/],
    ['a domain with an empty label', withOption(ada(), '--email', 'a@b..com'), /e-mail "a@b\.\.com" is not a valid address.*empty part/],
    ['an escape sequence in a name', withOption(ada(), '--first-name', 'Ada\x1b[2J'), /^error: first name contains a control character \(U\+001B\) at position 4$/m],
    ['a bell in the product name', [...ada(), '--product', 'Pro\x07'], /product name contains a control character \(U\+0007\) at position 4/],
    ['a malformed --external-id', [...ada(), '--external-id', 'shop 42'], /external id "shop 42" must be 1 to 100 characters: letters A-Z and a-z, digits and \. _ - : \/ # @ \+/],
    ['an unknown --collection', [...ada(), '--collection', 'cheque'], /collection method "cheque" is not one of card_token, payment_link/],
    ['a card token for a payment link', [...ada(), '--collection', 'payment_link'], /a payment_link subscription stores no card token: leave out the quickpay id/],
    ['a provider that cannot send payment links', [...ada(), '--collection', 'payment_link', '--provider', 'oceanpayment'], /provider "oceanpayment" cannot collect by payment_link: use --provider glocash/],
  ])('refuses %s with a message naming it, and writes nothing', async (_name, args, message) => {
    const before = await counts();
    const result = await runCli(['enrol', ...args], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(await counts()).toEqual(before);
  });
});

describe('rebill enrol --collection payment_link', () => {
  it('enrols a subscription collected by Glocash payment link, with no card token', async () => {
    const args = ada().slice(0, -2);
    const sub = await runCliJson(['enrol', ...args, '--collection', 'payment_link', '--provider', 'glocash'], env());
    expect(sub).toMatchObject({ status: 'incomplete', collection_method: 'payment_link', quickpay_id: null, payment_method: { provider: 'glocash', status: 'active' }, next_service_mode: null });
    const text = await runCli(['show', sub.id as string], env());
    expect(text.stdout).toContain('Collected by   payment link (glocash)');
    expect(await runCli(['enrol', ...args], env())).toMatchObject({ code: 2, stderr: expect.stringContaining('--quickpay-id is required (or --collection payment_link)') });
  });
});

describe('rebill enrol --checkout', () => {
  const grace = () => ada().slice(0, -2).map((v) => (v === 'ada@example.com' ? `grace-${randomUUID().slice(0, 8)}@example.com` : v));

  it('creates an incomplete subscription with no card and prints its checkout link (checkout_url in --json)', async () => {
    const sub = await runCliJson<{ id: string; status: string; quickpay_id: string | null; checkout_url: string; checkout_expires_at: string; checkout_sent: boolean }>(
      ['enrol', ...grace(), '--checkout'], { ...env(), REBILL_PUBLIC_URL: 'https://billing.shop.test', REBILL_CHECKOUT_TTL_HOURS: '24' },
    );
    expect(sub).toMatchObject({ status: 'incomplete', quickpay_id: null, checkout_sent: false });
    expect(sub.checkout_url).toMatch(/^https:\/\/billing\.shop\.test\/checkout\/[A-Za-z0-9_-]{43}$/);
    const hours = (Date.parse(sub.checkout_expires_at) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    const text = await runCli(['enrol', ...grace(), '--checkout', '--send'], env());
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Checkout link \(works until .*, e-mailed to the customer\):\n  http:\/\/localhost:8080\/checkout\/[A-Za-z0-9_-]{43}\n/);
    const id = /Subscription ([0-9a-f-]{36})/.exec(text.stdout)![1]!;
    const mails = await database.current.db.selectFrom('email_outbox').select(['kind', 'to_address']).where('subscription_id', '=', id).execute();
    expect(mails).toEqual([expect.objectContaining({ kind: 'checkout' })]);
  });

  it.each([
    ['--send without --checkout', [...ada(), '--send'], /--send e-mails a checkout link: it needs --checkout/],
    ['a token with --checkout', [...ada(), '--checkout'], /--quickpay-id cannot be used with --checkout/],
  ])('refuses %s (exit 2) and writes nothing', async (_name, args, message) => {
    const before = await counts();
    const result = await runCli(['enrol', ...args], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(await counts()).toEqual(before);
  });
});

describe('rebill card-link', () => {
  it('prints a single-purpose card-update link for a subscription with a card, and refuses one that has ended', async () => {
    const sub = await runCliJson<{ id: string }>(['enrol', ...ada()], { ...env(), REBILL_PUBLIC_URL: 'https://billing.shop.test' });
    const link = await runCliJson<{ subscription_id: string; card_url: string; expires_at: string }>(['card-link', sub.id], { ...env(), REBILL_PUBLIC_URL: 'https://billing.shop.test', REBILL_CARD_LINK_TTL_HOURS: '2' });
    expect(link.subscription_id).toBe(sub.id);
    expect(link.card_url).toMatch(/^https:\/\/billing\.shop\.test\/card\/[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(link.expires_at) - Date.now()).toBeLessThanOrEqual(2 * 3_600_000);
    await runCli(['cancel', sub.id], env());
    const refused = await runCli(['card-link', sub.id], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is canceled: nothing more is charged/);
    expect((await runCli(['card-link'], env())).code).toBe(2);
  });
});

describe('rebill portal-link', () => {
  it('prints a single-purpose self-service link, e-mails it with --send, and refuses a subscription that has ended', async () => {
    const sub = await runCliJson<{ id: string }>(['enrol', ...ada(), '--first-paid-at', '2026-01-05T10:00:00Z'], env());
    const link = await runCliJson<{ subscription_id: string; portal_url: string; expires_at: string; sent_to: string | null }>(['portal-link', sub.id], { ...env(), REBILL_PUBLIC_URL: 'https://billing.shop.test', REBILL_PORTAL_LINK_TTL_MINUTES: '15' });
    expect(link).toMatchObject({ subscription_id: sub.id, sent_to: null });
    expect(link.portal_url).toMatch(/^https:\/\/billing\.shop\.test\/account\/[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(link.expires_at) - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    const stored = await database.current.db.selectFrom('customer_links').select(['purpose', 'token_hash']).where('subscription_id', '=', sub.id).execute();
    expect(stored).toEqual([expect.objectContaining({ purpose: 'portal' })]);
    expect(stored[0]!.token_hash.toString('utf8')).not.toContain(link.portal_url.split('/').pop());

    const sent = await runCliJson<{ portal_url: string; sent_to: string }>(['portal-link', sub.id, '--send'], env());
    expect(sent.sent_to).toBe('ada@example.com');
    const mails = await database.current.db.selectFrom('email_outbox').select(['kind', 'to_address', 'text_body']).where('subscription_id', '=', sub.id).execute();
    expect(mails).toEqual([expect.objectContaining({ kind: 'portal_link', to_address: 'ada@example.com' })]);
    expect(mails[0]!.text_body).toContain(sent.portal_url);

    expect((await runCli(['portal-link', sub.id, '--help'], env())).code).toBe(0);
    expect((await runCli(['portal-link'], env())).code).toBe(2);
    await runCli(['cancel', sub.id], env());
    const refused = await runCli(['portal-link', sub.id], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is canceled: there is nothing left for the customer to manage/);
  });
});

describe('enrolling the same customer twice', () => {
  it('with one --external-id: one subscription; the repeat says "already enrolled" and exits 0', async () => {
    const args = [...ada(), '--external-id', 'shop-cus-1042'];
    const first = await runCliJson<{ id: string; external_id: string; already_enrolled: boolean }>(['enrol', ...args], env());
    expect(first).toMatchObject({ external_id: 'shop-cus-1042', already_enrolled: false });
    const before = await counts();

    const again = await runCli(['enrol', ...args], env());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Already enrolled: nothing was changed\.\nSubscription [0-9a-f-]{36}/);
    expect(again.stdout).toContain(`Subscription ${first.id}`);
    expect(again.stdout).toMatch(/External id {4}shop-cus-1042/);
    const againJson = await runCliJson<{ id: string; already_enrolled: boolean }>(['enrol', ...args], env());
    expect(againJson).toMatchObject({ id: first.id, already_enrolled: true });
    expect(await counts()).toEqual(before);
  });

  it('with one --external-id but other terms: refused (exit 1) naming each difference, nothing written', async () => {
    const first = await runCliJson<{ id: string }>(['enrol', ...ada(), '--external-id', 'shop-cus-2001'], env());
    const before = await counts();
    const changed = withOption(withOption(ada(), '--amount', '12.00'), '--email', 'ada.l@example.com');
    const result = await runCli(['enrol', ...changed, '--external-id', 'shop-cus-2001'], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`external id "shop-cus-2001" is already subscription ${first.id}, enrolled with other terms:`);
    expect(result.stderr).toContain('e-mail "ada@example.com" on the subscription, "ada.l@example.com" given');
    expect(result.stderr).toContain('amount "9.99" on the subscription, "12.00" given');
    expect(result.stderr).toMatch(/quickpay id "[0-9a-f-]{36}" on the subscription, "[0-9a-f-]{36}" given/);
    expect(await counts()).toEqual(before);
  });

  it('without an external id: a second live one (same e-mail in any case, token and plan) is refused naming it; --allow-duplicate makes two', async () => {
    const args = withOption(ada(), '--email', 'grace@example.com');
    const first = await runCliJson<{ id: string }>(['enrol', ...args], env());
    const before = await counts();

    const again = await runCli(['enrol', ...withOption(args, '--email', 'Grace@Example.COM')], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Grace@Example.COM already has subscription ${first.id} (incomplete) with the same card token and plan (9.99 GBP every month)`);
    expect(again.stderr).toContain('--allow-duplicate');
    expect(await counts()).toEqual(before);

    // Another plan for the same card is a different purchase.
    const yearly = await runCli(['enrol', ...withOption(withOption(args, '--interval', 'year'), '--amount', '99.00')], env());
    expect(yearly.code, yearly.stderr).toBe(0);

    const second = await runCliJson<{ id: string }>(['enrol', ...args, '--allow-duplicate'], env());
    expect(second.id).not.toBe(first.id);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from subscriptions where lower(customer_email) = 'grace@example.com' and interval = 'month'`.execute(database.current.db);
    expect(rows[0]!.n).toBe(2);
  });

  it('a canceled subscription does not count: the customer can be enrolled again', async () => {
    const args = withOption(ada(), '--email', 'hedy@example.com');
    const first = await runCliJson<{ id: string }>(['enrol', ...args], env());
    expect((await runCli(['cancel', first.id], env())).code).toBe(0);
    const again = await runCliJson<{ id: string }>(['enrol', ...args], env());
    expect(again.id).not.toBe(first.id);
  });
});

describe('rebill cancel', () => {
  it('cancels now and records who and why', async () => {
    const sub = await runCliJson(['enrol', ...ada(), '--first-paid-at', '2026-10-31T12:00:00Z'], env());
    const canceled = await runCliJson(['cancel', sub.id as string, '--reason', 'customer request by phone'], env());
    expect(canceled).toMatchObject({ status: 'canceled', next_renewal_at: null, next_attempt_at: null });
    const shown = await runCliJson<{ events: Record<string, unknown>[] }>(['show', sub.id as string], env());
    expect(shown.events.at(-1)).toMatchObject({
      type: 'canceled',
      actor: 'operator:support-alice',
      reason: 'customer request by phone',
      data: expect.objectContaining({ from_status: 'active', to_status: 'canceled' }),
    });
    const again = await runCli(['cancel', sub.id as string], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a canceled subscription cannot take "cancel"/);
  });

  it('--at-period-end keeps the subscription active until its renewal', async () => {
    const sub = await runCliJson(['enrol', ...ada(), '--first-paid-at', '2026-10-31T12:00:00Z'], env());
    const marked = await runCliJson(['cancel', sub.id as string, '--at-period-end'], env());
    expect(marked).toMatchObject({ status: 'active', cancel_at_period_end: true, next_renewal_at: '2026-11-30T12:00:00.000Z' });
  });

  it('--undo takes back a cancel at the period end before it ends; a second undo, or with --at-period-end, is refused', async () => {
    const sub = await runCliJson<{ id: string; next_renewal_at: string }>(['enrol', ...ada(), '--first-paid-at', new Date(Date.now() - 86_400_000).toISOString()], env());
    await runCliJson(['cancel', sub.id, '--at-period-end'], env());
    const undone = await runCliJson(['cancel', sub.id, '--undo', '--reason', 'customer changed their mind'], env());
    expect(undone).toMatchObject({ status: 'active', cancel_at_period_end: false, next_renewal_at: sub.next_renewal_at });
    const again = await runCli(['cancel', sub.id, '--undo'], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not set to end at the period end/);
    const both = await runCli(['cancel', sub.id, '--undo', '--at-period-end'], env());
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--undo takes back a cancel at the period end/);
    const shown = await runCliJson<{ events: { type: string; reason: string | null }[] }>(['show', sub.id], env());
    expect(shown.events.map((e) => e.type)).toEqual(['enrolled', 'cancel_scheduled', 'cancel_undone']);
  });

  it('says so when the id is unknown, and changes nothing', async () => {
    const before = await counts();
    const unknown = await runCli(['cancel', '0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d'], env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no subscription with id 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d/);
    const malformed = await runCli(['cancel', 'sub-42'], env());
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/"sub-42" is not a subscription id/);
    expect(await counts()).toEqual(before);
  });
});

describe('rebill show and list', () => {
  it('show --json has the documented keys', async () => {
    const sub = await runCliJson(['enrol', ...ada()], env());
    const shown = await runCliJson(['show', sub.id as string], env());
    for (const key of ['id', 'status', 'interval', 'amount', 'currency', 'timezone', 'anchor_at', 'next_renewal_at', 'renewals_paid', 'cancel_at_period_end', 'attempts', 'events']) {
      expect(shown).toHaveProperty(key);
    }
    const text = await runCli(['show', sub.id as string], env());
    expect(text.stdout).toMatch(/Charge attempts \(0\)/);
    expect(text.stdout).toMatch(/enrolled\s+operator:support-alice/);
  });

  it('show finds a subscription by ext:EXTERNAL_ID, and show/list --json give external_id', async () => {
    const sub = await runCliJson<{ id: string }>(['enrol', ...ada(), '--external-id', 'order#77/a'], env());
    const shown = await runCliJson<{ id: string; external_id: string; events: unknown[] }>(['show', 'ext:order#77/a'], env());
    expect(shown).toMatchObject({ id: sub.id, external_id: 'order#77/a' });
    expect(shown.events).toHaveLength(1);
    const listed = await runCliJson<{ id: string; external_id: string | null }[]>(['list', '--limit', '100000'], env());
    expect(listed.find((s) => s.id === sub.id)).toMatchObject({ external_id: 'order#77/a' });
    expect(listed.every((s) => 'external_id' in s)).toBe(true);

    const unknown = await runCli(['show', 'ext:order#78'], env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no subscription with external id "order#78"/);
    const bare = await runCli(['show', 'order#77/a'], env());
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/"order#77\/a" is not a subscription id .*write ext:order#77\/a/);
  });

  it('prints stored control characters escaped: show, list and error messages never send them raw', async () => {
    const sub = await runCliJson<{ id: string }>(['enrol', ...ada()], env());
    // As if stored before enrolment refused them.
    await sql`update subscriptions set customer_first_name = ${'Ada\x1b[2J\x07'}, customer_email = ${'ada\x1b[8m@example.com'}, product_name = ${'Pro\u009b31m'} where id = ${sub.id}`.execute(database.current.db);
    const raw = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

    const text = await runCli(['show', sub.id], env());
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(raw);
    expect(text.stdout).toContain('Customer       Ada\\x1b[2J\\x07 Lovelace <ada\\x1b[8m@example.com>');
    expect(text.stdout).toContain('Plan           Pro\\x9b31m:');

    const json = await runCli(['show', sub.id, '--json'], env());
    expect(json.stdout).not.toMatch(raw);
    expect(json.stdout).toContain('"first_name": "Ada\\u001b[2J\\u0007"');
    expect(json.stdout).toContain('"product": "Pro\\u009b31m"');
    expect(JSON.parse(json.stdout)).toMatchObject({ customer: { first_name: 'Ada\x1b[2J\x07' }, product: 'Pro\u009b31m' });

    const list = await runCli(['list', '--limit', '100000'], env());
    expect(list.code).toBe(0);
    expect(list.stdout).not.toMatch(raw);
    expect(list.stdout).toContain('ada\\x1b[8m@example.com');

    const error = await runCli(['show', 'ext:\x1b[2Jgone'], env());
    expect(error.code).toBe(1);
    expect(error.stderr).toContain('no subscription with external id "\\x1b[2Jgone"');
    expect(error.stderr).not.toMatch(raw);
  });

  it('list filters by status and due date', async () => {
    const early = await runCliJson(['enrol', ...ada(), '--first-paid-at', '2026-01-01T00:00:00Z', '--renewals-paid', '9'], env());
    const canceled = await runCliJson(['enrol', ...ada(), '--first-paid-at', '2026-01-01T00:00:00Z'], env());
    await runCli(['cancel', canceled.id as string], env());
    const dueSoon = await runCliJson<{ id: string }[]>(['list', '--status', 'active', '--due-before', '2026-11-15T00:00:00Z'], env());
    expect(dueSoon.map((s) => s.id)).toContain(early.id);
    const canceledOnes = await runCliJson<{ id: string; status: string }[]>(['list', '--status', 'canceled'], env());
    expect(canceledOnes.map((s) => s.id)).toContain(canceled.id);
    expect(canceledOnes.every((s) => s.status === 'canceled')).toBe(true);
    const bad = await runCli(['list', '--status', 'sleeping'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status must be one of incomplete, incomplete_expired, active, past_due, unpaid, canceled/);
  });
});

describe('rebill calendar', () => {
  it('gives month ends at 09:00 New York with the right offset on each side of DST', async () => {
    const result = await runCliJson(
      ['calendar', '--interval', 'month', '--anchor', '2027-01-31T09:00:00', '--timezone', 'America/New_York', '--count', '4'],
      {},
    );
    expect(result).toEqual([
      { renewal: 1, at: '2027-02-28T09:00:00.000-05:00', service_mode: 'M2' },
      { renewal: 2, at: '2027-03-31T09:00:00.000-04:00', service_mode: 'M3' },
      { renewal: 3, at: '2027-04-30T09:00:00.000-04:00', service_mode: 'M3' },
      { renewal: 4, at: '2027-05-31T09:00:00.000-04:00', service_mode: 'M3' },
    ]);
  });

  it('answers --help with 0 and a usage error with 2', async () => {
    expect((await runCli(['calendar', '--help'])).code).toBe(0);
    const bad = await runCli(['calendar', '--interval', 'month', '--anchor', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--anchor "soon" is not an ISO 8601/);
    expect((await runCli(['frobnicate'])).code).toBe(2);
  });
});

describe('rebill migrate', () => {
  it('is idempotent', async () => {
    const result = await runCliJson(['migrate'], env());
    expect(result).toEqual({ applied: [] });
  });
});
