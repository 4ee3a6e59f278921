// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * The janitor looks, on every pass, for renewals a few days ahead (by plan interval) and for cards
 * on file that expire soon: each is a range over a small index instead of a scan of every
 * subscription or card.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index subscriptions_renewal_reminders on subscriptions (interval, next_renewal_at)
    where status = 'active' and not cancel_at_period_end`.execute(db);
  await sql`create index payment_methods_by_expiry on payment_methods (card_expiry)
    where status = 'active' and card_expiry is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index payment_methods_by_expiry`.execute(db);
  await sql`drop index subscriptions_renewal_reminders`.execute(db);
}
