/**
 * `GET /pay/{token}`: the link in the customer's e-mail. It leads to the bank's 3-D Secure page of
 * its own attempt only, and only on the configured gateway's host (never an open redirect); an
 * unknown, expired or settled link gets a plain page saying so. Every click on a known link is
 * recorded as an event.
 */
import type { ServerResponse } from 'node:http';
import type { Db } from '../db/connect.ts';
import { send, type Route } from '../http/server.ts';
import type { Clock } from '../lib/clock.ts';
import { html, htmlPage, type SafeHtml } from '../lib/html.ts';
import type { Logger } from '../lib/logger.ts';
import { displayMoney } from '../lib/money.ts';
import { insertEvents } from '../events/events.repo.ts';
import type { PaymentProviders } from '../payments/provider.ts';
import { findLinkByToken, recordLinkClick } from './payment-link.repo.ts';
import { formatWhen } from '../lib/customer-time.ts';

export interface PaymentLinkSettings {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Each charge's provider says where its action URLs may point. */
  providers: PaymentProviders;
  merchant: { name: string; supportEmail: string };
}

/**
 * Where a stored pay_url may send the customer: the same URL re-serialised by the WHATWG parser,
 * only when it is on the configured gateway's exact origin and carries no user name or password;
 * null otherwise. The re-serialised form is what browsers and every other client read alike, so
 * `http://gateway\@evil.example/` cannot mean one host to us and another to them.
 */
export function gatewayRedirectTarget(candidate: string, gatewayUrl: string): string | null {
  let target: URL;
  let gateway: URL;
  try {
    target = new URL(candidate);
    gateway = new URL(gatewayUrl);
  } catch {
    return null;
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') return null;
  if (target.origin !== gateway.origin || target.username !== '' || target.password !== '') return null;
  return target.href;
}

export function paymentLinkRoutes(settings: PaymentLinkSettings): Route[] {
  return [
    {
      method: 'GET',
      path: '/pay/*',
      handler: async (_req, res, url) => sendLinkAnswer(res, await openLink(settings, url.pathname.slice('/pay/'.length))),
    },
  ];
}

/** What opening a customer's link gives: a redirect to the provider's page, or a page of our own. */
export type LinkAnswer = { redirect: string } | { status: number; body: string };

export function sendLinkAnswer(res: ServerResponse, answer: LinkAnswer): void {
  if ('redirect' in answer) {
    res.writeHead(303, { location: answer.redirect, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    res.end();
  } else {
    send(res, answer.status, answer.body, 'text/html; charset=utf-8');
  }
}

async function openLink(settings: PaymentLinkSettings, token: string): Promise<LinkAnswer> {
  const { merchant } = settings;
  const page = (status: number, title: string, body: SafeHtml): LinkAnswer => ({
    status,
    body: htmlPage(title, html`${body}<p class="note">Questions? Write to <a href="mailto:${merchant.supportEmail}">${merchant.supportEmail}</a>.</p><p class="note">${merchant.name}</p>`),
  });
  const found = await findLinkByToken(settings.db, token);
  if (!found) {
    return page(404, 'Link not valid', html`<h1>This payment link is not valid</h1><p>Please use the link from your most recent e-mail from ${merchant.name}, or contact us.</p>`);
  }
  const { link, attempt, subscription } = found;
  const now = settings.clock.now();
  const clicks = await recordLinkClick(settings.db, link.id, now);
  const state =
    attempt.status === 'succeeded' ? 'paid'
    : subscription.status === 'canceled' ? 'canceled'
    : link.closed_at || attempt.status !== 'action_required' ? 'closed'
    : link.expires_at <= now ? 'expired'
    : 'open';
  await insertEvents(settings.db, [
    { subscriptionId: subscription.id, transactionId: attempt.id, type: 'payment_link_opened', actor: 'customer', occurredAt: now, data: { clicks, link_state: state } },
  ]);
  const amount = displayMoney({ amountMinor: attempt.amount_minor, currency: attempt.currency });
  switch (state) {
    case 'paid':
      return page(409, 'Already paid', html`<h1>This payment is already complete</h1><p>Your payment of ${amount} to ${merchant.name} went through. There is nothing more to do.</p>`);
    case 'canceled':
      return page(410, 'Subscription canceled', html`<h1>This subscription has been canceled</h1><p>Your subscription with ${merchant.name} was canceled${subscription.canceled_at ? html` on ${formatWhen(subscription.canceled_at, subscription.timezone)}` : ''}, so this payment of ${amount} is no longer due and nothing more will be charged.</p>`);
    case 'closed':
      return page(410, 'Link no longer valid', html`<h1>This payment link is no longer valid</h1><p>This attempt to collect ${amount} has ended. If we need you to confirm another payment, we will send you a new link.</p>`);
    case 'expired':
      return page(410, 'Link expired', html`<h1>This payment link has expired</h1><p>The link to confirm your payment of ${amount} expired on ${formatWhen(link.expires_at, subscription.timezone)}. We will try the payment again and e-mail you a new link if your bank asks for confirmation again.</p>`);
    case 'open':
      break;
  }
  const origin = settings.providers.find(attempt.provider)?.actionOrigin;
  const target = attempt.action_url && origin ? gatewayRedirectTarget(attempt.action_url, origin) : null;
  if (!target) {
    settings.logger.error({ transaction_id: attempt.id, provider: attempt.provider, origin }, 'refusing to redirect: the stored action URL is not on its provider\'s origin');
    return page(502, 'Cannot continue', html`<h1>We cannot take you to your bank right now</h1><p>Please try again later, or contact us.</p>`);
  }
  return { redirect: target };
}
