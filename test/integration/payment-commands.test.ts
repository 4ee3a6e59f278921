/**
 * The operator commands for money, run as real processes against the harness's database and
 * sandbox: `rebill refund`, `rebill show` (invoices with their payments and refunds), `rebill list
 * --status refunded`, and `rebill resolve`, which must tell the customer exactly as the worker does.
 */
import { describe, expect, it } from 'vitest';
import { claimCharges } from '../../src/billing/claim-charges.ts';
import { renewalChargeRequest } from '../../src/billing/renewal-request.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { MERCHANT, useHarness } from '../support/engine-harness.ts';

const h = useHarness('payment_commands', { sandbox: { refundDelayMs: 50 } });

const env = () => ({
  DATABASE_URL: h.db.url,
  OCEANPAYMENT_ACCOUNT: MERCHANT.account,
  OCEANPAYMENT_TERMINAL: MERCHANT.terminal,
  OCEANPAYMENT_SECURE_CODE: MERCHANT.secureCode,
  OCEANPAYMENT_GATEWAY_URL: h.sandbox.url,
  OCEANPAYMENT_QUERY_URL: h.sandbox.url,
  REBILL_PUBLIC_URL: h.publicUrl,
  REBILL_OPERATOR: 'support-bea',
});

async function paidRenewal(token: string) {
  h.clock.set('2027-03-01T00:00:00Z');
  const sub = await h.enrol({ quickpayId: token, firstPaidAt: '2027-01-31T09:00:00Z' });
  await h.chargeDue();
  const [charge] = await h.attempts(sub.id);
  return { sub, charge: charge! };
}

interface Shown {
  invoices: { period: number; status: string; amount_paid: string; amount_refunded: string; payments: { order_number: string; status: string }[]; refunds: { reference: string; status: string; amount: string; reason: string; order_number: string }[] }[];
  payment_method: { provider: string; status: string } | null;
  quickpay_id: string;
}

describe('rebill refund', () => {
  it('refunds part of a payment, shows it under its invoice, and refuses more than is left', async () => {
    const { sub, charge } = await paidRenewal('approve-cli-refund');
    const refunded = await runCliJson<{ refund: { reference: string; status: string; amount: string; order_number: string }; provider_answer: string }>(
      ['refund', charge.order_number, '--amount', '4.00', '--reason', 'partial: outage'],
      env(),
    );
    expect(refunded).toMatchObject({ provider_answer: 'accepted', refund: { reference: `${charge.order_number}-R1`, status: 'pending', amount: '4.00', order_number: charge.order_number } });
    const shown = await runCliJson<Shown>(['show', sub.id], env());
    expect(shown).toMatchObject({ quickpay_id: 'approve-cli-refund', payment_method: { provider: 'oceanpayment', status: 'active' } });
    expect(shown.invoices).toEqual([
      expect.objectContaining({
        period: 1, status: 'paid', amount_paid: '9.99', amount_refunded: '0.00',
        payments: [expect.objectContaining({ order_number: charge.order_number, status: 'succeeded' })],
        refunds: [expect.objectContaining({ reference: `${charge.order_number}-R1`, status: 'pending', amount: '4.00', reason: 'partial: outage' })],
      }),
    ]);
    const text = await runCli(['show', sub.id], env());
    expect(text.stdout).toMatch(/Invoices \(1\)/);
    expect(text.stdout).toMatch(new RegExp(`refund ${charge.order_number}-R1\\s+pending\\s+USD 4\\.00: partial: outage`));

    const tooMuch = await runCli(['refund', charge.order_number, '--amount', '6.00', '--reason', 'again'], env());
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/USD 6\.00 is more than the USD 5\.99 left to refund/);
    const noReason = await runCli(['refund', charge.order_number], env());
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason is required/);
  });

  it('list --status refunded finds subscriptions whose period was refunded', async () => {
    const { sub, charge } = await paidRenewal('approve-cli-list');
    expect((await runCli(['refund', charge.order_number, '--reason', 'customer asked'], env())).code).toBe(0);
    await h.eventually(async () => h.sandbox.ledger.entries(0, 1, { orderNumber: charge.order_number }).entries[0]?.refunds[0]?.status === 'refunded');
    h.clock.advance(10 * 60_000);
    await h.janitor();
    const listed = await runCliJson<{ id: string }[]>(['list', '--status', 'refunded'], env());
    expect(listed.map((s) => s.id)).toContain(sub.id);
    const bad = await runCli(['list', '--status', 'refundedd'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/charged_back/);
  });
});

describe('rebill resolve', () => {
  it('records what the gateway says and tells the customer exactly as the worker would', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'soft-decline-resolve', firstPaidAt: '2027-01-31T09:00:00Z' });
    const [claimed] = await claimCharges(h.db.db, [sub.id], h.claimContext());
    // The request reached the gateway (which declined it); the worker "died" before recording the answer.
    await h.oceanpayment.chargeToken!(renewalChargeRequest(claimed!.subscription, claimed!.attempt, claimed!.method, { notice: 'http://127.0.0.1:9/', return: 'http://127.0.0.1:9/' }));
    const resolved = await runCliJson<{ changed: boolean; attempt: { status: string; gateway_code: string } }>(['resolve', sub.id], env());
    expect(resolved).toMatchObject({ changed: true, attempt: { status: 'failed', gateway_code: '80022' } });
    const mail = await h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', sub.id).execute();
    expect(mail).toEqual([expect.objectContaining({ kind: 'payment_failed', dedupe_key: `payment_failed:attempt:${claimed!.attempt.id}`, to_address: 'ada@example.com' })]);
  });

  it('a payment it finds sends one receipt, with the self-service link, however often it is resolved', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ email: 'receipt-resolve@example.com', quickpayId: 'approve-resolve', firstPaidAt: '2027-01-31T09:00:00Z' });
    const [claimed] = await claimCharges(h.db.db, [sub.id], h.claimContext());
    // The gateway approved it; the worker "died" before recording the answer.
    await h.oceanpayment.chargeToken!(renewalChargeRequest(claimed!.subscription, claimed!.attempt, claimed!.method, { notice: 'http://127.0.0.1:9/', return: 'http://127.0.0.1:9/' }));
    const withReceipts = { ...env(), REBILL_SEND_RECEIPTS: 'true' };
    const resolved = await runCliJson<{ changed: boolean; attempt: { status: string } }>(['resolve', sub.id], withReceipts);
    expect(resolved).toMatchObject({ changed: true, attempt: { status: 'succeeded' } });
    const again = await runCli(['resolve', sub.id], withReceipts);
    expect(again.code).toBe(1);
    const receipts = await h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', sub.id).where('kind', '=', 'receipt').execute();
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.text_body).toContain(`Order number: ${claimed!.attempt.reference}`);
    expect(receipts[0]!.text_body).toMatch(/To change your card or cancel, open:\nhttp:\/\/127\.0\.0\.1:\d+\/account\/[A-Za-z0-9_-]{43}/);
  });
});
