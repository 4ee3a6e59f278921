/** The e-mail outbox: messages are written with the state change that causes them. */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connect.ts';
import type { OutboxMessage } from '../db/database.ts';

export interface NewOutboxMessage {
  subscriptionId: string | null;
  transactionId: number | null;
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  sendAfter: Date;
  /** The same key is never queued twice (one "action required" e-mail per attempt, …). */
  dedupeKey: string;
}

/** Queues messages; returns the ids of those not already queued under the same key. */
export async function queueMessages(tx: DbOrTx, messages: readonly NewOutboxMessage[]): Promise<number[]> {
  if (!messages.length) return [];
  const rows = await tx
    .insertInto('email_outbox')
    .values(
      messages.map((m) => ({
        subscription_id: m.subscriptionId,
        transaction_id: m.transactionId,
        kind: m.kind,
        to_address: m.to,
        subject: m.subject,
        text_body: m.text,
        html_body: m.html,
        send_after: m.sendAfter,
        dedupe_key: m.dedupeKey,
        claimed_at: null,
        last_error: null,
        delivered_to: null,
        sent_at: null,
      })),
    )
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Takes a queued message for delivery, committing `sending` before anything leaves: if the
 * process dies mid-delivery the message is not sent again (at most once).
 */
export async function claimMessage(db: DbOrTx, id: number, now: Date): Promise<OutboxMessage | undefined> {
  return db
    .updateTable('email_outbox')
    .set((eb) => ({ status: 'sending', tries: eb('tries', '+', 1), claimed_at: now }))
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
}

/**
 * Payment-link tokens live in the database only as hashes: once a message is out of our hands
 * (sent, or given up), the copy of the link in its body is blanked.
 */
const redacted = (column: 'text_body' | 'html_body') => sql<string>`regexp_replace(${sql.ref(column)}, '/pay/[A-Za-z0-9_-]{20,}', '/pay/[redacted]', 'g')`;

export async function markSent(db: DbOrTx, id: number, deliveredTo: string, at: Date): Promise<void> {
  await db
    .updateTable('email_outbox')
    .set({ status: 'sent', delivered_to: deliveredTo, sent_at: at, last_error: null, text_body: redacted('text_body'), html_body: redacted('html_body') })
    .where('id', '=', id)
    .execute();
}

export async function markUncertain(db: DbOrTx, id: number, error: string): Promise<void> {
  await db
    .updateTable('email_outbox')
    .set({ status: 'uncertain', last_error: error.slice(0, 1000), text_body: redacted('text_body'), html_body: redacted('html_body') })
    .where('id', '=', id)
    .execute();
}

/** A delivery that certainly did not happen (connection refused, rejected before the data) may be tried again. */
export async function markRetry(db: DbOrTx, id: number, error: string, retryAt: Date, giveUp: boolean): Promise<void> {
  await db
    .updateTable('email_outbox')
    .set({
      status: giveUp ? 'failed' : 'queued',
      last_error: error.slice(0, 1000),
      send_after: retryAt,
      ...(giveUp ? { text_body: redacted('text_body'), html_body: redacted('html_body') } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** Messages left `sending` by a process that died: their fate is unknown, so they are not resent. */
export async function markAbandonedUncertain(db: DbOrTx, olderThan: Date): Promise<number> {
  const result = await db
    .updateTable('email_outbox')
    .set({
      status: 'uncertain',
      last_error: 'delivery was interrupted; not resent so the customer never gets it twice',
      text_body: redacted('text_body'),
      html_body: redacted('html_body'),
    })
    .where('status', '=', 'sending')
    .where('claimed_at', '<', olderThan)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Queued messages overdue by `graceMs` (their delivery job was lost), for the sweeper to dispatch again. */
export async function overdueMessageIds(db: DbOrTx, now: Date, graceMs: number, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('email_outbox')
    .select('id')
    .where('status', '=', 'queued')
    .where('send_after', '<=', new Date(now.getTime() - graceMs))
    .orderBy('send_after')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
