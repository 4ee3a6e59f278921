/** Queries on e-mailed 3-D Secure links. */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connect.ts';
import type { PaymentLink, PaymentTransaction, Subscription } from '../db/database.ts';

/** 256 random bits, URL-safe. Only its hash is stored, so a database leak exposes no working link. */
export function newLinkToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashLinkToken(token) };
}

export function hashLinkToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export async function createPaymentLink(
  tx: DbOrTx,
  charge: Pick<PaymentTransaction, 'id' | 'subscription_id'>,
  now: Date,
  ttlMs: number,
  reminderMs: number,
): Promise<{ link: PaymentLink; token: string }> {
  const link = await tx
    .insertInto('payment_links')
    .values({
      transaction_id: charge.id,
      subscription_id: charge.subscription_id,
      created_at: now,
      expires_at: new Date(now.getTime() + ttlMs),
      remind_at: new Date(now.getTime() + reminderMs),
      reminded_at: null,
      last_clicked_at: null,
      closed_at: null,
      closed_reason: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { link, token: await addLinkToken(tx, link.id, now) };
}

/** Another token for the same link (the reminder carries a fresh one; the first keeps working). */
export async function addLinkToken(tx: DbOrTx, linkId: number, now: Date): Promise<string> {
  const { token, hash } = newLinkToken();
  await tx.insertInto('payment_link_tokens').values({ token_hash: hash, link_id: linkId, created_at: now }).execute();
  return token;
}

export interface ResolvedLink {
  link: PaymentLink;
  attempt: PaymentTransaction;
  subscription: Subscription;
}

export async function findLinkByToken(db: DbOrTx, token: string): Promise<ResolvedLink | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const row = await db
    .selectFrom('payment_link_tokens as t')
    .innerJoin('payment_links as l', 'l.id', 't.link_id')
    .select('l.id')
    .where('t.token_hash', '=', hashLinkToken(token))
    .executeTakeFirst();
  if (!row) return undefined;
  const link = await db.selectFrom('payment_links').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  const attempt = await db.selectFrom('payment_transactions').selectAll().where('id', '=', link.transaction_id).executeTakeFirstOrThrow();
  const subscription = await db.selectFrom('subscriptions').selectAll().where('id', '=', link.subscription_id).executeTakeFirstOrThrow();
  return { link, attempt, subscription };
}

export async function recordLinkClick(db: DbOrTx, linkId: number, now: Date): Promise<number> {
  const row = await db
    .updateTable('payment_links')
    .set((eb) => ({ clicks: eb('clicks', '+', 1), last_clicked_at: now }))
    .where('id', '=', linkId)
    .returning('clicks')
    .executeTakeFirstOrThrow();
  return row.clicks;
}

/** Links stop working once their attempt is settled (paid, failed, expired). */
export async function closeLinksOfAttempts(tx: DbOrTx, attempts: readonly { id: number; status: string }[], now: Date): Promise<void> {
  if (!attempts.length) return;
  await sql`
    update payment_links l set closed_at = ${now}, closed_reason = v.reason
    from unnest(${attempts.map((a) => a.id)}::bigint[], ${attempts.map((a) => a.status)}::text[]) as v(transaction_id, reason)
    where l.transaction_id = v.transaction_id and l.closed_at is null`.execute(tx);
}

/** Closes every open link of the subscriptions at once (e.g. on cancel): they answer 410 from then on. */
export async function closeLinksOfSubscriptions(tx: DbOrTx, subscriptionIds: readonly string[], now: Date, reason: string): Promise<number> {
  if (!subscriptionIds.length) return 0;
  const result = await tx
    .updateTable('payment_links')
    .set({ closed_at: now, closed_reason: reason })
    .where('subscription_id', 'in', [...subscriptionIds])
    .where('closed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Takes links whose reminder is due (and whose attempt still waits for the customer). */
export async function claimDueReminders(tx: DbOrTx, now: Date, limit: number): Promise<PaymentLink[]> {
  const { rows } = await sql<PaymentLink>`
    update payment_links l set remind_at = null, reminded_at = ${now}
    from (
      select pl.id from payment_links pl
      join payment_transactions a on a.id = pl.transaction_id and a.status = 'action_required'
      where pl.remind_at <= ${now} and pl.closed_at is null and pl.expires_at > ${now}
      order by pl.remind_at limit ${limit}
      for update of pl skip locked
    ) due
    where l.id = due.id
    returning l.*`.execute(tx);
  return rows;
}

/** Attempts still waiting for the customer whose link has run out. */
export async function attemptsWithExpiredLinks(db: DbOrTx, now: Date, limit: number): Promise<PaymentTransaction[]> {
  return db
    .selectFrom('payment_links as l')
    .innerJoin('payment_transactions as a', 'a.id', 'l.transaction_id')
    .selectAll('a')
    .where('l.expires_at', '<=', now)
    .where('l.closed_at', 'is', null)
    .where('a.status', '=', 'action_required')
    .orderBy('l.expires_at')
    .limit(limit)
    .execute();
}
