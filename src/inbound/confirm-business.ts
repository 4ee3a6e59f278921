/**
 * Refund and chargeback notices cannot be verified, so each is confirmed with a signed query to
 * its provider before anything is done: a confirmed refund settles the refund rebill asked for, a
 * confirmed chargeback is recorded (and, by policy, ends the subscription). What the provider does
 * not confirm is kept with that verdict and changes nothing. Run by the janitor.
 */
import { recordChargeback } from '../billing/disputes.ts';
import { answerDeadlineMs, recordContext, type BillingEngine } from '../billing/engine.ts';
import { nextQueryAt } from '../billing/record-outcomes.ts';
import { recordRefundOutcomes } from '../billing/refunds.ts';
import type { ProviderNotice } from '../db/database.ts';
import { errorMessage } from '../lib/errors.ts';
import type { BusinessConfirmation, BusinessMessage, PaymentProvider } from '../payments/provider.ts';
import { findByProviderReference, findTransactionByReference } from '../payments/transactions/transaction.repo.ts';
import { claimNoticesToCheck, saveNoticeChecks, type NoticeCheck } from './notice.repo.ts';

export async function confirmBusinessNotices(engine: BillingEngine, limit = 50): Promise<number> {
  const now = engine.clock.now();
  const due = await claimNoticesToCheck(engine.db, now, new Date(now.getTime() + answerDeadlineMs(engine)), limit);
  const checks: NoticeCheck[] = [];
  for (const notice of due) checks.push(await check(engine, notice));
  await saveNoticeChecks(engine.db, checks);
  return checks.filter((c) => c.result === 'applied').length;
}

async function check(engine: BillingEngine, notice: ProviderNotice): Promise<NoticeCheck> {
  const done = (result: NoticeCheck['result'], problem: string | null, transactionId = notice.transaction_id): NoticeCheck => ({ id: notice.id, result, problem, transactionId, nextCheckAt: null });
  const provider = engine.providers.find(notice.provider);
  const message = provider?.inbound.readNotice(notice.body);
  if (!provider?.confirmBusiness || message?.kind !== 'business') return done('not_verifiable', 'no provider here can confirm this notice');
  let confirmation: BusinessConfirmation;
  try {
    confirmation = await provider.confirmBusiness(message);
  } catch (error) {
    confirmation = { kind: 'unresolved', reason: errorMessage(error) };
  }
  engine.logger.info({ notice_id: notice.id, provider: provider.name, category: message.category, confirmation: confirmation.kind }, 'business notice checked');
  switch (confirmation.kind) {
    case 'unresolved':
      return { id: notice.id, result: 'confirming', problem: `not confirmed yet: ${confirmation.reason}`, transactionId: notice.transaction_id, nextCheckAt: nextQueryAt(notice.check_count + 1, engine.clock.now(), engine.querySchedule) };
    case 'not_confirmed':
      return done('not_confirmed', confirmation.reason);
    case 'refund':
      return applyRefund(engine, provider, message, confirmation, done);
    case 'chargeback': {
      const charge = await findTransactionByReference(engine.db, message.reference);
      if (!charge || charge.kind !== 'charge' || charge.provider !== provider.name) {
        return done('unmatched', `a ${confirmation.category} of order ${message.reference}, which rebill did not send`);
      }
      const recorded = await engine.db.transaction().execute((tx) =>
        recordChargeback(tx, { chargeId: charge.id, category: confirmation.category, money: confirmation.money, actor: 'gateway:notice' }, { ...recordContext(engine), stopOnDispute: engine.billing.stopOnDispute }),
      );
      return recorded.recorded ? done('applied', null, recorded.chargeback.id) : done('no_change', recorded.why, charge.id);
    }
  }
}

async function applyRefund(
  engine: BillingEngine,
  provider: PaymentProvider,
  message: BusinessMessage,
  confirmation: Extract<BusinessConfirmation, { kind: 'refund' }>,
  done: (result: NoticeCheck['result'], problem: string | null, transactionId?: number | null) => NoticeCheck,
): Promise<NoticeCheck> {
  const refund =
    (await findByProviderReference(engine.db, provider.name, 'refund', confirmation.refundId)) ??
    (message.refundReference ? await findTransactionByReference(engine.db, message.refundReference) : undefined);
  if (!refund || refund.kind !== 'refund') {
    return done('unmatched', `refund ${confirmation.refundId} was not asked for by rebill; the daily reconciliation records it with its amount`);
  }
  const resolution =
    confirmation.state === 'refunded' ? { kind: 'refunded' as const, providerReference: confirmation.refundId }
    : confirmation.state === 'pending' ? { kind: 'pending' as const, providerReference: confirmation.refundId }
    : { kind: 'failed' as const, message: confirmation.message ?? 'refused by the provider' };
  const [recorded] = await engine.db.transaction().execute((tx) =>
    recordRefundOutcomes(tx, [{ refundId: refund.id, resolution, actor: 'gateway:notice' }], recordContext(engine)),
  );
  return recorded?.changed ? done('applied', null, refund.id) : done('no_change', recorded?.why ?? null, refund.id);
}
