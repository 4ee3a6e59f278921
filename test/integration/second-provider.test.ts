/**
 * Adding a provider touches only its own code and the registry: a provider written for this test
 * (test/support/test-provider.ts) renews, takes signed notices on its own path, and refunds,
 * through exactly the same core as Oceanpayment.
 */
import { describe, expect, it } from 'vitest';
import { requestRefund } from '../../src/billing/refunds.ts';
import { MINUTE_MS } from '../../src/lib/clock.ts';
import { enrolMany, validateEnrolment } from '../../src/subscriptions/enrol.ts';
import { signNotice, testPay, type TestPay } from '../support/test-provider.ts';
import { useHarness } from '../support/engine-harness.ts';

let provider: TestPay;
const h = useHarness('second_provider', { extraProviders: () => [(provider = testPay())] });

async function enrolWithTestPay(token: string) {
  h.clock.set('2027-03-01T00:00:00Z');
  const result = validateEnrolment(
    { email: 'lin@example.com', firstName: 'Lin', lastName: 'Ho', country: 'SG', interval: 'month', amount: '12.00', currency: 'SGD', quickpayId: token, firstPaidAt: '2027-01-31T09:00:00Z' },
    h.clock.now(),
  );
  if (!result.ok) throw new Error(result.problems.join('; '));
  await enrolMany(h.db.db, [result.row], { now: h.clock.now(), actor: 'test', provider: 'testpay' });
  return result.row.id;
}

const notice = (body: string) => fetch(`${h.publicUrl}/payments/testpay/notice`, { method: 'POST', body }).then(async (r) => ({ status: r.status, body: await r.text() }));

describe('a second payment provider', () => {
  it('renews a subscription whose card it holds, with its own account and details on the charge', async () => {
    const id = await enrolWithTestPay('tp-card-1');
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    expect(charge).toMatchObject({ provider: 'testpay', provider_account: 'testpay-merchant', status: 'succeeded', provider_reference: expect.stringMatching(/^tp_/), details: { sequence: 'first_renewal' } });
    expect(await h.subscription(id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    expect(provider.payments.get(charge!.reference)).toMatchObject({ money: { amountMinor: 1200, currency: 'SGD' } });
  });

  it('takes its signed notices on /payments/testpay/notice, answers in its own words, and rejects a forged one', async () => {
    const id = await enrolWithTestPay('pending-tp-2');
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    expect(charge).toMatchObject({ status: 'pending' });
    const forged = JSON.stringify({ reference: charge!.reference, payment_id: charge!.provider_reference, status: 'paid', amount_minor: 1200, currency: 'SGD', account: 'testpay-merchant', signature: '00' });
    expect(await notice(forged)).toEqual({ status: 200, body: 'OK' });
    expect((await h.attempts(id))[0]).toMatchObject({ status: 'pending' });
    expect(await notice(provider.settle(charge!.reference))).toEqual({ status: 200, body: 'OK' });
    expect((await h.attempts(id))[0]).toMatchObject({ status: 'succeeded' });
    const stored = await h.db.db.selectFrom('provider_notices').select(['provider', 'result', 'verified']).where('reference', '=', charge!.reference).orderBy('id').execute();
    expect(stored).toEqual([{ provider: 'testpay', result: 'rejected', verified: false }, { provider: 'testpay', result: 'applied', verified: true }]);
    // Oceanpayment's path does not take another provider's charges.
    expect(await h.postNotice(signNotice({ reference: charge!.reference }))).toEqual({ status: 200, body: 'receive-ok' });
  });

  it('refunds through the provider that took the payment', async () => {
    const id = await enrolWithTestPay('tp-card-3');
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    const { refund } = await requestRefund(h.engine, { orderNumber: charge!.reference, reason: 'goodwill', actor: 'operator:test' });
    expect(refund).toMatchObject({ provider: 'testpay', status: 'pending', provider_reference: expect.stringMatching(/^tpr_/) });
    provider.settleRefunds();
    h.clock.advance(10 * MINUTE_MS);
    await h.janitor();
    const invoice = await h.db.db.selectFrom('invoices').selectAll().where('subscription_id', '=', id).executeTakeFirstOrThrow();
    expect(invoice).toMatchObject({ status: 'refunded', amount_refunded_minor: 1200, currency: 'SGD' });
  });
});
