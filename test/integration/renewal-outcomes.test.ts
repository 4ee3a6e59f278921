import { describe, expect, it } from 'vitest';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import { DAY_MS } from '../../src/lib/clock.ts';
import { claimCharges, orderNumberFor } from '../../src/billing/claim-charges.ts';
import { updateToken } from '../../src/billing/operator-actions.ts';
import { MERCHANT, useHarness } from '../support/engine-harness.ts';

const h = useHarness('outcomes');
const iso = (d: Date | null) => d?.toISOString() ?? null;

function ledgerFor(orderPrefix: string) {
  return h.sandbox.ledger.entries(0, 10_000).entries.filter((e) => e.order_number.startsWith(orderPrefix.replaceAll('-', '')));
}

describe('charging through the sandbox', () => {
  it('charges X1, then X2, then X3 across three periods from a month-end anchor', async () => {
    h.clock.set('2027-01-31T09:00:00Z');
    const sub = await h.enrol({ interval: 'month' });
    expect(await h.chargeDue()).toBeGreaterThanOrEqual(1);
    let now = await h.subscription(sub.id);
    expect(now).toMatchObject({ status: 'active', renewals_paid: 0, next_period: 1 });
    expect(iso(now.next_renewal_at)).toBe('2027-02-28T09:00:00.000Z');

    h.clock.set('2027-02-28T08:59:59Z');
    await h.chargeDue();
    expect((await h.attempts(sub.id)).length).toBe(1);

    h.clock.set('2027-02-28T09:00:00Z');
    await h.chargeDue();
    h.clock.set('2027-03-31T09:00:00Z');
    await h.chargeDue();
    now = await h.subscription(sub.id);
    expect(now).toMatchObject({ status: 'active', renewals_paid: 2, next_period: 3 });
    expect(iso(now.next_renewal_at)).toBe('2027-04-30T09:00:00.000Z');

    const attempts = await h.attempts(sub.id);
    expect(attempts.map((a) => [a.period, a.service_mode, a.status])).toEqual([
      [0, 'M1', 'succeeded'],
      [1, 'M2', 'succeeded'],
      [2, 'M3', 'succeeded'],
    ]);
    const ledger = ledgerFor(sub.id);
    expect(ledger.map((e) => [e.service_mode, e.status, e.amount])).toEqual([
      ['M1', 'approved', '9.99'],
      ['M2', 'approved', '9.99'],
      ['M3', 'approved', '9.99'],
    ]);
  });

  it('a soft decline retries 1, 3, 5 and 7 days after the failure, keeping the mode, then ends unpaid', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'soft-decline-a', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    let now = await h.subscription(sub.id);
    expect(now.status).toBe('past_due');
    const expectedRetries = [1, 3, 5, 7].map((d) => new Date(Date.parse('2027-03-01T00:00:00Z') + d * DAY_MS).toISOString());
    for (const retryAt of expectedRetries) {
      expect(iso(now.next_attempt_at)).toBe(retryAt);
      h.clock.set(retryAt);
      await h.chargeDue();
      now = await h.subscription(sub.id);
    }
    expect(now).toMatchObject({ status: 'unpaid', next_attempt_at: null, renewals_paid: 0 });
    const attempts = await h.attempts(sub.id);
    expect(attempts).toHaveLength(5);
    expect(new Set(attempts.map((a) => `${a.service_mode}/${a.period}/${a.status}/${a.decline_class}/${a.gateway_code}`))).toEqual(
      new Set(['M2/1/failed/soft/80022']),
    );
    expect((await h.events(sub.id)).map((e) => e.type)).toContain('retries_exhausted');
  });

  it('a soft decline that succeeds on retry makes the subscription active again', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'decline-once-b', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    expect((await h.subscription(sub.id)).status).toBe('past_due');
    h.clock.set('2027-03-02T00:00:00Z');
    await h.chargeDue();
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1, past_due_since: null, retries_used: 0, next_period: 2 });
  });

  it('a hard decline is not retried; the janitor ends it when the schedule would have, and a new card revives it', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const abandoned = await h.enrol({ quickpayId: 'hard-decline-c', firstPaidAt: '2027-01-31T09:00:00Z' });
    const replaced = await h.enrol({ quickpayId: 'hard-decline-d', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    for (const id of [abandoned.id, replaced.id]) {
      expect(await h.subscription(id)).toMatchObject({ status: 'past_due', next_attempt_at: null });
      expect((await h.attempts(id))[0]).toMatchObject({ status: 'failed', decline_class: 'hard', gateway_code: '80040' });
    }
    h.clock.set('2027-03-04T00:00:00Z');
    await h.chargeDue();
    expect(await h.attempts(abandoned.id)).toHaveLength(1);

    await updateToken(h.db.db, replaced.id, 'fresh-card-e', h.operator());
    await h.chargeDue();
    expect(await h.subscription(replaced.id)).toMatchObject({ status: 'active', quickpay_id: 'fresh-card-e', renewals_paid: 1 });

    h.clock.set('2027-03-08T00:00:01Z');
    await h.janitor();
    expect(await h.subscription(abandoned.id)).toMatchObject({ status: 'unpaid' });
    expect((await h.events(abandoned.id)).at(-1)).toMatchObject({ type: 'unpaid', actor: 'janitor', data: expect.objectContaining({ from_status: 'past_due' }) });
  });

  it('3-D Secure: the attempt waits for the customer with its pay_url, the subscription is past_due', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: '3ds-f', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [attempt] = await h.attempts(sub.id);
    expect(attempt).toMatchObject({ status: 'action_required', gateway_code: '80093' });
    expect(attempt!.action_url).toMatch(new RegExp(`^${h.sandbox.url}/gateway/direct/redirect\\?pay_id=`));
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'past_due', next_attempt_at: null });
    expect((await h.events(sub.id)).map((e) => e.type)).toContain('action_required');
    h.clock.set('2027-03-05T00:00:00Z');
    await h.chargeDue();
    expect(await h.attempts(sub.id)).toHaveLength(1);
  });

  it('pending: the notice settles it', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'pending-g', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    expect((await h.attempts(sub.id))[0]!.status).toBe('pending');
    await h.eventually(async () => (await h.subscription(sub.id)).renewals_paid === 1);
    const events = await h.events(sub.id);
    expect(events.find((e) => e.type === 'payment_succeeded')?.actor).toBe('gateway:notice');
  });

  it('a timeout is resolved by query: the charge the gateway booked is found and the period is not charged again', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'timeout-h', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [attempt] = await h.attempts(sub.id);
    expect(attempt).toMatchObject({ status: 'unknown' });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', next_attempt_at: null });
    await h.chargeDue();
    expect(await h.attempts(sub.id)).toHaveLength(1);
    h.clock.set(new Date(attempt!.next_query_at!.getTime() + 1));
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded' });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    expect(ledgerFor(sub.id)).toHaveLength(1);
  });

  it('a request the gateway refuses (20013 bad signature) fails the attempt without penalising the subscription, and heals once fixed', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    // The request signature formula with quickpay_id is inferred: this is what a wrong guess looks like.
    h.useOceanpayment({ chargeSignatureFields: ['account', 'terminal', 'order_number', 'order_amount', 'order_currency'] });
    const errorsBefore = (await h.engine.metrics.requestErrors.get()).values[0]?.value ?? 0;
    await h.chargeDue().finally(() => h.useOceanpayment({}));
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'failed', decline_class: 'request', gateway_code: '20013' });
    const after = await h.subscription(sub.id);
    expect(after).toMatchObject({ status: 'active', retries_used: 0, past_due_since: null, next_period: 1 });
    expect(iso(after.next_attempt_at)).toBe('2027-03-01T00:15:00.000Z');
    expect((await h.engine.metrics.requestErrors.get()).values[0]?.value).toBe(errorsBefore + 1);

    h.clock.set('2027-03-01T00:15:00Z');
    await h.chargeDue();
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    expect((await h.attempts(sub.id)).map((a) => [a.service_mode, a.status])).toEqual([
      ['M2', 'failed'],
      ['M2', 'succeeded'],
    ]);
  });

  it('20061 (order already paid) is queried, found paid, and never charged again', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    // The gateway already holds a paid order under the number rebill is about to use.
    const orderNumber = orderNumberFor(sub.id, 1, 1);
    const direct = await h.oceanpayment.client.charge({
      orderNumber, amountMinor: 999, currency: 'USD', serviceMode: 'M2', quickpayId: sub.quickpay_id!, orderNotes: 'paid elsewhere',
      billing: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', country: 'GB' }, product: { name: 'x' },
      noticeUrl: 'http://127.0.0.1:9/none', backUrl: 'http://127.0.0.1:9/none',
    });
    expect(direct.kind).toBe('approved');
    await h.chargeDue();
    const [attempt] = await h.attempts(sub.id);
    expect(attempt).toMatchObject({ status: 'unknown', decline_class: 'duplicate', gateway_code: '20061' });
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded' });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    expect(ledgerFor(sub.id).filter((e) => e.status === 'approved')).toHaveLength(1);
  });

  it('an attempt the gateway never received (crash before the request) is failed as not sent, and the period charged again', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    const [claimed] = await claimCharges(h.db.db, [sub.id], h.claimContext());
    expect(claimed!.attempt.status).toBe('sending');
    // Until the janitor knows, nothing else is charged for the subscription.
    await h.chargeDue();
    expect(await h.attempts(sub.id)).toHaveLength(1);
    h.clock.set('2027-03-01T00:01:31Z');
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'failed', failure_reason: expect.stringMatching(/^not sent/) });
    await h.chargeDue();
    expect((await h.attempts(sub.id)).map((a) => a.status)).toEqual(['failed', 'succeeded']);
    expect(ledgerFor(sub.id)).toHaveLength(1);
  });
});
