/**
 * Who may see the operator console: whoever knows the operator key. The key is kept only as a
 * SHA-256 hash and compared in constant time; a session is a cookie that expires, signed with a
 * secret derived from the key (so every worker with the same key accepts it, and changing the key
 * ends every session). Forms carry a CSRF token bound to the cookie, and the cookie is SameSite=Strict.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'rebill_admin';
export const LOGIN_CSRF_COOKIE = 'rebill_admin_login';
export const SESSION_TTL_MS = 8 * 3_600_000;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export class AdminAuth {
  readonly #keyHash: Buffer;
  readonly #signingKey: Buffer;

  constructor(operatorKey: string) {
    this.#keyHash = sha256(operatorKey);
    this.#signingKey = createHmac('sha256', operatorKey).update('rebill admin session v1').digest();
  }

  /** Whether `typed` is the operator key; the comparison takes the same time whatever it is. */
  keyMatches(typed: string): boolean {
    return timingSafeEqual(sha256(typed), this.#keyHash);
  }

  /** A new session's cookie value: expiry, random id and their signature. */
  newSession(now: Date): string {
    const body = `${now.getTime() + SESSION_TTL_MS}.${randomBytes(16).toString('base64url')}`;
    return `${body}.${this.#sign(body)}`;
  }

  /** The session's id when the cookie is genuine and unexpired, else null. */
  sessionId(cookie: string | undefined, now: Date): string | null {
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
    if (!match) return null;
    const [, expiry, id, signature] = match;
    if (!equal(signature!, this.#sign(`${expiry}.${id}`)) || Number(expiry) <= now.getTime()) return null;
    return id!;
  }

  /** The CSRF token of a session (or of a login form's nonce): only this server can make it. */
  csrfToken(sessionOrNonce: string): string {
    return this.#sign(`csrf.${sessionOrNonce}`);
  }

  csrfMatches(sessionOrNonce: string, token: string | undefined): boolean {
    return typeof token === 'string' && equal(token, this.csrfToken(sessionOrNonce));
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#signingKey).update(text).digest('base64url');
  }
}

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Cookies of a request, by name (the first of each). */
export function cookiesOf(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !Object.hasOwn(cookies, name)) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}
