/**
 * Transaction 1 of a renewal: under the subscriptions' locks, decide what each is due for, open
 * the period's invoice and commit the charge (with a fresh order number) before any request
 * leaves. Many subscriptions are claimed in one transaction; the provider is called only after it
 * commits, with no lock held.
 */
import type { Db } from '../db/connect.ts';
import type { NewPaymentTransaction, PaymentMethod, PaymentTransaction, Subscription } from '../db/database.ts';
import type { NewEvent } from '../events/events.repo.ts';
import { invoiceKey, openInvoices } from '../payments/invoices/invoice.repo.ts';
import { methodsByIds } from '../payments/methods/payment-method.repo.ts';
import type { PaymentProvider, PaymentProviders } from '../payments/provider.ts';
import { chargeHistory, insertTransactions } from '../payments/transactions/transaction.repo.ts';
import { renewalAt } from '../plans/billing-calendar.ts';
import { sequenceOf } from '../plans/charge-sequence.ts';
import { lockSubscriptions, stateOf } from '../subscriptions/subscription.repo.ts';
import { planCharge, skipToPeriod, type DunningPolicy } from '../subscriptions/subscription-machine.ts';
import { applyEvent } from '../subscriptions/transitions.ts';
import { ChangeSet, commitChanges, type FollowUps } from './commit.ts';

export interface ClaimContext {
  now: Date;
  policy: DunningPolicy;
  maxCatchupPeriods: number;
  providers: PaymentProviders;
  /** A charge still `sending` after this long is queried (the request timed out or we crashed). */
  queryAfterMs: number;
  actor?: string;
  followUps: FollowUps;
  /**
   * Claiming at a counter (`rebill collect`): only subscriptions collected in person are taken,
   * and one waiting for a retry may be collected now. Otherwise those are never claimed: they are
   * paid when the customer comes.
   */
  inPerson?: boolean;
}

export interface ClaimedCharge {
  subscription: Subscription;
  attempt: PaymentTransaction;
  method: PaymentMethod;
}

/** Order numbers say which subscription and period they charge: `{subscription hex}-{period}-{try}`. */
export function orderNumberFor(subscriptionId: string, period: number, attemptNumber: number): string {
  return `${subscriptionId.replaceAll('-', '')}-${period}-${attemptNumber}`;
}

/** A charge about to be sent: `sending`, with a fresh order number, queried if no answer comes in time. */
export function newChargeRow(
  row: Subscription,
  provider: PaymentProvider,
  charge: { period: number; attemptNumber: number; now: Date; queryAfterMs: number; details?: Record<string, string> },
): Omit<NewPaymentTransaction, 'invoice_id'> {
  return {
    kind: 'charge',
    subscription_id: row.id,
    parent_id: null,
    period: charge.period,
    provider: provider.name,
    provider_account: provider.account,
    reference: orderNumberFor(row.id, charge.period, charge.attemptNumber),
    provider_reference: null,
    amount_minor: row.amount_minor,
    currency: row.currency,
    status: 'sending',
    // A period collected otherwise than by card token says how, for its e-mails and pages.
    details: JSON.stringify({
      ...(row.collection_method === 'card_token' ? provider.chargeDetails({ sequence: sequenceOf(charge.period), interval: row.interval }) : { collection: row.collection_method }),
      ...charge.details,
    }),
    requested_at: charge.now,
    next_query_at: new Date(charge.now.getTime() + charge.queryAfterMs),
    decline_class: null,
    provider_code: null,
    provider_message: null,
    action_url: null,
    failure_reason: null,
    reason: null,
    resolved_at: null,
  };
}

export async function claimCharges(db: Db, subscriptionIds: readonly string[], ctx: ClaimContext): Promise<ClaimedCharge[]> {
  if (!subscriptionIds.length) return [];
  const actor = ctx.actor ?? 'worker';
  return db.transaction().execute(async (tx) => {
    const rows = await lockSubscriptions(tx, subscriptionIds);
    const history = await chargeHistory(tx, rows.map((r) => r.id));
    const methods = await methodsByIds(tx, rows.flatMap((r) => (r.payment_method_id === null ? [] : [r.payment_method_id])));
    const changes = new ChangeSet();
    const pending: { subscription: Subscription; method: PaymentMethod; attempt: Omit<NewPaymentTransaction, 'invoice_id'>; started: NewEvent[] }[] = [];

    for (const row of rows) {
      const mine = history.filter((h) => h.subscription_id === row.id);
      let state = stateOf(row);
      const counter = row.collection_method === 'in_person';
      // At the counter a retry need not wait for its turn: the customer is there now.
      const due = ctx.inPerson && state.status !== 'active' && state.nextAttemptAt && state.nextAttemptAt > ctx.now ? { ...state, nextAttemptAt: ctx.now } : state;
      const plan = planCharge(due, ctx.now, ctx.maxCatchupPeriods, mine.some((h) => h.open));
      // Only the counter collects an in-person period, and the counter nothing else; ending a
      // subscription at its period end is the same for both.
      if (counter !== (ctx.inPerson ?? false) && plan.action !== 'end_at_period_end') {
        changes.subscriptions.set(row.id, { id: row.id, state, releaseQueueLease: true });
        continue;
      }
      const base = { subscriptionId: row.id, actor, occurredAt: ctx.now };
      const method = row.payment_method_id === null ? undefined : methods.get(row.payment_method_id);
      if (plan.action === 'skip' || (plan.action === 'charge' && (!method || method.status !== 'active'))) {
        // Nothing to charge now (or nothing to charge with yet: a checkout not completed).
        changes.subscriptions.set(row.id, { id: row.id, state, releaseQueueLease: true });
        continue;
      }
      if (plan.action === 'end_at_period_end') {
        const result = applyEvent(row, state, { type: 'period_ended' }, { now: ctx.now, actor, reason: 'canceled at period end' }, ctx.policy);
        if (result.ok) {
          changes.subscriptions.set(row.id, { ...result.change, releaseQueueLease: true });
          changes.events.push(...result.events);
          changes.records.push({ kind: 'subscription', subscription: row, before: state, after: result.state, event: { type: 'period_ended' }, flags: [], charge: null });
        }
        continue;
      }
      if (plan.skipped) {
        state = skipToPeriod(state, plan.period);
        changes.events.push({
          ...base,
          type: 'periods_skipped',
          reason: `more than ${ctx.maxCatchupPeriods} periods behind: only the latest is charged`,
          data: { from_period: plan.skipped.from, to_period: plan.skipped.to, charged_period: plan.period },
        });
      }
      const started = applyEvent(row, state, { type: 'charge_started', period: plan.period }, { now: ctx.now, actor }, ctx.policy);
      if (!started.ok) {
        changes.subscriptions.set(row.id, { id: row.id, state, releaseQueueLease: true });
        continue;
      }
      const provider = ctx.providers.get(method!.provider);
      const tries = mine.find((h) => h.period === plan.period)?.attempts ?? 0;
      pending.push({
        subscription: row,
        method: method!,
        started: started.events,
        attempt: newChargeRow(row, provider, { period: plan.period, attemptNumber: Number(tries) + 1, now: ctx.now, queryAfterMs: ctx.queryAfterMs }),
      });
      changes.subscriptions.set(row.id, { ...started.change, releaseQueueLease: true });
    }

    const invoices = await openInvoices(
      tx,
      pending.map(({ subscription, attempt }) => ({
        subscriptionId: subscription.id,
        period: attempt.period,
        amountDueMinor: attempt.amount_minor,
        currency: attempt.currency,
        dueAt: renewalAt(stateOf(subscription).plan, attempt.period),
      })),
    );
    const inserted = await insertTransactions(
      tx,
      pending.map((p) => ({ ...p.attempt, invoice_id: invoices.get(invoiceKey(p.subscription.id, p.attempt.period))!.id })),
    );
    const byReference = new Map(inserted.map((a) => [a.reference, a]));
    const claimed = pending.map((p) => {
      const attempt = byReference.get(p.attempt.reference)!;
      for (const event of p.started) {
        event.transactionId = attempt.id;
        if (event.type === 'charge_started') {
          event.data = { ...event.data, order_number: attempt.reference, service_mode: attempt.details.service_mode, amount_minor: attempt.amount_minor, currency: attempt.currency };
        }
      }
      changes.events.push(...p.started);
      return { subscription: p.subscription, attempt, method: p.method };
    });
    await commitChanges(tx, changes, { now: ctx.now, followUps: ctx.followUps });
    return claimed;
  });
}
