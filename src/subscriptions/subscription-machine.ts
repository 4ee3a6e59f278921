/**
 * The subscription lifecycle as a pure function: (state, event, now, policy) -> next state.
 * Every write to a subscription's status or schedule goes through `transition`, so the rules
 * live in one place and the event log can say what happened and why.
 *
 * Periods: 0 is the first purchase (X1), n >= 1 the n-th renewal. `nextPeriod` is the period
 * the next charge is for; `nextAttemptAt` is when the scheduler should charge it (null while
 * an attempt is awaited, or when nothing more will be charged).
 */
import { latestDuePeriod, renewalAt, type BillingPlan } from '../plans/billing-calendar.ts';
import type { SubscriptionStatus } from '../db/database.ts';

export interface SubscriptionState {
  readonly plan: BillingPlan;
  readonly status: SubscriptionStatus;
  readonly nextPeriod: number;
  readonly nextRenewalAt: Date | null;
  readonly nextAttemptAt: Date | null;
  readonly renewalsPaid: number;
  readonly pastDueSince: Date | null;
  readonly retriesUsed: number;
  readonly cancelAtPeriodEnd: boolean;
  readonly canceledAt: Date | null;
}

export interface DunningPolicy {
  /** Offsets from the first failure of a period at which it is retried; then `unpaid`. */
  readonly retryScheduleMs: readonly number[];
  /** Wait after the gateway refused our request as malformed (not the customer's fault). */
  readonly requestErrorRetryMs: number;
}

export type SubscriptionEvent =
  | { type: 'charge_started'; period: number }
  /** `anchorAt`: a first purchase made by the customer at a hosted checkout anchors the calendar when it is paid. */
  | { type: 'payment_succeeded'; period: number; anchorAt?: Date }
  | { type: 'payment_failed'; period: number; declineClass: 'soft' | 'hard'; retryLimit?: number }
  | { type: 'request_rejected'; period: number }
  | { type: 'action_required'; period: number }
  | { type: 'authentication_expired'; period: number }
  | { type: 'charge_not_sent'; period: number }
  | { type: 'cancel'; atPeriodEnd: boolean }
  /** A cancel at the period end taken back before the period ended: renewals go on. */
  | { type: 'cancel_undone' }
  | { type: 'period_ended' }
  | { type: 'dunning_exhausted' }
  | { type: 'retry_requested' }
  | { type: 'token_replaced' }
  /** The customer disputed a payment (a confirmed chargeback or fraud return): no more renewals. */
  | { type: 'dispute_received' }
  /** The customer never completed the hosted checkout before its link expired. */
  | { type: 'checkout_expired' };

export type TransitionResult =
  | { ok: true; state: SubscriptionState; flags: TransitionFlag[] }
  | { ok: false; refusal: string };

/** Facts worth an operator's attention that do not change the state by themselves. */
export type TransitionFlag =
  | 'succeeded_after_cancel'
  | 'succeeded_for_settled_period'
  | 'result_for_other_period'
  | 'retries_exhausted'
  | 'dunning_started';

const CHARGEABLE: readonly SubscriptionStatus[] = ['incomplete', 'active', 'past_due', 'unpaid'];
/** Any result may still arrive for a charge sent before the subscription ended. */
const ANY: readonly SubscriptionStatus[] = ['incomplete', 'incomplete_expired', 'active', 'past_due', 'unpaid', 'canceled'];

/** Nothing more is due: a result arriving now changes no schedule. */
const isEnded = (status: SubscriptionStatus) => status === 'canceled' || status === 'incomplete_expired';

/** The statuses each event may arrive in; anything else is refused with a reason. */
export const ALLOWED_FROM: Record<SubscriptionEvent['type'], readonly SubscriptionStatus[]> = {
  charge_started: CHARGEABLE,
  payment_succeeded: ANY,
  payment_failed: ANY,
  request_rejected: ANY,
  action_required: ANY,
  authentication_expired: ANY,
  charge_not_sent: ANY,
  cancel: ['incomplete', 'active', 'past_due', 'unpaid'],
  cancel_undone: ['active', 'past_due', 'unpaid'],
  period_ended: ['active'],
  dunning_exhausted: ['incomplete', 'past_due'],
  retry_requested: CHARGEABLE,
  token_replaced: ['incomplete', 'active', 'past_due', 'unpaid'],
  dispute_received: ['incomplete', 'active', 'past_due', 'unpaid'],
  checkout_expired: ['incomplete'],
};

export function transition(
  state: SubscriptionState,
  event: SubscriptionEvent,
  now: Date,
  policy: DunningPolicy,
): TransitionResult {
  if (!ALLOWED_FROM[event.type].includes(state.status)) {
    return { ok: false, refusal: `a ${state.status} subscription cannot take "${event.type.replaceAll('_', ' ')}"` };
  }
  const flags: TransitionFlag[] = [];
  const done = (next: Partial<SubscriptionState>): TransitionResult => ({ ok: true, state: { ...state, ...next }, flags });
  // Results for a period other than the one being charged change nothing but are worth a look.
  const periodResult = 'period' in event && event.type !== 'charge_started';
  if (periodResult && event.period !== state.nextPeriod) {
    flags.push(event.type === 'payment_succeeded' ? 'succeeded_for_settled_period' : 'result_for_other_period');
    return done({});
  }
  const unpaidStatus: SubscriptionStatus = state.status === 'incomplete' ? 'incomplete' : 'past_due';

  switch (event.type) {
    case 'charge_started':
      return done({ nextAttemptAt: null });

    case 'payment_succeeded': {
      const paid = event.period;
      const advanced = {
        nextPeriod: paid + 1,
        renewalsPaid: state.renewalsPaid + (paid > 0 ? 1 : 0),
        pastDueSince: null,
        retriesUsed: 0,
      };
      if (isEnded(state.status)) {
        flags.push('succeeded_after_cancel');
        return done({ ...advanced, nextRenewalAt: null, nextAttemptAt: null });
      }
      const plan = paid === 0 && event.anchorAt ? { ...state.plan, anchorAt: event.anchorAt } : state.plan;
      const nextRenewalAt = renewalAt(plan, paid + 1);
      return done({ ...advanced, plan, status: 'active', nextRenewalAt, nextAttemptAt: nextRenewalAt });
    }

    case 'payment_failed': {
      if (isEnded(state.status) || state.status === 'unpaid') return done({ nextAttemptAt: null });
      const pastDueSince = state.pastDueSince ?? now;
      if (!state.pastDueSince) flags.push('dunning_started');
      if (event.declineClass === 'hard') {
        // No automatic retries: a new card (update-token) or an operator retry revives it,
        // and the janitor marks it unpaid when the retry schedule would have ended.
        return done({ status: unpaidStatus, pastDueSince, nextAttemptAt: null });
      }
      return scheduleRetry({ ...state, status: unpaidStatus, pastDueSince }, now, policy, flags, event.retryLimit);
    }

    case 'authentication_expired': {
      if (isEnded(state.status) || state.status === 'unpaid') return done({ nextAttemptAt: null });
      const pastDueSince = state.pastDueSince ?? now;
      return scheduleRetry({ ...state, status: unpaidStatus, pastDueSince }, now, policy, flags);
    }

    case 'action_required': {
      if (isEnded(state.status) || state.status === 'unpaid') return done({ nextAttemptAt: null });
      if (!state.pastDueSince) flags.push('dunning_started');
      return done({ status: unpaidStatus, pastDueSince: state.pastDueSince ?? now, nextAttemptAt: null });
    }

    case 'request_rejected':
    case 'charge_not_sent': {
      if (isEnded(state.status)) return done({ nextAttemptAt: null });
      // Not the customer's doing: the same period is charged again, nothing is counted against them.
      const wait = event.type === 'request_rejected' ? policy.requestErrorRetryMs : 0;
      return done({ nextAttemptAt: new Date(now.getTime() + wait) });
    }

    case 'cancel':
      if (event.atPeriodEnd) {
        if (state.cancelAtPeriodEnd) return { ok: false, refusal: 'the subscription is already set to end at the period end' };
        return done({ cancelAtPeriodEnd: true });
      }
      return done({ status: 'canceled', canceledAt: now, nextAttemptAt: null, nextRenewalAt: null });

    case 'cancel_undone':
      if (!state.cancelAtPeriodEnd) return { ok: false, refusal: 'the subscription is not set to end at the period end' };
      if (state.status === 'active' && state.nextRenewalAt && state.nextRenewalAt <= now) {
        return { ok: false, refusal: `the period ended at ${state.nextRenewalAt.toISOString()}: the cancel has taken effect` };
      }
      return done({ cancelAtPeriodEnd: false });

    case 'period_ended':
      return done({ status: 'canceled', canceledAt: state.nextRenewalAt ?? now, nextAttemptAt: null, nextRenewalAt: null });

    case 'dunning_exhausted':
      return done({ status: 'unpaid', nextAttemptAt: null, nextRenewalAt: null });

    case 'retry_requested':
      if (state.status === 'active' && state.nextRenewalAt && state.nextRenewalAt > now) {
        return { ok: false, refusal: `nothing is due until ${state.nextRenewalAt.toISOString()}` };
      }
      return done({ nextAttemptAt: now, nextRenewalAt: state.nextRenewalAt ?? renewalAt(state.plan, state.nextPeriod) });

    case 'dispute_received':
      return done({ status: 'canceled', canceledAt: now, nextAttemptAt: null, nextRenewalAt: null });

    case 'checkout_expired':
      return done({ status: 'incomplete_expired', nextAttemptAt: null, nextRenewalAt: null });

    case 'token_replaced':
      // A hard decline waits for a new card; with one, charge again on the next tick.
      if ((state.status === 'past_due' || state.status === 'incomplete') && state.nextAttemptAt === null) {
        return done({ nextAttemptAt: now });
      }
      return done({});
  }
}

function scheduleRetry(
  state: SubscriptionState,
  now: Date,
  policy: DunningPolicy,
  flags: TransitionFlag[],
  retryLimit?: number,
): TransitionResult {
  const schedule = policy.retryScheduleMs;
  const allowed = Math.min(schedule.length, retryLimit ?? schedule.length);
  if (state.retriesUsed >= allowed) {
    flags.push('retries_exhausted');
    return { ok: true, state: { ...state, status: 'unpaid', nextAttemptAt: null, nextRenewalAt: null }, flags };
  }
  const since = state.pastDueSince ?? now;
  const due = new Date(Math.max(now.getTime(), since.getTime() + schedule[state.retriesUsed]!));
  return { ok: true, state: { ...state, nextAttemptAt: due, retriesUsed: state.retriesUsed + 1 }, flags };
}

/** What the charge job should do for a subscription it has locked. */
export type ChargePlan =
  | { action: 'charge'; period: number; skipped: { from: number; to: number } | null }
  | { action: 'end_at_period_end' }
  | { action: 'skip'; why: string };

/**
 * Decides, under the subscription's lock, whether and for which period to charge now.
 * A subscription more than `maxCatchup` periods behind is charged for the latest one only.
 */
export function planCharge(state: SubscriptionState, now: Date, maxCatchup: number, hasOpenAttempt: boolean): ChargePlan {
  if (!CHARGEABLE.includes(state.status)) return { action: 'skip', why: `subscription is ${state.status}` };
  if (hasOpenAttempt) return { action: 'skip', why: 'an earlier attempt is still awaiting its outcome' };
  if (state.nextAttemptAt === null || state.nextAttemptAt > now) return { action: 'skip', why: 'not due' };
  if (state.status === 'active' && state.cancelAtPeriodEnd) return { action: 'end_at_period_end' };
  if (state.status !== 'active' || state.nextPeriod === 0) return { action: 'charge', period: state.nextPeriod, skipped: null };
  // Usually only the next period is due: one calendar step tells, before searching for the latest.
  if (renewalAt(state.plan, state.nextPeriod + maxCatchup) > now) return { action: 'charge', period: state.nextPeriod, skipped: null };
  const latest = latestDuePeriod(state.plan, state.nextPeriod, now) ?? state.nextPeriod;
  const behind = latest - state.nextPeriod + 1;
  if (behind > maxCatchup) {
    return { action: 'charge', period: latest, skipped: { from: state.nextPeriod, to: latest - 1 } };
  }
  return { action: 'charge', period: state.nextPeriod, skipped: null };
}

/** Moves a subscription onto a later period when catch-up skips the ones in between. */
export function skipToPeriod(state: SubscriptionState, period: number): SubscriptionState {
  return { ...state, nextPeriod: period, nextRenewalAt: renewalAt(state.plan, period) };
}
