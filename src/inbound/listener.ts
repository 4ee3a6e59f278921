/**
 * HTTP endpoints the gateway and the customer's browser reach: the notice listener (always
 * answers exactly `receive-ok` once the notice is stored, so the gateway stops retrying) and the
 * return page after 3-D Secure.
 */
import type { IncomingMessage } from 'node:http';
import { parseBrowserReturn } from '../payments/providers/oceanpayment/notice.ts';
import { BodyTooLargeError, readBodyBytes, send, type Route } from '../http/server.ts';
import { OPEN_ATTEMPT_STATUSES } from '../db/database.ts';
import { findAttemptByOrderNumber, queryAttemptSoon } from '../payments/transactions/transaction.repo.ts';
import { queryAttempts } from '../billing/janitor.ts';
import type { RenewalEngine } from '../billing/engine.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import { GroupCommit } from '../lib/group-commit.ts';
import { NOTICE_BODY_LIMIT, receiveNotices, type IncomingNotice, type NoticeReceipt } from './apply-notice.ts';
import { insertNotices } from './notice.repo.ts';
import { renderReturnPage } from './return-page.ts';
import { storableText, storedBody } from './stored-body.ts';

/** How long the return page waits for the gateway's answer before showing what is known. */
const RETURN_PAGE_QUERY_WAIT_MS = 3_000;

export interface ListenerOptions {
  merchant: { name: string; supportEmail: string };
  /** Asks the janitor to run now (after the return page requested a query). */
  pokeJanitor: () => void;
}

export function gatewayRoutes(engine: RenewalEngine, options: ListenerOptions): Route[] {
  // Notices arriving together are stored and applied in one transaction.
  const notices = new GroupCommit<IncomingNotice, NoticeReceipt>((batch) => receiveNotices(engine, batch), { maxBatch: 200, maxWaitMs: 5 });
  return [
    {
      method: 'POST',
      path: '/oceanpayment/notice',
      handler: async (req, res) => {
        const [status, body] = await handleNotice(engine, options, notices, req);
        send(res, status, body);
      },
    },
    {
      method: 'POST',
      path: '/oceanpayment/return',
      handler: async (req, res) => {
        const page = await handleReturn(engine, options, await readBodyBytes(req, NOTICE_BODY_LIMIT));
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
  options: ListenerOptions,
  notices: GroupCommit<IncomingNotice, NoticeReceipt>,
  req: IncomingMessage,
): Promise<[number, string]> {
  let incoming: IncomingNotice;
  try {
    incoming = { body: await readBodyBytes(req, NOTICE_BODY_LIMIT) };
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    req.resume();
    incoming = { body: Buffer.alloc(0), tooLarge: true };
  }
  const receipt = await notices.submit(incoming);
  if (!receipt.stored) {
    // Only when the notice could not be stored at all (the database is unavailable): the gateway must retry it.
    engine.logger.error({ err: receipt.error }, 'could not store a notice; asking the gateway to retry');
    return [500, 'could not store the notice; please retry'];
  }
  if (receipt.verdict.result === 'confirming') options.pokeJanitor();
  return [200, 'receive-ok'];
}

async function handleReturn(engine: RenewalEngine, options: ListenerOptions, bytes: Buffer) {
  const stored = storedBody(bytes);
  const form = stored.problem ? {} : Object.fromEntries(new URLSearchParams(stored.text));
  const parsed = stored.problem ? ({ kind: 'malformed', problem: stored.problem } as const) : parseBrowserReturn(form, engine.credentials);
  const verified = parsed.kind === 'transaction' && parsed.verified;
  const orderNumber = form.order_number ?? '';
  const attempt = verified ? await findAttemptByOrderNumber(engine.db, orderNumber) : undefined;
  const now = engine.clock.now();
  const row = {
    channel: 'browser_return' as const,
    received_at: now,
    notice_type: null,
    order_number: storableText(orderNumber.slice(0, 100)) || null,
    payment_id: form.payment_id === undefined ? null : storableText(form.payment_id.slice(0, 100)),
    payment_status: form.payment_status === undefined ? null : storableText(form.payment_status.slice(0, 10)),
    verified,
    // The browser is never proof of payment: stored for the record, never applied.
    result: verified ? ('no_change' as const) : ('rejected' as const),
    problem: storableText(parsed.kind === 'transaction' ? (parsed.problem ?? '') : parsed.problem) || null,
    attempt_id: attempt?.id ?? null,
    body: stored.text.slice(0, NOTICE_BODY_LIMIT),
    raw_body: stored.bytes,
  };
  try {
    await insertNotices(engine.db, [row]);
  } catch (error) {
    // Kept as malformed rather than failing the customer's page; if even that fails, the database is down.
    engine.logger.warn({ err: error }, 'browser return could not be stored as read; storing it as malformed');
    await insertNotices(engine.db, [{ ...row, order_number: null, payment_id: null, payment_status: null, verified: false, result: 'malformed', attempt_id: null, problem: 'could not be stored as read' }]);
  }
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
    canceledAt: subscription?.status === 'canceled' ? subscription.canceled_at : null,
  });
}
