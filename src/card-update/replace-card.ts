/**
 * A customer replaces their card. The token the provider's page sent back through the browser is
 * not proof of anything (its signature formula is unpublished): it is used only once the provider
 * confirms it holds that token for this subscription's customer id. Then it replaces the old
 * payment method, an unpaid period is charged again at once, and the old token is disabled at the
 * provider so it can pay no more.
 */
import type { DbOrTx } from '../db/connect.ts';
import type { Subscription } from '../db/database.ts';
import { insertEvents } from '../events/events.repo.ts';
import { ConflictError, errorMessage } from '../lib/errors.ts';
import { operation, type PaymentProvider } from '../payments/provider.ts';
import { isPlausibleToken } from '../payments/transactions/checkout-charge.ts';
import { openChargeOf } from '../payments/transactions/transaction.repo.ts';
import { activeTokenOf } from '../subscriptions/subscription.repo.ts';
import { closeCustomerLinks } from '../customer-links/customer-link.repo.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { applyOperatorEvent, updateToken, type OperatorContext } from '../billing/operator-actions.ts';

/** The id a subscription's cards are filed under at the provider: one per subscription. */
export function customerIdOf(subscription: Pick<Subscription, 'id'>): string {
  return subscription.id.replaceAll('-', '');
}

/** The provider that stores this subscription's card (its payment method's, or the default). */
export async function cardProvider(engine: BillingEngine, db: DbOrTx, subscription: Subscription): Promise<PaymentProvider> {
  const method = subscription.payment_method_id === null ? undefined : await db.selectFrom('payment_methods').select('provider').where('id', '=', subscription.payment_method_id).executeTakeFirst();
  return method ? engine.providers.get(method.provider) : engine.providers.default;
}

export type CardReplacement =
  | { kind: 'replaced'; subscription: Subscription; chargingNow: boolean; oldDisabled: boolean }
  | { kind: 'refused'; reason: string }
  /** The provider could not be asked now: nothing changed, the customer may come back. */
  | { kind: 'try_later'; reason: string };

export async function replaceCard(engine: BillingEngine, subscription: Subscription, token: string): Promise<CardReplacement> {
  if (!isPlausibleToken(token)) return { kind: 'refused', reason: 'the card page did not send back a card token' };
  const provider = await cardProvider(engine, engine.db, subscription);
  const confirmed = await Promise.resolve()
    .then(() => operation(provider, 'confirmToken', 'tokenise')(customerIdOf(subscription), token))
    .catch((error: unknown) => ({ kind: 'error' as const, reason: errorMessage(error) }));
  if (confirmed.kind === 'error') return { kind: 'try_later', reason: confirmed.reason };
  if (confirmed.kind === 'not_confirmed') return { kind: 'refused', reason: confirmed.reason };
  const previous = await activeTokenOf(engine.db, subscription);
  const ctx: OperatorContext = {
    now: engine.clock.now(), actor: 'customer', reason: 'the customer saved a new card', policy: engine.policy, billing: engine.billing, followUps: engine.followUps,
  };
  let updated: Subscription;
  try {
    updated = await updateToken(engine.db, subscription.id, token, ctx, { expiry: confirmed.expiry, provider: provider.name });
  } catch (error) {
    // The same card saved twice (a second return), or the subscription changed meanwhile.
    if (error instanceof ConflictError) return { kind: 'refused', reason: error.message };
    throw error;
  }
  await closeCustomerLinks(engine.db, [subscription.id], ctx.now, 'card updated', ['card_update']);
  // An unpaid period is charged again at once with the new card (unless a charge is still open).
  const chargingNow = (updated.status === 'past_due' || updated.status === 'unpaid') && !(await openChargeOf(engine.db, subscription.id));
  if (chargingNow) updated = await applyOperatorEvent(engine.db, subscription.id, { type: 'retry_requested' }, ctx);
  const oldDisabled = previous ? await disableOldToken(engine, provider, subscription.id, previous) : true;
  return { kind: 'replaced', subscription: updated, chargingNow, oldDisabled };
}

/** The replaced token can pay no more; a failure is recorded for a person, the new card stays. */
async function disableOldToken(engine: BillingEngine, provider: PaymentProvider, subscriptionId: string, token: string): Promise<boolean> {
  const answer = await Promise.resolve()
    .then(() => operation(provider, 'disableToken', 'tokenise')(token))
    .catch((error: unknown) => ({ kind: 'error' as const, reason: errorMessage(error) }));
  await insertEvents(engine.db, [{
    subscriptionId, type: 'payment_method_disabled', actor: 'customer', occurredAt: engine.clock.now(),
    reason: answer.kind === 'error' ? answer.reason : null,
    data: { provider: provider.name, token_ends: token.slice(-6), disabled_at_provider: answer.kind === 'disabled' },
  }]);
  if (answer.kind === 'error') engine.logger.warn({ subscription_id: subscriptionId, reason: answer.reason }, 'the replaced card token could not be disabled at the provider');
  return answer.kind === 'disabled';
}

