/**
 * Changes an operator makes to one subscription. Each locks the row, runs the state machine,
 * saves and logs in one transaction; a refused change writes nothing.
 */
import type { Db, Tx } from '../db/connect.ts';
import type { Subscription } from '../db/database.ts';
import { ConflictError } from '../lib/errors.ts';
import { insertEvents } from './events.repo.ts';
import { lockSubscription } from './lookup.ts';
import { saveSubscriptionStates, type SubscriptionChange } from './subscription.repo.ts';
import type { DunningPolicy, SubscriptionEvent } from './subscription-machine.ts';
import { applyEventToRow } from './transitions.ts';

export interface OperatorContext {
  now: Date;
  actor: string;
  reason?: string | null;
  policy: DunningPolicy;
}

/** Applies one event to one subscription; `extra` may adjust the change and runs in the same transaction. */
export async function applyOperatorEvent(
  db: Db,
  id: string,
  event: SubscriptionEvent,
  ctx: OperatorContext,
  extra?: (tx: Tx, row: Subscription, change: SubscriptionChange) => Promise<Record<string, unknown> | void>,
): Promise<Subscription> {
  return db.transaction().execute(async (tx) => {
    const row = await lockSubscription(tx, id);
    const applied = applyEventToRow(row, event, { now: ctx.now, actor: ctx.actor, reason: ctx.reason ?? null }, ctx.policy);
    if (!applied.ok) throw new ConflictError(`subscription ${id}: ${applied.refusal}`);
    const data = extra ? await extra(tx, row, applied.change) : undefined;
    if (data && applied.events[0]) applied.events[0].data = { ...applied.events[0].data, ...data };
    await saveSubscriptionStates(tx, [applied.change]);
    await insertEvents(tx, applied.events);
    return tx.selectFrom('subscriptions').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  });
}

export function cancelSubscription(db: Db, id: string, atPeriodEnd: boolean, ctx: OperatorContext): Promise<Subscription> {
  return applyOperatorEvent(db, id, { type: 'cancel', atPeriodEnd }, ctx);
}
