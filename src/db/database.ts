/** Table types for Kysely. Column names are the database's (snake_case). */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Interval } from '../plans/billing-calendar.ts';

/** `incomplete_expired`: the customer never completed the hosted checkout before its link expired. */
export const SUBSCRIPTION_STATUSES = ['incomplete', 'incomplete_expired', 'active', 'past_due', 'unpaid', 'canceled'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Charge statuses: a charge is `sending` until the provider answers, and ends succeeded, failed or expired. */
export const CHARGE_STATUSES = ['sending', 'pending', 'action_required', 'unknown', 'succeeded', 'failed', 'expired'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];
/** Charges that still hold their subscription: the provider's answer is awaited or being sought. */
export const OPEN_CHARGE_STATUSES = ['sending', 'pending', 'action_required', 'unknown'] as const satisfies readonly ChargeStatus[];

export type TransactionKind = 'charge' | 'refund' | 'chargeback';
/** Every kind's statuses (see src/payments/transactions/ for each kind's machine). */
export type TransactionStatus = ChargeStatus | 'reversed';

/** How a subscription's periods are collected: a stored card charged by rebill, a link the customer pays, or at a counter. */
export const COLLECTION_METHODS = ['card_token', 'payment_link', 'in_person'] as const;
export type CollectionMethod = (typeof COLLECTION_METHODS)[number];

export type InvoiceStatus = 'open' | 'paid' | 'partially_refunded' | 'refunded' | 'charged_back' | 'void' | 'uncollectible';
export type PaymentMethodStatus = 'active' | 'replaced' | 'disabled';

type AuditTime = ColumnType<Date, Date | undefined, Date>;

export interface SubscriptionsTable {
  id: string;
  customer_email: string;
  customer_first_name: string;
  customer_last_name: string;
  customer_country: string;
  /** The active stored payment method; null until the customer has given one (hosted checkout). */
  payment_method_id: number | null;
  collection_method: ColumnType<CollectionMethod, CollectionMethod | undefined, CollectionMethod>;
  product_name: string;
  interval: Interval;
  amount_minor: number;
  currency: string;
  timezone: string;
  anchor_at: Date;
  status: SubscriptionStatus;
  renewals_paid: Generated<number>;
  next_period: number;
  next_renewal_at: Date | null;
  next_attempt_at: Date | null;
  enqueued_at: Date | null;
  past_due_since: Date | null;
  retries_used: Generated<number>;
  cancel_at_period_end: Generated<boolean>;
  canceled_at: Date | null;
  /** The merchant's own reference for the subscription (unique when given). */
  external_id: string | null;
  created_at: AuditTime;
  updated_at: AuditTime;
}

export interface PaymentMethodsTable {
  id: Generated<number>;
  subscription_id: string;
  provider: string;
  /** The provider's token for the card or account (Oceanpayment: the QuickPay ID); null for a method that stores none (payment links). */
  token: string | null;
  status: PaymentMethodStatus;
  replaced_by: number | null;
  card_last4: string | null;
  /** `YYYY-MM`. */
  card_expiry: string | null;
  created_at: Date;
  disabled_at: Date | null;
  updated_at: AuditTime;
}

export interface InvoicesTable {
  id: Generated<number>;
  subscription_id: string;
  period: number;
  currency: string;
  amount_due_minor: number;
  amount_paid_minor: Generated<number>;
  amount_refunded_minor: Generated<number>;
  amount_charged_back_minor: Generated<number>;
  closed_as: 'void' | 'uncollectible' | null;
  status: InvoiceStatus;
  due_at: Date;
  paid_at: Date | null;
  created_at: AuditTime;
  updated_at: AuditTime;
}

/** A money movement at a provider: a charge, a refund (of a charge) or a chargeback (of a charge). */
export interface PaymentTransactionsTable {
  id: Generated<number>;
  kind: TransactionKind;
  subscription_id: string;
  invoice_id: number;
  /** The charge a refund or chargeback is of; null for charges. */
  parent_id: number | null;
  period: number;
  provider: string;
  /** Who rebill was at the provider when it sent this (e.g. `995149/99514901`). */
  provider_account: string;
  /** Our reference, unique for ever: the order number of a charge, the refund number of a refund. */
  reference: string;
  /** The provider's id: its payment id for a charge, its refund id for a refund. */
  provider_reference: string | null;
  amount_minor: number;
  currency: string;
  status: TransactionStatus;
  decline_class: string | null;
  provider_code: string | null;
  provider_message: string | null;
  /** Where the customer must go to complete the payment (3-D Secure, a payment link), or the code they scan at a counter. */
  action_url: string | null;
  failure_reason: string | null;
  /** Why a refund was asked for. */
  reason: string | null;
  /** Provider facts kept for the record, e.g. `{"service_mode": "M2"}`. */
  details: ColumnType<Record<string, string>, string | undefined, string>;
  query_count: Generated<number>;
  next_query_at: Date | null;
  requested_at: Date;
  resolved_at: Date | null;
  created_at: AuditTime;
  updated_at: AuditTime;
}

export type NoticeChannel = 'notice' | 'browser_return';
export type NoticeResult = 'applied' | 'no_change' | 'confirming' | 'not_confirmed' | 'rejected' | 'unmatched' | 'not_verifiable' | 'malformed';

/** What a provider pushed to rebill (a notice) or a customer's browser carried back, with its verdict. */
export interface ProviderNoticesTable {
  id: Generated<number>;
  provider: string;
  channel: NoticeChannel;
  received_at: Date;
  notice_type: string | null;
  /** Our reference, as received. */
  reference: string | null;
  provider_reference: string | null;
  /** The provider's status field, as received. */
  status: string | null;
  verified: boolean;
  result: NoticeResult;
  problem: string | null;
  transaction_id: number | null;
  /** When an unverifiable notice is next to be confirmed with the provider; null when nothing is left to ask. */
  next_check_at: Date | null;
  check_count: Generated<number>;
  body: string;
  /** The exact bytes of a body that could not be stored as text (a NUL character, not UTF-8). */
  raw_body: Buffer | null;
  created_at: AuditTime;
}

export type EmailStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'uncertain';

export interface EmailOutboxTable {
  id: Generated<number>;
  subscription_id: string | null;
  transaction_id: number | null;
  kind: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  status: Generated<EmailStatus>;
  send_after: Date;
  tries: Generated<number>;
  last_error: string | null;
  delivered_to: string | null;
  sent_at: Date | null;
  dedupe_key: string | null;
  claimed_at: Date | null;
  /** Random and unique for ever (ids repeat across database resets): names the `.eml` file and the Message-ID. */
  message_key: Generated<string>;
  created_at: AuditTime;
}

export interface PaymentLinkTokensTable {
  token_hash: Buffer;
  link_id: number;
  created_at: Date;
}

export interface PaymentLinksTable {
  id: Generated<number>;
  transaction_id: number;
  subscription_id: string;
  created_at: Date;
  expires_at: Date;
  remind_at: Date | null;
  reminded_at: Date | null;
  clicks: Generated<number>;
  last_clicked_at: Date | null;
  closed_at: Date | null;
  closed_reason: string | null;
}

export type CustomerLinkPurpose = 'checkout' | 'card_update' | 'portal';

/** A link a customer opens themselves: one purpose, one subscription, an expiry; only the token's hash is kept. */
export interface CustomerLinksTable {
  id: Generated<number>;
  purpose: CustomerLinkPurpose;
  subscription_id: string;
  token_hash: Buffer;
  created_at: Date;
  expires_at: Date;
  clicks: Generated<number>;
  last_clicked_at: Date | null;
  closed_at: Date | null;
  closed_reason: string | null;
}

/** A self-service page session: what an opened portal link became; only the cookie's hash is kept. */
export interface PortalSessionsTable {
  id: Generated<number>;
  subscription_id: string;
  link_id: number;
  token_hash: Buffer;
  created_at: Date;
  expires_at: Date;
  closed_at: Date | null;
}

export interface EventsTable {
  id: Generated<number>;
  subscription_id: string;
  transaction_id: number | null;
  type: string;
  actor: string;
  reason: string | null;
  data: ColumnType<Record<string, unknown>, string | undefined, never>;
  occurred_at: Date;
  recorded_at: AuditTime;
}

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  /** The public part of the key, to find it; the secret part is only kept as a SHA-256 hash. */
  lookup_id: string;
  secret_hash: Buffer;
  read_only: boolean;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface ApiIdempotencyTable {
  api_key_id: number;
  idempotency_key: string;
  request_hash: Buffer;
  /** null while the first request is still being answered. */
  response_status: number | null;
  response_body: string | null;
  created_at: Date;
}

export interface WebhookEndpointsTable {
  id: Generated<number>;
  url: string;
  event_types: string[];
  /** Signs every delivery; shown once when the endpoint is added, never logged. */
  secret: string;
  created_at: Date;
  removed_at: Date | null;
}

export interface WebhookSequencesTable {
  subscription_id: string;
  last_sequence: number;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  event_id: string;
  endpoint_id: number;
  subscription_id: string;
  sequence: number;
  type: string;
  body: string;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Date;
  claimed_until: Date | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

export type ReconciliationRunStatus = 'running' | 'done' | 'failed';

/** One reconciliation of a provider's day with rebill's records. */
export interface ReconciliationRunsTable {
  id: Generated<number>;
  provider: string;
  /** The provider's calendar day, `YYYY-MM-DD` (in its time zone). */
  day: string;
  window_from: Date;
  window_to: Date;
  status: ReconciliationRunStatus;
  actor: string;
  started_at: Date;
  /** Moved on as pages are read: a running run whose heartbeat stopped was abandoned (its process died). */
  heartbeat_at: Date;
  finished_at: Date | null;
  pages_read: Generated<number>;
  pages_total: Generated<number>;
  payments_compared: Generated<number>;
  business_compared: Generated<number>;
  matched: Generated<number>;
  fixed: Generated<number>;
  flagged: Generated<number>;
  error: string | null;
}

/** What a run fixed (through the normal commit path) or flagged for a person. */
export interface ReconciliationItemsTable {
  id: Generated<number>;
  run_id: number;
  outcome: 'fixed' | 'flagged';
  kind: string;
  /** The order number (our reference) it is about. */
  reference: string;
  provider_reference: string | null;
  subscription_id: string | null;
  transaction_id: number | null;
  /** As the provider listed it. */
  provider_amount: string | null;
  provider_currency: string | null;
  rebill_amount_minor: ColumnType<number | null, number | null, number | null>;
  rebill_currency: string | null;
  detail: string;
}

export interface Database {
  subscriptions: SubscriptionsTable;
  payment_methods: PaymentMethodsTable;
  invoices: InvoicesTable;
  payment_transactions: PaymentTransactionsTable;
  provider_notices: ProviderNoticesTable;
  email_outbox: EmailOutboxTable;
  payment_links: PaymentLinksTable;
  payment_link_tokens: PaymentLinkTokensTable;
  customer_links: CustomerLinksTable;
  portal_sessions: PortalSessionsTable;
  events: EventsTable;
  api_keys: ApiKeysTable;
  api_idempotency: ApiIdempotencyTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_sequences: WebhookSequencesTable;
  webhook_deliveries: WebhookDeliveriesTable;
  reconciliation_runs: ReconciliationRunsTable;
  reconciliation_items: ReconciliationItemsTable;
}

export type Subscription = Selectable<SubscriptionsTable>;
export type NewSubscription = Insertable<SubscriptionsTable>;
export type SubscriptionUpdate = Updateable<SubscriptionsTable>;
export type PaymentMethod = Selectable<PaymentMethodsTable>;
export type Invoice = Selectable<InvoicesTable>;
export type PaymentTransaction = Selectable<PaymentTransactionsTable>;
export type NewPaymentTransaction = Insertable<PaymentTransactionsTable>;
export type ProviderNotice = Selectable<ProviderNoticesTable>;
export type EventRow = Selectable<EventsTable>;
export type OutboxMessage = Selectable<EmailOutboxTable>;
export type PaymentLink = Selectable<PaymentLinksTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type WebhookEndpoint = Selectable<WebhookEndpointsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
export type ReconciliationRun = Selectable<ReconciliationRunsTable>;
export type ReconciliationItem = Selectable<ReconciliationItemsTable>;
export type CustomerLink = Selectable<CustomerLinksTable>;
export type PortalSession = Selectable<PortalSessionsTable>;
