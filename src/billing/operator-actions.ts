/**
 * Changes an operator makes to one subscription. Each locks the row, runs the state machine,
 * saves and logs in one transaction; a refused change writes nothing.
 */
import type { Db, Tx } from '../db/connect.ts';
import type { Subscription } from '../db/database.ts';
import { ConflictError, ValidationError } from '../lib/errors.ts';
import { controlCharacterProblem } from '../lib/printable.ts';
import { closeLinksOfSubscriptions } from '../payment-links/payment-link.repo.ts';
import { openAttemptOf, requestConfirmationQueries } from '../payments/transactions/transaction.repo.ts';
import { recordOutcomes } from './record-outcomes.ts';
import { insertEvents } from '../events/events.repo.ts';
import { lockSubscription } from '../subscriptions/lookup.ts';
import { saveSubscriptionStates, stateOf, type SubscriptionChange } from '../subscriptions/subscription.repo.ts';
import type { DunningPolicy, SubscriptionEvent } from '../subscriptions/subscription-machine.ts';
import { applyEventToRow, type FollowUps } from '../subscriptions/transitions.ts';

export interface OperatorContext {
  now: Date;
  actor: string;
  reason?: string | null;
  policy: DunningPolicy;
  /** What tells the customer (the outbox); null only where no customer should hear of it. */
  followUps: FollowUps | null;
}

/**
 * Applies one event to one subscription; `extra` may adjust the change, and `afterSave` runs once
 * it is saved, both in the same transaction.
 */
export async function applyOperatorEvent(
  db: Db,
  id: string,
  event: SubscriptionEvent,
  ctx: OperatorContext,
  extra?: (tx: Tx, row: Subscription, change: SubscriptionChange) => Promise<Record<string, unknown> | void>,
  afterSave?: (tx: Tx, row: Subscription) => Promise<void>,
): Promise<Subscription> {
  return db.transaction().execute(async (tx) => {
    const row = await lockSubscription(tx, id);
    const applied = applyEventToRow(row, event, { now: ctx.now, actor: ctx.actor, reason: ctx.reason ?? null }, ctx.policy);
    if (!applied.ok) throw new ConflictError(`subscription ${id}: ${applied.refusal}`);
    const data = extra ? await extra(tx, row, applied.change) : undefined;
    if (data && applied.events[0]) applied.events[0].data = { ...applied.events[0].data, ...data };
    await saveSubscriptionStates(tx, [applied.change]);
    await insertEvents(tx, applied.events);
    await ctx.followUps?.afterChanges(
      tx,
      [{ subscription: row, before: stateOf(row), after: applied.state, event, flags: applied.flags, attempt: null }],
      ctx.now,
    );
    await afterSave?.(tx, row);
    return tx.selectFrom('subscriptions').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  });
}

export function requestRetry(db: Db, id: string, ctx: OperatorContext, queueCharge: QueueCharge): Promise<Subscription> {
  return applyOperatorEvent(db, id, { type: 'retry_requested' }, ctx, async (tx, row) => {
    await refuseWhileAttemptOpen(tx, row);
    await queueCharge(tx, row);
  });
}

/** Replaces the card token; a subscription stopped by a hard decline is charged again on the next tick. */
export function updateToken(db: Db, id: string, quickpayId: string, ctx: OperatorContext): Promise<Subscription> {
  const token = quickpayId.trim();
  const unprintable = controlCharacterProblem('quickpay id', token);
  if (unprintable) throw new ValidationError(unprintable);
  if (!token || /\s/.test(token) || token.length > 100) {
    throw new ValidationError(`quickpay id "${quickpayId}" must be the gateway's card token: 1 to 100 characters without spaces`);
  }
  return applyOperatorEvent(db, id, { type: 'token_replaced' }, ctx, async (_tx, row, change) => {
    if (row.quickpay_id === token) throw new ConflictError(`subscription ${id} already uses that token`);
    change.quickpayId = token;
    return { previous_token_ends: row.quickpay_id.slice(-6), new_token_ends: token.slice(-6) };
  });
}

/** Queues a charge job for the subscription inside the operator's transaction. */
export type QueueCharge = (tx: Tx, row: Subscription) => Promise<void>;

async function refuseWhileAttemptOpen(tx: Tx, row: Subscription): Promise<void> {
  const open = await openAttemptOf(tx, row.id);
  if (open) {
    throw new ConflictError(
      `attempt ${open.order_number} is ${open.status}, awaiting its outcome: run \`rebill resolve ${row.id}\` to query it instead`,
    );
  }
}

/**
 * Cancels now or at the period end. Canceling now also closes every link the customer holds (they
 * answer 410 at once) and ends a 3-D Secure step they have not finished; that attempt is then
 * queried, so a payment the customer completed at the bank just before is still found.
 */
export function cancelSubscription(db: Db, id: string, atPeriodEnd: boolean, ctx: OperatorContext): Promise<Subscription> {
  return applyOperatorEvent(db, id, { type: 'cancel', atPeriodEnd }, ctx, undefined, atPeriodEnd ? undefined : (tx, row) => endCustomerSteps(tx, row, ctx));
}

async function endCustomerSteps(tx: Tx, row: Subscription, ctx: OperatorContext): Promise<void> {
  await closeLinksOfSubscriptions(tx, [row.id], ctx.now, 'subscription canceled');
  const waiting = await tx.selectFrom('charge_attempts').select('id').where('subscription_id', '=', row.id).where('status', '=', 'action_required').execute();
  if (!waiting.length) return;
  await recordOutcomes(
    tx,
    waiting.map(({ id }) => ({
      attemptId: id,
      resolution: { kind: 'authentication_expired', reason: 'the subscription was canceled before the payment was confirmed' },
      actor: ctx.actor,
    })),
    { now: ctx.now, policy: ctx.policy, querySchedule: [], ...(ctx.followUps ? { followUps: ctx.followUps } : {}) },
  );
  await requestConfirmationQueries(tx, waiting.map(({ id }) => id), ctx.now);
}
