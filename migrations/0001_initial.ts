// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table subscriptions (
      id uuid primary key,
      customer_email text not null,
      customer_first_name text not null,
      customer_last_name text not null,
      customer_country text not null check (customer_country ~ '^[A-Z]{2}$'),
      quickpay_id text not null check (quickpay_id <> ''),
      product_name text not null,
      interval text not null check (interval in ('week', 'month', 'quarter', 'half-year', 'year')),
      amount_minor bigint not null check (amount_minor > 0),
      currency text not null check (currency ~ '^[A-Z]{3}$'),
      timezone text not null,
      anchor_at timestamptz not null,
      status text not null check (status in ('incomplete', 'active', 'past_due', 'unpaid', 'canceled')),
      renewals_paid integer not null default 0 check (renewals_paid >= 0),
      -- the period the next charge is for: 0 is the first purchase, n the n-th renewal
      next_period integer not null check (next_period >= 0),
      -- calendar instant of next_period; null once no further charge is planned
      next_renewal_at timestamptz,
      -- when the scheduler should charge next (the renewal, a dunning retry); null while waiting
      next_attempt_at timestamptz,
      -- set while a charge job is queued, so scheduler ticks do not queue it again
      enqueued_at timestamptz,
      past_due_since timestamptz,
      retries_used integer not null default 0,
      cancel_at_period_end boolean not null default false,
      canceled_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index subscriptions_due on subscriptions (next_attempt_at) where next_attempt_at is not null`.execute(db);
  await sql`create index subscriptions_by_status on subscriptions (status, next_renewal_at)`.execute(db);

  await sql`
    create table charge_attempts (
      id bigint generated always as identity primary key,
      subscription_id uuid not null references subscriptions (id),
      period integer not null check (period >= 0),
      order_number text not null unique check (order_number ~ '^[A-Za-z0-9_-]{1,50}$'),
      service_mode text not null check (service_mode ~ '^(S1|[WMQHY][123])$'),
      amount_minor bigint not null check (amount_minor > 0),
      currency text not null,
      account text not null,
      terminal text not null,
      status text not null check (status in ('sending', 'pending', 'action_required', 'unknown', 'succeeded', 'failed', 'expired')),
      decline_class text,
      gateway_code text,
      gateway_details text,
      payment_id text,
      pay_url text,
      failure_reason text,
      query_count integer not null default 0,
      next_query_at timestamptz,
      requested_at timestamptz not null,
      resolved_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  // Invariant 1: at most one attempt per subscription is in flight or waiting, whatever the queue does.
  await sql`
    create unique index charge_attempts_one_open on charge_attempts (subscription_id)
      where status in ('sending', 'pending', 'action_required', 'unknown')`.execute(db);
  await sql`create index charge_attempts_by_subscription on charge_attempts (subscription_id, period)`.execute(db);
  await sql`create index charge_attempts_to_query on charge_attempts (next_query_at) where next_query_at is not null`.execute(db);

  await sql`
    create table gateway_notices (
      id bigint generated always as identity primary key,
      channel text not null check (channel in ('notice', 'browser_return')),
      received_at timestamptz not null,
      notice_type text,
      order_number text,
      payment_id text,
      payment_status text,
      verified boolean not null,
      result text not null check (result in ('applied', 'no_change', 'rejected', 'unmatched', 'not_verifiable', 'malformed')),
      problem text,
      attempt_id bigint references charge_attempts (id),
      body text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index gateway_notices_by_order on gateway_notices (order_number)`.execute(db);

  await sql`
    create table email_outbox (
      id bigint generated always as identity primary key,
      subscription_id uuid references subscriptions (id),
      attempt_id bigint references charge_attempts (id),
      kind text not null,
      to_address text not null,
      subject text not null,
      text_body text not null,
      html_body text not null,
      status text not null default 'queued' check (status in ('queued', 'sending', 'sent', 'failed', 'uncertain')),
      send_after timestamptz not null,
      tries integer not null default 0,
      last_error text,
      delivered_to text,
      sent_at timestamptz,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index email_outbox_queued on email_outbox (send_after) where status = 'queued'`.execute(db);

  await sql`
    create table events (
      id bigint generated always as identity primary key,
      subscription_id uuid not null references subscriptions (id),
      attempt_id bigint,
      type text not null,
      actor text not null,
      reason text,
      data jsonb not null default '{}',
      occurred_at timestamptz not null,
      recorded_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index events_by_subscription on events (subscription_id, id)`.execute(db);
  // The event log explains every change afterwards, so nothing may rewrite it.
  await sql`
    create function events_are_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'the events table is append-only (% refused)', tg_op;
    end $$`.execute(db);
  await sql`
    create trigger events_append_only before update or delete on events
      for each row execute function events_are_append_only()`.execute(db);
  await sql`
    create trigger events_no_truncate before truncate on events
      for each statement execute function events_are_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table events, email_outbox, gateway_notices, charge_attempts, subscriptions cascade`.execute(db);
  await sql`drop function events_are_append_only`.execute(db);
}
