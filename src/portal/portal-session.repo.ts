/**
 * Self-service sessions. Opening a portal link closes it and starts a session in the same
 * statement's transaction, so a link opens exactly one session however often it is replayed.
 * The cookie is 256 random bits; only its SHA-256 is stored.
 */
import type { DbOrTx } from '../db/connect.ts';
import type { CustomerLink, PortalSession } from '../db/database.ts';
import { hashLinkToken, newLinkToken } from '../payment-links/payment-link.repo.ts';

export const SESSION_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** Closes the link and starts its session; undefined when the link was used (or ran out) first. */
export async function exchangeLinkForSession(
  tx: DbOrTx,
  link: CustomerLink,
  now: Date,
  ttlMs: number,
): Promise<{ session: PortalSession; token: string } | undefined> {
  const closed = await tx
    .updateTable('customer_links')
    .set((eb) => ({ closed_at: now, closed_reason: 'opened', clicks: eb('clicks', '+', 1), last_clicked_at: now }))
    .where('id', '=', link.id)
    .where('closed_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('id')
    .executeTakeFirst();
  if (!closed) return undefined;
  const { token, hash } = newLinkToken();
  const session = await tx
    .insertInto('portal_sessions')
    .values({ subscription_id: link.subscription_id, link_id: link.id, token_hash: hash, created_at: now, expires_at: new Date(now.getTime() + ttlMs), closed_at: null })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { session, token };
}

/** The open, unexpired session a cookie names; undefined for anything else. */
export async function findPortalSession(db: DbOrTx, token: string | undefined, now: Date): Promise<PortalSession | undefined> {
  if (!token || !SESSION_TOKEN_FORMAT.test(token)) return undefined;
  return db
    .selectFrom('portal_sessions')
    .selectAll()
    .where('token_hash', '=', hashLinkToken(token))
    .where('closed_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

export async function closePortalSession(db: DbOrTx, sessionId: number, now: Date): Promise<void> {
  await db.updateTable('portal_sessions').set({ closed_at: now }).where('id', '=', sessionId).where('closed_at', 'is', null).execute();
}
