/**
 * The one place a state change is committed: transactions, invoices and subscriptions saved, the
 * typed events that explain them appended, and the follow-ups (e-mails, payment links, outbound
 * events) run, all in the caller's transaction. Follow-ups are never optional: every writer
 * (worker, janitor, notices, CLI, API) goes through here with the same ones.
 */
import type { Tx } from '../db/connect.ts';
import type { Invoice, PaymentTransaction, Subscription } from '../db/database.ts';
import { insertEvents, type NewEvent } from '../events/events.repo.ts';
import { saveInvoices, type InvoiceUpdate } from '../payments/invoices/invoice.repo.ts';
import { insertMethods, type NewMethod } from '../payments/methods/payment-method.repo.ts';
import { saveTransactions, type TransactionUpdate } from '../payments/transactions/transaction.repo.ts';
import { saveSubscriptionStates, usePaymentMethods, type SubscriptionChange } from '../subscriptions/subscription.repo.ts';
import type { SubscriptionEvent, SubscriptionState, TransitionFlag } from '../subscriptions/subscription-machine.ts';

/** A subscription's change (or only its charge's), for what must follow it. */
export interface SubscriptionRecord {
  kind: 'subscription';
  /** The row as it was before. */
  subscription: Subscription;
  before: SubscriptionState;
  after: SubscriptionState;
  /** null when only the charge changed (pending, unknown). */
  event: SubscriptionEvent | null;
  flags: TransitionFlag[];
  charge: PaymentTransaction | null;
}

/** A refund's change: the customer hears of money coming back. */
export interface RefundRecord {
  kind: 'refund';
  subscription: Subscription;
  refund: PaymentTransaction;
  charge: PaymentTransaction;
  /** Why rebill asked for it itself, when it did. */
  automatic: 'double_payment' | 'paid_after_cancel' | null;
}

/** A confirmed chargeback or fraud return: the operator must know. */
export interface DisputeRecord {
  kind: 'dispute';
  subscription: Subscription;
  chargeback: PaymentTransaction;
  charge: PaymentTransaction;
  invoice: Invoice;
}

export type ChangeRecord = SubscriptionRecord | RefundRecord | DisputeRecord;

/** What must commit with a change: customer e-mails, payment links, outbound events. */
export interface FollowUps {
  afterChanges(tx: Tx, records: readonly ChangeRecord[], now: Date): Promise<void>;
}

/** Several follow-ups run in order as one. */
export function allFollowUps(...parts: readonly FollowUps[]): FollowUps {
  return {
    async afterChanges(tx, records, now) {
      for (const part of parts) await part.afterChanges(tx, records, now);
    },
  };
}

/** Everything one commit writes. */
export class ChangeSet {
  readonly transactions = new Map<number, TransactionUpdate>();
  readonly invoices = new Map<number, InvoiceUpdate>();
  readonly subscriptions = new Map<string, SubscriptionChange>();
  /** A first payment method for a subscription that had none (the token a checkout created). */
  readonly methods = new Map<string, NewMethod>();
  readonly events: NewEvent[] = [];
  readonly records: ChangeRecord[] = [];

  get empty(): boolean {
    return !this.transactions.size && !this.invoices.size && !this.subscriptions.size && !this.methods.size && !this.events.length && !this.records.length;
  }
}

export async function commitChanges(tx: Tx, changes: ChangeSet, ctx: { now: Date; followUps: FollowUps }): Promise<void> {
  await saveTransactions(tx, [...changes.transactions.values()]);
  await saveInvoices(tx, [...changes.invoices.values()]);
  await saveSubscriptionStates(tx, [...changes.subscriptions.values()]);
  const methods = [...changes.methods.values()];
  const methodIds = await insertMethods(tx, methods);
  await usePaymentMethods(tx, methods.map((m, i) => ({ subscriptionId: m.subscriptionId, paymentMethodId: methodIds[i]! })));
  await insertEvents(tx, changes.events);
  if (changes.records.length) await ctx.followUps.afterChanges(tx, changes.records, ctx.now);
}
