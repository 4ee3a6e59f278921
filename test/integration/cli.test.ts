import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestDatabase } from '../support/database.ts';
import { runCli, runCliJson } from '../support/cli.ts';

const database = useTestDatabase('cli');
const env = () => ({ DATABASE_URL: database.current.url, REBILL_OPERATOR: 'support-alice' });

const ADA = [
  '--email', 'ada@example.com', '--first-name', 'Ada', '--last-name', 'Lovelace', '--country', 'GB',
  '--interval', 'month', '--amount', '9.99', '--currency', 'GBP', '--quickpay-id', '9ead3654-8f84-4d02-acab-6ac9dd10531f',
];

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
    const sub = await runCliJson(['enrol', ...ADA, '--timezone', 'Europe/London'], env());
    expect(sub).toMatchObject({ status: 'incomplete', interval: 'month', amount: '9.99', currency: 'GBP', renewals_paid: 0, next_period: 0, next_service_mode: 'M1', timezone: 'Europe/London' });
    const next = Date.parse(sub.next_renewal_at as string);
    expect(next).toBeGreaterThanOrEqual(before - 1000);
    expect(next).toBeLessThanOrEqual(Date.now());
    const shown = await runCliJson<{ events: { type: string; actor: string }[] }>(['show', sub.id as string], env());
    expect(shown.events).toEqual([expect.objectContaining({ type: 'enrolled', actor: 'operator:support-alice' })]);
  });

  it('with --first-paid-at and --renewals-paid: active, next charge is the matching renewal (X3)', async () => {
    const sub = await runCliJson(
      ['enrol', ...ADA, '--timezone', 'America/New_York', '--first-paid-at', '2026-01-31T09:00:00', '--renewals-paid', '3'],
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
    const sub = await runCliJson(['enrol', ...ADA, '--first-paid-at', '2026-10-31T12:00:00Z'], env());
    expect(sub).toMatchObject({ status: 'active', next_period: 1, next_service_mode: 'M2', next_renewal_at: '2026-11-30T12:00:00.000Z' });
  });

  it.each([
    ['a bad e-mail', withOption(ADA, '--email', 'ada.example.com'), /e-mail "ada.example.com" is not a valid address/],
    ['an unknown interval', withOption(ADA, '--interval', 'fortnight'), /interval "fortnight" is not one of week, month, quarter, half-year, year/],
    ['a 3-decimal currency', withOption(withOption(ADA, '--currency', 'KWD'), '--amount', '1.250'), /KWD has 3 decimal places/],
    ['an unknown time zone', [...ADA, '--timezone', 'Europe/Atlantis'], /time zone "Europe\/Atlantis" is not an IANA zone/],
    ['a malformed --first-paid-at', [...ADA, '--first-paid-at', '31/01/2026'], /first-paid-at "31\/01\/2026" is not an ISO 8601/],
    ['a future --first-paid-at', [...ADA, '--first-paid-at', '2999-01-01T00:00:00Z'], /is in the future/],
    ['a zero amount', withOption(ADA, '--amount', '0'), /greater than zero/],
    ['more renewals paid than have fallen due', [...ADA, '--first-paid-at', '2026-10-01T00:00:00Z', '--renewals-paid', '99'], /more than the \d+ renewal/],
    ['a missing option', ADA.slice(2), /--email is required/],
    ['an unknown option', [...ADA, '--colour', 'red'], /Unknown option '--colour'/],
  ])('refuses %s with a message naming it, and writes nothing', async (_name, args, message) => {
    const before = await counts();
    const result = await runCli(['enrol', ...args], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(await counts()).toEqual(before);
  });
});

describe('rebill cancel', () => {
  it('cancels now and records who and why', async () => {
    const sub = await runCliJson(['enrol', ...ADA, '--first-paid-at', '2026-10-31T12:00:00Z'], env());
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
    const sub = await runCliJson(['enrol', ...ADA, '--first-paid-at', '2026-10-31T12:00:00Z'], env());
    const marked = await runCliJson(['cancel', sub.id as string, '--at-period-end'], env());
    expect(marked).toMatchObject({ status: 'active', cancel_at_period_end: true, next_renewal_at: '2026-11-30T12:00:00.000Z' });
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
    const sub = await runCliJson(['enrol', ...ADA], env());
    const shown = await runCliJson(['show', sub.id as string], env());
    for (const key of ['id', 'status', 'interval', 'amount', 'currency', 'timezone', 'anchor_at', 'next_renewal_at', 'renewals_paid', 'cancel_at_period_end', 'attempts', 'events']) {
      expect(shown).toHaveProperty(key);
    }
    const text = await runCli(['show', sub.id as string], env());
    expect(text.stdout).toMatch(/Charge attempts \(0\)/);
    expect(text.stdout).toMatch(/enrolled\s+operator:support-alice/);
  });

  it('list filters by status and due date', async () => {
    const early = await runCliJson(['enrol', ...ADA, '--first-paid-at', '2026-01-01T00:00:00Z', '--renewals-paid', '9'], env());
    const canceled = await runCliJson(['enrol', ...ADA, '--first-paid-at', '2026-01-01T00:00:00Z'], env());
    await runCli(['cancel', canceled.id as string], env());
    const dueSoon = await runCliJson<{ id: string }[]>(['list', '--status', 'active', '--due-before', '2026-11-15T00:00:00Z'], env());
    expect(dueSoon.map((s) => s.id)).toContain(early.id);
    const canceledOnes = await runCliJson<{ id: string; status: string }[]>(['list', '--status', 'canceled'], env());
    expect(canceledOnes.map((s) => s.id)).toContain(canceled.id);
    expect(canceledOnes.every((s) => s.status === 'canceled')).toBe(true);
    const bad = await runCli(['list', '--status', 'sleeping'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status must be one of incomplete, active, past_due, unpaid, canceled/);
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
