/** Everything the renewal jobs, the janitor, refunds and the notice listener share, built once. */
import type { Db } from '../db/connect.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import type { PaymentProviders } from '../payments/provider.ts';
import type { DunningPolicy } from '../subscriptions/subscription-machine.ts';
import type { FollowUps } from './commit.ts';
import type { ClaimContext } from './claim-charges.ts';
import type { RecordContext } from './record-outcomes.ts';

export interface BillingPolicy {
  /** A period paid twice (or paid after the cancel): refund the extra payment, or only flag it. */
  readonly doublePayment: 'refund' | 'flag';
  /** A confirmed chargeback or fraud return ends the subscription (no more renewals), or not. */
  readonly stopOnDispute: boolean;
}

export interface BillingEngine {
  readonly db: Db;
  readonly providers: PaymentProviders;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly policy: DunningPolicy;
  readonly billing: BillingPolicy;
  /** Delays between queries of an unresolved transaction; the last one repeats. */
  readonly querySchedule: readonly number[];
  readonly maxCatchupPeriods: number;
  /** How long a provider may take to answer before the outcome counts as unknown. */
  readonly timeoutMs: number;
  /** Where providers reach rebill: `{publicUrl}/payments/{provider}/notice` and `/return`. */
  readonly publicUrl: string;
  readonly followUps: FollowUps;
}

/** Where a provider posts its notices and sends the customer back. */
export function providerUrls(engine: Pick<BillingEngine, 'publicUrl'>, provider: string): { notice: string; return: string } {
  return { notice: `${engine.publicUrl}/payments/${provider}/notice`, return: `${engine.publicUrl}/payments/${provider}/return` };
}

export function recordContext(engine: BillingEngine): RecordContext {
  return {
    now: engine.clock.now(),
    policy: engine.policy,
    billing: engine.billing,
    querySchedule: engine.querySchedule,
    followUps: engine.followUps,
  };
}

/** What a claim of due periods needs, as the engine gives it (by the worker, or at a counter with `inPerson`). */
export function claimContext(engine: BillingEngine, extra: Pick<ClaimContext, 'actor' | 'inPerson'> = {}): ClaimContext {
  return {
    now: engine.clock.now(),
    policy: engine.policy,
    maxCatchupPeriods: engine.maxCatchupPeriods,
    providers: engine.providers,
    queryAfterMs: answerDeadlineMs(engine),
    followUps: engine.followUps,
    ...extra,
  };
}

/**
 * How long after a request its outcome should be known: the request timeout plus the first
 * query delay. A `sending` charge older than this is queried; a queue mark older than this
 * belonged to a job whose worker died.
 */
export function answerDeadlineMs(engine: Pick<BillingEngine, 'timeoutMs' | 'querySchedule'>): number {
  return engine.timeoutMs + (engine.querySchedule[0] ?? 60_000);
}
