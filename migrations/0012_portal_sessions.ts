// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * Sessions of the self-service page: a magic link, opened once, becomes a session bound to its one
 * subscription. Only the hash of the session cookie is kept, so a database leak opens no session,
 * and a session can be ended at once (the subscription ended, the customer signed out).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table portal_sessions (
      id bigint generated always as identity primary key,
      subscription_id uuid not null references subscriptions (id),
      link_id bigint not null references customer_links (id),
      token_hash bytea not null unique,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      closed_at timestamptz
    )`.execute(db);
  await sql`create index portal_sessions_of_subscription on portal_sessions (subscription_id) where closed_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table portal_sessions`.execute(db);
}
