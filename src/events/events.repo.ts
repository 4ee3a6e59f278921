/** The append-only event log: what changed, why, by whom, when. */
import type { DbOrTx } from '../db/connect.ts';
import type { EventRow } from '../db/database.ts';

export interface NewEvent {
  subscriptionId: string;
  attemptId?: number | null;
  type: string;
  /** `worker`, `gateway`, `janitor`, `customer`, or `operator:<name>` for CLI commands. */
  actor: string;
  reason?: string | null;
  data?: Record<string, unknown>;
  occurredAt: Date;
}

export async function insertEvents(tx: DbOrTx, events: readonly NewEvent[]): Promise<void> {
  if (!events.length) return;
  await tx
    .insertInto('events')
    .values(
      events.map((e) => ({
        subscription_id: e.subscriptionId,
        attempt_id: e.attemptId ?? null,
        type: e.type,
        actor: e.actor,
        reason: e.reason ?? null,
        data: JSON.stringify(e.data ?? {}),
        occurred_at: e.occurredAt,
      })),
    )
    .execute();
}

export async function eventsOf(db: DbOrTx, subscriptionId: string): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}
