/**
 * Notices from any provider, start to finish: the provider reads (and verifies) the body, rebill
 * stores it raw with its verdict, matches it to its charge, checks it is about that charge's money
 * and merchant account, then applies it through the same path as every other outcome. Forged,
 * malformed or unmatched notices are stored as such and change nothing. A notice that would move
 * money in the customer's favour is applied only once a query confirms it, and a business notice
 * (refund, chargeback: never verifiable) only ever leads to one. Notices arriving together are
 * handled in one transaction, and one notice's problem never affects another's.
 */
import type { Insertable } from 'kysely';
import type { Tx } from '../db/connect.ts';
import type { NoticeResult, PaymentTransaction, ProviderNoticesTable } from '../db/database.ts';
import type { NewEvent } from '../events/events.repo.ts';
import { insertEvents } from '../events/events.repo.ts';
import { errorMessage } from '../lib/errors.ts';
import { formatAmount } from '../lib/money.ts';
import type { InboundMessage, PaymentProvider, PaymentResultMessage } from '../payments/provider.ts';
import { findTransactionsByReference, requestConfirmationQueries } from '../payments/transactions/transaction.repo.ts';
import { recordContext, type BillingEngine } from '../billing/engine.ts';
import { recordOutcomes, type OutcomeReport } from '../billing/record-outcomes.ts';
import { insertNotices } from './notice.repo.ts';
import { storableText, storedBody, type StoredBody } from './stored-body.ts';

/** Notices are small documents; anything bigger is not one. */
export const NOTICE_BODY_LIMIT = 64 * 1024;

export interface IncomingNotice {
  /** The body's exact bytes (empty when it was too large to read). */
  body: Buffer;
  tooLarge?: boolean;
}

export interface NoticeVerdict {
  result: NoticeResult;
  problem: string | null;
  transactionId: number | null;
}

/** A notice stored with its verdict, or one rebill could not store at all (the provider must retry it). */
export type NoticeReceipt = { stored: true; verdict: NoticeVerdict } | { stored: false; error: unknown };

/** A verdict reached before touching any charge, or null when the notice is to be applied. */
function precheck(provider: PaymentProvider, message: InboundMessage, charge: PaymentTransaction | undefined): NoticeVerdict | null {
  const chargeId = charge?.id ?? null;
  if (message.kind === 'malformed') return { result: 'malformed', problem: message.problem, transactionId: null };
  if (message.kind === 'business') {
    if (message.problems.length) return { result: 'rejected', problem: `malformed ${message.noticeType} notice: ${message.problems.join('; ')}`, transactionId: chargeId };
    // Its signature cannot be verified: never applied by itself; a signed query is the only source of truth.
    return provider.confirmBusiness && provider.capabilities.has('signed_notices')
      ? { result: 'confirming', problem: `${message.noticeType || message.category} notice: to be confirmed with ${provider.name} before anything is done`, transactionId: chargeId }
      : { result: 'not_verifiable', problem: `${message.noticeType || message.category} notice: it cannot be verified, so it is not applied`, transactionId: chargeId };
  }
  if (!message.verified) return { result: 'rejected', problem: message.problem ?? 'signature does not verify', transactionId: null };
  if (!charge || charge.provider !== provider.name) return { result: 'unmatched', problem: `no ${provider.name} charge has order number ${message.reference}`, transactionId: null };
  if (!message.money || message.money.currency !== charge.currency || message.money.amountMinor !== charge.amount_minor) {
    return {
      result: 'rejected',
      problem: `amount ${message.money ? `${formatAmount(message.money)} ${message.money.currency}` : 'unreadable'} does not match the charge (${formatAmount({ amountMinor: charge.amount_minor, currency: charge.currency })} ${charge.currency})`,
      transactionId: charge.id,
    };
  }
  const foreign = provider.inbound.accountProblem(message, charge.provider_account);
  if (foreign) return { result: 'rejected', problem: foreign, transactionId: charge.id };
  const unconfirmed = needsConfirmation(message, charge);
  if (unconfirmed) return { result: 'confirming', problem: unconfirmed, transactionId: charge.id };
  return null;
}

/**
 * Why a verified result must be confirmed by a signed query before it is applied, or null. The
 * ones that would move money state the customer's way: a settled failure turned into a success, a
 * success after the link expired, a success naming another payment than the provider gave us.
 */
export function needsConfirmation(message: PaymentResultMessage, charge: PaymentTransaction): string | null {
  if (message.outcome.kind !== 'approved' || charge.status === 'succeeded') return null;
  if (charge.status === 'failed' || charge.status === 'expired') {
    return `a success for a charge that is already ${charge.status}: applied only once the provider confirms it`;
  }
  if (charge.provider_reference && message.outcome.paymentId !== charge.provider_reference) {
    return `a success for payment ${message.outcome.paymentId}, but the provider gave this charge payment ${charge.provider_reference}: applied only once the provider confirms it`;
  }
  return null;
}

interface Incoming {
  stored: StoredBody;
  message: InboundMessage;
}

function readIncoming(provider: PaymentProvider, notice: IncomingNotice): Incoming {
  const stored = storedBody(notice.body);
  const problem = notice.tooLarge ? `body larger than ${NOTICE_BODY_LIMIT} bytes` : stored.problem;
  const message: InboundMessage = problem ? { kind: 'malformed', problem } : provider.inbound.readNotice(stored.text);
  return { stored, message };
}

/**
 * Stores and applies notices of one provider that arrived together, in one transaction. Should
 * that transaction fail, each notice is handled on its own, and one that still fails is stored as
 * malformed; a notice is left unstored (for the provider to send again) only when even that
 * cannot be written.
 */
export async function receiveNotices(engine: BillingEngine, provider: PaymentProvider, notices: readonly IncomingNotice[]): Promise<NoticeReceipt[]> {
  const incoming = notices.map((n) => readIncoming(provider, n));
  let receipts: NoticeReceipt[];
  try {
    receipts = (await applyTogether(engine, provider, incoming)).map((verdict) => ({ stored: true, verdict }));
  } catch (batchError) {
    receipts = [];
    for (const one of incoming) {
      receipts.push(incoming.length === 1 ? await storeUnprocessable(engine, provider, one, batchError) : await applyAlone(engine, provider, one));
    }
  }
  report(engine, provider, incoming, receipts);
  return receipts;
}

async function applyAlone(engine: BillingEngine, provider: PaymentProvider, one: Incoming): Promise<NoticeReceipt> {
  try {
    const [verdict] = await applyTogether(engine, provider, [one]);
    return { stored: true, verdict: verdict! };
  } catch (error) {
    return storeUnprocessable(engine, provider, one, error);
  }
}

async function applyTogether(engine: BillingEngine, provider: PaymentProvider, incoming: readonly Incoming[]): Promise<NoticeVerdict[]> {
  const now = engine.clock.now();
  return engine.db.transaction().execute(async (tx) => {
    const references = incoming.flatMap(({ message: m }) => ((m.kind === 'payment_result' && m.verified) || m.kind === 'business') && m.reference ? [m.reference] : []);
    const charges = new Map((await findTransactionsByReference(tx, references)).filter((t) => t.kind === 'charge').map((t) => [t.reference, t]));
    const verdicts: (NoticeVerdict | null)[] = [];
    const reports: OutcomeReport[] = [];
    const confirmations: PaymentTransaction[] = [];
    for (const { message } of incoming) {
      const charge = message.kind === 'malformed' ? undefined : charges.get(message.reference);
      const early = precheck(provider, message, charge);
      verdicts.push(early);
      if (early?.result === 'confirming' && charge && message.kind === 'payment_result') confirmations.push(charge);
      if (!early && message.kind === 'payment_result' && charge) {
        reports.push({ transactionId: charge.id, resolution: { kind: 'outcome', outcome: message.outcome }, actor: 'gateway:notice' });
      }
    }
    await askForConfirmation(tx, confirmations, incoming, verdicts, now);
    const recorded = await recordOutcomes(tx, reports, { ...recordContext(engine), now });
    let next = 0;
    const final = verdicts.map((early): NoticeVerdict => {
      if (early) return early;
      const result = recorded[next++]!;
      return { result: result.changed ? 'applied' : 'no_change', problem: result.why ?? null, transactionId: result.transactionId };
    });
    await insertNotices(tx, incoming.map((one, i) => noticeRow(provider, one, final[i]!, now)));
    return final;
  });
}

/** The charges the janitor must query before anything is applied; the event log says why. */
async function askForConfirmation(tx: Tx, charges: readonly PaymentTransaction[], incoming: readonly Incoming[], verdicts: readonly (NoticeVerdict | null)[], now: Date): Promise<void> {
  if (!charges.length) return;
  await requestConfirmationQueries(tx, charges.map((c) => c.id), now);
  const events: NewEvent[] = [];
  incoming.forEach(({ message }, i) => {
    const verdict = verdicts[i];
    const charge = charges.find((c) => c.id === verdict?.transactionId);
    if (verdict?.result !== 'confirming' || !charge || message.kind !== 'payment_result') return;
    events.push({
      subscriptionId: charge.subscription_id,
      transactionId: charge.id,
      type: 'confirmation_requested',
      actor: 'gateway:notice',
      reason: verdict.problem,
      occurredAt: now,
      data: { order_number: charge.reference, attempt_status: charge.status, notice_payment_id: message.paymentId || null },
    });
  });
  await insertEvents(tx, events);
}

/** Last resort for a notice that could not be handled: stored as malformed, with the reason. */
async function storeUnprocessable(engine: BillingEngine, provider: PaymentProvider, one: Incoming, error: unknown): Promise<NoticeReceipt> {
  const verdict: NoticeVerdict = { result: 'malformed', problem: `could not be processed: ${storableText(errorMessage(error)).slice(0, 500)}`, transactionId: null };
  try {
    await insertNotices(engine.db, [noticeRow(provider, { ...one, message: { kind: 'malformed', problem: verdict.problem! } }, verdict, engine.clock.now())]);
    return { stored: true, verdict };
  } catch (storeError) {
    return { stored: false, error: storeError };
  }
}

function report(engine: BillingEngine, provider: PaymentProvider, incoming: readonly Incoming[], receipts: readonly NoticeReceipt[]): void {
  receipts.forEach((receipt, i) => {
    if (!receipt.stored) return;
    const { verdict } = receipt;
    engine.metrics.notices.inc({ result: verdict.result });
    const message = incoming[i]!.message;
    const ids = { provider: provider.name, order_number: message.kind === 'malformed' ? undefined : message.reference, transaction_id: verdict.transactionId };
    if (verdict.result === 'rejected' || verdict.result === 'malformed' || verdict.result === 'unmatched') {
      engine.logger.warn({ ...ids, result: verdict.result, problem: verdict.problem }, 'notice not applied');
    } else {
      engine.logger.info({ ...ids, result: verdict.result }, 'notice received');
    }
  });
}

function noticeRow(provider: PaymentProvider, { stored, message }: Incoming, verdict: NoticeVerdict, now: Date): Insertable<ProviderNoticesTable> {
  const column = (value: string | undefined, max: number) => (value === undefined || value === '' ? null : storableText(value.slice(0, max)));
  const fields =
    message.kind === 'payment_result' ? { notice_type: message.noticeType, reference: message.reference, provider_reference: message.paymentId, status: message.status }
    : message.kind === 'business' ? { notice_type: message.noticeType, reference: message.reference, provider_reference: message.paymentId, status: undefined }
    : { notice_type: undefined, reference: undefined, provider_reference: undefined, status: undefined };
  return {
    provider: provider.name,
    channel: 'notice',
    received_at: now,
    notice_type: column(fields.notice_type, 100),
    reference: column(fields.reference, 100),
    provider_reference: column(fields.provider_reference, 100),
    status: column(fields.status, 10),
    verified: message.kind === 'payment_result' && message.verified,
    body: stored.text.slice(0, NOTICE_BODY_LIMIT),
    raw_body: stored.bytes,
    result: verdict.result,
    problem: verdict.problem === null ? null : storableText(verdict.problem),
    transaction_id: verdict.transactionId,
    // A business notice is confirmed with the provider by the janitor, from now on.
    next_check_at: message.kind === 'business' && verdict.result === 'confirming' ? now : null,
  };
}
