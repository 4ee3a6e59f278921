/**
 * How subscriptions look on the command line. The JSON shape is a documented, stable contract
 * (snake_case keys; instants in ISO 8601 with the subscriber's UTC offset). Text output escapes
 * control characters in every value: stored data never reaches the terminal raw.
 */
import type { ChargeAttempt, EventRow, Subscription } from '../db/database.ts';
import { formatAmount } from '../lib/money.ts';
import { escapeControlCharacters as printable } from '../lib/printable.ts';
import { formatInZone } from '../plans/billing-calendar.ts';
import { serviceModeFor } from '../payments/providers/oceanpayment/service-mode.ts';

const at = (value: Date | null, zone: string) => (value ? formatInZone(value, zone) : null);

export function subscriptionJson(row: Subscription) {
  const zone = row.timezone;
  const chargeable = row.status !== 'canceled' && row.status !== 'unpaid';
  return {
    id: row.id,
    external_id: row.external_id,
    status: row.status,
    customer: { email: row.customer_email, first_name: row.customer_first_name, last_name: row.customer_last_name, country: row.customer_country },
    quickpay_id: row.quickpay_id,
    product: row.product_name,
    interval: row.interval,
    amount: formatAmount({ amountMinor: row.amount_minor, currency: row.currency }),
    amount_minor: row.amount_minor,
    currency: row.currency,
    timezone: zone,
    anchor_at: at(row.anchor_at, zone),
    next_period: row.next_period,
    next_service_mode: chargeable ? serviceModeFor(row.interval, row.next_period) : null,
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

export function attemptJson(attempt: ChargeAttempt, zone: string) {
  return {
    id: attempt.id,
    order_number: attempt.order_number,
    period: attempt.period,
    service_mode: attempt.service_mode,
    amount: formatAmount({ amountMinor: attempt.amount_minor, currency: attempt.currency }),
    currency: attempt.currency,
    status: attempt.status,
    payment_id: attempt.payment_id,
    decline_class: attempt.decline_class,
    gateway_code: attempt.gateway_code,
    gateway_details: attempt.gateway_details,
    failure_reason: attempt.failure_reason,
    pay_url: attempt.pay_url,
    requested_at: at(attempt.requested_at, zone),
    resolved_at: at(attempt.resolved_at, zone),
    created_at: at(attempt.created_at, zone),
  };
}

export function eventJson(event: EventRow, zone: string) {
  return {
    id: event.id,
    type: event.type,
    actor: event.actor,
    reason: event.reason,
    data: event.data,
    attempt_id: event.attempt_id,
    occurred_at: at(event.occurred_at, zone),
  };
}

/** A plain text table: columns padded to their widest cell, every cell escaped. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '-' : printable(String(c)))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function subscriptionText(row: Subscription): string {
  const json = subscriptionJson(row);
  const lines = [
    `Subscription ${row.id}  [${row.status}]${row.cancel_at_period_end ? '  (ends at period end)' : ''}`,
    ...(row.external_id === null ? [] : [`  External id    ${row.external_id}`]),
    `  Customer       ${row.customer_first_name} ${row.customer_last_name} <${row.customer_email}> (${row.customer_country})`,
    `  Plan           ${row.product_name}: ${row.currency} ${json.amount} every ${row.interval}`,
    `  Card token     ${row.quickpay_id}`,
    `  Time zone      ${row.timezone}`,
    `  Anchor         ${json.anchor_at}`,
    `  Renewals paid  ${row.renewals_paid}`,
  ];
  if (json.next_renewal_at) lines.push(`  Next renewal   ${json.next_renewal_at} (period ${row.next_period}, ${json.next_service_mode})`);
  if (json.next_attempt_at && json.next_attempt_at !== json.next_renewal_at) lines.push(`  Next attempt   ${json.next_attempt_at}`);
  if (json.past_due_since) lines.push(`  Past due since ${json.past_due_since} (${row.retries_used} retr${row.retries_used === 1 ? 'y' : 'ies'} scheduled so far)`);
  if (json.canceled_at) lines.push(`  Canceled at    ${json.canceled_at}`);
  // Each line is escaped whole: the values in it came from the database.
  return `${lines.map(printable).join('\n')}\n`;
}
