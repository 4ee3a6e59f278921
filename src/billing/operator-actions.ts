/**
 * Changes made to one subscription by a person (an operator, later the merchant's app). Each locks
 * the row, runs the state machine and commits through the one commit path; a refused change
 * writes nothing.
 */
import type { Db, Tx } from '../db/connect.ts';
import type { Subscription } from '../db/database.ts';
import { ConflictError, ValidationError } from '../lib/errors.ts';
import { controlCharacterProblem } from '../lib/printable.ts';
import { insertMethods, replaceMethod } from '../payments/methods/payment-method.repo.ts';
import { openChargeOf, requestConfirmationQueries } from '../payments/transactions/transaction.repo.ts';
import { lockSubscription } from '../subscriptions/lookup.ts';
import { activeTokenOf, stateOf, type SubscriptionChange } from '../subscriptions/subscription.repo.ts';
import type { DunningPolicy, SubscriptionEvent } from '../subscriptions/subscription-machine.ts';
import { applyEventToRow } from '../subscriptions/transitions.ts';
import { ChangeSet, commitChanges, type FollowUps } from './commit.ts';
import type { BillingPolicy } from './engine.ts';
import { closeOpenInvoices } from './janitor.ts';
import { recordOutcomes } from './record-outcomes.ts';

export interface OperatorContext {
  now: Date;
  actor: string;
  reason?: string | null;
  policy: DunningPolicy;
  billing: BillingPolicy;
  followUps: FollowUps;
}

/**
 * Applies one event to one subscription and commits it. `extra` may adjust the change (and add
 * to the event's data) before it is saved; `afterSave` runs once it is, in the same transaction.
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
    if (data && applied.events[0]) applied.events[0].data = { ...applied.events[0].data, ...data } as never;
    const changes = new ChangeSet();
    changes.subscriptions.set(row.id, applied.change);
    changes.events.push(...applied.events);
    changes.records.push({ kind: 'subscription', subscription: row, before: stateOf(row), after: applied.state, event, flags: applied.flags, charge: null });
    await commitChanges(tx, changes, { now: ctx.now, followUps: ctx.followUps });
    await afterSave?.(tx, row);
    return tx.selectFrom('subscriptions').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  });
}

export function requestRetry(db: Db, id: string, ctx: OperatorContext, queueCharge: QueueCharge): Promise<Subscription> {
  return applyOperatorEvent(db, id, { type: 'retry_requested' }, ctx, async (tx, row) => {
    await refuseWhileChargeOpen(tx, row);
    await queueCharge(tx, row);
  });
}

/** Checks a card token typed by a person; returns it trimmed. */
export function checkedToken(token: string): string {
  const trimmed = token.trim();
  const unprintable = controlCharacterProblem('quickpay id', trimmed);
  if (unprintable) throw new ValidationError(unprintable);
  if (!trimmed || /\s/.test(trimmed) || trimmed.length > 100) {
    throw new ValidationError(`quickpay id "${token}" must be the gateway's card token: 1 to 100 characters without spaces`);
  }
  return trimmed;
}

/**
 * Replaces the card token: a new payment method with the same provider replaces the active one.
 * A subscription stopped by a hard decline is charged again on the next tick.
 */
export function updateToken(
  db: Db,
  id: string,
  quickpayId: string,
  ctx: OperatorContext,
  card: { expiry?: string | null; provider?: string; allowFirst?: boolean } = {},
): Promise<Subscription> {
  const token = checkedToken(quickpayId);
  return applyOperatorEvent(db, id, { type: 'token_replaced' }, ctx, async (tx, row, change) => {
    if (row.collection_method !== 'card_token') throw new ConflictError(`subscription ${id} is collected by ${row.collection_method.replace('_', ' ')}, not a card token: there is no token to replace`);
    const previous = await activeTokenOf(tx, row);
    if (previous === token) throw new ConflictError(`subscription ${id} already uses that token`);
    const old = row.payment_method_id === null ? undefined : await tx.selectFrom('payment_methods').selectAll().where('id', '=', row.payment_method_id).executeTakeFirst();
    const method = { subscriptionId: row.id, token, createdAt: ctx.now, cardExpiry: card.expiry ?? null };
    if (old) {
      change.paymentMethodId = await replaceMethod(tx, old.id, { ...method, provider: old.provider });
    } else {
      // A first card: a checkout paid without its token reaching rebill, or given another way.
      if (row.status === 'incomplete' && !card.allowFirst) throw new ConflictError(`subscription ${id} has no payment method yet: the customer gives one at checkout`);
      [change.paymentMethodId] = await insertMethods(tx, [{ ...method, provider: card.provider ?? 'oceanpayment' }]);
    }
    return { previous_token_ends: previous?.slice(-6) ?? null, new_token_ends: token.slice(-6) };
  });
}

/** Queues a charge job for the subscription inside the operator's transaction. */
export type QueueCharge = (tx: Tx, row: Subscription) => Promise<void>;

async function refuseWhileChargeOpen(tx: Tx, row: Subscription): Promise<void> {
  const open = await openChargeOf(tx, row.id);
  if (open) {
    throw new ConflictError(
      `charge ${open.reference} is ${open.status}, awaiting its outcome: run \`rebill resolve ${row.id}\` to query it instead`,
    );
  }
}

/**
 * Cancels now or at the period end. Canceling now closes every link the customer holds (the
 * follow-ups do that with the change) and ends a 3-D Secure step they have not finished; that
 * charge is then queried, so a payment the customer completed at the bank just before is still
 * found (and refunded: nothing is due after the cancel). An unpaid invoice becomes void.
 */
export function cancelSubscription(db: Db, id: string, atPeriodEnd: boolean, ctx: OperatorContext): Promise<Subscription> {
  return applyOperatorEvent(db, id, { type: 'cancel', atPeriodEnd }, ctx, undefined, atPeriodEnd ? undefined : (tx, row) => endCustomerSteps(tx, row, ctx));
}

/** Takes back a cancel at the period end before the period ends: the subscription renews as before. */
export function undoCancel(db: Db, id: string, ctx: OperatorContext): Promise<Subscription> {
  return applyOperatorEvent(db, id, { type: 'cancel_undone' }, ctx);
}

async function endCustomerSteps(tx: Tx, row: Subscription, ctx: OperatorContext): Promise<void> {
  const waiting = await tx.selectFrom('payment_transactions').select('id').where('subscription_id', '=', row.id).where('kind', '=', 'charge').where('status', '=', 'action_required').execute();
  await recordOutcomes(
    tx,
    waiting.map(({ id }) => ({
      transactionId: id,
      resolution: { kind: 'authentication_expired', reason: 'the subscription was canceled before the payment was confirmed' },
      actor: ctx.actor,
    })),
    { now: ctx.now, policy: ctx.policy, billing: ctx.billing, querySchedule: [], followUps: ctx.followUps },
  );
  await requestConfirmationQueries(tx, waiting.map(({ id }) => id), ctx.now);
  const changes = new ChangeSet();
  await closeOpenInvoices(tx, changes, [row.id], 'voided');
  await commitChanges(tx, changes, { now: ctx.now, followUps: ctx.followUps });
}
