// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * The merchant's own app connects:
 * - `api_keys`: keys for the HTTP API; only a hash of each secret is kept;
 * - `api_idempotency`: the first response to each Idempotency-Key, replayed for a repeat;
 * - `webhook_endpoints`, `webhook_sequences`, `webhook_deliveries`: the signed webhooks' outbox,
 *   written in the same transaction as the change it reports, numbered per subscription.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table api_keys (
      id bigint generated always as identity primary key,
      name text not null check (name ~ '^[A-Za-z0-9._-]{1,50}$'),
      lookup_id text not null unique check (lookup_id ~ '^[a-z0-9]{12}$'),
      secret_hash bytea not null check (length(secret_hash) = 32),
      read_only boolean not null,
      created_at timestamptz not null,
      last_used_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create unique index api_keys_live_name on api_keys (name) where revoked_at is null`.execute(db);

  await sql`
    create table api_idempotency (
      api_key_id bigint not null references api_keys (id),
      idempotency_key text not null,
      request_hash bytea not null,
      response_status integer,
      response_body text,
      created_at timestamptz not null,
      primary key (api_key_id, idempotency_key)
    )`.execute(db);
  await sql`create index api_idempotency_by_age on api_idempotency (created_at)`.execute(db);

  // Stable cursor pagination of the API's subscription list.
  await sql`create index subscriptions_by_creation on subscriptions (created_at, id)`.execute(db);

  await sql`
    create table webhook_endpoints (
      id bigint generated always as identity primary key,
      url text not null,
      event_types text[] not null,
      secret text not null,
      created_at timestamptz not null,
      removed_at timestamptz
    )`.execute(db);
  await sql`
    create table webhook_sequences (
      subscription_id uuid primary key references subscriptions (id),
      last_sequence bigint not null
    )`.execute(db);
  await sql`
    create table webhook_deliveries (
      id bigint generated always as identity primary key,
      event_id uuid not null,
      endpoint_id bigint not null references webhook_endpoints (id),
      subscription_id uuid not null references subscriptions (id),
      sequence bigint not null,
      type text not null,
      body text not null,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      claimed_until timestamptz,
      last_status integer,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz not null,
      unique (endpoint_id, event_id)
    )`.execute(db);
  await sql`create index webhook_deliveries_pending on webhook_deliveries (endpoint_id, subscription_id, sequence) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table webhook_deliveries, webhook_sequences, webhook_endpoints, api_idempotency, api_keys`.execute(db);
  await sql`drop index subscriptions_by_creation`.execute(db);
}
