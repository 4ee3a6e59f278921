/** The append-only event log: what changed, why, by whom, when. */
import type { DbOrTx } from '../db/connect.ts';
import type { EventRow } from '../db/database.ts';
import type { NewEvent } from './event-types.ts';

export type { EventType, NewEvent } from './event-types.ts';

export async function insertEvents(tx: DbOrTx, events: readonly NewEvent[]): Promise<void> {
  if (!events.length) return;
  await tx
    .insertInto('events')
    .values(
      events.map((e) => ({
        subscription_id: e.subscriptionId,
        transaction_id: e.transactionId ?? null,
        type: e.type,
        actor: e.actor,
        reason: e.reason ?? null,
        data: JSON.stringify(e.data),
        occurred_at: e.occurredAt,
      })),
    )
    .execute();
}

export async function eventsOf(db: DbOrTx, subscriptionId: string): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}
