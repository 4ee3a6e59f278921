/**
 * The operator console under `/admin` on the worker: read-only pages behind the operator key.
 * Every page but the sign-in form needs a session; without one it redirects there. Forms (sign
 * in, sign out) carry a CSRF token and are refused from another origin. Scripts (Chart.js from
 * node_modules, and the console's own) are served from here: no CDN, and a CSP that allows
 * nothing else.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/connect.ts';
import { eventsOf } from '../events/events.repo.ts';
import { readBody, send, type Route } from '../http/server.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { invoicesOf } from '../payments/invoices/invoice.repo.ts';
import { transactionsOf } from '../payments/transactions/transaction.repo.ts';
import { findRun, itemsOf, recentRuns } from '../reconciliation/reconciliation.repo.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import { isSubscriptionId, viewOf } from '../subscriptions/lookup.ts';
import { ADMIN_CSS, DASHBOARD_JS } from './assets.ts';
import { AdminAuth, cookiesOf, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL_MS } from './auth.ts';
import { consolePage, dashboardBody, loginPage, runBody, runsBody, subscriberBody, subscribersBody } from './pages.ts';
import { dashboard, searchSubscribers, statusOrNull } from './queries.ts';

export interface AdminDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** null: the console is off. */
  operatorKey: string | null;
  /** Cookies are marked Secure when the worker is reached over https. */
  secureCookies: boolean;
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const LOGIN_BODY_LIMIT = 4096;

let chartJs: string | undefined;
/** Chart.js's UMD build from node_modules, read once. */
function chartJsSource(): string {
  // The package exports only its module builds; the browser build sits beside them in dist/.
  chartJs ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJs;
}

function sendPage(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'content-security-policy': CSP,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    // Not no-referrer: with it, browsers send "Origin: null" on the page's own form posts.
    'referrer-policy': 'same-origin',
    ...headers,
  });
  res.end(body);
}

function redirect(res: ServerResponse, to: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { location: to, 'cache-control': 'no-store', 'content-length': 0, ...headers });
  res.end();
}

/** A form from another site (or a tool that says nothing) is refused: browsers send Origin with every POST. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function adminRoutes(deps: AdminDeps): Route[] {
  if (!deps.operatorKey) {
    const off = (_req: IncomingMessage, res: ServerResponse) => send(res, 404, 'the operator console is off: set REBILL_ADMIN_KEY to turn it on\n');
    return [{ method: 'GET', path: '/admin', handler: off }, { method: 'GET', path: '/admin/*', handler: off }];
  }
  const auth = new AdminAuth(deps.operatorKey);
  const cookie = (name: string, value: string, maxAgeSeconds: number) =>
    `${name}=${value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${deps.secureCookies ? '; Secure' : ''}`;

  /** The session of a request, or a redirect to the sign-in page. */
  const signedIn = (handler: (req: IncomingMessage, res: ServerResponse, url: URL, csrf: string) => Promise<void> | void) =>
    async (req: IncomingMessage, res: ServerResponse, url: URL) => {
      const session = auth.sessionId(cookiesOf(req.headers.cookie)[SESSION_COOKIE], deps.clock.now());
      if (!session) return redirect(res, '/admin/login');
      return handler(req, res, url, auth.csrfToken(session));
    };

  const showLogin = (res: ServerResponse, status: number, problem: string | null) => {
    const nonce = randomBytes(16).toString('base64url');
    sendPage(res, status, loginPage(nonce, auth.csrfToken(nonce), problem), { 'set-cookie': cookie(LOGIN_CSRF_COOKIE, nonce, 3600) });
  };

  const page = (title: string, active: string, scripts: string[] = []) => (csrf: string, body: Parameters<typeof consolePage>[3]) => consolePage(title, active, csrf, body, scripts);

  return [
    { method: 'GET', path: '/admin/login', handler: (_req, res) => showLogin(res, 200, null) },
    {
      method: 'POST',
      path: '/admin/login',
      handler: async (req, res) => {
        const form = new URLSearchParams(await readBody(req, LOGIN_BODY_LIMIT));
        const nonce = cookiesOf(req.headers.cookie)[LOGIN_CSRF_COOKIE] ?? '';
        if (!sameOrigin(req) || !nonce || form.get('nonce') !== nonce || !auth.csrfMatches(nonce, form.get('csrf') ?? undefined)) {
          return showLogin(res, 403, 'This form expired or came from elsewhere. Sign in again from this page.');
        }
        if (!auth.keyMatches(form.get('key') ?? '')) {
          deps.logger.warn('operator console: wrong key');
          return showLogin(res, 401, 'That is not the operator key.');
        }
        redirect(res, '/admin', { 'set-cookie': [cookie(SESSION_COOKIE, auth.newSession(deps.clock.now()), SESSION_TTL_MS / 1000), cookie(LOGIN_CSRF_COOKIE, '', 0)] });
      },
    },
    {
      method: 'POST',
      path: '/admin/logout',
      handler: signedIn(async (req, res, _url, csrf) => {
        const form = new URLSearchParams(await readBody(req, LOGIN_BODY_LIMIT));
        if (!sameOrigin(req) || form.get('csrf') !== csrf) return send(res, 403, 'this form came from elsewhere\n');
        redirect(res, '/admin/login', { 'set-cookie': cookie(SESSION_COOKIE, '', 0) });
      }),
    },
    {
      method: 'GET',
      path: '/admin',
      handler: signedIn(async (_req, res, _url, csrf) =>
        sendPage(res, 200, page('Dashboard', '/admin', ['/admin/assets/chart.js', '/admin/assets/dashboard.js'])(csrf, dashboardBody(await dashboard(deps.db, deps.clock.now()))))),
    },
    {
      method: 'GET',
      path: '/admin/subscribers',
      handler: signedIn(async (_req, res, url, csrf) => {
        const q = url.searchParams.get('q') ?? '';
        const status = statusOrNull(url.searchParams.get('status'));
        const rows = await searchSubscribers(deps.db, { q, status, limit: 50 });
        sendPage(res, 200, page('Subscribers', '/admin/subscribers')(csrf, subscribersBody(rows, q, status)));
      }),
    },
    {
      method: 'GET',
      path: '/admin/subscribers/*',
      handler: signedIn(async (_req, res, url, csrf) => {
        const id = url.pathname.slice('/admin/subscribers/'.length);
        const row = isSubscriptionId(id) ? await findSubscription(deps.db, id) : undefined;
        if (!row) return sendPage(res, 404, page('Not found', '/admin/subscribers')(csrf, subscribersBody([], '', null)));
        const [view, transactions, invoices, events] = await Promise.all([viewOf(deps.db, row), transactionsOf(deps.db, row.id), invoicesOf(deps.db, row.id), eventsOf(deps.db, row.id)]);
        sendPage(res, 200, page(`${row.customer_email}`, '/admin/subscribers')(csrf, subscriberBody(view, transactions, invoices, events)));
      }),
    },
    {
      method: 'GET',
      path: '/admin/reconciliation',
      handler: signedIn(async (_req, res, _url, csrf) => sendPage(res, 200, page('Reconciliation', '/admin/reconciliation')(csrf, runsBody(await recentRuns(deps.db))))),
    },
    {
      method: 'GET',
      path: '/admin/reconciliation/*',
      handler: signedIn(async (_req, res, url, csrf) => {
        const id = url.pathname.slice('/admin/reconciliation/'.length);
        const run = /^\d{1,15}$/.test(id) ? await findRun(deps.db, Number(id)) : undefined;
        if (!run) return sendPage(res, 404, page('No such run', '/admin/reconciliation')(csrf, runsBody(await recentRuns(deps.db))));
        sendPage(res, 200, page(`Run ${run.id}: ${run.provider}, ${run.day}`, '/admin/reconciliation')(csrf, runBody(run, await itemsOf(deps.db, run.id))));
      }),
    },
    { method: 'GET', path: '/admin/assets/chart.js', handler: signedIn((_req, res) => sendAsset(res, chartJsSource(), 'text/javascript; charset=utf-8')) },
    { method: 'GET', path: '/admin/assets/dashboard.js', handler: signedIn((_req, res) => sendAsset(res, DASHBOARD_JS, 'text/javascript; charset=utf-8')) },
    { method: 'GET', path: '/admin/assets/admin.css', handler: (_req, res) => sendAsset(res, ADMIN_CSS, 'text/css; charset=utf-8') },
  ];
}

function sendAsset(res: ServerResponse, body: string, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' });
  res.end(body);
}
