/**
 * HTTP endpoints the gateway and the customer's browser reach: the notice listener (always
 * answers exactly `receive-ok` once the notice is stored, so the gateway stops retrying) and the
 * return page after 3-D Secure.
 */
import type { IncomingMessage } from 'node:http';
import { parseBrowserReturn } from '../gateways/oceanpayment/notice.ts';
import { BodyTooLargeError, readBody, send, type Route } from '../http/server.ts';
import { OPEN_ATTEMPT_STATUSES } from '../db/database.ts';
import { findAttemptByOrderNumber, queryAttemptSoon } from '../renewals/charge-attempt.repo.ts';
import { queryAttempts } from '../renewals/janitor.ts';
import type { RenewalEngine } from '../renewals/engine.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import { GroupCommit } from '../lib/group-commit.ts';
import { NOTICE_BODY_LIMIT, receiveNotices, type IncomingNotice, type NoticeVerdict } from './apply-notice.ts';
import { insertNotices } from './notice.repo.ts';
import { renderReturnPage } from './return-page.ts';

/** How long the return page waits for the gateway's answer before showing what is known. */
const RETURN_PAGE_QUERY_WAIT_MS = 3_000;

export interface ListenerOptions {
  merchant: { name: string; supportEmail: string };
  /** Asks the janitor to run now (after the return page requested a query). */
  pokeJanitor: () => void;
}

export function gatewayRoutes(engine: RenewalEngine, options: ListenerOptions): Route[] {
  // Notices arriving together are stored and applied in one transaction.
  const notices = new GroupCommit<IncomingNotice, NoticeVerdict>((batch) => receiveNotices(engine, batch), { maxBatch: 200, maxWaitMs: 5 });
  return [
    { method: 'POST', path: '/oceanpayment/notice', handler: (req, res) => handleNotice(engine, notices, req).then(([status, body]) => send(res, status, body)) },
    {
      method: 'POST',
      path: '/oceanpayment/return',
      handler: async (req, res) => {
        const page = await handleReturn(engine, options, await readBody(req, NOTICE_BODY_LIMIT));
        send(res, page.status, page.body, 'text/html; charset=utf-8');
      },
    },
    {
      method: 'GET',
      path: '/oceanpayment/return',
      handler: (_req, res) => {
        const page = renderReturnPage({ merchant: options.merchant, outcome: null, attempt: null });
        send(res, page.status, page.body, 'text/html; charset=utf-8');
      },
    },
  ];
}

async function handleNotice(
  engine: RenewalEngine,
  notices: GroupCommit<IncomingNotice, NoticeVerdict>,
  req: IncomingMessage,
): Promise<[number, string]> {
  let body = '';
  let tooLarge = false;
  try {
    body = await readBody(req, NOTICE_BODY_LIMIT);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    tooLarge = true;
    req.resume();
  }
  try {
    await notices.submit({ body, tooLarge });
  } catch (error) {
    // Only when the notice could not be stored: the gateway must retry it.
    engine.logger.error({ err: error }, 'could not store a notice; asking the gateway to retry');
    return [500, 'could not store the notice; please retry'];
  }
  return [200, 'receive-ok'];
}

async function handleReturn(engine: RenewalEngine, options: ListenerOptions, body: string) {
  const form = Object.fromEntries(new URLSearchParams(body));
  const parsed = parseBrowserReturn(form, engine.credentials);
  const verified = parsed.kind === 'transaction' && parsed.verified;
  const orderNumber = form.order_number ?? '';
  const attempt = verified ? await findAttemptByOrderNumber(engine.db, orderNumber) : undefined;
  const now = engine.clock.now();
  await insertNotices(engine.db, [{
    channel: 'browser_return',
    received_at: now,
    notice_type: null,
    order_number: orderNumber.slice(0, 100) || null,
    payment_id: form.payment_id?.slice(0, 100) ?? null,
    payment_status: form.payment_status?.slice(0, 10) ?? null,
    verified,
    // The browser is never proof of payment: stored for the record, never applied.
    result: verified ? 'no_change' : 'rejected',
    problem: parsed.kind === 'transaction' ? (parsed.problem ?? null) : parsed.kind === 'malformed' ? parsed.problem : 'not a payment result',
    attempt_id: attempt?.id ?? null,
    body: body.slice(0, NOTICE_BODY_LIMIT),
  }]);
  engine.metrics.notices.inc({ result: verified ? 'browser_return' : 'browser_return_rejected' });
  let current = attempt;
  if (attempt && (OPEN_ATTEMPT_STATUSES as readonly string[]).includes(attempt.status)) {
    // The browser often beats the notice. Its word is no proof, so ask the gateway (briefly) and
    // tell the customer what rebill then knows; the janitor takes over if the gateway is slow.
    await queryAttemptSoon(engine.db, attempt.id, now);
    const asked = await Promise.race([
      queryAttempts(engine, [attempt], 1).then(() => true, () => false),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), RETURN_PAGE_QUERY_WAIT_MS).unref()),
    ]);
    if (!asked) options.pokeJanitor();
    current = (await findAttemptByOrderNumber(engine.db, orderNumber)) ?? attempt;
  }
  const subscription = current ? await findSubscription(engine.db, current.subscription_id) : undefined;
  return renderReturnPage({
    merchant: options.merchant,
    outcome: parsed.kind === 'transaction' && verified ? parsed.outcome : null,
    attempt: current ?? null,
    nextAttemptAt: subscription?.next_attempt_at ?? null,
    timezone: subscription?.timezone ?? 'UTC',
  });
}
