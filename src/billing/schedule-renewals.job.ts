/**
 * The scheduler tick: finds subscriptions due at `now` and queues one charge job each, marking
 * them as queued in the same transaction so another tick (or another worker) skips them. The
 * queue is kept short (`maxQueued`); the charge pump asks for another pass as it drains.
 */
import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/connect.ts';
import { insertChargeJobs, queuedChargeJobs } from '../jobs/queue.ts';

export interface SchedulerSettings {
  batchSize: number;
  /** Charge jobs allowed to wait in the queue at once. */
  maxQueued: number;
}

export interface SchedulePass {
  queued: number;
  /** More may be due: the queue was full when the pass stopped. */
  more: boolean;
}

export async function scheduleDueRenewals(db: Db, boss: PgBoss, now: Date, settings: SchedulerSettings): Promise<SchedulePass> {
  let queued = 0;
  for (;;) {
    const room = settings.maxQueued - (await queuedChargeJobs(db));
    if (room <= 0) return { queued, more: true };
    const limit = Math.min(room, settings.batchSize);
    const claimed = await db.transaction().execute(async (tx) => {
      const { rows } = await sql<{ id: string; next_period: number }>`
        update subscriptions s set enqueued_at = ${now}
        from (
          select id from subscriptions
          where next_attempt_at <= ${now} and enqueued_at is null
            -- Collected at a counter, when the customer comes: the worker only ends one at its period end.
            and (collection_method <> 'in_person' or cancel_at_period_end)
          order by next_attempt_at
          limit ${limit}
          for update skip locked
        ) due
        where s.id = due.id
        returning s.id, s.next_period`.execute(tx);
      await insertChargeJobs(boss, tx, rows.map((r) => ({ subscriptionId: r.id, period: r.next_period })));
      return rows.length;
    });
    queued += claimed;
    if (claimed < limit) return { queued, more: false };
  }
}

/** Queues one subscription's charge at once (enrolment, `rebill retry`), inside the caller's transaction. */
export async function queueChargeNow(
  boss: PgBoss,
  tx: Parameters<typeof insertChargeJobs>[1],
  subscriptions: readonly { id: string; next_period: number }[],
  now: Date,
): Promise<void> {
  if (!subscriptions.length) return;
  await sql`update subscriptions set enqueued_at = ${now} where id in (${sql.join(subscriptions.map((s) => s.id))})`.execute(tx);
  await insertChargeJobs(boss, tx, subscriptions.map((s) => ({ subscriptionId: s.id, period: s.next_period })));
}

/** Forgets queue marks whose job was lost (failed for good, or deleted), so the scheduler queues them again. */
export async function releaseStaleQueueLeases(db: Db, now: Date, ttlMs: number): Promise<number> {
  const result = await db
    .updateTable('subscriptions')
    .set({ enqueued_at: null })
    .where('enqueued_at', '<', new Date(now.getTime() - ttlMs))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
