/**
 * Charging a batch of due subscriptions (or, for those collected by link, creating each period's
 * payment): claim them (transaction 1), call each one's provider with
 * no lock held, then record every answer together (transaction 2). If recording fails or the
 * process dies in between, the charges stay `sending` and the janitor resolves them by query.
 */
import type { ChargeOutcome } from '../payments/outcomes.ts';
import { operation } from '../payments/provider.ts';
import { claimCharges, type ClaimedCharge } from './claim-charges.ts';
import { claimContext, providerUrls, recordContext, type BillingEngine } from './engine.ts';
import { recordOutcomes, type RecordedOutcome } from './record-outcomes.ts';
import { paymentLinkRequest, renewalChargeRequest } from './renewal-request.ts';

export async function chargeSubscriptions(engine: BillingEngine, subscriptionIds: readonly string[]): Promise<RecordedOutcome[]> {
  const claimed = await claimCharges(engine.db, subscriptionIds, claimContext(engine));
  if (!claimed.length) return [];
  const answers = await Promise.all(claimed.map((charge) => send(engine, charge)));
  return engine.db.transaction().execute((tx) =>
    recordOutcomes(
      tx,
      answers.map(({ charge, outcome }) => ({
        transactionId: charge.attempt.id,
        resolution: { kind: 'outcome', outcome },
        actor: 'gateway:sync',
      })),
      recordContext(engine),
    ),
  );
}

async function send(engine: BillingEngine, charge: ClaimedCharge): Promise<{ charge: ClaimedCharge; outcome: ChargeOutcome }> {
  const { attempt, subscription, method } = charge;
  // Plain fields rather than a child logger: this runs for every charge.
  const ids = { subscription_id: subscription.id, transaction_id: attempt.id, order_number: attempt.reference };
  const dueAt = subscription.next_attempt_at ?? attempt.requested_at;
  engine.metrics.dueToSentLag.observe(Math.max(0, (engine.clock.now().getTime() - dueAt.getTime()) / 1000));
  const stopTimer = engine.metrics.gatewayLatency.startTimer({ operation: 'charge' });
  let outcome: ChargeOutcome;
  try {
    const provider = engine.providers.get(attempt.provider);
    const urls = providerUrls(engine, attempt.provider);
    // A period collected by link: the provider makes the payment its page takes; the customer is e-mailed the link.
    outcome = subscription.collection_method === 'payment_link'
      ? await operation(provider, 'createPaymentLink', 'payment_link')(paymentLinkRequest(subscription, attempt, urls))
      : await operation(provider, 'chargeToken', 'token_charge')(renewalChargeRequest(subscription, attempt, method, urls));
  } catch (error) {
    // A bug in building the request: nothing was sent, but only a query can prove it.
    engine.logger.error({ ...ids, err: error }, 'charge request could not be made');
    outcome = { kind: 'unknown', reason: `the request could not be made: ${String(error)}` };
  }
  stopTimer();
  const label = outcome.kind === 'declined' ? `declined_${outcome.declineClass}` : outcome.kind;
  engine.metrics.charges.inc({ outcome: label });
  if (outcome.kind === 'declined' && outcome.declineClass === 'request') {
    engine.metrics.requestErrors.inc();
    engine.logger.error({ ...ids, code: outcome.code, details: outcome.details }, 'the gateway refused our request as malformed: check the configuration');
  } else {
    engine.logger.info({ ...ids, outcome: label, provider: attempt.provider, period: attempt.period, ...attempt.details }, 'charge answered');
  }
  return { charge, outcome };
}
