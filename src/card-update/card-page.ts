/**
 * `GET /card/{token}`: the card-update link a customer receives. While it applies, the page
 * carries a form (signed by the provider's rules) to the provider's own card page; the provider
 * sends the browser back to `POST /card/{token}/done` with the new token, which is used only once
 * the provider confirms it (see replace-card.ts). Every other state gets a plain page saying why.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, send, type Route } from '../http/server.ts';
import { html, htmlPage, type SafeHtml } from '../lib/html.ts';
import { displayMoney } from '../lib/money.ts';
import { formatWhen } from '../lib/customer-time.ts';
import type { CustomerLink, Subscription } from '../db/database.ts';
import { insertEvents } from '../events/events.repo.ts';
import { operation } from '../payments/provider.ts';
import { customerLinkUrl, findCustomerLink, recordCustomerLinkClick } from '../customer-links/customer-link.repo.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { cardProvider, customerIdOf, replaceCard } from './replace-card.ts';

export interface CardPageSettings {
  merchant: { name: string; supportEmail: string };
}

const FORM_LIMIT = 16 * 1024;

export function cardUpdateRoutes(engine: BillingEngine, settings: CardPageSettings): Route[] {
  return [
    { method: 'GET', path: '/card/*', handler: (_req, res, url) => showCardPage(engine, settings, res, url) },
    { method: 'POST', path: '/card/*', handler: (req, res, url) => cardReturned(engine, settings, req, res, url) },
  ];
}

type Found = { link: CustomerLink; subscription: Subscription; state: 'open' | 'closed' | 'expired' | 'ended' };

async function lookUp(engine: BillingEngine, token: string): Promise<Found | undefined> {
  const link = await findCustomerLink(engine.db, 'card_update', token);
  const subscription = link && (await findSubscription(engine.db, link.subscription_id));
  if (!link || !subscription) return undefined;
  const now = engine.clock.now();
  const state =
    subscription.status === 'canceled' || subscription.status === 'incomplete_expired' ? 'ended'
    : link.closed_at ? 'closed'
    : link.expires_at <= now ? 'expired'
    : 'open';
  return { link, subscription, state };
}

function pageFor(settings: CardPageSettings, status: number, title: string, body: SafeHtml): { status: number; body: string } {
  const { merchant } = settings;
  return { status, body: htmlPage(title, html`${body}<p class="note">Questions? Write to <a href="mailto:${merchant.supportEmail}">${merchant.supportEmail}</a>.</p><p class="note">${merchant.name}</p>`) };
}

function notOpen(settings: CardPageSettings, found: Found | undefined): { status: number; body: string } | null {
  if (!found) return pageFor(settings, 404, 'Link not valid', html`<h1>This card link is not valid</h1><p>Please use the link from your most recent e-mail from ${settings.merchant.name}, or contact us.</p>`);
  switch (found.state) {
    case 'ended':
      return pageFor(settings, 410, 'Subscription ended', html`<h1>This subscription has ended</h1><p>Nothing more will be charged, so there is no card to update.</p>`);
    case 'closed':
      return pageFor(settings, 410, 'Link no longer valid', html`<h1>This card link has already been used</h1><p>If you need to change your card again, please ask us for a new link.</p>`);
    case 'expired':
      return pageFor(settings, 410, 'Link expired', html`<h1>This card link has expired</h1><p>It expired on ${formatWhen(found.link.expires_at, found.subscription.timezone)}. Please ask us for a new one.</p>`);
    case 'open':
      return null;
  }
}

async function showCardPage(engine: BillingEngine, settings: CardPageSettings, res: ServerResponse, url: URL): Promise<void> {
  const token = url.pathname.slice('/card/'.length);
  const found = await lookUp(engine, token);
  if (found) {
    const clicks = await recordCustomerLinkClick(engine.db, found.link.id, engine.clock.now());
    await insertEvents(engine.db, [{ subscriptionId: found.subscription.id, type: 'customer_link_opened', actor: 'customer', occurredAt: engine.clock.now(), data: { purpose: 'card_update', clicks, link_state: found.state } }]);
  }
  const refused = notOpen(settings, found);
  if (refused || !found) return void send(res, refused!.status, refused!.body, 'text/html; charset=utf-8');
  const { subscription } = found;
  const provider = await cardProvider(engine, engine.db, subscription);
  const form = operation(provider, 'tokenisePage', 'tokenise')({
    customerId: customerIdOf(subscription),
    customer: { firstName: subscription.customer_first_name, lastName: subscription.customer_last_name, email: subscription.customer_email },
    returnUrl: `${customerLinkUrl(engine.publicUrl, 'card_update', token)}/done`,
  });
  const amount = displayMoney({ amountMinor: subscription.amount_minor, currency: subscription.currency });
  const owing = subscription.status === 'past_due' || subscription.status === 'unpaid';
  const page = pageFor(settings, 200, 'Update your card', html`<h1>Update your card</h1>
<p>For ${subscription.product_name} (${amount} every ${subscription.interval}). You enter the new card on our payment provider's secure page; ${settings.merchant.name} never sees its number.</p>
${owing ? html`<p>Once it is saved, the unpaid ${amount} is charged to the new card at once.</p>` : ''}
<form method="post" action="${form.action}">
${form.fields.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<button type="submit">Continue to the secure card page</button>
</form>`);
  send(res, page.status, page.body, 'text/html; charset=utf-8');
}

async function cardReturned(engine: BillingEngine, settings: CardPageSettings, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname.slice('/card/'.length);
  if (!path.endsWith('/done')) return void send(res, 404, 'not found\n');
  const found = await lookUp(engine, path.slice(0, -'/done'.length));
  const refused = notOpen(settings, found);
  if (refused || !found) return void send(res, refused!.status, refused!.body, 'text/html; charset=utf-8');
  const form = Object.fromEntries(new URLSearchParams(await readBody(req, FORM_LIMIT)));
  // The customer id is ours: a return for another customer is not about this link.
  const result = form.customer_id === customerIdOf(found.subscription)
    ? await replaceCard(engine, found.subscription, form.quickpay_id ?? '')
    : { kind: 'refused' as const, reason: 'the card page answered for another customer' };
  let page: { status: number; body: string };
  switch (result.kind) {
    case 'replaced': {
      const amount = displayMoney({ amountMinor: result.subscription.amount_minor, currency: result.subscription.currency });
      page = pageFor(settings, 200, 'Card updated', html`<h1>Your new card is saved</h1>
<p>${result.chargingNow ? html`The unpaid ${amount} is being charged to it now; you will hear from us if anything goes wrong.` : html`Your next payments are charged to it.`}</p>`);
      break;
    }
    case 'try_later':
      engine.logger.warn({ subscription_id: found.subscription.id, reason: result.reason }, 'card update not confirmed yet');
      page = pageFor(settings, 503, 'Please try again', html`<h1>We could not confirm your new card yet</h1><p>Nothing was changed. Please open your link again in a few minutes.</p>`);
      break;
    case 'refused':
      engine.logger.warn({ subscription_id: found.subscription.id, reason: result.reason }, 'card update refused');
      page = pageFor(settings, 400, 'Card not saved', html`<h1>Your new card could not be confirmed</h1><p>Nothing was changed. Please open your link and try again, or contact us.</p>`);
      break;
  }
  send(res, page.status, page.body, 'text/html; charset=utf-8');
}
