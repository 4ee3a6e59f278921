/**
 * Signing a customer up by hosted checkout: the subscription is enrolled `incomplete` with no card,
 * and a single-purpose, expiring checkout link is created with it (and e-mailed, when asked) in
 * the same transaction. The CLI and the HTTP API call this one function.
 */
import type { PgBoss } from 'pg-boss';
import type { Db, Tx } from '../db/connect.ts';
import type { Subscription } from '../db/database.ts';
import { insertEvents } from '../events/events.repo.ts';
import { closeCustomerLinks, createCustomerLink } from '../customer-links/customer-link.repo.ts';
import { enrol, type EnrolInput, type EnrolOptions, type EnrolResult } from '../subscriptions/enrol.ts';
import { queueCheckoutEmail, type NotificationSettings } from '../email/customer-notifications.ts';
import { checkoutUrl } from './checkout-page.ts';

export interface CheckoutLinkSettings {
  /** Base of the `/checkout/{token}` links. */
  publicUrl: string;
  /** How long a checkout link works; then the subscription ends `incomplete_expired`. */
  ttlMs: number;
}

export interface CheckoutEnrolOptions extends Omit<EnrolOptions, 'mode' | 'afterInsert'> {
  links: CheckoutLinkSettings;
  /** E-mail the link to the customer (with the enrolment, or not at all). */
  send?: { boss: PgBoss; settings: Pick<NotificationSettings, 'merchant'> };
}

export interface IssuedCheckoutLink {
  url: string;
  expiresAt: Date;
}

export type CheckoutEnrolResult = EnrolResult & { checkout: IssuedCheckoutLink | null };

/**
 * Enrols by checkout. Repeating an enrolment (the same external id) while its checkout is still
 * open gives a fresh link and closes the older one (only a hash of each was kept); once paid,
 * expired or canceled, no link is issued.
 */
export async function enrolByCheckout(db: Db, input: EnrolInput, options: CheckoutEnrolOptions): Promise<CheckoutEnrolResult> {
  let issued: IssuedCheckoutLink | null = null;
  const result = await enrol(db, input, {
    ...options,
    mode: 'checkout',
    afterInsert: async (tx, rows) => {
      for (const row of rows) {
        const subscription = await tx.selectFrom('subscriptions').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
        issued = await issueCheckoutLink(tx, subscription, options);
      }
    },
  });
  if (result.status === 'already_enrolled' && result.subscription.status === 'incomplete' && result.subscription.payment_method_id === null) {
    issued = await db.transaction().execute(async (tx) => {
      await closeCustomerLinks(tx, [result.subscription.id], options.now, 'replaced by a newer link', ['checkout']);
      return issueCheckoutLink(tx, result.subscription, options);
    });
  }
  return { ...result, checkout: issued };
}

async function issueCheckoutLink(tx: Tx, subscription: Subscription, options: CheckoutEnrolOptions): Promise<IssuedCheckoutLink> {
  const { link, token } = await createCustomerLink(tx, { purpose: 'checkout', subscriptionId: subscription.id, now: options.now, ttlMs: options.links.ttlMs });
  const url = checkoutUrl(options.links.publicUrl, token);
  await insertEvents(tx, [{
    subscriptionId: subscription.id, type: 'customer_link_created', actor: options.actor, reason: options.reason ?? null, occurredAt: options.now,
    data: { purpose: 'checkout', expires_at: link.expires_at.toISOString() },
  }]);
  if (options.send) await queueCheckoutEmail(tx, options.send.settings, options.send.boss, subscription, { url, expiresAt: link.expires_at, id: link.id }, options.now);
  return { url, expiresAt: link.expires_at };
}
