/**
 * Taking the customer to the provider's hosted page for the first purchase. Like a renewal, the
 * charge (with a fresh order number) is committed before the request leaves, and the provider's
 * answer is recorded through the one path every outcome takes. A charge already waiting for the
 * customer is reused, so opening the link twice never opens a second order.
 */
import type { PaymentTransaction } from '../db/database.ts';
import { errorMessage } from '../lib/errors.ts';
import { invoiceKey, openInvoices } from '../payments/invoices/invoice.repo.ts';
import type { ChargeOutcome } from '../payments/outcomes.ts';
import { operation, type CheckoutStart, type PaymentProvider } from '../payments/provider.ts';
import { CHECKOUT_DETAILS } from '../payments/transactions/checkout-charge.ts';
import { chargeHistory, insertTransactions, openChargeOf } from '../payments/transactions/transaction.repo.ts';
import { renewalAt } from '../plans/billing-calendar.ts';
import { lockSubscriptions, stateOf } from '../subscriptions/subscription.repo.ts';
import { applyEvent } from '../subscriptions/transitions.ts';
import { newChargeRow } from '../billing/claim-charges.ts';
import { ChangeSet, commitChanges } from '../billing/commit.ts';
import { answerDeadlineMs, providerUrls, recordContext, type BillingEngine } from '../billing/engine.ts';
import { recordOutcomes } from '../billing/record-outcomes.ts';
import { checkoutRequest } from '../billing/renewal-request.ts';

export type CheckoutStep =
  /** The provider's page is ready: send the customer there. */
  | { kind: 'redirect'; charge: PaymentTransaction }
  /** An earlier try's outcome is still being sought: nothing new is opened until it is known. */
  | { kind: 'waiting'; charge: PaymentTransaction }
  /** The subscription no longer waits for a first purchase (paid, expired, canceled). */
  | { kind: 'not_open'; status: string }
  /** The provider could not open its page now; the customer may try again. */
  | { kind: 'failed'; charge: PaymentTransaction | null; reason: string };

/** The provider new customers pay through: the default one, which must offer hosted checkout. */
export function checkoutProvider(engine: BillingEngine): PaymentProvider {
  return engine.providers.default;
}

export async function startCheckout(engine: BillingEngine, subscriptionId: string): Promise<CheckoutStep> {
  const provider = checkoutProvider(engine);
  const claimed = await claimCheckoutCharge(engine, provider, subscriptionId);
  if (claimed.kind !== 'claimed') return claimed;
  const { charge, subscription } = claimed;
  const stopTimer = engine.metrics.gatewayLatency.startTimer({ operation: 'checkout' });
  const started = await Promise.resolve()
    .then(() => operation(provider, 'startCheckout', 'hosted_checkout')(checkoutRequest(subscription, charge, providerUrls(engine, provider.name))))
    .catch((error: unknown): CheckoutStart => ({ kind: 'unknown', reason: errorMessage(error) }));
  stopTimer();
  await engine.db.transaction().execute((tx) =>
    recordOutcomes(tx, [{ transactionId: charge.id, resolution: { kind: 'outcome', outcome: outcomeOf(started) }, actor: 'gateway:sync' }], recordContext(engine)),
  );
  const now = await engine.db.selectFrom('payment_transactions').selectAll().where('id', '=', charge.id).executeTakeFirstOrThrow();
  if (now.status === 'action_required') return { kind: 'redirect', charge: now };
  engine.logger.warn({ transaction_id: charge.id, order_number: charge.reference, checkout: started.kind }, 'hosted checkout not opened');
  return { kind: 'failed', charge: now, reason: started.kind === 'redirect' ? 'the provider\'s answer was not applied' : started.kind === 'refused' ? started.message : started.reason };
}

/** A hosted page is a step the customer must take: the same outcome a 3-D Secure page is. */
function outcomeOf(started: CheckoutStart): ChargeOutcome {
  switch (started.kind) {
    case 'redirect':
      return { kind: 'action_required', payUrl: started.url, ...(started.paymentId ? { paymentId: started.paymentId } : {}) };
    case 'refused':
      return { kind: 'declined', declineClass: 'request', code: started.code, details: started.message };
    case 'unknown':
      return { kind: 'unknown', reason: started.reason };
  }
}

type Claim =
  | { kind: 'claimed'; charge: PaymentTransaction; subscription: import('../db/database.ts').Subscription }
  | Exclude<CheckoutStep, { kind: 'failed' }>;

/** Transaction 1: under the subscription's lock, reuse the waiting charge or commit a new one. */
async function claimCheckoutCharge(engine: BillingEngine, provider: PaymentProvider, subscriptionId: string): Promise<Claim> {
  const now = engine.clock.now();
  return engine.db.transaction().execute(async (tx): Promise<Claim> => {
    const [row] = await lockSubscriptions(tx, [subscriptionId]);
    if (!row || row.status !== 'incomplete' || row.payment_method_id !== null) return { kind: 'not_open', status: row?.status ?? 'missing' };
    const open = await openChargeOf(tx, row.id);
    if (open) return open.status === 'action_required' && open.action_url ? { kind: 'redirect', charge: open } : { kind: 'waiting', charge: open };
    const state = stateOf(row);
    const started = applyEvent(row, state, { type: 'charge_started', period: 0 }, { now, actor: 'customer' }, engine.policy);
    if (!started.ok) return { kind: 'not_open', status: row.status };
    const tries = (await chargeHistory(tx, [row.id])).find((h) => h.period === 0)?.attempts ?? 0;
    const attempt = newChargeRow(row, provider, { period: 0, attemptNumber: Number(tries) + 1, now, queryAfterMs: answerDeadlineMs(engine), details: { ...CHECKOUT_DETAILS } });
    const invoices = await openInvoices(tx, [{ subscriptionId: row.id, period: 0, amountDueMinor: row.amount_minor, currency: row.currency, dueAt: renewalAt(state.plan, 0) }]);
    const [charge] = await insertTransactions(tx, [{ ...attempt, invoice_id: invoices.get(invoiceKey(row.id, 0))!.id }]);
    const changes = new ChangeSet();
    changes.subscriptions.set(row.id, started.change);
    for (const event of started.events) {
      event.transactionId = charge!.id;
      event.data = { ...event.data, order_number: charge!.reference, service_mode: charge!.details.service_mode, amount_minor: charge!.amount_minor, currency: charge!.currency };
    }
    changes.events.push(...started.events);
    await commitChanges(tx, changes, { now, followUps: engine.followUps });
    return { kind: 'claimed', charge: charge!, subscription: row };
  });
}
