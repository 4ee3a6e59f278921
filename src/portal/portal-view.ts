/**
 * The self-service pages as pure functions of their facts: every value escaped, every instant in
 * the customer's own zone, every form carrying the session's CSRF token.
 */
import type { Invoice, PaymentMethod, PaymentTransaction, Subscription } from '../db/database.ts';
import { formatWhen } from '../lib/customer-time.ts';
import { escapeHtml, html, type SafeHtml } from '../lib/html.ts';
import { displayMoney } from '../lib/money.ts';
import { PORTAL_STYLE } from './portal-guard.ts';

export interface Merchant {
  name: string;
  supportEmail: string;
}

export interface AccountFacts {
  subscription: Subscription;
  card: PaymentMethod | null;
  invoices: Invoice[];
  /** Charges and their refunds and chargebacks, newest first. */
  transactions: PaymentTransaction[];
}

/** What the customer just did, shown once above the page (a fixed set: nothing from the request is echoed). */
export const DONE_MESSAGES = {
  cancel_scheduled: 'Your subscription will end at the end of the current period. You can undo this until then.',
  cancel_undone: 'Your subscription continues: it renews as before.',
  payment_started: 'The unpaid amount is being charged to your card now. This page shows the result in a moment.',
} as const;
export type DoneMessage = keyof typeof DONE_MESSAGES;

export function portalPage(merchant: Merchant, title: string, body: SafeHtml): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${escapeHtml(merchant.name)}</title>
<style>${PORTAL_STYLE}</style></head>
<body>${body.html}
<p class="note">Questions? Write to <a href="mailto:${escapeHtml(merchant.supportEmail)}">${escapeHtml(merchant.supportEmail)}</a>.</p><p class="note">${escapeHtml(merchant.name)}</p></body></html>
`;
}

const EVERY: Record<Subscription['interval'], string> = { week: 'week', month: 'month', quarter: 'quarter', 'half-year': 'half-year', year: 'year' };

function button(action: string, csrf: string, label: string, id: string): SafeHtml {
  return html`<form method="post" action="/account/${action}" id="${id}"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">${label}</button></form>`;
}

const owing = (s: Subscription) => s.status === 'past_due' || s.status === 'unpaid';

export function accountBody(merchant: Merchant, facts: AccountFacts, csrf: string, done: DoneMessage | null): SafeHtml {
  const { subscription: s, card } = facts;
  const amount = displayMoney({ amountMinor: s.amount_minor, currency: s.currency });
  const when = (d: Date) => formatWhen(d, s.timezone);
  const ends = s.cancel_at_period_end && s.next_renewal_at;
  const renewal = ends
    ? html`<dt>Ends</dt><dd>${when(s.next_renewal_at!)}: no further payment</dd>`
    : s.next_renewal_at
      ? html`<dt>Next payment</dt><dd>${amount} on ${when(s.next_renewal_at)}</dd>`
      : '';
  const cardText = card
    ? html`${card.card_last4 ? html`card ending ${card.card_last4}` : 'your saved card'}${card.card_expiry ? html`, expires ${card.card_expiry.slice(5)}/${card.card_expiry.slice(0, 4)}` : ''}`
    : s.collection_method === 'card_token' ? 'none yet' : 'none: you pay each period by link';
  const actions: SafeHtml[] = [];
  if (owing(s)) actions.push(button('pay', csrf, `Pay ${amount} now`, 'pay'));
  if (s.collection_method === 'card_token') actions.push(button('card', csrf, 'Update card', 'card'));
  if (s.cancel_at_period_end) actions.push(button('resume', csrf, 'Keep my subscription (undo cancel)', 'resume'));
  else actions.push(button('cancel', csrf, 'Cancel at the end of the period', 'cancel'));
  return html`${done ? html`<p class="notice" role="status">${DONE_MESSAGES[done]}</p>` : ''}
<h1>Your subscription to ${merchant.name}</h1>
<dl>
<dt>Plan</dt><dd>${s.product_name}: ${amount} every ${EVERY[s.interval]}</dd>
<dt>Status</dt><dd>${statusText(s)}</dd>
${renewal}
<dt>Card</dt><dd>${cardText}</dd>
<dt>For</dt><dd>${s.customer_first_name} ${s.customer_last_name} (${s.customer_email})</dd>
</dl>
<h2>What you can do</h2>
<div>${actions}</div>
${s.cancel_at_period_end ? '' : html`<p class="note">Cancelling ends your subscription when the period you have paid for runs out; nothing more is charged, and you can undo it until then.</p>`}
<h2>Your payments</h2>
${paymentsTable(facts, when)}
<form method="post" action="/account/sign-out" id="sign-out"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Sign out</button></form>`;
}

function statusText(s: Subscription): string {
  if (s.status === 'active') return s.cancel_at_period_end ? 'Active until the end of the period' : 'Active';
  if (s.status === 'past_due') return 'Payment due: the last payment did not go through';
  if (s.status === 'unpaid') return 'Suspended: a payment is unpaid';
  return s.status;
}

function paymentsTable(facts: AccountFacts, when: (d: Date) => string): SafeHtml {
  const charges = facts.transactions.filter((t) => t.kind === 'charge' && (t.status === 'succeeded' || t.status === 'failed'));
  if (!charges.length) return html`<p>No payments yet.</p>`;
  const children = (id: number) => facts.transactions.filter((t) => t.parent_id === id && t.status === 'succeeded');
  const rows = charges.map((c) => {
    const money = displayMoney({ amountMinor: c.amount_minor, currency: c.currency });
    const back = children(c.id).map((r) => html`<br><span class="note">${r.kind === 'refund' ? 'Refunded' : 'Charged back'} ${displayMoney({ amountMinor: r.amount_minor, currency: r.currency })} on ${when(r.resolved_at ?? r.requested_at)}</span>`);
    const status = c.status === 'succeeded' ? html`Paid${back}` : 'Declined: nothing was taken';
    return html`<tr><td>${when(c.resolved_at ?? c.requested_at)}</td><td>${money}</td><td>${status}</td><td>${c.status === 'succeeded' ? html`<a href="/account/receipts/${c.reference}">Receipt</a>` : ''}</td></tr>`;
  });
  return html`<table><thead><tr><th>Date</th><th>Amount</th><th></th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function receiptBody(merchant: Merchant, facts: AccountFacts, charge: PaymentTransaction): SafeHtml {
  const s = facts.subscription;
  const when = (d: Date) => formatWhen(d, s.timezone);
  const invoice = facts.invoices.find((i) => i.id === charge.invoice_id);
  const back = facts.transactions.filter((t) => t.parent_id === charge.id && t.status === 'succeeded');
  return html`<h1>Receipt</h1>
<dl>
<dt>From</dt><dd>${merchant.name}</dd>
<dt>To</dt><dd>${s.customer_first_name} ${s.customer_last_name} (${s.customer_email})</dd>
<dt>For</dt><dd>${s.product_name}${invoice ? html`, period ${invoice.period + 1}` : ''}</dd>
<dt>Amount</dt><dd>${displayMoney({ amountMinor: charge.amount_minor, currency: charge.currency })}</dd>
<dt>Paid</dt><dd>${when(charge.resolved_at ?? charge.requested_at)}</dd>
<dt>Order number</dt><dd>${charge.reference}</dd>
${back.map((r) => html`<dt>${r.kind === 'refund' ? 'Refunded' : 'Charged back'}</dt><dd>${displayMoney({ amountMinor: r.amount_minor, currency: r.currency })} on ${when(r.resolved_at ?? r.requested_at)}</dd>`)}
</dl>
<p><a href="/account">Back to your subscription</a></p>`;
}

/** A page for every state a link or session can be in but usable. */
export const REFUSALS = {
  link_unknown: { status: 404, title: 'Link not valid', text: 'This link is not valid. Please use the link from your most recent e-mail, or ask us for a new one.' },
  link_used: { status: 410, title: 'Link already used', text: 'This link has already been used: each link opens your account once. Please ask us for a new one.' },
  link_expired: { status: 410, title: 'Link expired', text: 'This link has expired. Please ask us for a new one.' },
  ended: { status: 410, title: 'Subscription ended', text: 'This subscription has ended: nothing more will be charged.' },
  no_session: { status: 401, title: 'Please open your link again', text: 'Your session has ended (or this browser has none). Please open the link from your e-mail again, or ask us for a new one.' },
  forbidden: { status: 403, title: 'Request refused', text: 'This request did not come from your account page, so nothing was changed. Please go back to your account page and try again.' },
  too_many: { status: 429, title: 'Too many tries', text: 'This link was tried too often. Please wait a minute and try again.' },
} as const;
export type Refusal = keyof typeof REFUSALS;
