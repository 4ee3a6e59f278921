/**
 * The janitor resolves what providers have not told us: it queries charges and refunds left
 * `sending` (timeout, crash), `unknown` or `pending` on a backoff schedule, and settled ones a
 * notice asked to confirm; refunds money a period was paid twice; ends dunning for subscriptions
 * that waited past the last retry; and releases queue marks whose job was lost.
 */
import type { Tx } from '../db/connect.ts';
import type { PaymentTransaction } from '../db/database.ts';
import { errorMessage } from '../lib/errors.ts';
import { applyToInvoice, netPaidMinor } from '../payments/invoices/invoice-machine.ts';
import { invoiceStateOf, lockInvoices, openInvoicesOf } from '../payments/invoices/invoice.repo.ts';
import type { ChargeQueryResult, RefundQueryResult } from '../payments/outcomes.ts';
import { operation } from '../payments/provider.ts';
import type { Resolution } from '../payments/transactions/charge-machine.ts';
import type { RefundResolution } from '../payments/transactions/refund-machine.ts';
import { childrenOf, claimTransactionsToQuery } from '../payments/transactions/transaction.repo.ts';
import { lockSubscriptions, stateOf } from '../subscriptions/subscription.repo.ts';
import { applyEvent } from '../subscriptions/transitions.ts';
import { ChangeSet, commitChanges } from './commit.ts';
import { answerDeadlineMs, recordContext, type BillingEngine } from './engine.ts';
import { recordOutcomes, type RecordedOutcome } from './record-outcomes.ts';
import { commitRefund, recordRefundOutcomes, refundableMinor, sendRefunds } from './refunds.ts';
import { releaseStaleQueueLeases } from './schedule-renewals.job.ts';

export interface JanitorSettings {
  /** Transactions queried per pass. */
  queryBatch: number;
  /** Queries in flight at once. */
  queryConcurrency: number;
}

export const DEFAULT_JANITOR_SETTINGS: JanitorSettings = { queryBatch: 200, queryConcurrency: 8 };

export interface JanitorReport {
  queried: number;
  resolved: number;
  unpaid: number;
  releasedLeases: number;
  doublePaymentsRefunded: number;
}

export async function runJanitor(engine: BillingEngine, settings: JanitorSettings = DEFAULT_JANITOR_SETTINGS): Promise<JanitorReport> {
  const now = engine.clock.now();
  const due = await claimTransactionsToQuery(engine.db, now, new Date(now.getTime() + answerDeadlineMs(engine)), settings.queryBatch);
  const charges = await queryCharges(engine, due.filter((t) => t.kind === 'charge'), settings.queryConcurrency);
  const refunds = await queryRefunds(engine, due.filter((t) => t.kind === 'refund'));
  const doublePaymentsRefunded = await refundDoublePayments(engine);
  const unpaid = await endExhaustedDunning(engine, now);
  // A charge job taken by a worker that died stays `active` in pg-boss until it expires; its
  // subscription is queued again sooner than that (a duplicate job finds nothing to do).
  const releasedLeases = await releaseStaleQueueLeases(engine.db, now, answerDeadlineMs(engine));
  return {
    queried: due.length,
    resolved: charges.filter((r) => r.changed).length + refunds,
    unpaid,
    releasedLeases,
    doublePaymentsRefunded,
  };
}

/** Runs `fn` over `items`, at most `concurrency` at a time. */
async function eachConcurrently<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Queries charges and records what their providers say; used by the janitor, `rebill resolve` and the return page. */
export async function queryCharges(engine: BillingEngine, charges: readonly PaymentTransaction[], concurrency = 8): Promise<RecordedOutcome[]> {
  const reports: { transactionId: number; resolution: Resolution }[] = [];
  await eachConcurrently(charges, concurrency, async (charge) => {
    const stopTimer = engine.metrics.gatewayLatency.startTimer({ operation: 'query' });
    const result = await Promise.resolve()
      .then(() => operation(engine.providers.get(charge.provider), 'queryCharge', 'query')(charge.reference, charge.provider_reference))
      .catch((error: unknown): ChargeQueryResult => ({ kind: 'error', reason: errorMessage(error) }));
    stopTimer();
    const resolution = resolutionFromQuery(charge, result);
    engine.logger.info({ transaction_id: charge.id, order_number: charge.reference, query: result.kind, resolution: resolution.kind }, 'charge queried');
    reports.push({ transactionId: charge.id, resolution });
  });
  if (!reports.length) return [];
  return engine.db.transaction().execute((tx) =>
    recordOutcomes(tx, reports.map((r) => ({ ...r, actor: 'gateway:query', fromQuery: true })), recordContext(engine)),
  );
}

export function resolutionFromQuery(charge: PaymentTransaction, result: ChargeQueryResult): Resolution {
  if (result.kind === 'error') return { kind: 'still_unresolved', reason: result.reason };
  if (result.kind === 'not_found') return { kind: 'not_sent', reason: `the provider has no order ${charge.reference}` };
  const mismatched = result.payments.filter((p) => p.money?.currency !== charge.currency || p.money.amountMinor !== charge.amount_minor);
  if (mismatched.length) return { kind: 'still_unresolved', reason: 'the query returned an amount or currency that does not match the charge' };
  // An order may hold several payment attempts; any success settles it, else the newest speaks.
  const payment = result.payments.find((p) => p.outcome.kind === 'approved') ?? result.payments[0];
  if (!payment) return { kind: 'still_unresolved', reason: 'the query returned no usable payment' };
  return { kind: 'outcome', outcome: payment.outcome };
}

/** Queries refunds and records what their providers say. Returns how many changed. */
async function queryRefunds(engine: BillingEngine, refunds: readonly PaymentTransaction[]): Promise<number> {
  if (!refunds.length) return 0;
  const reports: { refundId: number; resolution: RefundResolution }[] = [];
  for (const refund of refunds) {
    const result = await Promise.resolve()
      .then(() => operation(engine.providers.get(refund.provider), 'queryRefund', 'refund')({ reference: refund.reference, refundId: refund.provider_reference }))
      .catch((error: unknown): RefundQueryResult => ({ kind: 'error', reason: errorMessage(error) }));
    engine.logger.info({ transaction_id: refund.id, refund_number: refund.reference, query: result.kind }, 'refund queried');
    reports.push({ refundId: refund.id, resolution: refundResolutionFromQuery(result) });
  }
  const recorded = await engine.db.transaction().execute((tx) =>
    recordRefundOutcomes(tx, reports.map((r) => ({ ...r, actor: 'gateway:query', fromQuery: true })), recordContext(engine)),
  );
  return recorded.filter((r) => r.changed).length;
}

export function refundResolutionFromQuery(result: RefundQueryResult): RefundResolution {
  switch (result.kind) {
    case 'refunded':
      return { kind: 'refunded', providerReference: result.refundId };
    case 'pending':
      return { kind: 'pending', providerReference: result.refundId };
    case 'failed':
      return { kind: 'failed', message: result.message };
    case 'not_found':
      return { kind: 'not_found', reason: 'the provider has no such refund' };
    case 'error':
      return { kind: 'still_unresolved', reason: result.reason };
  }
}

/**
 * A period is never kept paid twice: money an invoice holds beyond what is due (a second payment,
 * or any payment after the subscription ended) is refunded from the payment that brought it,
 * unless the policy says only to flag it. An automatic refund that failed is not tried again by
 * itself: the event log and `rebill show` say so, for an operator to decide.
 */
async function refundDoublePayments(engine: BillingEngine): Promise<number> {
  if (engine.billing.doublePayment !== 'refund') return 0;
  const overpaid = await engine.db
    .selectFrom('invoices')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb(eb.ref('amount_paid_minor'), '>', eb(eb.ref('amount_due_minor'), '+', eb(eb.ref('amount_refunded_minor'), '+', eb.ref('amount_charged_back_minor')))),
        eb.and([eb('closed_as', '=', 'void'), eb(eb.ref('amount_paid_minor'), '>', eb(eb.ref('amount_refunded_minor'), '+', eb.ref('amount_charged_back_minor')))]),
      ]),
    )
    .orderBy('id')
    .limit(100)
    .execute();
  const refunds: PaymentTransaction[] = [];
  for (const invoice of overpaid) {
    const refund = await engine.db.transaction().execute(async (tx) => {
      // The subscription first, as every writer locks it before its transactions and invoices.
      await lockSubscriptions(tx, [invoice.subscription_id]);
      const [locked] = await lockInvoices(tx, [invoice.id]);
      const state = invoiceStateOf(locked!);
      const excess = state.closedAs === 'void' ? netPaidMinor(state) : netPaidMinor(state) - state.amountDueMinor;
      // The payment recorded last is the extra one (a late 3-D Secure, a payment after the cancel).
      const charges = await tx.selectFrom('payment_transactions').selectAll().where('invoice_id', '=', invoice.id).where('kind', '=', 'charge').where('status', '=', 'succeeded')
        .orderBy('resolved_at', 'desc').orderBy('updated_at', 'desc').orderBy('id', 'desc').execute();
      const children = await childrenOf(tx, charges.map((c) => c.id));
      const inProgress = children.filter((c) => c.kind === 'refund' && ['sending', 'pending', 'unknown'].includes(c.status)).reduce((sum, c) => sum + c.amount_minor, 0);
      const failedBefore = children.some((c) => c.kind === 'refund' && c.status === 'failed' && c.details.automatic);
      const toRefund = excess - inProgress;
      if (toRefund <= 0 || failedBefore) return null;
      // Refund from it what it still holds (or from the one before, if it holds nothing).
      const from = charges.find((c) => refundableMinor(c, children.filter((x) => x.parent_id === c.id)) > 0);
      if (!from) return null;
      const amount = Math.min(toRefund, refundableMinor(from, children.filter((x) => x.parent_id === from.id)));
      return commitRefund(tx, engine, {
        orderNumber: from.reference,
        amount: { amountMinor: amount, currency: from.currency },
        reason: state.closedAs === 'void' ? 'paid after the subscription ended' : 'this period was already paid',
        actor: 'janitor',
        automatic: state.closedAs === 'void' ? 'paid_after_cancel' : 'double_payment',
      });
    });
    if (refund) refunds.push(refund);
  }
  if (refunds.length) await sendRefunds(engine, refunds);
  return refunds.length;
}

/**
 * Subscriptions waiting with nothing scheduled (hard decline, expired 3-D Secure) become unpaid
 * when the retry schedule would have ended; their open invoice becomes uncollectible.
 */
async function endExhaustedDunning(engine: BillingEngine, now: Date): Promise<number> {
  const lastRetryMs = Math.max(...engine.policy.retryScheduleMs);
  const deadline = new Date(now.getTime() - lastRetryMs);
  return engine.db.transaction().execute(async (tx) => {
    const candidates = await tx
      .selectFrom('subscriptions')
      .select('id')
      .where('next_attempt_at', 'is', null)
      .where('status', 'in', ['incomplete', 'past_due'])
      .where('past_due_since', '<=', deadline)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('payment_transactions')
              .select('id')
              .whereRef('payment_transactions.subscription_id', '=', 'subscriptions.id')
              .where('kind', '=', 'charge')
              .where('status', 'in', ['sending', 'pending', 'action_required', 'unknown']),
          ),
        ),
      )
      .orderBy('id')
      .limit(500)
      .forNoKeyUpdate()
      .skipLocked()
      .execute();
    const rows = await lockSubscriptions(tx, candidates.map((c) => c.id));
    const changes = new ChangeSet();
    for (const row of rows) {
      const before = stateOf(row);
      const result = applyEvent(row, before, { type: 'dunning_exhausted' }, { now, actor: 'janitor', reason: 'no successful payment before the end of the retry schedule' }, engine.policy);
      if (!result.ok) continue;
      changes.subscriptions.set(row.id, result.change);
      changes.events.push(...result.events);
      changes.records.push({ kind: 'subscription', subscription: row, before, after: result.state, event: { type: 'dunning_exhausted' }, flags: [], charge: null });
    }
    await closeOpenInvoices(tx, changes, rows.filter((r) => changes.subscriptions.has(r.id)).map((r) => r.id), 'marked_uncollectible');
    await commitChanges(tx, changes, { now, followUps: engine.followUps });
    return changes.subscriptions.size;
  });
}

/** Closes the unpaid invoices of subscriptions that ended: void (canceled) or uncollectible (dunning ran out). */
export async function closeOpenInvoices(tx: Tx, changes: ChangeSet, subscriptionIds: readonly string[], how: 'voided' | 'marked_uncollectible'): Promise<void> {
  const open = await openInvoicesOf(tx, subscriptionIds);
  for (const invoice of await lockInvoices(tx, open.map((i) => i.id))) {
    const applied = applyToInvoice(invoiceStateOf(invoice), { type: how });
    if (applied.ok) changes.invoices.set(invoice.id, { id: invoice.id, state: applied.state, paidAt: null });
  }
}
