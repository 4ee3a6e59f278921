// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/** E-mailed 3-D Secure links, and a key that stops the same customer e-mail being queued twice. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table payment_links (
      id bigint generated always as identity primary key,
      attempt_id bigint not null unique references charge_attempts (id),
      subscription_id uuid not null references subscriptions (id),
      created_at timestamptz not null,
      expires_at timestamptz not null,
      remind_at timestamptz,
      reminded_at timestamptz,
      clicks integer not null default 0,
      last_clicked_at timestamptz,
      closed_at timestamptz,
      closed_reason text
    )`.execute(db);
  // Each e-mail (the first, the reminder) carries its own token; only their sha-256 is stored.
  await sql`
    create table payment_link_tokens (
      token_hash bytea primary key,
      link_id bigint not null references payment_links (id),
      created_at timestamptz not null
    )`.execute(db);
  await sql`create index payment_links_to_remind on payment_links (remind_at) where remind_at is not null and closed_at is null`.execute(db);
  await sql`create index payment_links_to_expire on payment_links (expires_at) where closed_at is null`.execute(db);

  await sql`alter table email_outbox add column dedupe_key text, add column claimed_at timestamptz`.execute(db);
  await sql`create unique index email_outbox_dedupe on email_outbox (dedupe_key)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index email_outbox_dedupe`.execute(db);
  await sql`alter table email_outbox drop column dedupe_key, drop column claimed_at`.execute(db);
  await sql`drop table payment_link_tokens, payment_links`.execute(db);
}
