/**
 * The one place where anything the gateway says becomes state: the synchronous answer, a
 * notice, a query result, an expired 3-D Secure link. Many reports are recorded in one
 * transaction (a batch of charges, a burst of notices), each applied in order, idempotently
 * and monotonically: a duplicate or an older report changes nothing.
 */
import type { Tx } from '../db/connect.ts';
import type { AttemptStatus, SubscriptionStatus } from '../db/database.ts';
import { insertEvents, type NewEvent } from '../events/events.repo.ts';
import { lockSubscriptions, saveSubscriptionStates, stateOf, type SubscriptionChange } from '../subscriptions/subscription.repo.ts';
import type { DunningPolicy, SubscriptionState, TransitionFlag } from '../subscriptions/subscription-machine.ts';
import { applyEvent, type FollowUps, type TransitionRecord } from '../subscriptions/transitions.ts';
import { isFinal, nextAttemptStep, type Resolution } from '../payments/transactions/charge-machine.ts';
import { glanceAtAttempts, lockAttempts, saveAttempts, toUpdate, type AttemptUpdate } from '../payments/transactions/transaction.repo.ts';

export interface OutcomeReport {
  attemptId: number;
  resolution: Resolution;
  /** Who said so: `gateway:sync`, `gateway:notice`, `gateway:query`, `janitor`, `operator:<name>`. */
  actor: string;
  /** True for query results: an unchanged open attempt gets its next query scheduled. */
  fromQuery?: boolean;
}

export interface RecordContext {
  now: Date;
  policy: DunningPolicy;
  /** Delays between queries of an unresolved attempt; the last one repeats. */
  querySchedule: readonly number[];
  followUps?: FollowUps;
}

export interface RecordedOutcome {
  attemptId: number;
  changed: boolean;
  why?: string;
  attemptStatus: AttemptStatus;
  subscriptionStatus: SubscriptionStatus;
}

const ATTEMPT_EVENT: Partial<Record<AttemptStatus, string>> = {
  pending: 'charge_pending',
  unknown: 'charge_outcome_unknown',
};

export function nextQueryAt(queryCount: number, now: Date, schedule: readonly number[]): Date {
  const delay = schedule[Math.min(queryCount, schedule.length - 1)] ?? 60_000;
  return new Date(now.getTime() + delay);
}

export async function recordOutcomes(tx: Tx, reports: readonly OutcomeReport[], ctx: RecordContext): Promise<RecordedOutcome[]> {
  if (!reports.length) return [];
  // A success is final: whatever else is reported about a succeeded attempt changes nothing, so
  // those reports (the second of a notice and a sync answer, usually) are settled without locks.
  const glance = await glanceAtAttempts(tx, reports.map((r) => r.attemptId));
  const settled = (report: OutcomeReport) => glance.get(report.attemptId)?.status === 'succeeded';
  const live = reports.filter((r) => !settled(r));
  const attemptIds = [...new Set(live.map((r) => r.attemptId))];
  // Subscriptions first, then attempts: the same lock order as every other writer.
  const subscriptionIds = attemptIds.map((id) => glance.get(id)?.subscription_id).filter((id): id is string => id !== undefined);
  const subscriptions = new Map((await lockSubscriptions(tx, subscriptionIds)).map((s) => [s.id, s]));
  const attempts = new Map((await lockAttempts(tx, attemptIds)).map((a) => [a.id, a]));
  const states = new Map<string, SubscriptionState>();
  const dirtyAttempts = new Map<number, AttemptUpdate>();
  const dirtySubscriptions = new Map<string, SubscriptionChange>();
  const events: NewEvent[] = [];
  const changes: TransitionRecord[] = [];
  const results: RecordedOutcome[] = [];

  for (const report of reports) {
    if (settled(report)) {
      const seen = glance.get(report.attemptId)!;
      results.push({ attemptId: report.attemptId, changed: false, why: 'the attempt already succeeded; a success is final', attemptStatus: 'succeeded', subscriptionStatus: seen.subscription_status });
      continue;
    }
    const attempt = attempts.get(report.attemptId);
    if (!attempt) throw new Error(`charge attempt ${report.attemptId} does not exist`);
    const subscription = subscriptions.get(attempt.subscription_id)!;
    const state = states.get(subscription.id) ?? stateOf(subscription);
    const step = nextAttemptStep(attempt, report.resolution);
    if (!step.changed) {
      if (report.fromQuery && !isFinal(attempt.status)) {
        attempt.query_count += 1;
        attempt.next_query_at = nextQueryAt(attempt.query_count, ctx.now, ctx.querySchedule);
        dirtyAttempts.set(attempt.id, toUpdate(attempt));
      } else if (report.fromQuery && attempt.next_query_at !== null) {
        // A settled attempt queried to confirm a notice: the gateway did not confirm it; done.
        attempt.query_count += 1;
        attempt.next_query_at = null;
        dirtyAttempts.set(attempt.id, toUpdate(attempt));
      }
      results.push({ attemptId: attempt.id, changed: false, why: step.why, attemptStatus: attempt.status, subscriptionStatus: state.status });
      continue;
    }

    const { change } = step;
    const wasStatus = attempt.status;
    attempt.status = change.status;
    if (change.declineClass !== undefined) attempt.decline_class = change.declineClass;
    if (change.gatewayCode !== undefined && change.gatewayCode !== null) attempt.gateway_code = change.gatewayCode;
    if (change.gatewayDetails !== undefined && change.gatewayDetails !== null) attempt.gateway_details = change.gatewayDetails;
    if (change.paymentId) attempt.payment_id = change.paymentId;
    if (change.payUrl) attempt.pay_url = change.payUrl;
    if (change.failureReason !== undefined) attempt.failure_reason = change.failureReason;
    if (change.query === 'none') attempt.next_query_at = null;
    else if (change.query === 'now') attempt.next_query_at = ctx.now;
    else attempt.next_query_at = nextQueryAt(attempt.query_count, ctx.now, ctx.querySchedule);
    if (report.fromQuery) attempt.query_count += 1;
    attempt.resolved_at = isFinal(attempt.status) ? ctx.now : null;
    dirtyAttempts.set(attempt.id, toUpdate(attempt));

    const facts = {
      order_number: attempt.order_number,
      service_mode: attempt.service_mode,
      attempt_status: `${wasStatus} -> ${attempt.status}`,
      ...(attempt.gateway_code ? { gateway_code: attempt.gateway_code } : {}),
      ...(attempt.payment_id ? { payment_id: attempt.payment_id } : {}),
    };
    const base = { subscriptionId: subscription.id, attemptId: attempt.id, actor: report.actor, occurredAt: ctx.now };
    let next = state;
    let flags: TransitionFlag[] = [];
    if (step.subscriptionEvent) {
      const applied = applyEvent(subscription, state, step.subscriptionEvent, {
        now: ctx.now,
        actor: report.actor,
        reason: attempt.gateway_details ?? attempt.failure_reason,
        attemptId: attempt.id,
        data: facts,
      }, ctx.policy);
      if (applied.ok) {
        next = applied.state;
        flags = applied.flags;
        events.push(...applied.events);
        states.set(subscription.id, next);
        dirtySubscriptions.set(subscription.id, applied.change);
      } else {
        // The attempt's news is recorded even when the subscription cannot take it.
        events.push({ ...base, type: 'outcome_not_applied', reason: applied.refusal, data: facts });
      }
    } else {
      events.push({ ...base, type: ATTEMPT_EVENT[attempt.status] ?? `charge_${attempt.status}`, reason: attempt.failure_reason ?? attempt.gateway_details, data: facts });
    }
    changes.push({ subscription, before: state, after: next, event: step.subscriptionEvent, flags, attempt: { ...attempt } });
    results.push({ attemptId: attempt.id, changed: true, attemptStatus: attempt.status, subscriptionStatus: next.status });
  }

  await saveAttempts(tx, [...dirtyAttempts.values()]);
  await saveSubscriptionStates(tx, [...dirtySubscriptions.values()]);
  await insertEvents(tx, events);
  if (ctx.followUps && changes.length) await ctx.followUps.afterChanges(tx, changes, ctx.now);
  return results;
}
