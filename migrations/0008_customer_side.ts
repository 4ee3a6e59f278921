// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * The customer's side: links a customer opens themselves (hosted checkout, card update, the
 * self-service page), each single-purpose, expiring and stored only as a hash of its token; and
 * the `incomplete_expired` status of a subscription whose checkout was abandoned.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table subscriptions drop constraint subscriptions_status_check`.execute(db);
  await sql`
    alter table subscriptions add constraint subscriptions_status_check
      check (status in ('incomplete', 'incomplete_expired', 'active', 'past_due', 'unpaid', 'canceled'))`.execute(db);
  await sql`
    create table customer_links (
      id bigint generated always as identity primary key,
      purpose text not null check (purpose in ('checkout', 'card_update', 'portal')),
      subscription_id uuid not null references subscriptions (id),
      token_hash bytea not null unique,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      clicks integer not null default 0,
      last_clicked_at timestamptz,
      closed_at timestamptz,
      closed_reason text
    )`.execute(db);
  await sql`create index customer_links_of_subscription on customer_links (subscription_id, purpose) where closed_at is null`.execute(db);
  await sql`create index customer_links_to_expire on customer_links (expires_at) where closed_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table customer_links`.execute(db);
  await sql`update subscriptions set status = 'canceled' where status = 'incomplete_expired'`.execute(db);
  await sql`alter table subscriptions drop constraint subscriptions_status_check`.execute(db);
  await sql`
    alter table subscriptions add constraint subscriptions_status_check
      check (status in ('incomplete', 'active', 'past_due', 'unpaid', 'canceled'))`.execute(db);
}
