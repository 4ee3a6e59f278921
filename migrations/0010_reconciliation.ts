// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * Daily reconciliation with the payment provider: each run (a provider's day) and what it found,
 * item by item: what it fixed through the normal commit path, and what it flagged for a person.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table reconciliation_runs (
      id bigint generated always as identity primary key,
      provider text not null,
      day text not null check (day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
      window_from timestamptz not null,
      window_to timestamptz not null,
      status text not null check (status in ('running', 'done', 'failed')),
      actor text not null,
      started_at timestamptz not null,
      heartbeat_at timestamptz not null,
      finished_at timestamptz,
      pages_read integer not null default 0,
      pages_total integer not null default 0,
      payments_compared integer not null default 0,
      business_compared integer not null default 0,
      matched integer not null default 0,
      fixed integer not null default 0,
      flagged integer not null default 0,
      error text
    )`.execute(db);
  await sql`create index reconciliation_runs_by_day on reconciliation_runs (provider, day, id)`.execute(db);
  // One run of a day at a time: two would both record the same refund the provider made.
  await sql`create unique index reconciliation_runs_one_running on reconciliation_runs (provider, day) where status = 'running'`.execute(db);
  await sql`
    create table reconciliation_items (
      id bigint generated always as identity primary key,
      run_id bigint not null references reconciliation_runs (id) on delete cascade,
      outcome text not null check (outcome in ('fixed', 'flagged')),
      kind text not null,
      reference text not null,
      provider_reference text,
      subscription_id uuid,
      transaction_id bigint,
      provider_amount text,
      provider_currency text,
      rebill_amount_minor bigint,
      rebill_currency text,
      detail text not null
    )`.execute(db);
  await sql`create index reconciliation_items_by_run on reconciliation_items (run_id, id)`.execute(db);
  // "Paid in rebill that day" is read for every run: the succeeded charges by provider and time.
  await sql`
    create index payment_transactions_succeeded_charges on payment_transactions (provider, requested_at)
    where kind = 'charge' and status = 'succeeded'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index payment_transactions_succeeded_charges`.execute(db);
  await sql`drop table reconciliation_items`.execute(db);
  await sql`drop table reconciliation_runs`.execute(db);
}
