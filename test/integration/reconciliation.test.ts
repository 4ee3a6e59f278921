/**
 * Daily reconciliation against the sandbox over real HTTP: its order lists, paged, compared with
 * rebill's records. A lost success notice is found and recorded through the normal path, a
 * payment rebill never sent is flagged (and the team e-mailed), refunds and chargebacks made at the
 * gateway are recorded once the order query confirms them, and a day run again changes nothing new.
 *
 * The sandbox stamps payments with the real time, so rebill's manual clock starts at the real time
 * too and the day reconciled is the gateway's (UTC+8) day of that instant.
 */
import { describe, expect, it } from 'vitest';
import { DAY_MS, MINUTE_MS } from '../../src/lib/clock.ts';
import { formatGatewayDateTime } from '../../src/payments/providers/oceanpayment/gateway-time.ts';
import { reconcileDay, type ReconcileProgress } from '../../src/reconciliation/reconcile.ts';
import { reconcilePreviousDays } from '../../src/reconciliation/reconcile.job.ts';
import { PUBLIC_SHOP, useHarness } from '../support/engine-harness.ts';

const START = new Date();
const h = useHarness('reconciliation', { start: START.toISOString(), sandbox: { refundDelayMs: 20 } });
const TODAY = formatGatewayDateTime(START).slice(0, 10);
const ALERTS = { merchant: PUBLIC_SHOP, operatorEmail: 'team@shop.test' };

/** A subscription whose renewal falls due now, charged with `token`. */
async function renewalCharged(token: string) {
  const sub = await h.enrol({ quickpayId: token, firstPaidAt: new Date(h.clock.now().getTime() - 31 * DAY_MS).toISOString() });
  await h.db.db.updateTable('subscriptions').set({ next_attempt_at: h.clock.now(), next_renewal_at: h.clock.now() }).where('id', '=', sub.id).execute();
  await h.chargeDue();
  const [charge] = await h.attempts(sub.id);
  return { sub, charge: charge! };
}

const reconcile = (day = TODAY, onProgress?: (p: ReconcileProgress) => void) =>
  reconcileDay(h.engine, { day, startedBy: 'operator:test', alerts: ALERTS, ...(onProgress ? { onProgress } : {}) });

async function bookOutOfBand(orderNumber: string, amount: string, at?: string) {
  const response = await fetch(`${h.sandbox.url}/sandbox/orders`, {
    method: 'POST',
    body: JSON.stringify({ order_number: orderNumber, amount, currency: 'USD', ...(at ? { at } : {}) }),
  });
  expect(response.status).toBe(201);
}

const counts = async () => ({
  transactions: Number((await h.db.db.selectFrom('payment_transactions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
  events: Number((await h.db.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
  alerts: Number((await h.db.db.selectFrom('email_outbox').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', 'reconciliation_alert').executeTakeFirstOrThrow()).n),
});

describe('daily reconciliation', () => {
  it('finds a lost success notice and records it; flags a payment rebill never sent; a re-run changes nothing new', async () => {
    const lost = await renewalCharged('lost-notice-recon');
    const paid = await renewalCharged('approve-recon');
    expect(lost.charge.status).toBe('pending');
    expect(paid.charge.status).toBe('succeeded');
    // The gateway approves the lost one a moment later; its notice never comes.
    await h.eventually(async () => h.sandbox.ledger.entries(0, 1, { orderNumber: lost.charge.order_number }).entries[0]?.status === 'approved');
    await bookOutOfBand('BACKOFFICE-1', '12.50');
    expect((await h.attempts(lost.sub.id))[0]!.status).toBe('pending');

    const first = await reconcile();
    expect(first.run).toMatchObject({ status: 'done', payments_compared: 3, matched: 1, fixed: 1, flagged: 1 });
    expect(first.items.map((i) => [i.outcome, i.kind, i.reference])).toEqual(
      expect.arrayContaining([
        ['fixed', 'lost_success_recorded', lost.charge.order_number],
        ['flagged', 'unknown_payment', 'BACKOFFICE-1'],
      ]),
    );
    expect((await h.attempts(lost.sub.id))[0]).toMatchObject({ status: 'succeeded', payment_id: expect.any(String) });
    expect(await h.subscription(lost.sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    const succeeded = (await h.events(lost.sub.id)).find((e) => e.type === 'payment_succeeded');
    expect(succeeded).toMatchObject({ actor: 'gateway:reconciliation' });
    const [alert] = await h.db.db.selectFrom('email_outbox').selectAll().where('kind', '=', 'reconciliation_alert').execute();
    expect(alert).toMatchObject({ to_address: 'team@shop.test', subject: `Reconciliation of ${TODAY} with oceanpayment: 1 item to check` });
    expect(alert!.text_body).toContain('BACKOFFICE-1');

    const before = await counts();
    const again = await reconcile();
    expect(again.run).toMatchObject({ status: 'done', payments_compared: 3, matched: 2, fixed: 0, flagged: 1 });
    expect(again.items.map((i) => i.kind)).toEqual(['unknown_payment']);
    expect(await counts()).toEqual(before);
  });

  it('records a refund and a chargeback made at the gateway once the order query confirms them, once', async () => {
    const refunded = await renewalCharged('approve-refund-at-gateway');
    const disputed = await renewalCharged('approve-chargeback-at-gateway');
    // A refund made in the gateway's back office: rebill never asked for it.
    const asked = await h.oceanpayment.client.applyRefund({ paymentId: refunded.charge.payment_id!, refundNumber: '', refundType: 'partial', amount: '4.00', description: 'back office' });
    expect(asked.kind).toBe('accepted');
    await h.eventually(async () => h.sandbox.ledger.entries(0, 1, { orderNumber: refunded.charge.order_number }).entries[0]?.refunds[0]?.status === 'refunded');
    const chargeback = await fetch(`${h.sandbox.url}/sandbox/chargebacks`, { method: 'POST', body: JSON.stringify({ order_number: disputed.charge.order_number }) });
    expect(chargeback.status).toBeLessThan(300);

    const run = await reconcile();
    expect(run.run.status).toBe('done');
    expect(run.items.filter((i) => i.outcome === 'fixed').map((i) => [i.kind, i.reference])).toEqual(
      expect.arrayContaining([
        ['refund_recorded', refunded.charge.order_number],
        ['chargeback_recorded', disputed.charge.order_number],
      ]),
    );
    const refunds = await h.db.db.selectFrom('payment_transactions').selectAll().where('parent_id', '=', refunded.charge.id).execute();
    expect(refunds).toEqual([expect.objectContaining({ kind: 'refund', status: 'succeeded', amount_minor: 400, details: expect.objectContaining({ found_by: 'reconciliation' }) })]);
    expect(await h.db.db.selectFrom('invoices').selectAll().where('id', '=', refunded.charge.invoice_id).executeTakeFirstOrThrow()).toMatchObject({ status: 'partially_refunded', amount_refunded_minor: 400 });
    const chargebacks = await h.db.db.selectFrom('payment_transactions').selectAll().where('parent_id', '=', disputed.charge.id).execute();
    expect(chargebacks).toEqual([expect.objectContaining({ kind: 'chargeback', status: 'succeeded', amount_minor: 999 })]);

    const before = await counts();
    const again = await reconcile();
    expect(again.items.filter((i) => i.outcome === 'fixed')).toEqual([]);
    expect(await counts()).toEqual(before);
  });

  it('flags a payment rebill recorded that the gateway does not have, and leaves it unchanged', async () => {
    const { charge } = await renewalCharged('approve-phantom');
    // As if rebill had recorded a payment under an order number the gateway never saw.
    await h.db.db.updateTable('payment_transactions').set({ reference: 'PHANTOM-1' }).where('id', '=', charge.id).execute();
    const run = await reconcile();
    const item = run.items.find((i) => i.reference === 'PHANTOM-1');
    expect(item).toMatchObject({ outcome: 'flagged', kind: 'missing_at_provider', transaction_id: charge.id });
    expect(item!.detail).toMatch(/knows no such order/);
    expect((await h.db.db.selectFrom('payment_transactions').selectAll().where('id', '=', charge.id).executeTakeFirstOrThrow()).status).toBe('succeeded');
  });

  it('pages through a day with more orders than a page holds, and reports progress', async () => {
    const day = formatGatewayDateTime(new Date(START.getTime() - 3 * DAY_MS)).slice(0, 10);
    const at = new Date(START.getTime() - 3 * DAY_MS).toISOString();
    for (let n = 1; n <= 205; n++) await bookOutOfBand(`PAGED-${String(n).padStart(3, '0')}`, '1.00', at);
    const progress: ReconcileProgress[] = [];
    const run = await reconcile(day, (p) => progress.push(p));
    expect(run.run).toMatchObject({ status: 'done', payments_compared: 205, flagged: 205 });
    expect(new Set(run.items.map((i) => i.reference)).size).toBe(205);
    expect(progress.filter((p) => p.list === 'payments').map((p) => `${p.page}/${p.totalPages}`)).toEqual(['1/3', '2/3', '3/3']);
  });

  it("the daily job reconciles the gateway's last complete day, as the worker", async () => {
    const later = new Date(h.clock.now().getTime() + DAY_MS);
    h.clock.set(later.toISOString());
    await reconcilePreviousDays(h.engine, ALERTS);
    const [latest] = await h.db.db.selectFrom('reconciliation_runs').selectAll().orderBy('id', 'desc').limit(1).execute();
    expect(latest).toMatchObject({ day: formatGatewayDateTime(new Date(later.getTime() - DAY_MS)).slice(0, 10), actor: 'worker', status: 'done' });
    h.clock.set(START.toISOString());
  });

  it('the daily job fails (so the queue tries again) when a run cannot read the gateway, after storing the run as failed', async () => {
    const later = new Date(h.clock.now().getTime() + DAY_MS);
    h.clock.set(later.toISOString());
    h.useOceanpayment({ queryUrl: 'http://127.0.0.1:9', timeoutMs: 2_000 });
    try {
      await expect(reconcilePreviousDays(h.engine, ALERTS)).rejects.toThrow(/reconciliation did not finish, to be tried again: oceanpayment \d{4}-\d{2}-\d{2} \(run \d+\)/);
      const [latest] = await h.db.db.selectFrom('reconciliation_runs').selectAll().orderBy('id', 'desc').limit(1).execute();
      expect(latest).toMatchObject({ status: 'failed', actor: 'worker', error: expect.stringContaining("oceanpayment's payments list, page 1") });
    } finally {
      h.useOceanpayment({});
      h.clock.set(START.toISOString());
    }
  });

  it('refuses a day that has not begun, and a day that is not a date, changing nothing', async () => {
    const tomorrow = formatGatewayDateTime(new Date(h.clock.now().getTime() + 2 * DAY_MS)).slice(0, 10);
    await expect(reconcile(tomorrow)).rejects.toThrow(/has not begun yet/);
    await expect(reconcile('2026-02-30')).rejects.toThrow(/"2026-02-30" is not a day; write it as YYYY-MM-DD/);
    h.clock.advance(MINUTE_MS);
  });
});
