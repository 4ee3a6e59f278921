/** `rebill card-link`: a link for the customer to save a new card themselves. */
import { ConflictError } from '../lib/errors.ts';
import { insertEvents } from '../events/events.repo.ts';
import { operatorActor } from '../deps.ts';
import { createCustomerLink, customerLinkUrl } from '../customer-links/customer-link.repo.ts';
import { getSubscription, subscriptionIdFor } from '../subscriptions/lookup.ts';
import { EXIT_OK, optional, printJson, type Command } from './command.ts';

export const cardLinkCommand: Command = {
  name: 'card-link',
  summary: 'Create a link for the customer to save a new card',
  help: `Usage: rebill card-link ID [--reason TEXT] [--json]
ID is the subscription's id, ext:EXTERNAL_ID, or any of its order numbers.

Prints a single-purpose link (REBILL_PUBLIC_URL/card/…) to send the customer. It opens a page that
takes them to Oceanpayment's secure card page (/gateway/service/create); the new card is confirmed
with the gateway before it replaces the old one, the old one is disabled at the gateway, and an
unpaid period is charged again at once. The link works for REBILL_CARD_LINK_TTL_HOURS and only
once. Hard-decline and suspension e-mails carry such a link already.

Example:
  rebill card-link 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --json
`,
  options: { reason: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const config = ctx.config();
    const now = ctx.clock().now();
    const issued = await ctx.withDatabase(async ({ db }) => {
      const subscription = await getSubscription(db, await subscriptionIdFor(db, args.positionals[0]!));
      if (subscription.status === 'canceled' || subscription.status === 'incomplete_expired') {
        throw new ConflictError(`subscription ${subscription.id} is ${subscription.status}: nothing more is charged, so there is no card to update`);
      }
      if (subscription.collection_method !== 'card_token') {
        throw new ConflictError(`subscription ${subscription.id} is collected by ${subscription.collection_method.replace('_', ' ')}: it keeps no card to update`);
      }
      if (subscription.status === 'incomplete' && subscription.payment_method_id === null) {
        throw new ConflictError(`subscription ${subscription.id} has not been paid yet: the customer gives a card at the checkout (rebill enrol --checkout)`);
      }
      return db.transaction().execute(async (tx) => {
        const { link, token } = await createCustomerLink(tx, { purpose: 'card_update', subscriptionId: subscription.id, now, ttlMs: config.email.cardLinkTtlMs });
        await insertEvents(tx, [{ subscriptionId: subscription.id, type: 'customer_link_created', actor: operatorActor(), reason: optional(args, 'reason') ?? null, occurredAt: now, data: { purpose: 'card_update', expires_at: link.expires_at.toISOString() } }]);
        return { id: subscription.id, url: customerLinkUrl(config.http.publicUrl, 'card_update', token), expiresAt: link.expires_at };
      });
    });
    if (args.json) printJson(ctx.stdout, { subscription_id: issued.id, card_url: issued.url, expires_at: issued.expiresAt.toISOString() });
    else ctx.stdout.write(`Card-update link for subscription ${issued.id} (works once, until ${issued.expiresAt.toISOString()}):\n  ${issued.url}\n`);
    return EXIT_OK;
  },
};
