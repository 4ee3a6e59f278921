/**
 * When a 3-D Secure link (or a period's payment link) runs out, the provider is asked first (the customer may have paid and the
 * notice been lost: never lose a charge); only if it knows nothing final does the attempt expire,
 * and dunning continues: the next retry asks the bank again, and a new link goes out if it must.
 */
import type { PaymentTransaction } from '../db/database.ts';
import type { ChargeOutcome, ChargeQueryResult } from '../payments/outcomes.ts';
import { operation } from '../payments/provider.ts';
import type { Resolution } from '../payments/transactions/charge-machine.ts';
import { recordContext, type BillingEngine } from '../billing/engine.ts';
import { resolutionFromQuery } from '../billing/janitor.ts';
import { recordOutcomes, type OutcomeReport } from '../billing/record-outcomes.ts';
import { attemptsWithExpiredLinks } from './payment-link.repo.ts';

const FINAL: readonly ChargeOutcome['kind'][] = ['approved', 'declined'];

export async function expireLinks(engine: BillingEngine): Promise<number> {
  return settleWaitingCharges(engine, await attemptsWithExpiredLinks(engine.db, engine.clock.now(), 100));
}

/**
 * Charges that waited for the customer too long: what the provider knows that is final wins,
 * otherwise they expire (with `reason`). Returns how many changed.
 */
export async function settleWaitingCharges(engine: BillingEngine, attempts: readonly PaymentTransaction[], reason?: string): Promise<number> {
  if (!attempts.length) return 0;
  const reports: OutcomeReport[] = [];
  for (const attempt of attempts) {
    const queried = await Promise.resolve()
      .then(() => operation(engine.providers.get(attempt.provider), 'queryCharge', 'query')(attempt.reference, attempt.provider_reference))
      .catch((error: unknown): ChargeQueryResult => ({ kind: 'error', reason: String(error) }));
    const answer = resolutionFromQuery(attempt, queried);
    const resolution: Resolution =
      answer.kind === 'outcome' && FINAL.includes(answer.outcome.kind)
        ? answer
        : { kind: 'authentication_expired', ...(reason ? { reason } : attempt.details.collection === 'payment_link' ? { reason: 'the payment link expired unpaid' } : {}) };
    reports.push({ transactionId: attempt.id, resolution, actor: 'janitor' });
  }
  const recorded = await engine.db.transaction().execute((tx) => recordOutcomes(tx, reports, recordContext(engine)));
  return recorded.filter((r) => r.changed).length;
}
