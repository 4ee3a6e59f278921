// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * Keys that stop the same customer being enrolled (and charged) twice: the merchant's own
 * reference, unique when given, and a lookup of live subscriptions by e-mail for the check that
 * refuses a second one with the same e-mail, card token and plan.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table subscriptions add column external_id text
      constraint subscriptions_external_id_format check (external_id ~ '^[A-Za-z0-9._:/#@+-]{1,100}$')`.execute(db);
  // Unique where given; any number of subscriptions may have none (nulls are distinct).
  await sql`create unique index subscriptions_external_id on subscriptions (external_id)`.execute(db);
  await sql`create index subscriptions_live_by_email on subscriptions (lower(customer_email)) where status <> 'canceled'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index subscriptions_live_by_email, subscriptions_external_id`.execute(db);
  await sql`alter table subscriptions drop column external_id`.execute(db);
}
