/**
 * A notice from the gateway, start to finish: parse safely, verify, store raw with the verdict,
 * match it to its attempt, check it is about that attempt's money, then apply it through the
 * same path as every other outcome. Forged, malformed or unmatched notices are stored as such and
 * change nothing.
 */
import type { GatewayNoticesTable, NoticeResult } from '../db/database.ts';
import type { Insertable } from 'kysely';
import { parseNotice, type ParsedNotice } from '../gateways/oceanpayment/notice.ts';
import { sameGatewayAmount } from '../lib/money.ts';
import { findAttemptByOrderNumber } from '../renewals/charge-attempt.repo.ts';
import { recordContext, type RenewalEngine } from '../renewals/engine.ts';
import { recordOutcomes } from '../renewals/record-outcomes.ts';
import { insertNotice } from './notice.repo.ts';

/** Notices are small XML documents; anything bigger is not one. */
export const NOTICE_BODY_LIMIT = 64 * 1024;

export interface NoticeVerdict {
  result: NoticeResult;
  problem: string | null;
  attemptId: number | null;
}

export async function receiveNotice(engine: RenewalEngine, body: string, tooLarge = false): Promise<NoticeVerdict> {
  const now = engine.clock.now();
  const parsed: ParsedNotice = tooLarge
    ? { kind: 'malformed', problem: `body larger than ${NOTICE_BODY_LIMIT} bytes` }
    : parseNotice(body, engine.credentials);
  const fields = parsed.kind === 'malformed' ? {} : parsed.fields;
  const row: Insertable<GatewayNoticesTable> = {
    channel: 'notice',
    received_at: now,
    notice_type: fields.notice_type ?? null,
    order_number: fields.order_number?.slice(0, 100) ?? null,
    payment_id: fields.payment_id?.slice(0, 100) ?? null,
    payment_status: fields.payment_status?.slice(0, 10) ?? null,
    verified: parsed.kind === 'transaction' && parsed.verified,
    body: tooLarge ? body.slice(0, NOTICE_BODY_LIMIT) : body,
    result: 'malformed',
    problem: null,
    attempt_id: null,
  };

  const verdict = await engine.db.transaction().execute(async (tx): Promise<NoticeVerdict> => {
    const store = async (result: NoticeResult, problem: string | null, attemptId: number | null = null) => {
      await insertNotice(tx, { ...row, result, problem, attempt_id: attemptId });
      return { result, problem, attemptId };
    };
    if (parsed.kind === 'malformed') return store('malformed', parsed.problem);
    if (parsed.kind === 'business') {
      // Their signature formula is unpublished: never applied; a signed query is the only source of truth.
      return store('not_verifiable', `${parsed.noticeType || 'business'} notice: its signature cannot be verified, so it is not applied`);
    }
    if (!parsed.verified) return store('rejected', parsed.problem ?? 'signature does not verify');
    const attempt = await findAttemptByOrderNumber(tx, parsed.fields.order_number ?? '');
    if (!attempt) return store('unmatched', `no charge attempt has order number ${parsed.fields.order_number}`);
    const money = { amountMinor: attempt.amount_minor, currency: attempt.currency };
    if (parsed.fields.order_currency !== attempt.currency || !sameGatewayAmount(parsed.fields.order_amount ?? '', money)) {
      return store(
        'rejected',
        `amount ${parsed.fields.order_amount} ${parsed.fields.order_currency} does not match the attempt (${attempt.currency} ${attempt.amount_minor} minor units)`,
        attempt.id,
      );
    }
    // A merchant's other terminals (e.g. a 3-D Secure one) may report on an attempt sent from the main one.
    const terminals = [attempt.terminal, ...Object.keys(engine.credentials.extraTerminals ?? {})];
    if (parsed.fields.account !== attempt.account || !terminals.includes(parsed.fields.terminal ?? '')) {
      return store('rejected', `account/terminal ${parsed.fields.account}/${parsed.fields.terminal} is not the attempt's (${attempt.account}/${attempt.terminal})`, attempt.id);
    }
    const [recorded] = await recordOutcomes(
      tx,
      [{ attemptId: attempt.id, resolution: { kind: 'outcome', outcome: parsed.outcome }, actor: 'gateway:notice' }],
      { ...recordContext(engine), now },
    );
    return store(recorded?.changed ? 'applied' : 'no_change', recorded?.why ?? null, attempt.id);
  });
  engine.metrics.notices.inc({ result: verdict.result });
  const log = engine.logger.child({ order_number: row.order_number, attempt_id: verdict.attemptId });
  if (verdict.result === 'rejected' || verdict.result === 'malformed' || verdict.result === 'unmatched') {
    log.warn({ result: verdict.result, problem: verdict.problem }, 'notice not applied');
  } else {
    log.info({ result: verdict.result }, 'notice received');
  }
  return verdict;
}
