/**
 * Refunds, start to finish, the way charges are made: the refund is committed (status `sending`,
 * with our own refund number) before the request leaves, the provider's answer is recorded in a
 * second transaction, and anything unanswered is resolved by the janitor's query. Never more than
 * what is left of a payment is refunded: the charge is locked while that is worked out, and
 * refunds in progress count as spent.
 */
import type { Tx } from '../db/connect.ts';
import type { PaymentTransaction } from '../db/database.ts';
import type { RefundData } from '../events/event-types.ts';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors.ts';
import { displayMoney, type Money } from '../lib/money.ts';
import { applyToInvoice } from '../payments/invoices/invoice-machine.ts';
import { invoiceStateOf, lockInvoices } from '../payments/invoices/invoice.repo.ts';
import type { RefundRequestOutcome } from '../payments/outcomes.ts';
import { operation } from '../payments/provider.ts';
import { nextRefundStep, type RefundResolution, type RefundStatus } from '../payments/transactions/refund-machine.ts';
import { childTransaction, childrenOf, findTransactionByReference, insertTransactions, lockTransactions, toUpdate } from '../payments/transactions/transaction.repo.ts';
import { lockSubscriptions } from '../subscriptions/subscription.repo.ts';
import { ChangeSet, commitChanges } from './commit.ts';
import { answerDeadlineMs, recordContext, type BillingEngine } from './engine.ts';
import { nextQueryAt, type RecordContext } from './record-outcomes.ts';

/** Refund statuses that hold money back from what is left to refund. */
const SPENDING: readonly string[] = ['sending', 'pending', 'unknown', 'succeeded'];

export interface RefundAsk {
  /** The charge's order number. */
  orderNumber: string;
  /** Omitted: all that is left of the payment. */
  amount?: Money;
  reason: string;
  actor: string;
  /** Why rebill asks by itself, when it does. */
  automatic?: RefundData['automatic'];
}

export interface RefundResult {
  refund: PaymentTransaction;
  outcome: RefundRequestOutcome;
}

/** What is left to refund of a charge: its amount, less refunds in progress or done, less chargebacks. */
export function refundableMinor(charge: PaymentTransaction, children: readonly PaymentTransaction[]): number {
  const spent = children
    .filter((c) => (c.kind === 'refund' && SPENDING.includes(c.status)) || (c.kind === 'chargeback' && c.status === 'succeeded'))
    .reduce((sum, c) => sum + c.amount_minor, 0);
  return charge.amount_minor - spent;
}

export function refundNumberFor(orderNumber: string, n: number): string {
  return `${orderNumber}-R${n}`;
}

function refundData(refund: PaymentTransaction, charge: PaymentTransaction, extra: Partial<RefundData> = {}): RefundData {
  return {
    refund_number: refund.reference,
    order_number: charge.reference,
    amount_minor: refund.amount_minor,
    currency: refund.currency,
    ...(refund.provider_reference ? { refund_id: refund.provider_reference } : {}),
    ...extra,
  };
}

/** Asks for a refund: commits it, sends it, records the answer. Refused asks throw and write nothing. */
export async function requestRefund(engine: BillingEngine, ask: RefundAsk): Promise<RefundResult> {
  const refund = await engine.db.transaction().execute((tx) => commitRefund(tx, engine, ask));
  const [sent] = await sendRefunds(engine, [refund]);
  return sent!;
}

/** Transaction 1: checks the ask against the charge (locked) and commits the refund as `sending`. */
export async function commitRefund(tx: Tx, engine: BillingEngine, ask: RefundAsk): Promise<PaymentTransaction> {
  const now = engine.clock.now();
  const found = await findTransactionByReference(tx, ask.orderNumber);
  if (!found || found.kind !== 'charge') throw new NotFoundError(`no payment has order number ${ask.orderNumber}`);
  await lockSubscriptions(tx, [found.subscription_id]);
  const [charge] = await lockTransactions(tx, [found.id]);
  if (!charge || charge.status !== 'succeeded') {
    throw new ConflictError(`order ${ask.orderNumber} is ${charge?.status ?? 'gone'}: only a successful payment can be refunded`);
  }
  const provider = engine.providers.get(charge.provider);
  operation(provider, 'refund', 'refund');
  if (!charge.provider_reference) throw new ConflictError(`order ${ask.orderNumber} has no payment id from ${charge.provider}, so it cannot be refunded through it`);
  const reason = ask.reason.trim();
  if (!reason) throw new ValidationError('a refund needs a reason (--reason), e.g. "customer asked by e-mail"');
  if (reason.length > 200) throw new ValidationError(`the reason is ${reason.length} characters; at most 200 are sent to the provider`);
  const children = await childrenOf(tx, [charge.id]);
  const left = refundableMinor(charge, children);
  const money = ask.amount ?? { amountMinor: left, currency: charge.currency };
  if (money.currency !== charge.currency) {
    throw new ValidationError(`the payment was in ${charge.currency}; a refund of it must be too, not ${money.currency}`);
  }
  if (money.amountMinor <= 0 || left <= 0) {
    throw new ConflictError(`order ${ask.orderNumber} has nothing left to refund (${displayMoney({ amountMinor: charge.amount_minor, currency: charge.currency })} paid, all refunded or in progress)`);
  }
  if (money.amountMinor > left) {
    throw new ConflictError(
      `a refund of ${displayMoney(money)} is more than the ${displayMoney({ amountMinor: left, currency: charge.currency })} left to refund of order ${ask.orderNumber}`,
    );
  }
  const full = money.amountMinor === charge.amount_minor;
  const [refund] = await insertTransactions(tx, [childTransaction(charge, {
    kind: 'refund',
    reference: refundNumberFor(charge.reference, children.filter((c) => c.kind === 'refund').length + 1),
    amountMinor: money.amountMinor,
    currency: money.currency,
    status: 'sending',
    reason,
    details: { refund_type: full ? 'full' : 'partial', ...(ask.automatic ? { automatic: ask.automatic } : {}) },
    requestedAt: now,
    // Unanswered by then (a crash, a timeout): the janitor asks the provider about it.
    nextQueryAt: new Date(now.getTime() + answerDeadlineMs(engine)),
    resolvedAt: null,
  })]);
  const changes = new ChangeSet();
  changes.events.push({
    subscriptionId: charge.subscription_id,
    transactionId: refund!.id,
    type: 'refund_requested',
    actor: ask.actor,
    reason,
    occurredAt: now,
    data: refundData(refund!, charge, ask.automatic ? { automatic: ask.automatic } : {}),
  });
  await commitChanges(tx, changes, { now, followUps: engine.followUps });
  return refund!;
}

/** Sends committed refunds to their provider (no lock held) and records each answer. */
export async function sendRefunds(engine: BillingEngine, refunds: readonly PaymentTransaction[]): Promise<RefundResult[]> {
  const reports: RefundReport[] = [];
  const outcomes: RefundRequestOutcome[] = [];
  for (const refund of refunds) {
    const charge = await engine.db.selectFrom('payment_transactions').selectAll().where('id', '=', refund.parent_id!).executeTakeFirstOrThrow();
    const provider = engine.providers.get(refund.provider);
    const stopTimer = engine.metrics.gatewayLatency.startTimer({ operation: 'refund' });
    const pending = operation(provider, 'refund', 'refund')({
      reference: refund.reference,
      paymentId: charge.provider_reference ?? '',
      money: { amountMinor: refund.amount_minor, currency: refund.currency },
      full: refund.details.refund_type === 'full',
      reason: refund.reason ?? '',
    }).catch((error: unknown): RefundRequestOutcome => ({ kind: 'unknown', reason: `the request could not be made: ${String(error)}` }));
    const outcome = await pending;
    outcomes.push(outcome);
    stopTimer();
    engine.logger.info({ transaction_id: refund.id, refund_number: refund.reference, outcome: outcome.kind }, 'refund answered');
    reports.push({ refundId: refund.id, resolution: resolutionOfRequest(outcome), actor: 'gateway:sync' });
  }
  if (!reports.length) return [];
  await engine.db.transaction().execute((tx) => recordRefundOutcomes(tx, reports, recordContext(engine)));
  const after = await engine.db.selectFrom('payment_transactions').selectAll().where('id', 'in', refunds.map((r) => r.id)).execute();
  return refunds.map((r, i) => ({ refund: after.find((a) => a.id === r.id)!, outcome: outcomes[i]! }));
}

export function resolutionOfRequest(outcome: RefundRequestOutcome): RefundResolution {
  switch (outcome.kind) {
    case 'accepted':
      return { kind: 'accepted', providerReference: outcome.refundId };
    case 'refunded':
      return { kind: 'refunded', providerReference: outcome.refundId };
    case 'refused':
      return { kind: 'refused', code: outcome.code, message: outcome.message };
    case 'unknown':
      return { kind: 'unknown', reason: outcome.reason };
  }
}

export interface RefundReport {
  refundId: number;
  resolution: RefundResolution;
  actor: string;
  fromQuery?: boolean;
}

export interface RecordedRefund {
  refundId: number;
  changed: boolean;
  why?: string;
  status: RefundStatus;
}

/**
 * Where anything said about a refund becomes state: the provider's answer, a query, a confirmed
 * notice. A refund that succeeds lowers its invoice's net paid; the customer is told.
 */
export async function recordRefundOutcomes(tx: Tx, reports: readonly RefundReport[], ctx: RecordContext): Promise<RecordedRefund[]> {
  if (!reports.length) return [];
  const seen = await tx.selectFrom('payment_transactions').select(['id', 'subscription_id', 'parent_id']).where('id', 'in', reports.map((r) => r.refundId)).execute();
  const subscriptions = new Map((await lockSubscriptions(tx, seen.map((s) => s.subscription_id))).map((s) => [s.id, s]));
  const transactions = new Map((await lockTransactions(tx, seen.flatMap((s) => [s.id, s.parent_id!]))).map((t) => [t.id, t]));
  const invoices = new Map((await lockInvoices(tx, [...transactions.values()].map((t) => t.invoice_id))).map((i) => [i.id, i]));
  const changes = new ChangeSet();
  const results: RecordedRefund[] = [];
  for (const report of reports) {
    const refund = transactions.get(report.refundId);
    if (!refund || refund.kind !== 'refund') throw new Error(`refund ${report.refundId} does not exist`);
    const charge = transactions.get(refund.parent_id!)!;
    const status = refund.status as RefundStatus;
    const step = nextRefundStep({ status }, report.resolution);
    if (!step.changed) {
      if (report.fromQuery) {
        refund.query_count += 1;
        refund.next_query_at = status === 'sending' || status === 'unknown' || status === 'pending' ? nextQueryAt(refund.query_count, ctx.now, ctx.querySchedule) : null;
        changes.transactions.set(refund.id, toUpdate(refund));
      }
      results.push({ refundId: refund.id, changed: false, why: step.why, status });
      continue;
    }
    const { change } = step;
    refund.status = change.status;
    if (change.providerReference) refund.provider_reference = change.providerReference;
    if (change.code) refund.provider_code = change.code;
    if (change.message) refund.provider_message = change.message;
    if (change.status === 'failed') refund.failure_reason = change.message ?? null;
    if (report.fromQuery) refund.query_count += 1;
    refund.next_query_at = change.query === 'next' ? nextQueryAt(refund.query_count, ctx.now, ctx.querySchedule) : null;
    refund.resolved_at = change.status === 'succeeded' || change.status === 'failed' ? ctx.now : null;
    changes.transactions.set(refund.id, toUpdate(refund));
    if (change.status === 'succeeded') {
      const invoice = invoices.get(refund.invoice_id)!;
      const current = changes.invoices.get(invoice.id)?.state ?? invoiceStateOf(invoice);
      const applied = applyToInvoice(current, { type: 'refund_completed', amountMinor: refund.amount_minor });
      if (!applied.ok) throw new Error(`invoice ${invoice.id}: ${applied.refusal}`);
      changes.invoices.set(invoice.id, { id: invoice.id, state: applied.state, paidAt: null });
    }
    const subscription = subscriptions.get(refund.subscription_id)!;
    changes.events.push({
      subscriptionId: subscription.id,
      transactionId: refund.id,
      type: change.event,
      actor: report.actor,
      reason: change.message ?? refund.reason,
      occurredAt: ctx.now,
      data: refundData(refund, charge, { refund_status: `${status} -> ${change.status}` }),
    });
    if (change.status === 'succeeded' || change.status === 'failed') {
      changes.records.push({ kind: 'refund', subscription, refund: { ...refund }, charge, automatic: automaticReason(refund) });
    }
    results.push({ refundId: refund.id, changed: true, status: change.status });
  }
  await commitChanges(tx, changes, { now: ctx.now, followUps: ctx.followUps });
  return results;
}

function automaticReason(refund: PaymentTransaction): NonNullable<RefundData['automatic']> | null {
  const automatic = refund.details.automatic;
  return automatic === 'double_payment' || automatic === 'paid_after_cancel' ? automatic : null;
}

export interface FoundRefund {
  /** The payment it refunds. */
  chargeId: number;
  money: Money;
  actor: string;
  /** How it was found and confirmed, for the event log. */
  note: string;
}

export type FoundRefundRecorded = { recorded: true; refund: PaymentTransaction } | { recorded: false; why: string };

/**
 * A refund the provider made that rebill never asked for (from its back office, say), once a
 * signed query has confirmed it: recorded as a succeeded refund of its payment, its invoice's
 * net paid lowered and the customer told, like any refund. Never more than is left of the payment.
 */
export async function recordFoundRefund(tx: Tx, found: FoundRefund, ctx: RecordContext): Promise<FoundRefundRecorded> {
  const seen = await tx.selectFrom('payment_transactions').select(['subscription_id']).where('id', '=', found.chargeId).executeTakeFirst();
  if (!seen) return { recorded: false, why: `no payment ${found.chargeId}` };
  const [subscription] = await lockSubscriptions(tx, [seen.subscription_id]);
  const [charge] = await lockTransactions(tx, [found.chargeId]);
  if (!subscription || !charge || charge.kind !== 'charge' || charge.status !== 'succeeded') return { recorded: false, why: 'not a successful payment' };
  const [invoice] = await lockInvoices(tx, [charge.invoice_id]);
  const children = await childrenOf(tx, [charge.id]);
  const left = refundableMinor(charge, children);
  if (found.money.currency !== charge.currency || found.money.amountMinor <= 0 || found.money.amountMinor > left) {
    return {
      recorded: false,
      why: `a refund of ${displayMoney(found.money)} does not fit order ${charge.reference} (${displayMoney({ amountMinor: left, currency: charge.currency })} left to refund)`,
    };
  }
  const [refund] = await insertTransactions(tx, [childTransaction(charge, {
    kind: 'refund',
    reference: refundNumberFor(charge.reference, children.filter((c) => c.kind === 'refund').length + 1),
    amountMinor: found.money.amountMinor,
    currency: found.money.currency,
    status: 'succeeded',
    reason: found.note,
    details: { refund_type: found.money.amountMinor === charge.amount_minor ? 'full' : 'partial', found_by: 'reconciliation' },
    requestedAt: ctx.now,
    nextQueryAt: null,
    resolvedAt: ctx.now,
  })]);
  const changes = new ChangeSet();
  const applied = applyToInvoice(invoiceStateOf(invoice!), { type: 'refund_completed', amountMinor: found.money.amountMinor });
  if (!applied.ok) throw new Error(`invoice ${invoice!.id}: ${applied.refusal}`);
  changes.invoices.set(invoice!.id, { id: invoice!.id, state: applied.state, paidAt: null });
  changes.events.push({
    subscriptionId: subscription.id,
    transactionId: refund!.id,
    type: 'refund_succeeded',
    actor: found.actor,
    reason: found.note,
    occurredAt: ctx.now,
    data: refundData(refund!, charge, { refund_status: 'none -> succeeded', found_by: 'reconciliation' }),
  });
  changes.records.push({ kind: 'refund', subscription, refund: refund!, charge, automatic: null });
  await commitChanges(tx, changes, { now: ctx.now, followUps: ctx.followUps });
  return { recorded: true, refund: refund! };
}
