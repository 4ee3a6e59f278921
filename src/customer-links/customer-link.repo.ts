/**
 * Links a customer opens themselves (hosted checkout, card update, the self-service page). Each
 * has one purpose and one subscription, expires, and is stored only as the SHA-256 of its 256
 * random bits, so a database leak exposes no working link. A link is closed once it no longer
 * applies (paid, canceled, replaced by a newer one) and answers as closed from then on.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connect.ts';
import type { CustomerLink, CustomerLinkPurpose } from '../db/database.ts';
import { hashLinkToken, newLinkToken } from '../payment-links/payment-link.repo.ts';

/** Where each kind of link opens, under the worker's public URL. */
const LINK_PATHS: Record<CustomerLinkPurpose, string> = { checkout: '/checkout/', card_update: '/card/', portal: '/account/' };

export function customerLinkUrl(publicUrl: string, purpose: CustomerLinkPurpose, token: string): string {
  return `${publicUrl}${LINK_PATHS[purpose]}${token}`;
}

export async function createCustomerLink(
  tx: DbOrTx,
  link: { purpose: CustomerLinkPurpose; subscriptionId: string; now: Date; ttlMs: number },
): Promise<{ link: CustomerLink; token: string }> {
  const { token, hash } = newLinkToken();
  const row = await tx
    .insertInto('customer_links')
    .values({
      purpose: link.purpose,
      subscription_id: link.subscriptionId,
      token_hash: hash,
      created_at: link.now,
      expires_at: new Date(link.now.getTime() + link.ttlMs),
      last_clicked_at: null,
      closed_at: null,
      closed_reason: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { link: row, token };
}

/** The link a token opens, for this purpose only; undefined for anything else. */
export async function findCustomerLink(db: DbOrTx, purpose: CustomerLinkPurpose, token: string): Promise<CustomerLink | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  return db.selectFrom('customer_links').selectAll().where('token_hash', '=', hashLinkToken(token)).where('purpose', '=', purpose).executeTakeFirst();
}

/** How many links of a purpose a subscription holds that still open (not closed, not expired). */
export async function countOpenCustomerLinks(db: DbOrTx, subscriptionId: string, purpose: CustomerLinkPurpose, now: Date): Promise<number> {
  const row = await db
    .selectFrom('customer_links')
    .select((eb) => eb.fn.countAll<string>().as('open'))
    .where('subscription_id', '=', subscriptionId)
    .where('purpose', '=', purpose)
    .where('closed_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow();
  return Number(row.open);
}

export async function recordCustomerLinkClick(db: DbOrTx, linkId: number, now: Date): Promise<number> {
  const row = await db
    .updateTable('customer_links')
    .set((eb) => ({ clicks: eb('clicks', '+', 1), last_clicked_at: now }))
    .where('id', '=', linkId)
    .returning('clicks')
    .executeTakeFirstOrThrow();
  return row.clicks;
}

/** Closes the open links of these subscriptions (of some purposes, or all); returns how many. */
export async function closeCustomerLinks(
  tx: DbOrTx,
  subscriptionIds: readonly string[],
  now: Date,
  reason: string,
  purposes?: readonly CustomerLinkPurpose[],
): Promise<number> {
  if (!subscriptionIds.length) return 0;
  let query = tx
    .updateTable('customer_links')
    .set({ closed_at: now, closed_reason: reason })
    .where('subscription_id', 'in', [...new Set(subscriptionIds)])
    .where('closed_at', 'is', null);
  if (purposes) query = query.where('purpose', 'in', [...purposes]);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Open links of a purpose that have run out, oldest first, locked for the caller's transaction. */
export async function claimExpiredCustomerLinks(tx: DbOrTx, purpose: CustomerLinkPurpose, now: Date, limit: number): Promise<CustomerLink[]> {
  const { rows } = await sql<CustomerLink>`
    select * from customer_links
    where purpose = ${purpose} and closed_at is null and expires_at <= ${now}
    order by expires_at limit ${limit}
    for update skip locked`.execute(tx);
  return rows;
}
