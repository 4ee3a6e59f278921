/**
 * Notices from the gateway, start to finish: parse safely, verify, store raw with the verdict,
 * match each to its attempt, check it is about that attempt's money, then apply it through the
 * same path as every other outcome. Forged, malformed or unmatched notices are stored as such and
 * change nothing. A notice that would move money in the customer's favour is applied only once a
 * signed query confirms it. Notices arriving together are handled in one transaction, and one
 * notice's problem never affects another's.
 */
import type { Insertable } from 'kysely';
import type { Tx } from '../db/connect.ts';
import type { ChargeAttempt, GatewayNoticesTable, NoticeResult } from '../db/database.ts';
import { parseNotice, type ParsedNotice, type TransactionNotice } from '../payments/providers/oceanpayment/notice.ts';
import { errorMessage } from '../lib/errors.ts';
import { sameGatewayAmount } from '../lib/money.ts';
import { requestConfirmationQueries } from '../payments/transactions/transaction.repo.ts';
import { recordContext, type RenewalEngine } from '../billing/engine.ts';
import { recordOutcomes, type OutcomeReport } from '../billing/record-outcomes.ts';
import { insertEvents, type NewEvent } from '../events/events.repo.ts';
import { insertNotices } from './notice.repo.ts';
import { storableText, storedBody, type StoredBody } from './stored-body.ts';

/** Notices are small XML documents; anything bigger is not one. */
export const NOTICE_BODY_LIMIT = 64 * 1024;

export interface IncomingNotice {
  /** The body's exact bytes (empty when it was too large to read). */
  body: Buffer;
  tooLarge?: boolean;
}

export interface NoticeVerdict {
  result: NoticeResult;
  problem: string | null;
  attemptId: number | null;
}

/** A notice stored with its verdict, or one rebill could not store at all (the gateway must retry it). */
export type NoticeReceipt = { stored: true; verdict: NoticeVerdict } | { stored: false; error: unknown };

/** A verdict reached before touching any attempt, or null when the notice is to be applied. */
function precheck(parsed: ParsedNotice, attempt: ChargeAttempt | undefined, engine: RenewalEngine): NoticeVerdict | null {
  if (parsed.kind === 'malformed') return { result: 'malformed', problem: parsed.problem, attemptId: null };
  if (parsed.kind === 'business') {
    // Their signature formula is unpublished: never applied; a signed query is the only source of truth.
    return { result: 'not_verifiable', problem: `${parsed.noticeType || 'business'} notice: its signature cannot be verified, so it is not applied`, attemptId: null };
  }
  if (!parsed.verified) return { result: 'rejected', problem: parsed.problem ?? 'signature does not verify', attemptId: null };
  const fields = parsed.fields;
  if (!attempt) return { result: 'unmatched', problem: `no charge attempt has order number ${fields.order_number}`, attemptId: null };
  const money = { amountMinor: attempt.amount_minor, currency: attempt.currency };
  if (fields.order_currency !== attempt.currency || !sameGatewayAmount(fields.order_amount ?? '', money)) {
    return {
      result: 'rejected',
      problem: `amount ${fields.order_amount} ${fields.order_currency} does not match the attempt (${attempt.currency} ${attempt.amount_minor} minor units)`,
      attemptId: attempt.id,
    };
  }
  // A merchant's other terminals (e.g. a 3-D Secure one) may report on an attempt sent from the main one.
  const terminals = [attempt.terminal, ...Object.keys(engine.credentials.extraTerminals ?? {})];
  if (fields.account !== attempt.account || !terminals.includes(fields.terminal ?? '')) {
    return {
      result: 'rejected',
      problem: `account/terminal ${fields.account}/${fields.terminal} is not the attempt's (${attempt.account}/${attempt.terminal})`,
      attemptId: attempt.id,
    };
  }
  const unconfirmed = needsConfirmation(parsed, attempt);
  if (unconfirmed) return { result: 'confirming', problem: unconfirmed, attemptId: attempt.id };
  return null;
}

/**
 * Why a verified notice must be confirmed by a signed query before it is applied, or null. The
 * ones that would move money state the customer's way: a settled failure turned into a success, a
 * success after the link expired, a success naming another payment than the gateway gave us.
 */
export function needsConfirmation(notice: TransactionNotice, attempt: ChargeAttempt): string | null {
  if (notice.outcome.kind !== 'approved' || attempt.status === 'succeeded') return null;
  if (attempt.status === 'failed' || attempt.status === 'expired') {
    return `a success for an attempt that is already ${attempt.status}: applied only once the gateway confirms it`;
  }
  if (attempt.payment_id && notice.outcome.paymentId !== attempt.payment_id) {
    return `a success for payment ${notice.outcome.paymentId}, but the gateway gave this attempt payment ${attempt.payment_id}: applied only once the gateway confirms it`;
  }
  return null;
}

interface Incoming {
  notice: IncomingNotice;
  stored: StoredBody;
  parsed: ParsedNotice;
}

function readIncoming(engine: RenewalEngine, notice: IncomingNotice): Incoming {
  const stored = storedBody(notice.body);
  const problem = notice.tooLarge ? `body larger than ${NOTICE_BODY_LIMIT} bytes` : stored.problem;
  const parsed: ParsedNotice = problem ? { kind: 'malformed', problem } : parseNotice(stored.text, engine.credentials);
  return { notice, stored, parsed };
}

/**
 * Stores and applies notices that arrived together, in one transaction. Should that transaction
 * fail, each notice is handled on its own, and one that still fails is stored as malformed; a
 * notice is left unstored (for the gateway to send again) only when even that cannot be written.
 */
export async function receiveNotices(engine: RenewalEngine, notices: readonly IncomingNotice[]): Promise<NoticeReceipt[]> {
  const incoming = notices.map((n) => readIncoming(engine, n));
  let receipts: NoticeReceipt[];
  try {
    receipts = (await applyTogether(engine, incoming)).map((verdict) => ({ stored: true, verdict }));
  } catch (batchError) {
    receipts = [];
    for (const one of incoming) {
      receipts.push(incoming.length === 1 ? await storeUnprocessable(engine, one, batchError) : await applyAlone(engine, one));
    }
  }
  report(engine, incoming, receipts);
  return receipts;
}

async function applyAlone(engine: RenewalEngine, one: Incoming): Promise<NoticeReceipt> {
  try {
    const [verdict] = await applyTogether(engine, [one]);
    return { stored: true, verdict: verdict! };
  } catch (error) {
    return storeUnprocessable(engine, one, error);
  }
}

async function applyTogether(engine: RenewalEngine, incoming: readonly Incoming[]): Promise<NoticeVerdict[]> {
  const now = engine.clock.now();
  return engine.db.transaction().execute(async (tx) => {
    const orderNumbers = incoming.flatMap(({ parsed: p }) => (p.kind === 'transaction' && p.verified && p.fields.order_number ? [p.fields.order_number] : []));
    const attempts = orderNumbers.length
      ? new Map((await tx.selectFrom('charge_attempts').selectAll().where('order_number', 'in', orderNumbers).execute()).map((a) => [a.order_number, a]))
      : new Map<string, ChargeAttempt>();
    const verdicts: (NoticeVerdict | null)[] = [];
    const reports: OutcomeReport[] = [];
    const confirmations: ChargeAttempt[] = [];
    for (const { parsed } of incoming) {
      const attempt = parsed.kind === 'transaction' ? attempts.get(parsed.fields.order_number ?? '') : undefined;
      const early = precheck(parsed, attempt, engine);
      verdicts.push(early);
      if (early?.result === 'confirming' && attempt) confirmations.push(attempt);
      if (!early && parsed.kind === 'transaction' && attempt) {
        reports.push({ attemptId: attempt.id, resolution: { kind: 'outcome', outcome: parsed.outcome }, actor: 'gateway:notice' });
      }
    }
    await askForConfirmation(tx, confirmations, incoming, verdicts, now);
    const recorded = await recordOutcomes(tx, reports, { ...recordContext(engine), now });
    let next = 0;
    const final = verdicts.map((early): NoticeVerdict => {
      if (early) return early;
      const result = recorded[next++]!;
      return { result: result.changed ? 'applied' : 'no_change', problem: result.why ?? null, attemptId: result.attemptId };
    });
    await insertNotices(tx, incoming.map((one, i) => noticeRow(one, final[i]!, now)));
    return final;
  });
}

/** The attempts the janitor must query before anything is applied; the event log says why. */
async function askForConfirmation(tx: Tx, attempts: readonly ChargeAttempt[], incoming: readonly Incoming[], verdicts: readonly (NoticeVerdict | null)[], now: Date): Promise<void> {
  if (!attempts.length) return;
  await requestConfirmationQueries(tx, attempts.map((a) => a.id), now);
  const events: NewEvent[] = [];
  incoming.forEach(({ parsed }, i) => {
    const verdict = verdicts[i];
    const attempt = attempts.find((a) => a.id === verdict?.attemptId);
    if (verdict?.result !== 'confirming' || !attempt || parsed.kind !== 'transaction') return;
    events.push({
      subscriptionId: attempt.subscription_id,
      attemptId: attempt.id,
      type: 'confirmation_requested',
      actor: 'gateway:notice',
      reason: verdict.problem,
      occurredAt: now,
      data: { order_number: attempt.order_number, attempt_status: attempt.status, notice_payment_id: parsed.fields.payment_id ?? null },
    });
  });
  await insertEvents(tx, events);
}

/** Last resort for a notice that could not be handled: stored as malformed, with the reason. */
async function storeUnprocessable(engine: RenewalEngine, one: Incoming, error: unknown): Promise<NoticeReceipt> {
  const verdict: NoticeVerdict = { result: 'malformed', problem: `could not be processed: ${storableText(errorMessage(error)).slice(0, 500)}`, attemptId: null };
  try {
    await insertNotices(engine.db, [noticeRow({ ...one, parsed: { kind: 'malformed', problem: verdict.problem! } }, verdict, engine.clock.now())]);
    return { stored: true, verdict };
  } catch (storeError) {
    return { stored: false, error: storeError };
  }
}

function report(engine: RenewalEngine, incoming: readonly Incoming[], receipts: readonly NoticeReceipt[]): void {
  receipts.forEach((receipt, i) => {
    if (!receipt.stored) return;
    const { verdict } = receipt;
    engine.metrics.notices.inc({ result: verdict.result });
    const parsed = incoming[i]!.parsed;
    const fields = parsed.kind === 'malformed' ? {} : parsed.fields;
    const ids = { order_number: fields.order_number, attempt_id: verdict.attemptId };
    if (verdict.result === 'rejected' || verdict.result === 'malformed' || verdict.result === 'unmatched') {
      engine.logger.warn({ ...ids, result: verdict.result, problem: verdict.problem }, 'notice not applied');
    } else {
      engine.logger.info({ ...ids, result: verdict.result }, 'notice received');
    }
  });
}

function noticeRow({ stored, parsed }: Incoming, verdict: NoticeVerdict, now: Date): Insertable<GatewayNoticesTable> {
  const fields = parsed.kind === 'malformed' ? {} : parsed.fields;
  const column = (value: string | undefined, max: number) => (value === undefined ? null : storableText(value.slice(0, max)));
  return {
    channel: 'notice',
    received_at: now,
    notice_type: column(fields.notice_type, 100),
    order_number: column(fields.order_number, 100),
    payment_id: column(fields.payment_id, 100),
    payment_status: column(fields.payment_status, 10),
    verified: parsed.kind === 'transaction' && parsed.verified,
    body: stored.text.slice(0, NOTICE_BODY_LIMIT),
    raw_body: stored.bytes,
    result: verdict.result,
    problem: verdict.problem === null ? null : storableText(verdict.problem),
    attempt_id: verdict.attemptId,
  };
}
