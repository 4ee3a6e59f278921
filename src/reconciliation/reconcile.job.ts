/**
 * The daily reconciliation job: for every provider that lists its days, the last day that is over
 * in the provider's time zone. pg-boss's cron creates one job per tick across all workers; a
 * second run of the same day (a repeated job) is refused while the first goes, and changes
 * nothing new after it.
 */
import type { BillingEngine } from '../billing/engine.ts';
import { ConflictError, errorMessage } from '../lib/errors.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import { reconcileDay, type OperatorAlerts } from './reconcile.ts';

const DAY_MS = 86_400_000;

/** The latest day whose every instant has passed in the provider's time zone. */
export function lastCompleteDay(provider: PaymentProvider, now: Date): string | null {
  if (!provider.settlementWindow) return null;
  for (let back = 0; back <= 2; back++) {
    const day = new Date(now.getTime() - back * DAY_MS).toISOString().slice(0, 10);
    if (provider.settlementWindow(day).to.getTime() < now.getTime()) return day;
  }
  return null;
}

/**
 * Reconciles every provider's last complete day. A run that could not finish (the provider's list
 * did not answer) fails the job after the others ran, so pg-boss tries it again later.
 */
export async function reconcilePreviousDays(engine: BillingEngine, alerts: OperatorAlerts): Promise<void> {
  const failed: string[] = [];
  for (const provider of engine.providers.all()) {
    if (!provider.capabilities.has('order_lists')) continue;
    const day = lastCompleteDay(provider, engine.clock.now());
    if (!day) continue;
    try {
      const { run } = await reconcileDay(engine, { day, provider: provider.name, startedBy: 'worker', alerts });
      if (run.status === 'failed') failed.push(`${provider.name} ${day} (run ${run.id}): ${run.error ?? 'failed'}`);
    } catch (error) {
      if (error instanceof ConflictError) engine.logger.info({ provider: provider.name, day }, errorMessage(error));
      else throw error;
    }
  }
  if (failed.length) throw new Error(`reconciliation did not finish, to be tried again: ${failed.join('; ')}`);
}
