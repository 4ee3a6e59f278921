/** `rebill portal-link`: a magic link to the customer's self-service page. */
import { ConflictError } from '../lib/errors.ts';
import { operatorActor } from '../deps.ts';
import { createBoss } from '../jobs/queue.ts';
import { issuePortalLink } from '../customer-links/portal-link.ts';
import { queuePortalLinkEmail } from '../email/customer-notifications.ts';
import { getSubscription, subscriptionIdFor } from '../subscriptions/lookup.ts';
import { EXIT_OK, optional, printJson, type Command } from './command.ts';

export const portalLinkCommand: Command = {
  name: 'portal-link',
  summary: "Create a link to the customer's self-service page",
  help: `Usage: rebill portal-link ID [--send] [--reason TEXT] [--json]
ID is the subscription's id, ext:EXTERNAL_ID, or any of its order numbers.

Prints a single-purpose link (REBILL_PUBLIC_URL/account/…) to the customer's self-service page:
plan, next renewal, card on file, payments and receipts, update card, cancel at the period end
(and undo), pay an unpaid period. It works for REBILL_PORTAL_LINK_TTL_MINUTES and only once:
opening it starts a short session in that browser. With --send it is e-mailed to the customer
(delivered by the worker). Refused for a subscription that has ended or was never paid.

Example:
  rebill portal-link 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --send --json
`,
  options: { send: { type: 'boolean' }, reason: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const config = ctx.config();
    const now = ctx.clock().now();
    const send = args.values.send === true;
    const issued = await ctx.withDatabase(async ({ db, pool }) => {
      const subscription = await getSubscription(db, await subscriptionIdFor(db, args.positionals[0]!));
      return db.transaction().execute(async (tx) => {
        const result = await issuePortalLink(tx, subscription, { now, publicUrl: config.http.publicUrl, ttlMs: config.email.portalLinkTtlMs, actor: operatorActor(), reason: optional(args, 'reason') ?? null });
        if (result.kind === 'ended') throw new ConflictError(result.reason);
        if (send) await queuePortalLinkEmail(tx, { merchant: config.merchant }, createBoss(pool, { background: false }), subscription, { url: result.url, expiresAt: result.expiresAt, id: result.linkId }, now);
        return { id: subscription.id, email: subscription.customer_email, ...result };
      });
    });
    if (args.json) printJson(ctx.stdout, { subscription_id: issued.id, portal_url: issued.url, expires_at: issued.expiresAt.toISOString(), sent_to: send ? issued.email : null });
    else ctx.stdout.write(`Self-service link for subscription ${issued.id} (works once, until ${issued.expiresAt.toISOString()}${send ? `; e-mailed to ${issued.email}` : ''}):\n  ${issued.url}\n`);
    return EXIT_OK;
  },
};
