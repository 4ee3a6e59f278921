/**
 * A card-update link for the page a declined customer comes back to. The page is reached by a
 * browser POST whose signature verified, but which anyone holding it can replay, so links are
 * minted only while the subscription has fewer than a few open ones; after that the customer is
 * pointed to the link already given.
 */
import type { BillingEngine } from '../billing/engine.ts';
import { createCustomerLink, countOpenCustomerLinks, customerLinkUrl } from '../customer-links/customer-link.repo.ts';
import type { Subscription } from '../db/database.ts';
import { insertEvents } from '../events/events.repo.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import type { CardUpdateOffer } from './return-page.ts';

/** Open card-update links a subscription may hold before the page stops minting new ones. */
export const MAX_OPEN_CARD_LINKS = 3;

export async function offerCardUpdate(
  engine: BillingEngine,
  provider: PaymentProvider,
  subscription: Subscription,
  ctx: { now: Date; ttlMs: number },
): Promise<CardUpdateOffer> {
  const canSaveCard = subscription.collection_method === 'card_token' && provider.capabilities.has('tokenise');
  if (!canSaveCard || subscription.status === 'canceled' || subscription.status === 'incomplete_expired') return { kind: 'none' };
  return engine.db.transaction().execute(async (tx) => {
    // One subscription's links are minted one at a time, so concurrent replays cannot pass the cap together.
    await tx.selectFrom('subscriptions').select('id').where('id', '=', subscription.id).forUpdate().executeTakeFirst();
    if ((await countOpenCustomerLinks(tx, subscription.id, 'card_update', ctx.now)) >= MAX_OPEN_CARD_LINKS) return { kind: 'sent_before' } as const;
    const { link, token } = await createCustomerLink(tx, { purpose: 'card_update', subscriptionId: subscription.id, now: ctx.now, ttlMs: ctx.ttlMs });
    await insertEvents(tx, [
      {
        subscriptionId: subscription.id,
        type: 'customer_link_created',
        actor: 'customer',
        reason: 'payment not completed (return page)',
        occurredAt: ctx.now,
        data: { purpose: 'card_update', expires_at: link.expires_at.toISOString() },
      },
    ]);
    return { kind: 'link', url: customerLinkUrl(engine.publicUrl, 'card_update', token) } as const;
  });
}
