/**
 * Notices from the gateway, start to finish: parse safely, verify, store raw with the verdict,
 * match each to its attempt, check it is about that attempt's money, then apply it through the
 * same path as every other outcome. Forged, malformed or unmatched notices are stored as such and
 * change nothing. Notices arriving together are handled in one transaction.
 */
import type { Insertable } from 'kysely';
import type { ChargeAttempt, GatewayNoticesTable, NoticeResult } from '../db/database.ts';
import { parseNotice, type ParsedNotice } from '../gateways/oceanpayment/notice.ts';
import { sameGatewayAmount } from '../lib/money.ts';
import { recordContext, type RenewalEngine } from '../renewals/engine.ts';
import { recordOutcomes, type OutcomeReport } from '../renewals/record-outcomes.ts';
import { insertNotices } from './notice.repo.ts';

/** Notices are small XML documents; anything bigger is not one. */
export const NOTICE_BODY_LIMIT = 64 * 1024;

export interface IncomingNotice {
  body: string;
  tooLarge?: boolean;
}

export interface NoticeVerdict {
  result: NoticeResult;
  problem: string | null;
  attemptId: number | null;
}

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
  return null;
}

export async function receiveNotices(engine: RenewalEngine, notices: readonly IncomingNotice[]): Promise<NoticeVerdict[]> {
  const now = engine.clock.now();
  const parsed: ParsedNotice[] = notices.map((n) =>
    n.tooLarge ? { kind: 'malformed', problem: `body larger than ${NOTICE_BODY_LIMIT} bytes` } : parseNotice(n.body, engine.credentials),
  );
  const verdicts = await engine.db.transaction().execute(async (tx) => {
    const orderNumbers = parsed.flatMap((p) => (p.kind === 'transaction' && p.verified && p.fields.order_number ? [p.fields.order_number] : []));
    const attempts = orderNumbers.length
      ? new Map((await tx.selectFrom('charge_attempts').selectAll().where('order_number', 'in', orderNumbers).execute()).map((a) => [a.order_number, a]))
      : new Map<string, ChargeAttempt>();
    const verdicts: (NoticeVerdict | null)[] = [];
    const reports: OutcomeReport[] = [];
    for (const notice of parsed) {
      const attempt = notice.kind === 'transaction' ? attempts.get(notice.fields.order_number ?? '') : undefined;
      const early = precheck(notice, attempt, engine);
      verdicts.push(early);
      if (!early && notice.kind === 'transaction' && attempt) {
        reports.push({ attemptId: attempt.id, resolution: { kind: 'outcome', outcome: notice.outcome }, actor: 'gateway:notice' });
      }
    }
    const recorded = await recordOutcomes(tx, reports, { ...recordContext(engine), now });
    let next = 0;
    const final = verdicts.map((early): NoticeVerdict => {
      if (early) return early;
      const result = recorded[next++]!;
      return { result: result.changed ? 'applied' : 'no_change', problem: result.why ?? null, attemptId: result.attemptId };
    });
    await insertNotices(tx, notices.map((n, i) => noticeRow(n, parsed[i]!, final[i]!, now)));
    return final;
  });
  for (const [i, verdict] of verdicts.entries()) {
    engine.metrics.notices.inc({ result: verdict.result });
    const fields = parsed[i]!.kind === 'malformed' ? {} : (parsed[i] as { fields: Record<string, string> }).fields;
    const ids = { order_number: fields.order_number, attempt_id: verdict.attemptId };
    if (verdict.result === 'rejected' || verdict.result === 'malformed' || verdict.result === 'unmatched') {
      engine.logger.warn({ ...ids, result: verdict.result, problem: verdict.problem }, 'notice not applied');
    } else {
      engine.logger.info({ ...ids, result: verdict.result }, 'notice received');
    }
  }
  return verdicts;
}

function noticeRow(notice: IncomingNotice, parsed: ParsedNotice, verdict: NoticeVerdict, now: Date): Insertable<GatewayNoticesTable> {
  const fields = parsed.kind === 'malformed' ? {} : parsed.fields;
  return {
    channel: 'notice',
    received_at: now,
    notice_type: fields.notice_type ?? null,
    order_number: fields.order_number?.slice(0, 100) ?? null,
    payment_id: fields.payment_id?.slice(0, 100) ?? null,
    payment_status: fields.payment_status?.slice(0, 10) ?? null,
    verified: parsed.kind === 'transaction' && parsed.verified,
    body: notice.body.slice(0, NOTICE_BODY_LIMIT),
    result: verdict.result,
    problem: verdict.problem,
    attempt_id: verdict.attemptId,
  };
}
