/**
 * The magic link to a customer's self-service page (`/account/{token}`): single-purpose, short-lived
 * and single-use (opening it exchanges it for a session; see src/portal/). E-mails and
 * `rebill portal-link` mint it here, so every way in refuses the same subscriptions.
 */
import type { DbOrTx } from '../db/connect.ts';
import type { Subscription } from '../db/database.ts';
import { insertEvents } from '../events/events.repo.ts';
import { createCustomerLink, customerLinkUrl } from './customer-link.repo.ts';

export const DEFAULT_PORTAL_LINK_TTL_MS = 60 * 60_000;

export type PortalLinkResult =
  | { kind: 'issued'; linkId: number; url: string; expiresAt: Date }
  /** The subscription has ended (or never started): there is nothing left to manage. */
  | { kind: 'ended'; reason: string };

export interface PortalLinkAsk {
  now: Date;
  publicUrl: string;
  ttlMs?: number;
  actor: string;
  reason?: string | null;
}

/** Mints a self-service link for the subscription inside the caller's transaction, and logs it. */
export async function issuePortalLink(tx: DbOrTx, subscription: Subscription, ask: PortalLinkAsk): Promise<PortalLinkResult> {
  if (subscription.status === 'canceled' || subscription.status === 'incomplete_expired') {
    return { kind: 'ended', reason: `subscription ${subscription.id} is ${subscription.status}: there is nothing left for the customer to manage` };
  }
  if (subscription.status === 'incomplete') {
    return { kind: 'ended', reason: `subscription ${subscription.id} has not been paid yet: the customer starts it at the checkout, not the self-service page` };
  }
  const { link, token } = await createCustomerLink(tx, { purpose: 'portal', subscriptionId: subscription.id, now: ask.now, ttlMs: ask.ttlMs ?? DEFAULT_PORTAL_LINK_TTL_MS });
  await insertEvents(tx, [{ subscriptionId: subscription.id, type: 'customer_link_created', actor: ask.actor, reason: ask.reason ?? null, occurredAt: ask.now, data: { purpose: 'portal', expires_at: link.expires_at.toISOString() } }]);
  return { kind: 'issued', linkId: link.id, url: customerLinkUrl(ask.publicUrl, 'portal', token), expiresAt: link.expires_at };
}
