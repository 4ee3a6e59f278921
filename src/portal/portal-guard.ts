/**
 * What stands between the self-service page and a stranger: the session cookie (HttpOnly,
 * SameSite=Strict, only under /account), a CSRF token derived from it, the Origin of every form
 * post, a strict Content-Security-Policy, and a cap on how often links are tried.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const PORTAL_COOKIE = 'rebill_portal';

export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  return `${PORTAL_COOKIE}=${token}; Path=/account; Max-Age=${Math.max(1, Math.floor(maxAgeMs / 1000))}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${PORTAL_COOKIE}=; Path=/account; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The session cookie of a request (the first one named so), if any. */
export function sessionTokenOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === PORTAL_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Only a page served to the holder of the cookie can know it: the cookie is HttpOnly and never sent cross-site. */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('rebill portal csrf v1').digest('base64url');
}

export function csrfMatches(sessionToken: string, sent: string | undefined): boolean {
  if (typeof sent !== 'string') return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(sent);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A form post must come from a page of this site: browsers always send Origin with one. */
export function sameOrigin(req: IncomingMessage, publicUrl: string): boolean {
  const origin = req.headers.origin;
  return typeof origin === 'string' && origin === new URL(publicUrl).origin;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2.5rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}.note{color:#555;font-size:.95rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}
form{display:inline-block;margin:.3rem .5rem .3rem 0}button{padding:.5em 1em;font-size:1rem;cursor:pointer}
.notice{background:#eef6ee;border:1px solid #9c9;padding:.5rem 1rem}.problem{background:#fdeeee;border:1px solid #d99;padding:.5rem 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{color:#555}dd{margin:0}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** The page's only style, allowed by its hash; no script, image, frame or other origin is. */
export const PORTAL_STYLE = STYLE;
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // Not `no-referrer`: with it Chromium posts forms with `Origin: null`. Other sites still get no referrer.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/**
 * At most `limit` tries per key in each window, in this process. Several workers each allow as
 * many: enough to stop guessing and hammering, which 256-bit tokens make hopeless anyway.
 */
export class WindowLimiter {
  readonly #counts = new Map<string, { windowStart: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  allow(key: string, nowMs: number): boolean {
    if (this.#counts.size > 50_000) this.#forgetOld(nowMs);
    const entry = this.#counts.get(key);
    if (!entry || nowMs - entry.windowStart >= this.windowMs) {
      this.#counts.set(key, { windowStart: nowMs, count: 1 });
      return true;
    }
    entry.count += 1;
    return entry.count <= this.limit;
  }

  #forgetOld(nowMs: number): void {
    for (const [key, entry] of this.#counts) if (nowMs - entry.windowStart >= this.windowMs) this.#counts.delete(key);
  }
}
