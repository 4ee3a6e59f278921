/**
 * Where anything a provider says about a charge becomes state: the synchronous answer, a notice,
 * a query result, an expired 3-D Secure link. Many reports are recorded in one transaction (a
 * batch of charges, a burst of notices), each applied in order, idempotently and monotonically: a
 * duplicate or an older report changes nothing. A success pays the period's invoice; a second
 * payment of a paid period (or a payment after the cancel) is recorded as a double payment, which
 * the janitor refunds.
 */
import type { Tx } from '../db/connect.ts';
import type { ChargeStatus, Invoice, PaymentTransaction, Subscription, SubscriptionStatus } from '../db/database.ts';
import type { ChargeFacts } from '../events/event-types.ts';
import { applyToInvoice } from '../payments/invoices/invoice-machine.ts';
import { invoiceStateOf, lockInvoices } from '../payments/invoices/invoice.repo.ts';
import { isFinal, nextChargeStep, type Resolution } from '../payments/transactions/charge-machine.ts';
import { isCheckoutCharge, isPlausibleToken } from '../payments/transactions/checkout-charge.ts';
import { glanceAtTransactions, lockTransactions, toUpdate } from '../payments/transactions/transaction.repo.ts';
import { lockSubscriptions, stateOf } from '../subscriptions/subscription.repo.ts';
import type { DunningPolicy, SubscriptionEvent, SubscriptionState, TransitionFlag } from '../subscriptions/subscription-machine.ts';
import { applyEvent } from '../subscriptions/transitions.ts';
import { ChangeSet, commitChanges, type FollowUps } from './commit.ts';
import type { BillingPolicy } from './engine.ts';

export interface OutcomeReport {
  transactionId: number;
  resolution: Resolution;
  /** Who said so: `gateway:sync`, `gateway:notice`, `gateway:query`, `janitor`, `operator:<name>`. */
  actor: string;
  /** True for query results: an unchanged open charge gets its next query scheduled. */
  fromQuery?: boolean;
}

export interface RecordContext {
  now: Date;
  policy: DunningPolicy;
  billing: BillingPolicy;
  /** Delays between queries of an unresolved charge; the last one repeats. */
  querySchedule: readonly number[];
  followUps: FollowUps;
}

export interface RecordedOutcome {
  transactionId: number;
  changed: boolean;
  why?: string;
  status: ChargeStatus;
  subscriptionStatus: SubscriptionStatus;
}

export function nextQueryAt(queryCount: number, now: Date, schedule: readonly number[]): Date {
  const delay = schedule[Math.min(queryCount, schedule.length - 1)] ?? 60_000;
  return new Date(now.getTime() + delay);
}

/** The facts of a charge the event log carries with every change it causes. */
export function chargeFacts(charge: PaymentTransaction, statusChange?: string): ChargeFacts {
  return {
    order_number: charge.reference,
    ...(charge.details.service_mode ? { service_mode: charge.details.service_mode } : {}),
    ...(statusChange ? { attempt_status: statusChange } : {}),
    ...(charge.provider_code ? { gateway_code: charge.provider_code } : {}),
    ...(charge.provider_reference ? { payment_id: charge.provider_reference } : {}),
  };
}

export async function recordOutcomes(tx: Tx, reports: readonly OutcomeReport[], ctx: RecordContext): Promise<RecordedOutcome[]> {
  if (!reports.length) return [];
  // A success is final: whatever else is reported about a succeeded charge changes nothing, so
  // those reports (the second of a notice and a sync answer, usually) are settled without locks.
  const glance = await glanceAtTransactions(tx, reports.map((r) => r.transactionId));
  // A success that brings a card token is looked at even when the charge already succeeded: a
  // query may have settled a checkout before the notice carrying its token arrived.
  const settled = (report: OutcomeReport) => glance.get(report.transactionId)?.status === 'succeeded' && !tokenOf(report);
  const live = reports.filter((r) => !settled(r));
  const ids = [...new Set(live.map((r) => r.transactionId))];
  // Subscriptions first, then transactions, then invoices: the same lock order as every other writer.
  const subscriptionIds = ids.map((id) => glance.get(id)?.subscription_id).filter((id): id is string => id !== undefined);
  const subscriptions = new Map((await lockSubscriptions(tx, subscriptionIds)).map((s) => [s.id, s]));
  const charges = new Map((await lockTransactions(tx, ids)).map((t) => [t.id, t]));
  const invoices = new Map((await lockInvoices(tx, [...charges.values()].map((c) => c.invoice_id))).map((i) => [i.id, i]));
  const states = new Map<string, SubscriptionState>();
  const changes = new ChangeSet();
  const results: RecordedOutcome[] = [];

  for (const report of reports) {
    if (settled(report)) {
      const seen = glance.get(report.transactionId)!;
      results.push({ transactionId: report.transactionId, changed: false, why: 'the charge already succeeded; a success is final', status: 'succeeded', subscriptionStatus: seen.subscription_status });
      continue;
    }
    const charge = charges.get(report.transactionId);
    if (!charge || charge.kind !== 'charge') throw new Error(`charge ${report.transactionId} does not exist`);
    const subscription = subscriptions.get(charge.subscription_id)!;
    const state = states.get(subscription.id) ?? stateOf(subscription);
    const status = charge.status as ChargeStatus;
    const step = nextChargeStep({ status }, report.resolution);
    const base = { subscriptionId: subscription.id, transactionId: charge.id, actor: report.actor, occurredAt: ctx.now };
    if (!step.changed && status === 'succeeded' && adoptToken(changes, subscription, charge, tokenOf(report), base)) {
      results.push({ transactionId: charge.id, changed: true, status, subscriptionStatus: state.status });
      continue;
    }
    if (!step.changed) {
      if (report.fromQuery && !isFinal(status)) {
        charge.query_count += 1;
        charge.next_query_at = nextQueryAt(charge.query_count, ctx.now, ctx.querySchedule);
        changes.transactions.set(charge.id, toUpdate(charge));
      } else if (report.fromQuery && charge.next_query_at !== null) {
        // A settled charge queried to confirm a notice: the provider did not confirm it; done.
        charge.query_count += 1;
        charge.next_query_at = null;
        changes.transactions.set(charge.id, toUpdate(charge));
      }
      results.push({ transactionId: charge.id, changed: false, why: step.why, status, subscriptionStatus: state.status });
      continue;
    }

    const { change } = step;
    charge.status = change.status;
    if (change.declineClass !== undefined) charge.decline_class = change.declineClass;
    if (change.providerCode) charge.provider_code = change.providerCode;
    if (change.providerMessage) charge.provider_message = change.providerMessage;
    if (change.providerReference) charge.provider_reference = change.providerReference;
    if (change.actionUrl) charge.action_url = change.actionUrl;
    if (change.failureReason !== undefined) charge.failure_reason = change.failureReason;
    if (change.query === 'none') charge.next_query_at = null;
    else if (change.query === 'now') charge.next_query_at = ctx.now;
    else charge.next_query_at = nextQueryAt(charge.query_count, ctx.now, ctx.querySchedule);
    if (report.fromQuery) charge.query_count += 1;
    charge.resolved_at = isFinal(change.status) ? ctx.now : null;
    changes.transactions.set(charge.id, toUpdate(charge));

    const facts = chargeFacts(charge, `${status} -> ${change.status}`);
    const ended = state.status === 'canceled' || state.status === 'incomplete_expired';
    if (change.status === 'succeeded') payInvoice(changes, invoices.get(charge.invoice_id)!, charge, ended, ctx, base);

    let next = state;
    let flags: TransitionFlag[] = [];
    let event: SubscriptionEvent | null = step.event ? { ...step.event, period: charge.period } : null;
    const checkout = isCheckoutCharge(charge);
    if (checkout && event?.type === 'payment_succeeded') {
      // Paid on the provider's page: the calendar starts now, and the card it stored renews it.
      event = { ...event, anchorAt: ctx.now };
      adoptToken(changes, subscription, charge, tokenOf(report), base);
    } else if (checkout && event) {
      // Until it is paid, a checkout waits for the customer (who may try again while the link
      // lasts): no dunning, no retries, no e-mails about it.
      changes.events.push({ ...base, type: change.status === 'action_required' ? 'checkout_started' : 'checkout_not_paid', reason: charge.provider_message ?? charge.failure_reason, data: facts });
      event = null;
      changes.records.push({ kind: 'subscription', subscription, before: state, after: state, event: null, flags: [], charge: { ...charge } });
      results.push({ transactionId: charge.id, changed: true, status: change.status, subscriptionStatus: state.status });
      continue;
    }
    if (event) {
      const applied = applyEvent(subscription, state, event, {
        now: ctx.now,
        actor: report.actor,
        reason: charge.provider_message ?? charge.failure_reason,
        transactionId: charge.id,
        data: facts,
      }, ctx.policy);
      if (applied.ok) {
        next = applied.state;
        flags = applied.flags;
        changes.events.push(...applied.events);
        states.set(subscription.id, next);
        changes.subscriptions.set(subscription.id, applied.change);
      } else {
        // The charge's news is recorded even when the subscription cannot take it.
        changes.events.push({ ...base, type: 'outcome_not_applied', reason: applied.refusal, data: facts });
      }
    } else {
      changes.events.push({
        ...base,
        type: change.status === 'pending' ? 'charge_pending' : 'charge_outcome_unknown',
        reason: charge.failure_reason ?? charge.provider_message,
        data: facts,
      });
    }
    changes.records.push({ kind: 'subscription', subscription, before: state, after: next, event, flags, charge: { ...charge } });
    results.push({ transactionId: charge.id, changed: true, status: change.status, subscriptionStatus: next.status });
  }

  await commitChanges(tx, changes, { now: ctx.now, followUps: ctx.followUps });
  return results;
}

/** The card token a reported success carries, when it is one a provider could have issued. */
function tokenOf(report: OutcomeReport): string | undefined {
  const outcome = report.resolution.kind === 'outcome' ? report.resolution.outcome : null;
  const token = outcome?.kind === 'approved' ? outcome.quickpayId : undefined;
  return isPlausibleToken(token) ? token : undefined;
}

/**
 * A paid checkout's token becomes the subscription's first payment method. Only a subscription
 * with none takes one this way; replacing a card is a separate, confirmed step.
 */
function adoptToken(
  changes: ChangeSet,
  subscription: Subscription,
  charge: PaymentTransaction,
  token: string | undefined,
  base: { subscriptionId: string; transactionId: number; actor: string; occurredAt: Date },
): boolean {
  if (!token || !isCheckoutCharge(charge) || subscription.payment_method_id !== null || changes.methods.has(subscription.id)) return false;
  changes.methods.set(subscription.id, { subscriptionId: subscription.id, provider: charge.provider, token, createdAt: base.occurredAt });
  changes.events.push({ ...base, type: 'payment_method_added', data: { provider: charge.provider, token_ends: token.slice(-6), order_number: charge.reference } });
  return true;
}

/**
 * A succeeded charge pays its period's invoice. Money beyond what is due (a second payment of a
 * paid period, or any payment after the subscription ended) is recorded as a double payment; the
 * janitor refunds it (or, by policy, leaves it flagged).
 */
function payInvoice(
  changes: ChangeSet,
  invoice: Invoice,
  charge: PaymentTransaction,
  canceled: boolean,
  ctx: RecordContext,
  base: { subscriptionId: string; transactionId: number; actor: string; occurredAt: Date },
): void {
  const current = changes.invoices.get(invoice.id)?.state ?? invoiceStateOf(invoice);
  const before = canceled && current.amountPaidMinor === 0 && current.closedAs === null ? { ...current, closedAs: 'void' as const } : current;
  const applied = applyToInvoice(before, { type: 'payment_received', amountMinor: charge.amount_minor });
  if (!applied.ok) throw new Error(`invoice ${invoice.id}: ${applied.refusal}`);
  changes.invoices.set(invoice.id, { id: invoice.id, state: applied.state, paidAt: ctx.now });
  if (applied.excessMinor > 0) {
    changes.events.push({
      ...base,
      type: 'double_payment',
      reason: canceled
        ? 'paid after the subscription was canceled'
        : 'this period was already paid',
      data: {
        order_number: charge.reference,
        invoice_period: invoice.period,
        excess_minor: applied.excessMinor,
        currency: charge.currency,
        action: ctx.billing.doublePayment,
      },
    });
  }
}
