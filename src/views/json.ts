/**
 * The documented JSON shapes of subscriptions, charges, invoices and events, shared by the CLI's
 * `--json` output and the HTTP API: snake_case keys, instants in ISO 8601 with the subscriber's UTC
 * offset. Changing a key breaks the merchant's code; add keys, never rename them.
 */
import type { EventRow, Invoice, PaymentTransaction } from '../db/database.ts';
import type { SubscriptionView } from '../subscriptions/lookup.ts';
import { formatAmount } from '../lib/money.ts';
import { formatInZone } from '../plans/billing-calendar.ts';
import { OCEANPAYMENT } from '../payments/providers/oceanpayment/provider.ts';
import { serviceModeFor } from '../payments/providers/oceanpayment/service-mode.ts';

const at = (value: Date | null, zone: string) => (value ? formatInZone(value, zone) : null);

export function subscriptionJson(row: SubscriptionView) {
  const zone = row.timezone;
  const chargeable = row.status !== 'canceled' && row.status !== 'unpaid';
  return {
    id: row.id,
    external_id: row.external_id,
    status: row.status,
    customer: { email: row.customer_email, first_name: row.customer_first_name, last_name: row.customer_last_name, country: row.customer_country },
    quickpay_id: row.payment_method?.token ?? null,
    collection_method: row.collection_method,
    payment_method: row.payment_method
      ? {
          provider: row.payment_method.provider,
          status: row.payment_method.status,
          card_last4: row.payment_method.card_last4,
          card_expiry: row.payment_method.card_expiry,
        }
      : null,
    product: row.product_name,
    interval: row.interval,
    amount: formatAmount({ amountMinor: row.amount_minor, currency: row.currency }),
    amount_minor: row.amount_minor,
    currency: row.currency,
    timezone: zone,
    anchor_at: at(row.anchor_at, zone),
    next_period: row.next_period,
    // Oceanpayment's name for where the next charge sits in the subscription's life (M1, M2, M3…).
    next_service_mode: chargeable && (row.payment_method?.provider ?? OCEANPAYMENT) === OCEANPAYMENT ? serviceModeFor(row.interval, row.next_period) : null,
    next_renewal_at: at(row.next_renewal_at, zone),
    next_attempt_at: at(row.next_attempt_at, zone),
    renewals_paid: row.renewals_paid,
    past_due_since: at(row.past_due_since, zone),
    retries_used: row.retries_used,
    cancel_at_period_end: row.cancel_at_period_end,
    canceled_at: at(row.canceled_at, zone),
    created_at: at(row.created_at, zone),
    updated_at: at(row.updated_at, zone),
  };
}

/** A charge, under the keys `rebill show` has always used for it. */
export function attemptJson(attempt: PaymentTransaction, zone: string) {
  return {
    id: attempt.id,
    order_number: attempt.reference,
    period: attempt.period,
    provider: attempt.provider,
    service_mode: attempt.details.service_mode ?? null,
    amount: formatAmount({ amountMinor: attempt.amount_minor, currency: attempt.currency }),
    currency: attempt.currency,
    status: attempt.status,
    payment_id: attempt.provider_reference,
    decline_class: attempt.decline_class,
    gateway_code: attempt.provider_code,
    gateway_details: attempt.provider_message,
    failure_reason: attempt.failure_reason,
    pay_url: attempt.action_url,
    requested_at: at(attempt.requested_at, zone),
    resolved_at: at(attempt.resolved_at, zone),
    created_at: at(attempt.created_at, zone),
  };
}

/** A refund or chargeback of a charge. */
export function moneyBackJson(transaction: PaymentTransaction, charge: PaymentTransaction | undefined, zone: string) {
  return {
    id: transaction.id,
    kind: transaction.kind,
    reference: transaction.reference,
    order_number: charge?.reference ?? null,
    amount: formatAmount({ amountMinor: transaction.amount_minor, currency: transaction.currency }),
    currency: transaction.currency,
    status: transaction.status,
    provider_reference: transaction.provider_reference,
    reason: transaction.reason,
    failure_reason: transaction.failure_reason,
    automatic: transaction.details.automatic ?? null,
    requested_at: at(transaction.requested_at, zone),
    resolved_at: at(transaction.resolved_at, zone),
  };
}

/** An invoice (one subscription period) with the money that moved for it. */
export function invoiceJson(invoice: Invoice, transactions: readonly PaymentTransaction[], zone: string) {
  const mine = transactions.filter((t) => t.invoice_id === invoice.id);
  const charges = new Map(mine.filter((t) => t.kind === 'charge').map((t) => [t.id, t]));
  const amount = (minor: number) => formatAmount({ amountMinor: minor, currency: invoice.currency });
  return {
    period: invoice.period,
    status: invoice.status,
    currency: invoice.currency,
    amount_due: amount(invoice.amount_due_minor),
    amount_paid: amount(invoice.amount_paid_minor),
    amount_refunded: amount(invoice.amount_refunded_minor),
    amount_charged_back: amount(invoice.amount_charged_back_minor),
    due_at: at(invoice.due_at, zone),
    paid_at: at(invoice.paid_at, zone),
    payments: [...charges.values()].map((c) => attemptJson(c, zone)),
    refunds: mine.filter((t) => t.kind === 'refund').map((t) => moneyBackJson(t, charges.get(t.parent_id ?? -1), zone)),
    chargebacks: mine.filter((t) => t.kind === 'chargeback').map((t) => moneyBackJson(t, charges.get(t.parent_id ?? -1), zone)),
  };
}

export function eventJson(event: EventRow, zone: string) {
  return {
    id: event.id,
    type: event.type,
    actor: event.actor,
    reason: event.reason,
    data: event.data,
    transaction_id: event.transaction_id,
    occurred_at: at(event.occurred_at, zone),
  };
}
