/**
 * Idempotency-Key: the first response to a key is kept and replayed for the same request; the
 * same key with another request is refused. Keys are kept at least a day (the janitor forgets
 * older ones).
 */
import { createHash } from 'node:crypto';
import type { DbOrTx } from '../db/connect.ts';

export const IDEMPOTENCY_KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEPT_MS = 24 * 3_600_000;

export type IdempotencyStart =
  | { kind: 'first' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'different_request' }
  /** The first request has not been answered (still running, or its process stopped mid-way). */
  | { kind: 'unanswered' };

export function requestHash(method: string, path: string, body: string): Buffer {
  return createHash('sha256').update(`${method} ${path}\n${body}`, 'utf8').digest();
}

export async function beginIdempotent(db: DbOrTx, keyId: number, key: string, hash: Buffer, now: Date): Promise<IdempotencyStart> {
  const inserted = await db
    .insertInto('api_idempotency')
    .values({ api_key_id: keyId, idempotency_key: key, request_hash: hash, created_at: now })
    .onConflict((oc) => oc.doNothing())
    .returning('api_key_id')
    .executeTakeFirst();
  if (inserted) return { kind: 'first' };
  const row = await db.selectFrom('api_idempotency').selectAll().where('api_key_id', '=', keyId).where('idempotency_key', '=', key).executeTakeFirst();
  // Forgotten between the two statements (older than a day): the caller may try again.
  if (!row) return beginIdempotent(db, keyId, key, hash, now);
  if (!row.request_hash.equals(hash)) return { kind: 'different_request' };
  if (row.response_status === null || row.response_body === null) return { kind: 'unanswered' };
  return { kind: 'replay', status: row.response_status, body: row.response_body };
}

export async function finishIdempotent(db: DbOrTx, keyId: number, key: string, status: number, body: string): Promise<void> {
  await db.updateTable('api_idempotency').set({ response_status: status, response_body: body }).where('api_key_id', '=', keyId).where('idempotency_key', '=', key).execute();
}

/** Forgets keys older than the day they are kept; returns how many. */
export async function forgetOldIdempotencyKeys(db: DbOrTx, now: Date): Promise<number> {
  const result = await db.deleteFrom('api_idempotency').where('created_at', '<', new Date(now.getTime() - IDEMPOTENCY_KEPT_MS)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
