/**
 * Glue between the pure machine and the tables: applies an event to a locked subscription and
 * returns the row change plus the event-log entries that explain it.
 */
import type { Subscription } from '../db/database.ts';
import { transitionEvent, type ChargeFacts, type EventType, type NewEvent } from '../events/event-types.ts';
import type { SubscriptionChange } from './subscription.repo.ts';
import { stateOf } from './subscription.repo.ts';
import {
  transition,
  type DunningPolicy,
  type SubscriptionEvent,
  type SubscriptionState,
  type TransitionFlag,
} from './subscription-machine.ts';

export interface TransitionContext {
  now: Date;
  actor: string;
  reason?: string | null;
  transactionId?: number | null;
  /** Extra facts for the event log (order number, gateway code, …). */
  data?: ChargeFacts;
}

export type AppliedTransition =
  | { ok: true; state: SubscriptionState; change: SubscriptionChange; events: NewEvent[]; flags: TransitionFlag[] }
  | { ok: false; refusal: string };

const FLAG_EXPLANATIONS: Record<TransitionFlag, string> = {
  succeeded_after_cancel: 'payment succeeded after the subscription was canceled: decide whether to refund',
  succeeded_for_settled_period: 'payment succeeded for a period that was already settled: check for a double charge and refund',
  result_for_other_period: 'result for a period other than the one being charged: recorded, state unchanged',
  retries_exhausted: 'dunning retries exhausted',
  dunning_started: 'renewal unpaid: dunning started',
};

/** The event log's name for a machine event: what happened, in the past tense where it reads better. */
function logTypeOf(event: SubscriptionEvent): EventType {
  switch (event.type) {
    case 'cancel':
      return event.atPeriodEnd ? 'cancel_scheduled' : 'canceled';
    case 'dunning_exhausted':
      return 'unpaid';
    default:
      return event.type;
  }
}

export function applyEvent(
  row: Subscription,
  state: SubscriptionState,
  event: SubscriptionEvent,
  ctx: TransitionContext,
  policy: DunningPolicy,
): AppliedTransition {
  const result = transition(state, event, ctx.now, policy);
  if (!result.ok) return result;
  const { type: _type, ...details } = event;
  const next = result.state;
  const base = { subscriptionId: row.id, transactionId: ctx.transactionId ?? null, actor: ctx.actor, occurredAt: ctx.now };
  const events: NewEvent[] = [
    transitionEvent(logTypeOf(event), { ...base, reason: ctx.reason ?? null }, {
      ...details,
      ...ctx.data,
      from_status: state.status,
      to_status: next.status,
      ...(next.nextAttemptAt?.getTime() !== state.nextAttemptAt?.getTime()
        ? { next_attempt_at: next.nextAttemptAt?.toISOString() ?? null }
        : {}),
    }),
    ...result.flags.map((flag) => transitionEvent(flag, { ...base, reason: FLAG_EXPLANATIONS[flag] }, { ...details, ...ctx.data })),
  ];
  return { ok: true, state: next, change: { id: row.id, state: next }, events, flags: result.flags };
}

/** Convenience for single-row services: the current state of a row, then one event. */
export function applyEventToRow(
  row: Subscription,
  event: SubscriptionEvent,
  ctx: TransitionContext,
  policy: DunningPolicy,
): AppliedTransition {
  return applyEvent(row, stateOf(row), event, ctx, policy);
}
