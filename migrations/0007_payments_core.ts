// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * The provider-neutral payments core. Until now one table, `charge_attempts`, was both "this
 * period's charge" and "the gateway transaction", with Oceanpayment's columns. Now:
 * - `payment_methods`: a subscription's stored tokens (provider, token, replaced by which);
 * - `invoices`: what each subscription period owes, was paid, refunded and charged back;
 * - `payment_transactions` (the former charge_attempts): every money movement at a provider, a
 *   charge, a refund or a chargeback, in neutral columns (provider-specific facts in `details`);
 * - `provider_notices` (the former gateway_notices): what any provider pushed to rebill.
 * Existing data moves in place.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Payment methods: one active per subscription; the token moves off the subscription.
  await sql`
    create table payment_methods (
      id bigint generated always as identity primary key,
      subscription_id uuid not null references subscriptions (id),
      provider text not null check (provider ~ '^[a-z][a-z0-9_-]{1,30}$'),
      token text not null check (token <> ''),
      status text not null check (status in ('active', 'replaced', 'disabled')),
      replaced_by bigint references payment_methods (id),
      card_last4 text check (card_last4 ~ '^[0-9]{4}$'),
      card_expiry text check (card_expiry ~ '^[0-9]{4}-[0-9]{2}$'),
      created_at timestamptz not null,
      disabled_at timestamptz,
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create unique index payment_methods_one_active on payment_methods (subscription_id) where status = 'active'`.execute(db);
  await sql`create index payment_methods_by_token on payment_methods (provider, token)`.execute(db);
  await sql`
    insert into payment_methods (subscription_id, provider, token, status, created_at)
    select id, 'oceanpayment', quickpay_id, 'active', created_at from subscriptions`.execute(db);
  await sql`alter table subscriptions add column payment_method_id bigint references payment_methods (id)`.execute(db);
  await sql`update subscriptions s set payment_method_id = m.id from payment_methods m where m.subscription_id = s.id`.execute(db);
  await sql`alter table subscriptions drop column quickpay_id`.execute(db);

  // Invoices: one per subscription period, derived for the periods already attempted.
  await sql`
    create table invoices (
      id bigint generated always as identity primary key,
      subscription_id uuid not null references subscriptions (id),
      period integer not null check (period >= 0),
      currency text not null check (currency ~ '^[A-Z]{3}$'),
      amount_due_minor bigint not null check (amount_due_minor > 0),
      amount_paid_minor bigint not null default 0 check (amount_paid_minor >= 0),
      amount_refunded_minor bigint not null default 0 check (amount_refunded_minor >= 0),
      amount_charged_back_minor bigint not null default 0 check (amount_charged_back_minor >= 0),
      closed_as text check (closed_as in ('void', 'uncollectible')),
      status text not null check (status in ('open', 'paid', 'partially_refunded', 'refunded', 'charged_back', 'void', 'uncollectible')),
      due_at timestamptz not null,
      paid_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (subscription_id, period)
    )`.execute(db);
  await sql`create index invoices_by_status on invoices (status, due_at)`.execute(db);
  await sql`
    insert into invoices (subscription_id, period, currency, amount_due_minor, amount_paid_minor, status, due_at, paid_at, created_at)
    select subscription_id, period, min(currency), max(amount_minor),
           coalesce(sum(amount_minor) filter (where status = 'succeeded'), 0),
           case when bool_or(status = 'succeeded') then 'paid' else 'open' end,
           min(requested_at), min(resolved_at) filter (where status = 'succeeded'), min(created_at)
      from charge_attempts
     group by subscription_id, period`.execute(db);

  // Transactions: the attempts become charges; refunds and chargebacks join them.
  await sql`alter table charge_attempts rename to payment_transactions`.execute(db);
  await sql`alter table payment_transactions drop constraint charge_attempts_status_check`.execute(db);
  await sql`alter table payment_transactions drop constraint charge_attempts_service_mode_check`.execute(db);
  await sql`alter table payment_transactions drop constraint charge_attempts_order_number_check`.execute(db);
  await sql`alter table payment_transactions rename column order_number to reference`.execute(db);
  await sql`alter table payment_transactions rename column payment_id to provider_reference`.execute(db);
  await sql`alter table payment_transactions rename column gateway_code to provider_code`.execute(db);
  await sql`alter table payment_transactions rename column gateway_details to provider_message`.execute(db);
  await sql`alter table payment_transactions rename column pay_url to action_url`.execute(db);
  await sql`
    alter table payment_transactions
      add column kind text not null default 'charge' check (kind in ('charge', 'refund', 'chargeback')),
      add column invoice_id bigint references invoices (id),
      add column parent_id bigint references payment_transactions (id),
      add column provider text not null default 'oceanpayment',
      add column provider_account text,
      add column details jsonb not null default '{}',
      add column reason text`.execute(db);
  await sql`
    update payment_transactions t set
      invoice_id = i.id,
      provider_account = t.account || '/' || t.terminal,
      details = jsonb_build_object('service_mode', t.service_mode)
    from invoices i where i.subscription_id = t.subscription_id and i.period = t.period`.execute(db);
  await sql`
    alter table payment_transactions
      alter column invoice_id set not null,
      alter column provider_account set not null,
      alter column kind drop default,
      alter column provider drop default,
      drop column account,
      drop column terminal,
      drop column service_mode,
      add constraint payment_transactions_reference_format check (reference ~ '^[A-Za-z0-9_-]{1,64}$'),
      add constraint payment_transactions_status_by_kind check (
        (kind = 'charge' and status in ('sending', 'pending', 'action_required', 'unknown', 'succeeded', 'failed', 'expired'))
        or (kind = 'refund' and status in ('sending', 'pending', 'unknown', 'succeeded', 'failed'))
        or (kind = 'chargeback' and status in ('succeeded', 'reversed'))),
      add constraint payment_transactions_parent check ((kind = 'charge') = (parent_id is null))`.execute(db);
  await sql`alter index charge_attempts_pkey rename to payment_transactions_pkey`.execute(db);
  await sql`alter index charge_attempts_order_number_key rename to payment_transactions_reference_key`.execute(db);
  await sql`alter index charge_attempts_by_subscription rename to payment_transactions_by_subscription`.execute(db);
  await sql`alter index charge_attempts_to_query rename to payment_transactions_to_query`.execute(db);
  // Invariant 1, now for charges only: at most one in flight or waiting per subscription.
  await sql`drop index charge_attempts_one_open`.execute(db);
  await sql`
    create unique index payment_transactions_one_open_charge on payment_transactions (subscription_id)
      where kind = 'charge' and status in ('sending', 'pending', 'action_required', 'unknown')`.execute(db);
  await sql`create index payment_transactions_by_parent on payment_transactions (parent_id) where parent_id is not null`.execute(db);
  await sql`create index payment_transactions_by_invoice on payment_transactions (invoice_id)`.execute(db);
  await sql`create index payment_transactions_by_provider_reference on payment_transactions (provider, provider_reference) where provider_reference is not null`.execute(db);

  // What pointed at an attempt points at a transaction.
  await sql`alter table events rename column attempt_id to transaction_id`.execute(db);
  await sql`alter table email_outbox rename column attempt_id to transaction_id`.execute(db);
  await sql`alter table payment_links rename column attempt_id to transaction_id`.execute(db);

  // Notices from any provider, in neutral columns.
  await sql`alter table gateway_notices rename to provider_notices`.execute(db);
  await sql`alter table provider_notices rename column attempt_id to transaction_id`.execute(db);
  await sql`alter table provider_notices rename column order_number to reference`.execute(db);
  await sql`alter table provider_notices rename column payment_id to provider_reference`.execute(db);
  await sql`alter table provider_notices rename column payment_status to status`.execute(db);
  await sql`alter table provider_notices add column provider text not null default 'oceanpayment'`.execute(db);
  await sql`alter table provider_notices alter column provider drop default`.execute(db);
  // Unverifiable notices (refunds, chargebacks) are confirmed with the provider before anything is done.
  await sql`alter table provider_notices add column next_check_at timestamptz, add column check_count integer not null default 0`.execute(db);
  await sql`create index provider_notices_to_check on provider_notices (next_check_at) where next_check_at is not null`.execute(db);
  await sql`alter table provider_notices drop constraint gateway_notices_result_check`.execute(db);
  await sql`alter table provider_notices add constraint provider_notices_result_check
    check (result in ('applied', 'no_change', 'confirming', 'not_confirmed', 'rejected', 'unmatched', 'not_verifiable', 'malformed'))`.execute(db);
  await sql`alter index gateway_notices_pkey rename to provider_notices_pkey`.execute(db);
  await sql`alter index gateway_notices_by_order rename to provider_notices_by_reference`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0007_payments_core cannot be undone: restore the backup taken before upgrading');
}
