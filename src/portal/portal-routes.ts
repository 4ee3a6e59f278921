/**
 * The customer's self-service page under /account. `GET /account/{token}` (the e-mailed link)
 * shows a button; pressing it (`POST`) closes the link and starts a session, so a mail scanner
 * that fetches the link does not use it up. `/account` then shows the subscription the session is
 * bound to, and its forms change only that subscription, each through the same service an
 * operator's command uses. No path or field names a subscription: the session alone decides.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PgBoss } from 'pg-boss';
import type { BillingEngine } from '../billing/engine.ts';
import { cancelSubscription, undoCancel, type OperatorContext } from '../billing/operator-actions.ts';
import { retryNow } from '../billing/subscriber-actions.ts';
import { createCustomerLink, customerLinkUrl, findCustomerLink } from '../customer-links/customer-link.repo.ts';
import type { CustomerLink, PortalSession, Subscription } from '../db/database.ts';
import { insertEvents } from '../events/events.repo.ts';
import { readBody, type Route } from '../http/server.ts';
import { ConflictError } from '../lib/errors.ts';
import { html } from '../lib/html.ts';
import { transactionsOf } from '../payments/transactions/transaction.repo.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import { viewOf } from '../subscriptions/lookup.ts';
import { clearedSessionCookie, csrfMatches, csrfTokenFor, sameOrigin, SECURITY_HEADERS, sessionCookie, sessionTokenOf, WindowLimiter } from './portal-guard.ts';
import { closePortalSession, exchangeLinkForSession, findPortalSession } from './portal-session.repo.ts';
import { accountBody, DONE_MESSAGES, portalPage, receiptBody, REFUSALS, type AccountFacts, type DoneMessage, type Merchant, type Refusal } from './portal-view.ts';

export interface PortalSettings {
  merchant: Merchant;
  /** How long an opened link's session lasts. */
  sessionTtlMs: number;
  /** How long the card-update link behind "Update card" works. */
  cardLinkTtlMs: number;
  /** Queues the charge of "Pay now", as `rebill retry` does. */
  boss: PgBoss;
  /** Tries of one link, and of all links from one address, per minute. */
  limits?: { perLink: number; perAddress: number };
}

const FORM_LIMIT = 4 * 1024;
const ACTIONS = ['cancel', 'resume', 'pay', 'card', 'sign-out'] as const;
type Action = (typeof ACTIONS)[number];
const ENDED: readonly Subscription['status'][] = ['canceled', 'incomplete_expired'];

export function portalRoutes(engine: BillingEngine, settings: PortalSettings): Route[] {
  const perLink = new WindowLimiter(settings.limits?.perLink ?? 10, 60_000);
  const perAddress = new WindowLimiter(settings.limits?.perAddress ?? 60, 60_000);
  const portal = { engine, settings, perLink, perAddress };
  return [
    { method: 'GET', path: '/account', handler: (req, res, url) => showAccount(portal, req, res, url) },
    { method: 'GET', path: '/account/*', handler: (req, res, url) => (url.pathname.startsWith('/account/receipts/') ? showReceipt(portal, req, res, url) : showLink(portal, req, res, url)) },
    { method: 'POST', path: '/account/*', handler: (req, res, url) => post(portal, req, res, url) },
  ];
}

type Portal = { engine: BillingEngine; settings: PortalSettings; perLink: WindowLimiter; perAddress: WindowLimiter };

function write(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function refuse(portal: Portal, res: ServerResponse, refusal: Refusal, headers: Record<string, string> = {}): void {
  const { status, title, text } = REFUSALS[refusal];
  write(res, status, portalPage(portal.settings.merchant, title, html`<h1>${title}</h1><p>${text}</p>`), headers);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-length': '0', ...headers });
  res.end();
}

const secure = (portal: Portal) => portal.engine.publicUrl.startsWith('https://');

// ---- the link ----

type LinkState = { link: CustomerLink; subscription: Subscription } | Refusal;

async function linkState(portal: Portal, req: IncomingMessage, token: string): Promise<LinkState> {
  const address = req.socket.remoteAddress ?? 'unknown';
  const nowMs = Date.now();
  // Both counters advance on every try, so one address cannot spread guesses over many links.
  // A link is 43 characters: longer keys are cut so a flood of long paths cannot fill memory.
  const allowed = [portal.perAddress.allow(address, nowMs), portal.perLink.allow(token.slice(0, 64), nowMs)];
  if (allowed.includes(false)) return 'too_many';
  const link = await findCustomerLink(portal.engine.db, 'portal', token);
  const subscription = link && (await findSubscription(portal.engine.db, link.subscription_id));
  if (!link || !subscription) return 'link_unknown';
  if (ENDED.includes(subscription.status)) return 'ended';
  if (link.closed_at) return 'link_used';
  if (link.expires_at <= portal.engine.clock.now()) return 'link_expired';
  return { link, subscription };
}

async function logOpen(portal: Portal, link: CustomerLink | undefined, state: string): Promise<void> {
  if (!link) return;
  await insertEvents(portal.engine.db, [{ subscriptionId: link.subscription_id, type: 'customer_link_opened', actor: 'customer', occurredAt: portal.engine.clock.now(), data: { purpose: 'portal', clicks: link.clicks, link_state: state } }]);
}

async function showLink(portal: Portal, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const token = url.pathname.slice('/account/'.length);
  const state = await linkState(portal, req, token);
  if (typeof state === 'string') {
    if (state !== 'too_many' && state !== 'link_unknown') await logOpen(portal, await findCustomerLink(portal.engine.db, 'portal', token), state);
    return refuse(portal, res, state);
  }
  write(res, 200, portalPage(portal.settings.merchant, 'Your subscription', html`<h1>Your subscription to ${portal.settings.merchant.name}</h1>
<p>Hello ${state.subscription.customer_first_name}, this link opens your account once, in this browser.</p>
<form method="post" action="/account/${token}" id="open"><button type="submit">Open my account</button></form>`));
}

async function openLink(portal: Portal, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  if (!sameOrigin(req, portal.engine.publicUrl)) return refuse(portal, res, 'forbidden');
  const state = await linkState(portal, req, token);
  if (typeof state === 'string') return refuse(portal, res, state);
  const now = portal.engine.clock.now();
  const opened = await portal.engine.db.transaction().execute(async (tx) => {
    const started = await exchangeLinkForSession(tx, state.link, now, portal.settings.sessionTtlMs);
    if (started) await insertEvents(tx, [{ subscriptionId: state.subscription.id, type: 'customer_link_opened', actor: 'customer', occurredAt: now, data: { purpose: 'portal', clicks: state.link.clicks + 1, link_state: 'opened' } }]);
    return started;
  });
  // Another tab won the race for this link.
  if (!opened) return refuse(portal, res, 'link_used');
  redirect(res, '/account', { 'set-cookie': sessionCookie(opened.token, portal.settings.sessionTtlMs, secure(portal)) });
}

// ---- the session ----

type Signed = { session: PortalSession; token: string; subscription: Subscription };

async function signedIn(portal: Portal, req: IncomingMessage): Promise<Signed | Refusal> {
  const token = sessionTokenOf(req);
  const session = await findPortalSession(portal.engine.db, token, portal.engine.clock.now());
  const subscription = session && (await findSubscription(portal.engine.db, session.subscription_id));
  if (!session || !subscription) return 'no_session';
  if (ENDED.includes(subscription.status)) return 'ended';
  return { session, token: token!, subscription };
}

async function factsOf(portal: Portal, subscription: Subscription): Promise<AccountFacts> {
  const db = portal.engine.db;
  const [view, invoices, transactions] = await Promise.all([
    viewOf(db, subscription),
    db.selectFrom('invoices').selectAll().where('subscription_id', '=', subscription.id).orderBy('period', 'desc').execute(),
    transactionsOf(db, subscription.id),
  ]);
  return { subscription, card: view.payment_method, invoices, transactions: transactions.sort((a, b) => b.requested_at.getTime() - a.requested_at.getTime() || b.id - a.id) };
}

async function showAccount(portal: Portal, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const signed = await signedIn(portal, req);
  if (typeof signed === 'string') return refuse(portal, res, signed);
  const done = url.searchParams.get('done');
  const message = done && Object.hasOwn(DONE_MESSAGES, done) ? (done as DoneMessage) : null;
  const body = accountBody(portal.settings.merchant, await factsOf(portal, signed.subscription), csrfTokenFor(signed.token), message);
  write(res, 200, portalPage(portal.settings.merchant, 'Your subscription', body));
}

async function showReceipt(portal: Portal, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const signed = await signedIn(portal, req);
  if (typeof signed === 'string') return refuse(portal, res, signed);
  const reference = decodeURIComponent(url.pathname.slice('/account/receipts/'.length));
  const facts = await factsOf(portal, signed.subscription);
  // Only this subscription's own payments: another's order number is simply not found here.
  const charge = facts.transactions.find((t) => t.kind === 'charge' && t.status === 'succeeded' && t.reference === reference);
  if (!charge) return write(res, 404, portalPage(portal.settings.merchant, 'Receipt not found', html`<h1>Receipt not found</h1><p>There is no such payment on your subscription.</p><p><a href="/account">Back to your subscription</a></p>`));
  write(res, 200, portalPage(portal.settings.merchant, 'Receipt', receiptBody(portal.settings.merchant, facts, charge)));
}

// ---- the forms ----

async function post(portal: Portal, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const name = url.pathname.slice('/account/'.length);
  if (!(ACTIONS as readonly string[]).includes(name)) return openLink(portal, req, res, name);
  const form = new URLSearchParams(await readBody(req, FORM_LIMIT));
  const signed = await signedIn(portal, req);
  if (typeof signed === 'string') return refuse(portal, res, signed);
  if (!sameOrigin(req, portal.engine.publicUrl) || !csrfMatches(signed.token, form.get('csrf') ?? undefined)) {
    portal.engine.logger.warn({ subscription_id: signed.subscription.id, action: name }, 'self-service form refused: wrong origin or CSRF token');
    return refuse(portal, res, 'forbidden');
  }
  try {
    await act(portal, res, signed, name as Action);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    // The refusal names the subscription's own state, never another's.
    write(res, 409, portalPage(portal.settings.merchant, 'Not changed', html`<h1>Nothing was changed</h1><p class="problem">${error.message.replace(/^subscription [0-9a-f-]+: /, '')}</p><p><a href="/account">Back to your subscription</a></p>`));
  }
}

async function act(portal: Portal, res: ServerResponse, signed: Signed, action: Action): Promise<void> {
  const { engine, settings } = portal;
  const now = engine.clock.now();
  const ctx: OperatorContext = { now, actor: 'customer', reason: 'self-service page', policy: engine.policy, billing: engine.billing, followUps: engine.followUps };
  const id = signed.subscription.id;
  switch (action) {
    case 'cancel':
      await cancelSubscription(engine.db, id, true, ctx);
      return redirect(res, '/account?done=cancel_scheduled');
    case 'resume':
      await undoCancel(engine.db, id, ctx);
      return redirect(res, '/account?done=cancel_undone');
    case 'pay':
      await retryNow(engine.db, settings.boss, id, ctx);
      return redirect(res, '/account?done=payment_started');
    case 'card': {
      if (signed.subscription.collection_method !== 'card_token') throw new ConflictError('this subscription keeps no card to update');
      const token = await engine.db.transaction().execute(async (tx) => {
        const { link, token } = await createCustomerLink(tx, { purpose: 'card_update', subscriptionId: id, now, ttlMs: settings.cardLinkTtlMs });
        await insertEvents(tx, [{ subscriptionId: id, type: 'customer_link_created', actor: 'customer', reason: 'self-service page', occurredAt: now, data: { purpose: 'card_update', expires_at: link.expires_at.toISOString() } }]);
        return token;
      });
      return redirect(res, customerLinkUrl(engine.publicUrl, 'card_update', token));
    }
    case 'sign-out':
      await closePortalSession(engine.db, signed.session.id, now);
      return write(res, 200, portalPage(settings.merchant, 'Signed out', html`<h1>You are signed out</h1><p>To see your subscription again, ask us for a new link.</p>`), { 'set-cookie': clearedSessionCookie(secure(portal)) });
  }
}
