/**
 * API keys: `rbk_<lookup id>_<secret>`. The lookup id finds the row; only a SHA-256 hash of the
 * secret is stored, and it is compared in constant time. A key is shown once, when it is created.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DbOrTx } from '../db/connect.ts';
import type { ApiKey } from '../db/database.ts';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors.ts';

const KEY_FORMAT = /^rbk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const NAME_FORMAT = /^[A-Za-z0-9._-]{1,50}$/;
const LOOKUP_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface ApiKeyIdentity {
  id: number;
  name: string;
  readOnly: boolean;
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function lookupId(): string {
  // 36 does not divide 256 evenly; drawing from 252 bytes keeps every character equally likely.
  let id = '';
  while (id.length < 12) {
    for (const byte of randomBytes(16)) if (byte < 252 && id.length < 12) id += LOOKUP_ALPHABET[byte % 36];
  }
  return id;
}

export async function createApiKey(db: DbOrTx, name: string, readOnly: boolean, now: Date): Promise<{ key: string; row: ApiKey }> {
  if (!NAME_FORMAT.test(name)) throw new ValidationError(`key name "${name}" must be 1 to 50 characters: letters, digits and . _ -`);
  const taken = await db.selectFrom('api_keys').select('id').where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
  if (taken) throw new ConflictError(`a key named "${name}" already exists: revoke it first (rebill api-key revoke ${name}) or choose another name`);
  const lookup = lookupId();
  const secret = randomBytes(32).toString('base64url');
  const row = await db
    .insertInto('api_keys')
    .values({ name, lookup_id: lookup, secret_hash: hashSecret(secret), read_only: readOnly, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key: `rbk_${lookup}_${secret}`, row };
}

export function listApiKeys(db: DbOrTx): Promise<ApiKey[]> {
  return db.selectFrom('api_keys').selectAll().orderBy('id').execute();
}

/** Revokes the live key with that name; its next request is refused. */
export async function revokeApiKey(db: DbOrTx, name: string, now: Date): Promise<ApiKey> {
  const row = await db.updateTable('api_keys').set({ revoked_at: now }).where('name', '=', name).where('revoked_at', 'is', null).returningAll().executeTakeFirst();
  if (!row) throw new NotFoundError(`no live API key is named "${name}" (rebill api-key list shows them)`);
  return row;
}

/** The key a bearer token belongs to, or null for anything malformed, unknown or revoked. */
export async function authenticate(db: DbOrTx, token: string): Promise<ApiKeyIdentity | null> {
  const match = KEY_FORMAT.exec(token);
  if (!match) return null;
  const row = await db.selectFrom('api_keys').selectAll().where('lookup_id', '=', match[1]!).executeTakeFirst();
  // Hash either way, so an unknown lookup id costs the same as a wrong secret.
  const given = hashSecret(match[2]!);
  const stored = row?.secret_hash ?? Buffer.alloc(32);
  if (!timingSafeEqual(given, stored) || !row || row.revoked_at !== null) return null;
  return { id: row.id, name: row.name, readOnly: row.read_only };
}

/** Notes when a key was last used, at most once a minute, so listing keys shows forgotten ones. */
export async function touchApiKey(db: DbOrTx, id: number, now: Date): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - 60_000))]))
    .execute();
}
