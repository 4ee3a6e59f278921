import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { claimCharges } from '../../src/billing/claim-charges.ts';
import { chargeSubscriptions } from '../../src/billing/charge-renewal.job.ts';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import { readBody, send, startHttpServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { renewalChargeRequest } from '../../src/billing/renewal-request.ts';
import { MERCHANT, useHarness } from '../support/engine-harness.ts';

const h = useHarness('invariants');
const claimContext = () => (h.claimContext());
const ledgerFor = (id: string) => h.sandbox.ledger.entries(0, 10_000).entries.filter((e) => e.order_number.startsWith(id.replaceAll('-', '')));
const operator = () => h.operator();

describe('1. never charge a period twice', () => {
  it('the database refuses a second open attempt for a subscription, whatever the queue does', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    const [claimed] = await claimCharges(h.db.db, [sub.id], claimContext());
    const copy = { ...claimed!.attempt } as Record<string, unknown>;
    delete copy.id;
    await expect(
      h.db.db.insertInto('payment_transactions').values({ ...(copy as object), reference: 'another-order-1' } as never).execute(),
    ).rejects.toThrow(/payment_transactions_one_open/);
  });

  it('two claims racing for the same subscription create one attempt', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    const results = await Promise.all([1, 2, 3, 4].map(() => claimCharges(h.db.db, [sub.id], claimContext())));
    expect(results.flat()).toHaveLength(1);
    expect(await h.attempts(sub.id)).toHaveLength(1);
  });

  it('a second copy of the job, run while the first is still at the gateway, sends nothing', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    h.sandbox.setFaults({ latencyMs: 600, noticeDelayMs: 3_000 });
    try {
      const first = chargeSubscriptions(h.engine, [sub.id]);
      await h.eventually(async () => (await h.attempts(sub.id)).length === 1);
      // No database lock is held across the gateway call: the row can be locked well before it answers.
      const locked = await h.db.db.transaction().execute(async (tx) => {
        await sql`set local lock_timeout = '200ms'`.execute(tx);
        return sql`select id from subscriptions where id = ${sub.id} for update`.execute(tx);
      });
      expect(locked.rows).toHaveLength(1);
      expect(await chargeSubscriptions(h.engine, [sub.id])).toEqual([]);
      await first;
    } finally {
      h.sandbox.setFaults({ latencyMs: 0, noticeDelayMs: 0 });
    }
    expect(ledgerFor(sub.id)).toHaveLength(1);
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 1 });
  });

  it('the attempt and its order number are committed before the request leaves', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    // A gateway in front of the sandbox that looks in rebill's database as each request arrives.
    const seenOnArrival: (string | null)[] = [];
    const spy = await startHttpServer(
      [{
        method: 'POST',
        path: '/gateway/direct/pay',
        handler: async (req, res) => {
          const body = await readBody(req, 1_000_000);
          const orderNumber = new URLSearchParams(body).get('order_number') ?? '';
          const row = await h.db.db.selectFrom('payment_transactions').select('status').where('reference', '=', orderNumber).executeTakeFirst();
          seenOnArrival.push(row?.status ?? null);
          const upstream = await fetch(`${h.sandbox.url}/gateway/direct/pay`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
          send(res, upstream.status, await upstream.text(), upstream.headers.get('content-type') ?? 'application/xml');
        },
      }],
      0,
      silentLogger,
      '127.0.0.1',
    );
    h.useOceanpayment({ gatewayUrl: `http://127.0.0.1:${spy.port}` });
    try {
      await chargeSubscriptions(h.engine, [sub.id]);
    } finally {
      h.useOceanpayment({});
      await spy.close();
    }
    expect(seenOnArrival).toEqual(['sending']);
    expect((await h.attempts(sub.id))[0]!.status).toBe('succeeded');
  });
});

describe('2. never lose a charge', () => {
  it('a crash between the request and recording its answer is resolved by query before anything else is charged', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    const [claimed] = await claimCharges(h.db.db, [sub.id], claimContext());
    // The request reaches the gateway, then the process "dies" before transaction 2.
    await h.oceanpayment.chargeToken!(renewalChargeRequest(claimed!.subscription, claimed!.attempt, claimed!.method, { notice: 'http://127.0.0.1:9/', return: 'http://127.0.0.1:9/' }));
    h.clock.set('2027-03-01T00:00:30Z');
    await h.chargeDue();
    expect(await h.attempts(sub.id)).toHaveLength(1);
    h.clock.set('2027-03-01T00:01:31Z');
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded', resolved_at: expect.any(Date) });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    expect(ledgerFor(sub.id)).toHaveLength(1);
  });
});

describe('7. cancel wins', () => {
  it('a cancellation committed before the claim stops the charge', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    await cancelSubscription(h.db.db, sub.id, false, operator());
    expect(await chargeSubscriptions(h.engine, [sub.id])).toEqual([]);
    expect(ledgerFor(sub.id)).toHaveLength(0);
  });

  it('a charge already in flight is still recorded, and its success is flagged for a refund decision', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    h.sandbox.setFaults({ latencyMs: 300, noticeDelayMs: 3_000 });
    try {
      const charging = chargeSubscriptions(h.engine, [sub.id]);
      await h.eventually(async () => (await h.attempts(sub.id)).length === 1);
      await cancelSubscription(h.db.db, sub.id, false, operator());
      await charging;
    } finally {
      h.sandbox.setFaults({ latencyMs: 0, noticeDelayMs: 0 });
    }
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'canceled', next_attempt_at: null });
    expect((await h.attempts(sub.id))[0]!.status).toBe('succeeded');
    const flagged = (await h.events(sub.id)).find((e) => e.type === 'succeeded_after_cancel');
    expect(flagged?.reason).toMatch(/decide whether to refund/);
  });

  it('--at-period-end ends the subscription at its renewal instead of charging', async () => {
    h.clock.set('2027-02-15T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    await cancelSubscription(h.db.db, sub.id, true, operator());
    h.clock.set('2027-02-28T09:00:00Z');
    await h.chargeDue();
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'canceled', next_renewal_at: null });
    expect((await h.subscription(sub.id)).canceled_at?.toISOString()).toBe('2027-02-28T09:00:00.000Z');
    expect(ledgerFor(sub.id)).toHaveLength(0);
  });
});

describe('catching up after downtime', () => {
  it('charges overdue periods oldest first, one at a time, within the catch-up limit', async () => {
    h.clock.set('2027-04-01T00:00:00Z'); // Feb 28 and Mar 31 are both overdue
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    expect((await h.attempts(sub.id)).map((a) => [a.period, a.service_mode])).toEqual([[1, 'M2']]);
    await h.chargeDue();
    expect((await h.attempts(sub.id)).map((a) => [a.period, a.service_mode])).toEqual([[1, 'M2'], [2, 'M3']]);
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 2, next_period: 3 });
  });

  it('more periods behind than the limit: only the latest is charged, the skipped ones are recorded', async () => {
    h.clock.set('2027-06-01T00:00:00Z'); // renewals 1-4 (Feb 28 .. May 31) have fallen due
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    expect((await h.attempts(sub.id)).map((a) => [a.period, a.service_mode])).toEqual([[4, 'M3']]);
    const skipped = (await h.events(sub.id)).find((e) => e.type === 'periods_skipped');
    expect(skipped?.data).toMatchObject({ from_period: 1, to_period: 3, charged_period: 4 });
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 1, next_period: 5 });
    expect((await h.subscription(sub.id)).next_renewal_at?.toISOString()).toBe('2027-06-30T09:00:00.000Z');
  });
});

describe('the event log', () => {
  it('is append-only', async () => {
    await expect(sql`update events set reason = 'rewritten'`.execute(h.db.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from events`.execute(h.db.db)).rejects.toThrow(/append-only/);
  });

  it('explains every change of a renewal: who, what, when', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'decline-once-z', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    h.clock.set('2027-03-02T00:00:00Z');
    await h.chargeDue();
    const events = (await h.events(sub.id)).map((e) => [e.type, e.actor, (e.data as Record<string, unknown>).to_status ?? null]);
    expect(events).toEqual([
      ['enrolled', 'test', null],
      ['charge_started', 'worker', 'active'],
      // The gateway's synchronous answer and its notice race; whichever is recorded first speaks.
      ['payment_failed', expect.stringMatching(/^gateway:(sync|notice)$/), 'past_due'],
      ['dunning_started', expect.stringMatching(/^gateway:(sync|notice)$/), null],
      ['charge_started', 'worker', 'past_due'],
      ['payment_succeeded', expect.stringMatching(/^gateway:(sync|notice)$/), 'active'],
    ]);
  });
});
