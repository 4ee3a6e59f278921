/**
 * Every kind of entry in the event log and what its data holds. The log explains every change
 * afterwards (what, why, by whom, when), and what reads it (the CLI, reports, webhooks) relies on
 * these shapes. Keys are snake_case, as stored.
 */
import type { SubscriptionStatus } from '../db/database.ts';

/** Facts about the charge behind a change, when there is one. */
export interface ChargeFacts {
  order_number?: string;
  service_mode?: string;
  /** `from -> to`, e.g. `sending -> succeeded`. */
  attempt_status?: string;
  gateway_code?: string;
  payment_id?: string;
  amount_minor?: number;
  currency?: string;
}

/** A change of the subscription's state, from the subscription machine. */
export interface TransitionData extends ChargeFacts {
  from_status: SubscriptionStatus;
  to_status: SubscriptionStatus;
  /** Present when the next charge moved. */
  next_attempt_at?: string | null;
  period?: number;
  decline_class?: string;
  retry_limit?: number;
  at_period_end?: boolean;
  [detail: string]: unknown;
}

export interface RefundData {
  refund_number: string;
  order_number: string;
  amount_minor: number;
  currency: string;
  /** `from -> to` of the refund. */
  refund_status?: string;
  refund_id?: string;
  /** Why rebill asked for it on its own (a period paid twice, a payment after the cancel). */
  automatic?: 'double_payment' | 'paid_after_cancel';
  [detail: string]: unknown;
}

export interface EventCatalogue {
  enrolled: { status: SubscriptionStatus; interval: string; amount_minor: number; currency: string; anchor_at: string; next_period: number; next_renewal_at: string | null; external_id?: string | null; checkout?: boolean };
  // The subscription machine's events, under their log names.
  charge_started: TransitionData;
  payment_succeeded: TransitionData;
  payment_failed: TransitionData;
  request_rejected: TransitionData;
  action_required: TransitionData;
  authentication_expired: TransitionData;
  charge_not_sent: TransitionData;
  canceled: TransitionData;
  cancel_scheduled: TransitionData;
  cancel_undone: TransitionData;
  period_ended: TransitionData;
  unpaid: TransitionData;
  retry_requested: TransitionData;
  token_replaced: TransitionData;
  dispute_received: TransitionData;
  checkout_expired: TransitionData;
  // Facts worth an operator's attention that change no state by themselves.
  succeeded_after_cancel: ChargeFacts & { period?: number };
  succeeded_for_settled_period: ChargeFacts & { period?: number };
  result_for_other_period: ChargeFacts & { period?: number };
  retries_exhausted: ChargeFacts & { period?: number };
  dunning_started: ChargeFacts & { period?: number };
  periods_skipped: { from_period: number; to_period: number; charged_period: number };
  outcome_not_applied: ChargeFacts;
  charge_pending: ChargeFacts;
  charge_outcome_unknown: ChargeFacts;
  confirmation_requested: { order_number: string; attempt_status: string; notice_payment_id: string | null };
  payment_link_opened: { clicks: number; link_state: string };
  // The customer's own links: hosted checkout, card update, the self-service page.
  customer_link_created: { purpose: string; expires_at: string };
  customer_link_opened: { purpose: string; clicks: number; link_state: string };
  /** The provider's hosted page is ready for the customer (a checkout charge waits for them there). */
  checkout_started: ChargeFacts;
  /** A checkout charge ended without payment: the customer may try again while the link lasts. */
  checkout_not_paid: ChargeFacts;
  /** A replaced card token was disabled at its provider (or could not be: `reason` says why). */
  payment_method_disabled: { provider: string; token_ends: string; disabled_at_provider: boolean };
  /** A card token the provider gave with a payment became the subscription's payment method. */
  payment_method_added: { provider: string; token_ends: string; order_number?: string };
  // Money back to the customer.
  refund_requested: RefundData;
  refund_accepted: RefundData;
  refund_succeeded: RefundData;
  refund_failed: RefundData;
  refund_outcome_unknown: RefundData;
  /** A period was paid more than once (or after the cancel): refunded automatically, or flagged. */
  double_payment: { order_number: string; invoice_period: number; excess_minor: number; currency: string; action: 'refund' | 'flag'; refund_number?: string };
  chargeback_confirmed: { order_number: string; amount_minor: number; currency: string; category: 'chargeback' | 'fraud'; chargeback_reference: string };
  chargeback_reversed: { order_number: string; amount_minor: number; currency: string; chargeback_reference: string };
}

export type EventType = keyof EventCatalogue;

interface EventBase {
  subscriptionId: string;
  transactionId?: number | null;
  /** `worker`, `gateway:<how>`, `janitor`, `customer`, `operator:<name>`, `api:<key name>`. */
  actor: string;
  reason?: string | null;
  occurredAt: Date;
}

/** One entry to append, typed by its kind. */
export type NewEvent = { [T in EventType]: EventBase & { type: T; data: EventCatalogue[T] } }[EventType];

/** Builds an event whose type is only known at run time (the machine's); the catalogue says its data is a transition. */
export function transitionEvent(type: EventType, base: EventBase, data: TransitionData | ChargeFacts): NewEvent {
  return { ...base, type, data } as NewEvent;
}
