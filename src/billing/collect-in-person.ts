/**
 * Collecting a period at a counter (`rebill collect`): the due period's charge is claimed and
 * committed like any renewal, then sent as a face-to-face WeChat Pay or Alipay order. A scanned
 * code is answered at once; a QR order waits for the customer, settled by the notice or by
 * querying, and an order left unpaid is voided at the provider so it can no longer be paid, and
 * only then recorded as not paid (a query first: a payment made meanwhile is kept).
 */
import type { ChargeStatus, PaymentTransaction } from '../db/database.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { operation, type InPersonRequest } from '../payments/provider.ts';
import type { ChargeOutcome } from '../payments/outcomes.ts';
import { isFinal } from '../payments/transactions/charge-machine.ts';
import { findTransactionByReference } from '../payments/transactions/transaction.repo.ts';
import { findSubscription } from '../subscriptions/subscription.repo.ts';
import { claimCharges } from './claim-charges.ts';
import { claimContext, providerUrls, recordContext, type BillingEngine } from './engine.ts';
import { queryCharges } from './janitor.ts';
import { recordOutcomes } from './record-outcomes.ts';
import { paymentLinkRequest } from './renewal-request.ts';

export type InPersonMethod = InPersonRequest['method'];

/** Claims the subscription's due period and sends it to the provider; returns the charge as recorded. */
export async function startInPersonCollection(engine: BillingEngine, subscriptionId: string, method: InPersonMethod, actor: string): Promise<PaymentTransaction> {
  const subscription = await findSubscription(engine.db, subscriptionId);
  if (!subscription) throw new NotFoundError(`no subscription has id ${subscriptionId}`);
  if (subscription.collection_method !== 'in_person') {
    throw new ConflictError(`subscription ${subscriptionId} is collected by ${subscription.collection_method.replace('_', ' ')}, not in person: rebill collect is for subscriptions enrolled with --collection in_person`);
  }
  const [claimed] = await claimCharges(engine.db, [subscriptionId], claimContext(engine, { actor, inPerson: true }));
  if (!claimed) {
    const due = subscription.next_attempt_at ? `its next payment is due ${subscription.next_attempt_at.toISOString()}` : `it is ${subscription.status}`;
    throw new ConflictError(`nothing to collect for subscription ${subscriptionId} now: ${due}, or a payment is still awaiting its outcome (rebill show ${subscriptionId})`);
  }
  const { attempt } = claimed;
  let outcome: ChargeOutcome;
  try {
    const collect = operation(engine.providers.get(attempt.provider), 'collectInPerson', 'in_person_qr');
    outcome = await collect({ ...paymentLinkRequest(claimed.subscription, attempt, providerUrls(engine, attempt.provider)), method });
  } catch (error) {
    outcome = { kind: 'unknown', reason: `the request could not be made: ${String(error)}` };
  }
  await engine.db.transaction().execute((tx) =>
    recordOutcomes(tx, [{ transactionId: attempt.id, resolution: { kind: 'outcome', outcome }, actor }], recordContext(engine)),
  );
  return (await findTransactionByReference(engine.db, attempt.reference))!;
}

export interface WaitSettings {
  /** How long the customer has to pay a QR order before it is voided. */
  timeoutMs: number;
  /** How often the provider is asked meanwhile (the notice usually comes first). */
  queryEveryMs: number;
  /** Real time to sleep between looks (the engine's clock may be a test's). */
  sleep: (ms: number) => Promise<void>;
}

/** Waits until the charge is settled, voiding a QR order still unpaid after the timeout. */
export async function settleInPersonCollection(engine: BillingEngine, charge: PaymentTransaction, actor: string, settings: WaitSettings): Promise<PaymentTransaction> {
  const deadline = Date.now() + settings.timeoutMs;
  let nextQuery = Date.now() + settings.queryEveryMs;
  for (;;) {
    const current = (await findTransactionByReference(engine.db, charge.reference))!;
    if (isFinal(current.status as ChargeStatus)) return current;
    if (Date.now() >= deadline) return voidUnpaid(engine, current, actor, settings.timeoutMs);
    if (Date.now() >= nextQuery) {
      await queryCharges(engine, [current], 1).catch(() => undefined);
      nextQuery = Date.now() + settings.queryEveryMs;
      continue;
    }
    await settings.sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

/** Voids the order at the provider, then asks it once more: only an order still unpaid is recorded as not paid. */
export async function voidUnpaid(engine: BillingEngine, charge: PaymentTransaction, actor: string, timeoutMs: number): Promise<PaymentTransaction> {
  const provider = engine.providers.get(charge.provider);
  const voided = await operation(provider, 'voidInPerson', 'in_person_qr')(charge.reference).catch((error: unknown) => ({ kind: 'unknown' as const, reason: String(error) }));
  await queryCharges(engine, [charge], 1).catch(() => undefined);
  const after = (await findTransactionByReference(engine.db, charge.reference))!;
  if (isFinal(after.status as ChargeStatus) || voided.kind !== 'sent') return after;
  const outcome: ChargeOutcome = {
    kind: 'declined',
    declineClass: 'soft',
    code: 'voided',
    details: `not paid at the counter within ${Math.round(timeoutMs / 1000)} s; the QR code was voided`,
    ...(after.provider_reference ? { paymentId: after.provider_reference } : {}),
  };
  await engine.db.transaction().execute((tx) =>
    recordOutcomes(tx, [{ transactionId: after.id, resolution: { kind: 'outcome', outcome }, actor }], recordContext(engine)),
  );
  return (await findTransactionByReference(engine.db, charge.reference))!;
}
