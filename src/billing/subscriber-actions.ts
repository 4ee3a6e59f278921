/**
 * The changes a merchant asks for, as the CLI and the HTTP API both make them: enrol a subscriber
 * (its first purchase charged at once) and charge a due subscription now. One implementation, so
 * the two ways in can never drift apart.
 */
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/connect.ts';
import type { PaymentTransaction, Subscription } from '../db/database.ts';
import { NotFoundError } from '../lib/errors.ts';
import { parseMoney } from '../lib/money.ts';
import { findTransactionByReference } from '../payments/transactions/transaction.repo.ts';
import { enrol, type EnrolInput, type EnrolOptions, type EnrolResult } from '../subscriptions/enrol.ts';
import type { BillingEngine } from './engine.ts';
import { requestRefund, type RefundResult } from './refunds.ts';
import { requestRetry, type OperatorContext } from './operator-actions.ts';
import { queueChargeNow } from './schedule-renewals.job.ts';

export type EnrolAsk = Omit<EnrolOptions, 'afterInsert'>;

/** Enrols one subscriber; a first purchase still to be charged is queued in the same transaction. */
export function enrolSubscriber(db: Db, boss: PgBoss, input: EnrolInput, ask: EnrolAsk): Promise<EnrolResult> {
  return enrol(db, input, {
    ...ask,
    // The first purchase is charged at once, not at the next scheduler tick.
    afterInsert: (tx, rows) => queueChargeNow(boss, tx, rows.filter((r) => r.status === 'incomplete').map((r) => ({ id: r.id, next_period: r.next_period })), ask.now),
  });
}

/** Queues a charge for the subscription's current period now (refused while one is open). */
export function retryNow(db: Db, boss: PgBoss, id: string, ctx: OperatorContext): Promise<Subscription> {
  return requestRetry(db, id, ctx, (tx, row) => queueChargeNow(boss, tx, [row], ctx.now));
}

export interface RefundPaymentAsk {
  orderNumber: string;
  /** A decimal in the payment's currency; omitted: all that is left of the payment. */
  amount?: string | undefined;
  reason: string;
  actor: string;
}

/** Refunds all or part of a payment named by its order number, through the provider that took it. */
export async function refundPayment(engine: BillingEngine, ask: RefundPaymentAsk): Promise<RefundResult & { charge: PaymentTransaction }> {
  const charge = await findTransactionByReference(engine.db, ask.orderNumber);
  if (!charge || charge.kind !== 'charge') throw new NotFoundError(`no payment has order number ${ask.orderNumber} (order numbers are listed by rebill show)`);
  const amount = ask.amount === undefined ? undefined : parseMoney(ask.amount, charge.currency);
  const sent = await requestRefund(engine, { orderNumber: ask.orderNumber, ...(amount ? { amount } : {}), reason: ask.reason, actor: ask.actor });
  return { ...sent, charge };
}
