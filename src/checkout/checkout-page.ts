/**
 * `GET /checkout/{token}`: the sign-up link a new customer receives. While the subscription waits
 * for its first purchase it takes the customer to the provider's hosted page (only on the
 * provider's own origin); otherwise it says plainly why there is nothing to pay. Every opening of
 * a known link is an event.
 */
import type { Route } from '../http/server.ts';
import { html, htmlPage, type SafeHtml } from '../lib/html.ts';
import { displayMoney } from '../lib/money.ts';
import { formatWhen } from '../lib/customer-time.ts';
import { insertEvents } from '../events/events.repo.ts';
import { customerLinkUrl, findCustomerLink, recordCustomerLinkClick } from '../customer-links/customer-link.repo.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { gatewayRedirectTarget, sendLinkAnswer, type LinkAnswer } from '../payment-links/redirect.ts';
import { startCheckout } from './start-checkout.ts';

export interface CheckoutPageSettings {
  merchant: { name: string; supportEmail: string };
}

export function checkoutUrl(publicUrl: string, token: string): string {
  return customerLinkUrl(publicUrl, 'checkout', token);
}

export function checkoutRoutes(engine: BillingEngine, settings: CheckoutPageSettings): Route[] {
  return [
    {
      method: 'GET',
      path: '/checkout/*',
      handler: async (_req, res, url) => sendLinkAnswer(res, await openCheckoutLink(engine, settings, url.pathname.slice('/checkout/'.length))),
    },
  ];
}

type Answer = LinkAnswer;

export async function openCheckoutLink(engine: BillingEngine, settings: CheckoutPageSettings, token: string): Promise<Answer> {
  const { merchant } = settings;
  const page = (status: number, title: string, body: SafeHtml): Answer => ({
    status,
    body: htmlPage(title, html`${body}<p class="note">Questions? Write to <a href="mailto:${merchant.supportEmail}">${merchant.supportEmail}</a>.</p><p class="note">${merchant.name}</p>`),
  });
  const link = await findCustomerLink(engine.db, 'checkout', token);
  const subscription = link && (await findSubscription(engine.db, link.subscription_id));
  if (!link || !subscription) {
    return page(404, 'Link not valid', html`<h1>This sign-up link is not valid</h1><p>Please use the link from your most recent e-mail from ${merchant.name}, or contact us.</p>`);
  }
  const now = engine.clock.now();
  const clicks = await recordCustomerLinkClick(engine.db, link.id, now);
  const state =
    subscription.status === 'canceled' ? 'canceled'
    : subscription.status === 'incomplete_expired' ? 'expired'
    : subscription.status !== 'incomplete' ? 'paid'
    : link.closed_at ? 'closed'
    : link.expires_at <= now ? 'expired'
    : 'open';
  await insertEvents(engine.db, [{ subscriptionId: subscription.id, type: 'customer_link_opened', actor: 'customer', occurredAt: now, data: { purpose: 'checkout', clicks, link_state: state } }]);
  const amount = displayMoney({ amountMinor: subscription.amount_minor, currency: subscription.currency });
  const what = html`${subscription.product_name} (${amount} every ${subscription.interval})`;
  switch (state) {
    case 'paid':
      return page(409, 'Already paid', html`<h1>You are already signed up</h1><p>Your first payment for ${what} went through. There is nothing more to do.</p>`);
    case 'canceled':
      return page(410, 'Subscription canceled', html`<h1>This subscription has been canceled</h1><p>Nothing is due for ${what}, and nothing will be charged.</p>`);
    case 'expired':
      return page(410, 'Link expired', html`<h1>This sign-up link has expired</h1><p>The link to start ${what} expired on ${formatWhen(link.expires_at, subscription.timezone)}. Nothing was charged. Please contact us for a new one.</p>`);
    case 'closed':
      return page(410, 'Link no longer valid', html`<h1>This sign-up link is no longer valid</h1><p>Please use the link from your most recent e-mail from ${merchant.name}.</p>`);
    case 'open':
      break;
  }
  const step = await startCheckout(engine, subscription.id);
  if (step.kind === 'not_open') return page(409, 'Nothing to pay', html`<h1>There is nothing to pay here</h1><p>This subscription is ${step.status.replaceAll('_', ' ')}.</p>`);
  if (step.kind === 'waiting') {
    return page(409, 'Payment being confirmed', html`<h1>Your payment is being confirmed</h1><p>We are still waiting to hear from the bank about your last try (order ${step.charge.reference}). Please open this link again in a few minutes.</p>`);
  }
  if (step.kind === 'failed') {
    return page(502, 'Cannot continue', html`<h1>We cannot open the payment page right now</h1><p>Nothing was charged. Please try this link again in a few minutes.</p>`);
  }
  const origin = engine.providers.find(step.charge.provider)?.actionOrigin;
  const target = step.charge.action_url && origin ? gatewayRedirectTarget(step.charge.action_url, origin) : null;
  if (!target) {
    engine.logger.error({ transaction_id: step.charge.id, provider: step.charge.provider, origin }, 'refusing to redirect: the checkout page is not on its provider\'s origin');
    return page(502, 'Cannot continue', html`<h1>We cannot open the payment page right now</h1><p>Nothing was charged. Please try again later, or contact us.</p>`);
  }
  return { redirect: target };
}
