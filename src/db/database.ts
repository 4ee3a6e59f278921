/** Table types for Kysely. Column names are the database's (snake_case). */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Interval } from '../plans/billing-calendar.ts';

export const SUBSCRIPTION_STATUSES = ['incomplete', 'active', 'past_due', 'unpaid', 'canceled'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export const ATTEMPT_STATUSES = ['sending', 'pending', 'action_required', 'unknown', 'succeeded', 'failed', 'expired'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];
/** Attempts that still hold their subscription: the gateway's answer is awaited or being sought. */
export const OPEN_ATTEMPT_STATUSES = ['sending', 'pending', 'action_required', 'unknown'] as const satisfies readonly AttemptStatus[];

type AuditTime = ColumnType<Date, Date | undefined, Date>;

export interface SubscriptionsTable {
  id: string;
  customer_email: string;
  customer_first_name: string;
  customer_last_name: string;
  customer_country: string;
  quickpay_id: string;
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

export interface ChargeAttemptsTable {
  id: Generated<number>;
  subscription_id: string;
  period: number;
  order_number: string;
  service_mode: string;
  amount_minor: number;
  currency: string;
  account: string;
  terminal: string;
  status: AttemptStatus;
  decline_class: string | null;
  gateway_code: string | null;
  gateway_details: string | null;
  payment_id: string | null;
  pay_url: string | null;
  failure_reason: string | null;
  query_count: Generated<number>;
  next_query_at: Date | null;
  requested_at: Date;
  resolved_at: Date | null;
  created_at: AuditTime;
  updated_at: AuditTime;
}

export type NoticeChannel = 'notice' | 'browser_return';
export type NoticeResult = 'applied' | 'no_change' | 'confirming' | 'rejected' | 'unmatched' | 'not_verifiable' | 'malformed';

export interface GatewayNoticesTable {
  id: Generated<number>;
  channel: NoticeChannel;
  received_at: Date;
  notice_type: string | null;
  order_number: string | null;
  payment_id: string | null;
  payment_status: string | null;
  verified: boolean;
  result: NoticeResult;
  problem: string | null;
  attempt_id: number | null;
  body: string;
  /** The exact bytes of a body that could not be stored as text (a NUL character, not UTF-8). */
  raw_body: Buffer | null;
  created_at: AuditTime;
}

export type EmailStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'uncertain';

export interface EmailOutboxTable {
  id: Generated<number>;
  subscription_id: string | null;
  attempt_id: number | null;
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
  attempt_id: number;
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

export interface EventsTable {
  id: Generated<number>;
  subscription_id: string;
  attempt_id: number | null;
  type: string;
  actor: string;
  reason: string | null;
  data: ColumnType<Record<string, unknown>, string | undefined, never>;
  occurred_at: Date;
  recorded_at: AuditTime;
}

export interface Database {
  subscriptions: SubscriptionsTable;
  charge_attempts: ChargeAttemptsTable;
  gateway_notices: GatewayNoticesTable;
  email_outbox: EmailOutboxTable;
  payment_links: PaymentLinksTable;
  payment_link_tokens: PaymentLinkTokensTable;
  events: EventsTable;
}

export type Subscription = Selectable<SubscriptionsTable>;
export type NewSubscription = Insertable<SubscriptionsTable>;
export type SubscriptionUpdate = Updateable<SubscriptionsTable>;
export type ChargeAttempt = Selectable<ChargeAttemptsTable>;
export type NewChargeAttempt = Insertable<ChargeAttemptsTable>;
export type EventRow = Selectable<EventsTable>;
export type OutboxMessage = Selectable<EmailOutboxTable>;
export type PaymentLink = Selectable<PaymentLinksTable>;
