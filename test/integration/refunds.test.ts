/**
 * Refunds and chargebacks through the sandbox over real HTTP: a refund is committed before it is
 * sent, never more than what is left is refunded, its outcome comes from the provider (a query or a
 * confirmed notice), a confirmed chargeback stops renewals, and a period paid twice is refunded.
 */
import { describe, expect, it } from 'vitest';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { requestRefund } from '../../src/billing/refunds.ts';
import { HOUR_MS, MINUTE_MS } from '../../src/lib/clock.ts';
import { ConflictError } from '../../src/lib/errors.ts';
import { confirmBusinessNotices } from '../../src/inbound/confirm-business.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('refunds', { sandbox: { refundDelayMs: 50 } });

/** A subscription whose first renewal is paid: its charge can be refunded. */
async function paidRenewal(token: string) {
  h.clock.set('2027-03-01T00:00:00Z');
  const sub = await h.enrol({ quickpayId: token, firstPaidAt: '2027-01-31T09:00:00Z' });
  await h.chargeDue();
  const [charge] = await h.attempts(sub.id);
  expect(charge).toMatchObject({ status: 'succeeded' });
  return { sub, charge: charge! };
}

const refunds = (subscriptionId: string) =>
  h.db.db.selectFrom('payment_transactions').selectAll().where('subscription_id', '=', subscriptionId).where('kind', '=', 'refund').orderBy('id').execute();
const invoice = (subscriptionId: string, period: number) =>
  h.db.db.selectFrom('invoices').selectAll().where('subscription_id', '=', subscriptionId).where('period', '=', period).executeTakeFirstOrThrow();
const outbox = (subscriptionId: string) => h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
const ask = (orderNumber: string, amount?: number) => ({
  orderNumber,
  ...(amount === undefined ? {} : { amount: { amountMinor: amount, currency: 'USD' } }),
  reason: 'customer asked by e-mail',
  actor: 'operator:test',
});
/** The janitor's next query of pending refunds is due. */
async function queryRefundsNow() {
  h.clock.advance(6 * MINUTE_MS);
  await h.janitor();
}

describe('refunds', () => {
  it('a full refund is pending once accepted, then refunded by query: the invoice and the customer say so', async () => {
    const { sub, charge } = await paidRenewal('approve-full');
    const { refund, outcome } = await requestRefund(h.engine, ask(charge.order_number));
    expect(outcome).toMatchObject({ kind: 'accepted', refundId: expect.any(String) });
    expect(refund).toMatchObject({ kind: 'refund', status: 'pending', amount_minor: 999, parent_id: charge.id, reference: `${charge.order_number}-R1`, details: { refund_type: 'full' } });
    await h.eventually(async () => h.sandbox.ledger.entries(0, 1, { orderNumber: charge.order_number }).entries[0]?.refunds[0]?.status === 'refunded');
    await queryRefundsNow();
    expect((await refunds(sub.id))[0]).toMatchObject({ status: 'succeeded', next_query_at: null });
    expect(await invoice(sub.id, 1)).toMatchObject({ status: 'refunded', amount_paid_minor: 999, amount_refunded_minor: 999 });
    expect((await h.events(sub.id)).map((e) => e.type)).toEqual(expect.arrayContaining(['refund_requested', 'refund_accepted', 'refund_succeeded']));
    expect((await outbox(sub.id)).map((m) => m.kind)).toContain('refunded');
  });

  it('partial refunds until nothing is left; one more is refused and writes nothing', async () => {
    const { sub, charge } = await paidRenewal('approve-partial');
    expect((await requestRefund(h.engine, ask(charge.order_number, 400))).refund).toMatchObject({ status: 'pending', details: { refund_type: 'partial' } });
    // Still pending: it counts against what is left.
    await expect(requestRefund(h.engine, ask(charge.order_number, 600))).rejects.toThrow(/USD 6\.00 is more than the USD 5\.99 left to refund/);
    expect((await requestRefund(h.engine, ask(charge.order_number, 599))).refund).toMatchObject({ status: 'pending', reference: `${charge.order_number}-R2` });
    await expect(requestRefund(h.engine, ask(charge.order_number, 1))).rejects.toBeInstanceOf(ConflictError);
    await expect(requestRefund(h.engine, ask(charge.order_number))).rejects.toThrow(/nothing left to refund/);
    expect(await refunds(sub.id)).toHaveLength(2);
    await h.eventually(async () => h.sandbox.ledger.entries(0, 1, { orderNumber: charge.order_number }).entries[0]?.refunds.every((r) => r.status === 'refunded'));
    await queryRefundsNow();
    expect(await invoice(sub.id, 1)).toMatchObject({ status: 'refunded', amount_refunded_minor: 999 });
  });

  it('a refund of a payment that did not succeed, or of an unknown order, is refused', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'soft-decline-refund', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [declined] = await h.attempts(sub.id);
    await expect(requestRefund(h.engine, ask(declined!.order_number))).rejects.toThrow(/is failed: only a successful payment can be refunded/);
    await expect(requestRefund(h.engine, ask('no-such-order'))).rejects.toThrow(/no payment has order number no-such-order/);
    expect(await refunds(sub.id)).toHaveLength(0);
  });

  it('pending for days, then refunded: the janitor keeps asking until the provider settles it', async () => {
    const { sub, charge } = await paidRenewal('refund-pending-a');
    const { refund } = await requestRefund(h.engine, ask(charge.order_number));
    await queryRefundsNow();
    expect((await refunds(sub.id))[0]).toMatchObject({ status: 'pending', next_query_at: expect.any(Date) });
    const settle = await fetch(`${h.sandbox.url}/sandbox/refunds/${refund.provider_reference}`, { method: 'POST', body: JSON.stringify({ status: 'refunded' }) });
    expect(settle.status).toBe(200);
    h.clock.advance(HOUR_MS);
    await h.janitor();
    expect((await refunds(sub.id))[0]).toMatchObject({ status: 'succeeded' });
  });

  it('a refund the provider fails (after review, or refused at once) changes no money state and tells the operator', async () => {
    const pending = await paidRenewal('refund-pending-b');
    const { refund } = await requestRefund(h.engine, ask(pending.charge.order_number));
    await fetch(`${h.sandbox.url}/sandbox/refunds/${refund.provider_reference}`, { method: 'POST', body: JSON.stringify({ status: 'failed' }) });
    await queryRefundsNow();
    expect((await refunds(pending.sub.id))[0]).toMatchObject({ status: 'failed', failure_reason: expect.any(String) });
    expect(await invoice(pending.sub.id, 1)).toMatchObject({ status: 'paid', amount_refunded_minor: 0 });
    expect((await outbox(pending.sub.id)).find((m) => m.kind === 'refund_failed')).toMatchObject({ to_address: 'team@shop.test' });

    const refused = await paidRenewal('refund-refused-c');
    const answer = await requestRefund(h.engine, ask(refused.charge.order_number));
    expect(answer.outcome).toMatchObject({ kind: 'refused', code: 'S06' });
    expect(answer.refund).toMatchObject({ status: 'failed', provider_code: 'S06' });
    expect(await invoice(refused.sub.id, 1)).toMatchObject({ status: 'paid' });
  });

  it('the refund notice alone changes nothing: it is confirmed with a query first', async () => {
    const { sub, charge } = await paidRenewal('approve-notice');
    await requestRefund(h.engine, ask(charge.order_number));
    const stored = async () => h.db.db.selectFrom('provider_notices').selectAll().where('reference', '=', charge.order_number).where('notice_type', '=', 'refund').executeTakeFirst();
    await h.eventually(stored);
    expect(await stored()).toMatchObject({ result: 'confirming', verified: false });
    expect((await refunds(sub.id))[0]).toMatchObject({ status: 'pending' });
    await confirmBusinessNotices(h.engine);
    expect(await stored()).toMatchObject({ result: 'applied', next_check_at: null });
    expect((await refunds(sub.id))[0]).toMatchObject({ status: 'succeeded' });
  });
});

describe('chargebacks', () => {
  it('a chargeback notice, confirmed by the order query, is recorded, marks the invoice, stops renewals and tells the operator', async () => {
    const { sub, charge } = await paidRenewal('approve-chargeback');
    const disputed = await fetch(`${h.sandbox.url}/sandbox/chargebacks`, { method: 'POST', body: JSON.stringify({ order_number: charge.order_number }) });
    expect(disputed.status).toBe(201);
    const notice = async () => h.db.db.selectFrom('provider_notices').selectAll().where('reference', '=', charge.order_number).where('notice_type', '=', 'chargeBack').executeTakeFirst();
    await h.eventually(notice);
    // Nothing happens on the notice's word.
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active' });
    await confirmBusinessNotices(h.engine);
    expect(await notice()).toMatchObject({ result: 'applied' });
    const [chargeback] = await h.db.db.selectFrom('payment_transactions').selectAll().where('subscription_id', '=', sub.id).where('kind', '=', 'chargeback').execute();
    expect(chargeback).toMatchObject({ status: 'succeeded', parent_id: charge.id, amount_minor: 999, reference: `${charge.order_number}-CB1` });
    expect(await invoice(sub.id, 1)).toMatchObject({ status: 'charged_back', amount_charged_back_minor: 999 });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'canceled', next_attempt_at: null });
    expect((await h.events(sub.id)).map((e) => e.type)).toEqual(expect.arrayContaining(['chargeback_confirmed', 'dispute_received']));
    expect((await outbox(sub.id)).find((m) => m.kind === 'dispute_alert')).toMatchObject({ to_address: 'team@shop.test', subject: expect.stringMatching(/Chargeback/) });
    // A second copy of the notice records nothing more.
    await confirmBusinessNotices(h.engine);
    expect(await h.db.db.selectFrom('payment_transactions').select('id').where('subscription_id', '=', sub.id).where('kind', '=', 'chargeback').execute()).toHaveLength(1);
  });

  it('a chargeback notice the gateway does not confirm is kept with that verdict and changes nothing', async () => {
    const { sub, charge } = await paidRenewal('approve-no-chargeback');
    const forged = `<response><notice_type>chargeBack</notice_type><account>995149</account><terminal>99514901</terminal><order_number>${charge.order_number}</order_number><payment_id>${charge.payment_id}</payment_id><push_id>77</push_id><push_status>1</push_status><signValue>${'A'.repeat(64)}</signValue></response>`;
    expect(await h.postNotice(forged)).toEqual({ status: 200, body: 'receive-ok' });
    await confirmBusinessNotices(h.engine);
    const stored = await h.db.db.selectFrom('provider_notices').selectAll().where('reference', '=', charge.order_number).where('notice_type', '=', 'chargeBack').executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ result: 'not_confirmed', problem: expect.stringMatching(/no chargeback/) });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active' });
    expect(await invoice(sub.id, 1)).toMatchObject({ status: 'paid' });
  });
});

describe('a period is never kept paid twice', () => {
  it('a 3-D Secure payment completed after the link expired and the period was paid again is refunded automatically', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: '3ds-twice', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [first] = await h.attempts(sub.id);
    // The link runs out; dunning asks the bank again a day later, and the customer pays that one.
    h.clock.advance(73 * HOUR_MS);
    await h.linkJanitor();
    await h.chargeDue();
    const [, second] = await h.attempts(sub.id);
    expect(second).toMatchObject({ status: 'action_required', period: 1 });
    await authenticate(second!.pay_url!);
    await h.eventually(async () => (await h.attempts(sub.id))[1]?.status === 'succeeded');
    // The customer still had the first bank page open, and completes it too.
    await authenticate(first!.pay_url!);
    await h.eventually(async () => (await h.db.db.selectFrom('provider_notices').select('result').where('reference', '=', first!.order_number).where('result', '=', 'confirming').execute()).length > 0);
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded' });
    expect((await h.events(sub.id)).find((e) => e.type === 'double_payment')).toMatchObject({ data: { excess_minor: 999, action: 'refund', order_number: first!.order_number } });
    const [refund] = await refunds(sub.id);
    expect(refund).toMatchObject({ parent_id: first!.id, amount_minor: 999, status: 'pending', details: { automatic: 'double_payment' }, reason: 'this period was already paid' });
    await h.eventually(async () => h.sandbox.ledger.entries(0, 1, { orderNumber: first!.order_number }).entries[0]?.refunds[0]?.status === 'refunded');
    await queryRefundsNow();
    expect(await invoice(sub.id, 1)).toMatchObject({ status: 'paid', amount_paid_minor: 1998, amount_refunded_minor: 999 });
    const told = (await outbox(sub.id)).find((m) => m.kind === 'refunded');
    expect(told?.text_body).toMatch(/charged twice for the same period/);
    // Nothing more to refund: the next pass leaves it alone.
    await h.janitor();
    expect(await refunds(sub.id)).toHaveLength(1);
  });

  it('with REBILL_DOUBLE_PAYMENT=flag, the second payment is only flagged', async () => {
    const { sub, charge } = await paidRenewal('approve-flag');
    await cancelSubscription(h.db.db, sub.id, false, h.operator());
    (h.engine as { billing: object }).billing = { doublePayment: 'flag', stopOnDispute: true };
    try {
      // A late success for a charge of a canceled subscription (the notice of a payment made elsewhere for it).
      const replay = h.signedNotice({ order_number: charge.order_number, order_currency: 'USD', order_amount: '9.99', payment_id: charge.payment_id!, payment_status: '1', payment_details: '80000:Transaction Approved' });
      expect(await h.postNotice(replay)).toEqual({ status: 200, body: 'receive-ok' });
      await h.janitor();
      expect(await refunds(sub.id)).toHaveLength(0);
    } finally {
      (h.engine as { billing: object }).billing = { doublePayment: 'refund', stopOnDispute: true };
    }
  });
});

async function authenticate(payUrl: string): Promise<void> {
  const page = await fetch(payUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ result: 'authenticate' }) });
  expect(page.status).toBe(200);
}
