/**
 * A confirmed chargeback (or fraud return) of a payment: recorded as a chargeback transaction of
 * that payment, its invoice marked, the operator told, and (by policy) no more renewals of that
 * subscription. Only ever called once the provider has confirmed it: the notices that announce
 * chargebacks cannot be verified.
 */
import type { Tx } from '../db/connect.ts';
import type { PaymentTransaction } from '../db/database.ts';
import type { Money } from '../lib/money.ts';
import { applyToInvoice } from '../payments/invoices/invoice-machine.ts';
import { invoiceStateOf, lockInvoices } from '../payments/invoices/invoice.repo.ts';
import { nextChargebackStep } from '../payments/transactions/chargeback-machine.ts';
import { childTransaction, childrenOf, insertTransactions, lockTransactions } from '../payments/transactions/transaction.repo.ts';
import { lockSubscriptions, stateOf } from '../subscriptions/subscription.repo.ts';
import { applyEvent } from '../subscriptions/transitions.ts';
import { ChangeSet, commitChanges } from './commit.ts';
import type { RecordContext } from './record-outcomes.ts';

export interface ConfirmedDispute {
  chargeId: number;
  category: 'chargeback' | 'fraud';
  /** Null when the provider does not say how much: the whole payment. */
  money: Money | null;
  actor: string;
}

export type DisputeRecorded = { recorded: true; chargeback: PaymentTransaction } | { recorded: false; why: string };

export async function recordChargeback(tx: Tx, dispute: ConfirmedDispute, ctx: RecordContext & { stopOnDispute: boolean }): Promise<DisputeRecorded> {
  const seen = await tx.selectFrom('payment_transactions').select(['subscription_id', 'invoice_id']).where('id', '=', dispute.chargeId).executeTakeFirst();
  if (!seen) return { recorded: false, why: `no payment ${dispute.chargeId}` };
  const [subscription] = await lockSubscriptions(tx, [seen.subscription_id]);
  const [charge] = await lockTransactions(tx, [dispute.chargeId]);
  const [invoice] = await lockInvoices(tx, [seen.invoice_id]);
  if (!subscription || !charge || !invoice || charge.kind !== 'charge') return { recorded: false, why: 'not a payment' };
  const earlier = (await childrenOf(tx, [charge.id])).filter((c) => c.kind === 'chargeback');
  const step = nextChargebackStep(earlier.length ? (earlier[0]!.status as 'succeeded' | 'reversed') : null, { kind: 'confirmed' });
  if (!step.changed) return { recorded: false, why: step.why };
  const money = dispute.money ?? { amountMinor: charge.amount_minor, currency: charge.currency };
  const [chargeback] = await insertTransactions(tx, [childTransaction(charge, {
    kind: 'chargeback',
    reference: `${charge.reference}-CB${earlier.length + 1}`,
    amountMinor: money.amountMinor,
    currency: money.currency,
    status: step.status,
    reason: dispute.category,
    details: { category: dispute.category },
    requestedAt: ctx.now,
    nextQueryAt: null,
    resolvedAt: ctx.now,
  })]);
  const changes = new ChangeSet();
  const applied = applyToInvoice(invoiceStateOf(invoice), { type: 'chargeback_confirmed', amountMinor: money.amountMinor });
  if (!applied.ok) throw new Error(`invoice ${invoice.id}: ${applied.refusal}`);
  changes.invoices.set(invoice.id, { id: invoice.id, state: applied.state, paidAt: null });
  const base = { subscriptionId: subscription.id, transactionId: chargeback!.id, actor: dispute.actor, occurredAt: ctx.now };
  changes.events.push({
    ...base,
    type: 'chargeback_confirmed',
    reason: `${dispute.category === 'fraud' ? 'fraud return' : 'chargeback'} of order ${charge.reference}, confirmed with ${charge.provider}`,
    data: { order_number: charge.reference, amount_minor: money.amountMinor, currency: money.currency, category: dispute.category, chargeback_reference: chargeback!.reference },
  });
  if (ctx.stopOnDispute) {
    const before = stateOf(subscription);
    const stopped = applyEvent(subscription, before, { type: 'dispute_received' }, { now: ctx.now, actor: dispute.actor, reason: `the customer disputed order ${charge.reference}: no more renewals`, transactionId: chargeback!.id }, ctx.policy);
    if (stopped.ok) {
      changes.subscriptions.set(subscription.id, stopped.change);
      changes.events.push(...stopped.events);
      changes.records.push({ kind: 'subscription', subscription, before, after: stopped.state, event: { type: 'dispute_received' }, flags: [], charge: null });
    }
  }
  changes.records.push({ kind: 'dispute', subscription, chargeback: chargeback!, charge, invoice });
  await commitChanges(tx, changes, { now: ctx.now, followUps: ctx.followUps });
  return { recorded: true, chargeback: chargeback! };
}
