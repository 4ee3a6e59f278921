/**
 * HTTP endpoints providers and customers' browsers reach, one pair per configured provider:
 * `POST /payments/{provider}/notice` (answered with the provider's acknowledgement once the notice
 * is stored, so it stops retrying) and `/payments/{provider}/return` (the page a customer comes
 * back to after 3-D Secure). `/oceanpayment/notice` and `/oceanpayment/return` stay as aliases:
 * merchants configured them at the gateway.
 */
import type { IncomingMessage } from 'node:http';
import { OPEN_CHARGE_STATUSES } from '../db/database.ts';
import { BodyTooLargeError, readBodyBytes, send, type Route } from '../http/server.ts';
import { findTransactionByReference, queryChargeSoon } from '../payments/transactions/transaction.repo.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import { queryCharges } from '../billing/janitor.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import { GroupCommit } from '../lib/group-commit.ts';
import { NOTICE_BODY_LIMIT, receiveNotices, type IncomingNotice, type NoticeReceipt } from './apply-notice.ts';
import { insertNotices } from './notice.repo.ts';
import { renderReturnPage, returnVerdict, type ReturnPageInput } from './return-page.ts';
import { offerCardUpdate } from './card-update-offer.ts';
import { storableText, storedBody } from './stored-body.ts';

/** How long the return page waits for the provider's answer before showing what is known. */
const RETURN_PAGE_QUERY_WAIT_MS = 3_000;

/** Paths providers were configured with before `/payments/{provider}/…` existed. */
const LEGACY_PATHS: Readonly<Record<string, string>> = { oceanpayment: '/oceanpayment' };

export interface ListenerOptions {
  merchant: { name: string; supportEmail: string };
  /** How long a card-update link offered on a declined return page works. */
  cardLinkTtlMs: number;
  /** Asks the janitor to run now (a query or a confirmation is wanted). */
  pokeJanitor: () => void;
}

export function inboundRoutes(engine: BillingEngine, options: ListenerOptions): Route[] {
  return engine.providers.all().flatMap((provider) => {
    const bases = [`/payments/${provider.name}`, ...(LEGACY_PATHS[provider.name] ? [LEGACY_PATHS[provider.name]!] : [])];
    // Notices arriving together are stored and applied in one transaction.
    const notices = new GroupCommit<IncomingNotice, NoticeReceipt>((batch) => receiveNotices(engine, provider, batch), { maxBatch: 200, maxWaitMs: 5 });
    return bases.flatMap((base): Route[] => [
      {
        method: 'POST',
        path: `${base}/notice`,
        handler: async (req, res) => {
          const [status, body] = await handleNotice(engine, provider, options, notices, req);
          send(res, status, body);
        },
      },
      {
        method: 'POST',
        path: `${base}/return`,
        handler: async (req, res) => {
          const page = await handleReturn(engine, provider, options, await readBodyBytes(req, NOTICE_BODY_LIMIT));
          send(res, page.status, page.body, 'text/html; charset=utf-8');
        },
      },
      {
        method: 'GET',
        path: `${base}/return`,
        handler: (_req, res) => {
          const page = renderReturnPage({ merchant: options.merchant, outcome: null, attempt: null });
          send(res, page.status, page.body, 'text/html; charset=utf-8');
        },
      },
    ]);
  });
}

async function handleNotice(
  engine: BillingEngine,
  provider: PaymentProvider,
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
    // Only when the notice could not be stored at all (the database is unavailable): the provider must retry it.
    engine.logger.error({ err: receipt.error, provider: provider.name }, 'could not store a notice; asking the provider to retry');
    return [500, 'could not store the notice; please retry'];
  }
  if (receipt.verdict.result === 'confirming') options.pokeJanitor();
  return [200, provider.inbound.acknowledgement];
}

async function handleReturn(engine: BillingEngine, provider: PaymentProvider, options: ListenerOptions, bytes: Buffer) {
  const stored = storedBody(bytes);
  const form = stored.problem ? {} : Object.fromEntries(new URLSearchParams(stored.text));
  const message = stored.problem ? ({ kind: 'malformed', problem: stored.problem } as const) : provider.inbound.readReturn(form);
  const verified = message.kind === 'payment_result' && message.verified;
  const reference = message.kind === 'malformed' ? (message.reference ?? '') : message.reference;
  const found = verified ? await findTransactionByReference(engine.db, reference) : undefined;
  const attempt = found?.kind === 'charge' && found.provider === provider.name ? found : undefined;
  const now = engine.clock.now();
  const row = {
    provider: provider.name,
    channel: 'browser_return' as const,
    received_at: now,
    notice_type: null,
    reference: storableText(reference.slice(0, 100)) || null,
    provider_reference: message.kind === 'payment_result' ? storableText(message.paymentId.slice(0, 100)) || null : null,
    status: message.kind === 'payment_result' ? storableText(message.status.slice(0, 10)) || null : null,
    verified,
    // The browser is never proof of payment: stored for the record, never applied.
    result: verified ? ('no_change' as const) : ('rejected' as const),
    problem: storableText(message.kind === 'payment_result' ? (message.problem ?? '') : message.kind === 'malformed' ? message.problem : 'not a payment result') || null,
    transaction_id: attempt?.id ?? null,
    body: stored.text.slice(0, NOTICE_BODY_LIMIT),
    raw_body: stored.bytes,
  };
  try {
    await insertNotices(engine.db, [row]);
  } catch (error) {
    // Kept as malformed rather than failing the customer's page; if even that fails, the database is down.
    engine.logger.warn({ err: error }, 'browser return could not be stored as read; storing it as malformed');
    await insertNotices(engine.db, [{ ...row, reference: null, provider_reference: null, status: null, verified: false, result: 'malformed', transaction_id: null, problem: 'could not be stored as read' }]);
  }
  engine.metrics.notices.inc({ result: verified ? 'browser_return' : 'browser_return_rejected' });
  let current = attempt;
  if (attempt && (OPEN_CHARGE_STATUSES as readonly string[]).includes(attempt.status)) {
    // The browser often beats the notice. Its word is no proof, so ask the provider (briefly) and
    // tell the customer what rebill then knows; the janitor takes over if the provider is slow.
    await queryChargeSoon(engine.db, attempt.id, now);
    const asked = await Promise.race([
      queryCharges(engine, [attempt], 1).then(() => true, () => false),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), RETURN_PAGE_QUERY_WAIT_MS).unref()),
    ]);
    if (!asked) options.pokeJanitor();
    current = (await findTransactionByReference(engine.db, reference)) ?? attempt;
  }
  const subscription = current ? await findSubscription(engine.db, current.subscription_id) : undefined;
  const input: ReturnPageInput = {
    merchant: options.merchant,
    outcome: message.kind === 'payment_result' && verified ? message.outcome : null,
    attempt: current ?? null,
    nextAttemptAt: subscription?.next_attempt_at ?? null,
    timezone: subscription?.timezone ?? 'UTC',
    canceledAt: subscription?.status === 'canceled' ? subscription.canceled_at : null,
  };
  if (subscription && returnVerdict(input) === 'not_completed') {
    input.cardUpdate = await offerCardUpdate(engine, provider, subscription, { now: engine.clock.now(), ttlMs: options.cardLinkTtlMs });
  }
  return renderReturnPage(input);
}
