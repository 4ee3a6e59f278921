/** The console's pages: plain HTML, every value escaped, no inline script (the CSP forbids it). */
import type { EventRow, Invoice, PaymentTransaction, ReconciliationItem, ReconciliationRun, Subscription, SubscriptionStatus } from '../db/database.ts';
import { SUBSCRIPTION_STATUSES } from '../db/database.ts';
import { escapeHtml, html, SafeHtml } from '../lib/html.ts';
import { displayMoney } from '../lib/money.ts';
import type { SubscriptionView } from '../subscriptions/lookup.ts';
import { attemptJson, eventJson, invoiceJson, subscriptionJson } from '../views/json.ts';
import type { Dashboard } from './queries.ts';

const NAV = [
  ['/admin', 'Dashboard'],
  ['/admin/subscribers', 'Subscribers'],
  ['/admin/reconciliation', 'Reconciliation'],
] as const;

/** A page of the signed-in console; `csrf` goes into the sign-out form. */
export function consolePage(title: string, active: string, csrf: string, body: SafeHtml, scripts: readonly string[] = []): string {
  return page(title, html`
<header><strong>rebill</strong>
<nav>${NAV.map(([href, label]) => html`<a href="${href}"${href === active ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
<form method="post" action="/admin/logout"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Sign out</button></form>
</header>
<main><h1>${title}</h1>${body}</main>
${scripts.map((src) => html`<script src="${src}"></script>`)}`);
}

function page(title: string, body: SafeHtml): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html`${title}`.html} · rebill console</title><link rel="stylesheet" href="/admin/assets/admin.css"></head>
<body>${body.html}</body></html>
`;
}

export function loginPage(nonce: string, csrf: string, problem: string | null): string {
  return page('Sign in', html`<main class="login"><h1>rebill console</h1>
<p class="note">Read-only. Enter the operator key (REBILL_ADMIN_KEY).</p>
${problem ? html`<p class="problem" role="alert">${problem}</p>` : ''}
<form method="post" action="/admin/login">
<input type="hidden" name="nonce" value="${nonce}"><input type="hidden" name="csrf" value="${csrf}">
<label>Operator key <input type="password" name="key" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></main>`);
}

const money = (amountMinor: number, currency: string) => displayMoney({ amountMinor, currency });

/** Chart data travels as JSON in a non-executed script element; `<` is escaped so it cannot end it. */
function jsonData(id: string, value: unknown): SafeHtml {
  const text = JSON.stringify(value).replace(/</g, '\\u003c');
  return new SafeHtml(`<script type="application/json" id="${escapeHtml(id)}">${text}</script>`);
}

export function dashboardBody(data: Dashboard): SafeHtml {
  const { period } = data;
  const rate = period.three_d_secure.completion_rate;
  const figure = (label: string, value: string) => html`<div class="figure"><span>${label}</span><strong>${value}</strong></div>`;
  const chart = {
    days: data.daily.map((d) => d.day),
    mrr: [...new Set(data.daily.flatMap((d) => d.report.mrr.map((m) => m.currency)))].sort().map((currency) => ({
      currency,
      values: data.daily.map((d) => (d.report.mrr.find((m) => m.currency === currency)?.mrr_minor ?? 0) / 100),
    })),
    renewals: {
      first_try: data.daily.map((d) => d.report.renewals.succeeded - d.report.renewals.recovered_by_dunning),
      recovered: data.daily.map((d) => d.report.renewals.recovered_by_dunning),
      not_paid: data.daily.map((d) => d.report.renewals.attempted - d.report.renewals.succeeded),
    },
  };
  return html`<p class="note">The last ${data.daily.length} days (UTC), from the event log and the payment records; the same figures as <code>rebill report</code>.</p>
<section class="figures">
${figure('MRR', period.mrr.length ? period.mrr.map((m) => money(m.mrr_minor, m.currency)).join(' · ') : 'none')}
${figure('New', String(period.new_subscriptions))}
${figure('Churned', `${period.churned.voluntary} voluntary · ${period.churned.involuntary} involuntary`)}
${figure('Renewals', `${period.renewals.succeeded} of ${period.renewals.attempted} paid · ${period.renewals.recovered_by_dunning} recovered`)}
${figure('3-D Secure completed', rate === null ? 'none asked' : `${(rate * 100).toFixed(1)}%`)}
${figure('Refunds', period.refunds.map((r) => `${r.count} · ${money(r.amount_minor, r.currency)}`).join(', ') || '0')}
${figure('Chargebacks', period.chargebacks.map((r) => `${r.count} · ${money(r.amount_minor, r.currency)}`).join(', ') || '0')}
${figure('Past due', period.past_due_ageing.map((b) => `${b.bucket}: ${b.subscriptions}`).join(' · '))}
</section>
<section class="charts">
<figure><figcaption>MRR at the end of each day</figcaption><canvas id="mrr-chart" width="640" height="260" role="img" aria-label="MRR by day"></canvas></figure>
<figure><figcaption>Renewals by outcome, per day</figcaption><canvas id="renewals-chart" width="640" height="260" role="img" aria-label="Renewals by outcome per day"></canvas></figure>
</section>
${jsonData('chart-data', chart)}`;
}

export function subscribersBody(rows: readonly Subscription[], q: string, status: SubscriptionStatus | null): SafeHtml {
  return html`<form method="get" action="/admin/subscribers" class="search">
<input type="search" name="q" value="${q}" placeholder="e-mail, external id, order number or id" aria-label="Search">
<select name="status" aria-label="Status"><option value="">any status</option>${SUBSCRIPTION_STATUSES.map((s) => html`<option value="${s}"${s === status ? html` selected` : ''}>${s}</option>`)}</select>
<button type="submit">Search</button></form>
<p class="note">${rows.length} shown${rows.length === 50 ? ' (the newest 50; narrow the search)' : ''}.</p>
<table><thead><tr><th>Customer</th><th>External id</th><th>Plan</th><th>Status</th><th>Next renewal</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td><a href="/admin/subscribers/${r.id}">${r.customer_email}</a><br><small>${r.customer_first_name} ${r.customer_last_name}</small></td>
<td>${r.external_id ?? ''}</td><td>${r.product_name}: ${money(r.amount_minor, r.currency)} / ${r.interval}</td>
<td><span class="status ${r.status}">${r.status}</span></td><td>${r.next_renewal_at?.toISOString().slice(0, 16).replace('T', ' ') ?? ''}</td></tr>`)}
</tbody></table>`;
}

export function subscriberBody(view: SubscriptionView, transactions: readonly PaymentTransaction[], invoices: readonly Invoice[], events: readonly EventRow[]): SafeHtml {
  const json = subscriptionJson(view);
  const zone = view.timezone;
  const attempts = transactions.filter((t) => t.kind === 'charge').map((a) => attemptJson(a, zone));
  return html`<dl class="facts">
<dt>Status</dt><dd><span class="status ${view.status}">${view.status}</span>${view.cancel_at_period_end ? ' (ends at the period end)' : ''}</dd>
<dt>Customer</dt><dd>${view.customer_first_name} ${view.customer_last_name} &lt;${view.customer_email}&gt; (${view.customer_country})</dd>
<dt>Plan</dt><dd>${view.product_name}: ${view.currency} ${json.amount} every ${view.interval}</dd>
<dt>External id</dt><dd>${view.external_id ?? '-'}</dd>
<dt>Card token</dt><dd>${view.payment_method ? `${view.payment_method.token} (${view.payment_method.provider})` : 'none yet'}</dd>
<dt>Next renewal</dt><dd>${json.next_renewal_at ?? '-'}</dd>
<dt>Renewals paid</dt><dd>${view.renewals_paid}</dd></dl>
<h2>Charge attempts (${attempts.length})</h2>
<table><thead><tr><th>Order number</th><th>Period</th><th>Amount</th><th>Status</th><th>Payment id</th><th>Code</th><th>Requested</th></tr></thead><tbody>
${attempts.map((a) => html`<tr><td>${a.order_number}</td><td>${a.period}</td><td>${a.currency} ${a.amount}</td><td>${a.status}</td><td>${a.payment_id ?? ''}</td><td>${a.gateway_code ?? ''}</td><td>${a.requested_at}</td></tr>`)}
</tbody></table>
<h2>Invoices (${invoices.length})</h2>
<table><thead><tr><th>Period</th><th>Status</th><th>Due</th><th>Paid</th><th>Refunded</th><th>Charged back</th></tr></thead><tbody>
${invoices.map((i) => invoiceJson(i, transactions, zone)).map((i) => html`<tr><td>${i.period}</td><td>${i.status}</td><td>${i.currency} ${i.amount_due}</td><td>${i.amount_paid}</td><td>${i.amount_refunded}</td><td>${i.amount_charged_back}</td></tr>`)}
</tbody></table>
<h2>Timeline (${events.length})</h2>
<table class="timeline"><thead><tr><th>When</th><th>Event</th><th>By</th><th>Details</th></tr></thead><tbody>
${events.map((e) => {
    const data = e.data as Record<string, unknown>;
    const change = data.from_status && data.from_status !== data.to_status ? `${String(data.from_status)} -> ${String(data.to_status)}` : '';
    return html`<tr><td>${eventJson(e, zone).occurred_at}</td><td>${e.type}</td><td>${e.actor}</td><td>${[change, e.reason ?? ''].filter(Boolean).join('; ')}</td></tr>`;
  })}
</tbody></table>`;
}

export function runsBody(runs: readonly ReconciliationRun[]): SafeHtml {
  return html`<p class="note">Each run compares a day's payments, refunds and chargebacks at the provider with rebill's (<code>rebill reconcile</code>; the worker runs one a day).</p>
<table><thead><tr><th>Run</th><th>Provider</th><th>Day</th><th>Status</th><th>Compared</th><th>Matched</th><th>Fixed</th><th>Flagged</th><th>Started</th></tr></thead><tbody>
${runs.map((r) => html`<tr><td><a href="/admin/reconciliation/${r.id}">${r.id}</a></td><td>${r.provider}</td><td>${r.day}</td><td>${r.status}</td>
<td>${r.payments_compared + r.business_compared}</td><td>${r.matched}</td><td>${r.fixed}</td><td class="${r.flagged ? 'flagged' : ''}">${r.flagged}</td><td>${r.started_at.toISOString().slice(0, 16).replace('T', ' ')}</td></tr>`)}
</tbody></table>`;
}

export function runBody(run: ReconciliationRun, items: readonly ReconciliationItem[]): SafeHtml {
  const section = (outcome: 'flagged' | 'fixed', title: string) => {
    const some = items.filter((i) => i.outcome === outcome);
    return html`<h2>${title} (${some.length})</h2>${some.length ? html`<table><thead><tr><th>Kind</th><th>Order number</th><th>Payment id</th><th>Listed</th><th>Detail</th></tr></thead><tbody>
${some.map((i) => html`<tr><td>${i.kind}</td><td>${i.subscription_id ? html`<a href="/admin/subscribers/${i.subscription_id}">${i.reference}</a>` : i.reference}</td><td>${i.provider_reference ?? ''}</td><td>${i.provider_amount === null ? '' : `${i.provider_currency} ${i.provider_amount}`}</td><td>${i.detail}</td></tr>`)}
</tbody></table>` : html`<p class="note">None.</p>`}`;
  };
  return html`<p>${run.provider}, ${run.day} (${run.window_from.toISOString()} to ${run.window_to.toISOString()}): <strong>${run.status}</strong>.
Compared ${run.payments_compared} payments and ${run.business_compared} refunds and chargebacks on ${run.pages_read} pages: ${run.matched} matched, ${run.fixed} fixed, ${run.flagged} flagged.</p>
${run.error ? html`<p class="problem">It stopped: ${run.error}</p>` : ''}
${section('flagged', 'Flagged for a person')}
${section('fixed', 'Fixed')}`;
}
