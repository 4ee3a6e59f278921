/**
 * How subscriptions look on the command line. The JSON shapes (src/views/json.ts) are a documented,
 * stable contract shared with the HTTP API. Text output escapes control characters in every value:
 * stored data never reaches the terminal raw.
 */
import type { SubscriptionView } from '../subscriptions/lookup.ts';
import { formatAmount } from '../lib/money.ts';
import { escapeControlCharacters as printable } from '../lib/printable.ts';
import { subscriptionJson, type invoiceJson } from '../views/json.ts';

export { attemptJson, eventJson, invoiceJson, moneyBackJson, subscriptionJson } from '../views/json.ts';

/** A plain text table: columns padded to their widest cell, every cell escaped. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '-' : printable(String(c)))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function subscriptionText(row: SubscriptionView): string {
  const json = subscriptionJson(row);
  const lines = [
    `Subscription ${row.id}  [${row.status}]${row.cancel_at_period_end ? '  (ends at period end)' : ''}`,
    ...(row.external_id === null ? [] : [`  External id    ${row.external_id}`]),
    `  Customer       ${row.customer_first_name} ${row.customer_last_name} <${row.customer_email}> (${row.customer_country})`,
    `  Plan           ${row.product_name}: ${row.currency} ${json.amount} every ${row.interval}`,
    row.collection_method === 'card_token'
      ? `  Card token     ${row.payment_method ? `${row.payment_method.token} (${row.payment_method.provider})` : 'none yet'}`
      : `  Collected by   ${row.collection_method.replace('_', ' ')}${row.payment_method ? ` (${row.payment_method.provider})` : ''}`,
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

/** Invoices as text: a line per invoice, then a line per payment, refund and chargeback of it. */
export function invoicesText(invoices: ReadonlyArray<ReturnType<typeof invoiceJson>>): string {
  const rows: (string | number | null)[][] = [];
  for (const invoice of invoices) {
    const money = `${invoice.currency} ${invoice.amount_paid} paid of ${invoice.amount_due}`;
    const back = [invoice.amount_refunded !== formatAmount({ amountMinor: 0, currency: invoice.currency }) ? `${invoice.amount_refunded} refunded` : '', invoice.amount_charged_back !== formatAmount({ amountMinor: 0, currency: invoice.currency }) ? `${invoice.amount_charged_back} charged back` : '']
      .filter(Boolean)
      .join(', ');
    rows.push([`period ${invoice.period}`, invoice.status, back ? `${money}; ${back}` : money, invoice.due_at]);
    for (const payment of invoice.payments) rows.push([`  payment ${payment.order_number}`, payment.status, `${payment.currency} ${payment.amount}`, payment.requested_at]);
    for (const refund of invoice.refunds) rows.push([`  refund ${refund.reference}`, refund.status, `${refund.currency} ${refund.amount}${refund.reason ? `: ${refund.reason}` : ''}`, refund.requested_at]);
    for (const chargeback of invoice.chargebacks) rows.push([`  chargeback ${chargeback.reference}`, chargeback.status, `${chargeback.currency} ${chargeback.amount}`, chargeback.requested_at]);
  }
  return table(['INVOICE', 'STATUS', 'AMOUNT', 'WHEN'], rows);
}
