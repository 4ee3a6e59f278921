/**
 * Transaction 1 of a renewal: under the subscriptions' locks, decide what each is due for and
 * commit the attempts (with fresh order numbers) before any request leaves. Many subscriptions
 * are claimed in one transaction; the gateway is called only after it commits, with no lock held.
 */
import type { Db } from '../db/connect.ts';
import type { ChargeAttempt, NewChargeAttempt, Subscription } from '../db/database.ts';
import type { TerminalCredentials } from '../payments/providers/oceanpayment/sign.ts';
import { serviceModeFor } from '../payments/providers/oceanpayment/service-mode.ts';
import { insertEvents, type NewEvent } from '../events/events.repo.ts';
import { lockSubscriptions, saveSubscriptionStates, stateOf, type SubscriptionChange } from '../subscriptions/subscription.repo.ts';
import { planCharge, skipToPeriod, type DunningPolicy } from '../subscriptions/subscription-machine.ts';
import { applyEvent, type FollowUps, type TransitionRecord } from '../subscriptions/transitions.ts';
import { attemptHistory, insertAttempts } from '../payments/transactions/transaction.repo.ts';

export interface ClaimContext {
  now: Date;
  policy: DunningPolicy;
  maxCatchupPeriods: number;
  terminal: Pick<TerminalCredentials, 'account' | 'terminal'>;
  /** An attempt still `sending` after this long is queried (the request timed out or we crashed). */
  queryAfterMs: number;
  actor?: string;
  followUps?: FollowUps;
}

export interface ClaimedCharge {
  subscription: Subscription;
  attempt: ChargeAttempt;
}

/** Order numbers say which subscription and period they charge: `{subscription hex}-{period}-{try}`. */
export function orderNumberFor(subscriptionId: string, period: number, attemptNumber: number): string {
  return `${subscriptionId.replaceAll('-', '')}-${period}-${attemptNumber}`;
}

export async function claimCharges(db: Db, subscriptionIds: readonly string[], ctx: ClaimContext): Promise<ClaimedCharge[]> {
  if (!subscriptionIds.length) return [];
  const actor = ctx.actor ?? 'worker';
  return db.transaction().execute(async (tx) => {
    const rows = await lockSubscriptions(tx, subscriptionIds);
    const history = await attemptHistory(tx, rows.map((r) => r.id));
    const changes: SubscriptionChange[] = [];
    const events: NewEvent[] = [];
    const pending: { subscription: Subscription; attempt: NewChargeAttempt; started: NewEvent[] }[] = [];
    const ended: TransitionRecord[] = [];

    for (const row of rows) {
      const mine = history.filter((h) => h.subscription_id === row.id);
      let state = stateOf(row);
      const plan = planCharge(state, ctx.now, ctx.maxCatchupPeriods, mine.some((h) => h.open));
      const base = { subscriptionId: row.id, actor, occurredAt: ctx.now };
      if (plan.action === 'skip') {
        changes.push({ id: row.id, state, releaseQueueLease: true });
        continue;
      }
      if (plan.action === 'end_at_period_end') {
        const result = applyEvent(row, state, { type: 'period_ended' }, { now: ctx.now, actor, reason: 'canceled at period end' }, ctx.policy);
        if (result.ok) {
          changes.push({ ...result.change, releaseQueueLease: true });
          events.push(...result.events);
          ended.push({ subscription: row, before: state, after: result.state, event: { type: 'period_ended' }, flags: [], attempt: null });
        }
        continue;
      }
      if (plan.skipped) {
        state = skipToPeriod(state, plan.period);
        events.push({
          ...base,
          type: 'periods_skipped',
          reason: `more than ${ctx.maxCatchupPeriods} periods behind: only the latest is charged`,
          data: { from_period: plan.skipped.from, to_period: plan.skipped.to, charged_period: plan.period },
        });
      }
      const started = applyEvent(row, state, { type: 'charge_started', period: plan.period }, { now: ctx.now, actor }, ctx.policy);
      if (!started.ok) {
        changes.push({ id: row.id, state, releaseQueueLease: true });
        continue;
      }
      const tries = mine.find((h) => h.period === plan.period)?.attempts ?? 0;
      const attempt: NewChargeAttempt = {
        subscription_id: row.id,
        period: plan.period,
        order_number: orderNumberFor(row.id, plan.period, Number(tries) + 1),
        service_mode: serviceModeFor(row.interval, plan.period),
        amount_minor: row.amount_minor,
        currency: row.currency,
        account: ctx.terminal.account,
        terminal: ctx.terminal.terminal,
        status: 'sending',
        requested_at: ctx.now,
        next_query_at: new Date(ctx.now.getTime() + ctx.queryAfterMs),
        decline_class: null,
        gateway_code: null,
        gateway_details: null,
        payment_id: null,
        pay_url: null,
        failure_reason: null,
        resolved_at: null,
      };
      changes.push({ ...started.change, releaseQueueLease: true });
      pending.push({ subscription: row, attempt, started: started.events });
    }

    const inserted = await insertAttempts(tx, pending.map((p) => p.attempt));
    const byOrder = new Map(inserted.map((a) => [a.order_number, a]));
    const claimed = pending.map((p) => {
      const attempt = byOrder.get(p.attempt.order_number)!;
      for (const event of p.started) {
        event.attemptId = attempt.id;
        event.data = { ...event.data, order_number: attempt.order_number, service_mode: attempt.service_mode, amount_minor: attempt.amount_minor, currency: attempt.currency };
      }
      events.push(...p.started);
      return { subscription: p.subscription, attempt };
    });
    await saveSubscriptionStates(tx, changes);
    await insertEvents(tx, events);
    if (ctx.followUps && ended.length) await ctx.followUps.afterChanges(tx, ended, ctx.now);
    return claimed;
  });
}
