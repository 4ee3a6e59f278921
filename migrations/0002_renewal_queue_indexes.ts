// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/** Indexes for the scheduler's hot paths: queueing due subscriptions and the janitor's sweeps. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index subscriptions_due`.execute(db);
  // Due and not yet queued: the scheduler's claim walks this in due order and skips nothing.
  await sql`create index subscriptions_to_queue on subscriptions (next_attempt_at)
    where next_attempt_at is not null and enqueued_at is null`.execute(db);
  // Queue leases, to release the ones whose job was lost.
  await sql`create index subscriptions_queue_leases on subscriptions (enqueued_at) where enqueued_at is not null`.execute(db);
  // Waiting with nothing scheduled (hard decline, 3-D Secure): checked against the dunning deadline.
  await sql`create index subscriptions_waiting on subscriptions (past_due_since)
    where next_attempt_at is null and status in ('incomplete', 'past_due')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index subscriptions_waiting, subscriptions_queue_leases, subscriptions_to_queue`.execute(db);
  await sql`create index subscriptions_due on subscriptions (next_attempt_at) where next_attempt_at is not null`.execute(db);
}
