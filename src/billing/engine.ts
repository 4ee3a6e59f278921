/** Everything the renewal jobs, the janitor and the notice listener share, built once by the worker. */
import type { Config } from '../config.ts';
import type { Db } from '../db/connect.ts';
import type { Gateway } from '../payments/provider.ts';
import type { MerchantCredentials } from '../payments/providers/oceanpayment/sign.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { DunningPolicy } from '../subscriptions/subscription-machine.ts';
import type { Metrics } from '../worker/metrics.ts';
import type { FollowUps } from '../subscriptions/transitions.ts';
import type { RecordContext } from './record-outcomes.ts';

export interface RenewalEngine {
  readonly db: Db;
  readonly gateway: Gateway;
  readonly credentials: MerchantCredentials;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly policy: DunningPolicy;
  readonly querySchedule: readonly number[];
  readonly maxCatchupPeriods: number;
  readonly timeoutMs: number;
  /** Sent with every charge: where the gateway posts notices and sends the customer back. */
  readonly urls: { readonly notice: string; readonly back: string };
  readonly followUps?: FollowUps;
}

export function engineSettings(config: Config) {
  return {
    policy: { retryScheduleMs: config.renewals.retryScheduleMs, requestErrorRetryMs: config.renewals.requestErrorRetryMs },
    querySchedule: config.renewals.queryScheduleMs,
    maxCatchupPeriods: config.renewals.maxCatchupPeriods,
    timeoutMs: config.gateway.timeoutMs,
    urls: { notice: `${config.http.publicUrl}/oceanpayment/notice`, back: `${config.http.publicUrl}/oceanpayment/return` },
  };
}

export function recordContext(engine: RenewalEngine): RecordContext {
  return {
    now: engine.clock.now(),
    policy: engine.policy,
    querySchedule: engine.querySchedule,
    ...(engine.followUps ? { followUps: engine.followUps } : {}),
  };
}

/**
 * How long after a request its outcome should be known: the request timeout plus the first
 * query delay. A `sending` attempt older than this is queried; a queue mark older than this
 * belonged to a job whose worker died.
 */
export function answerDeadlineMs(engine: Pick<RenewalEngine, 'timeoutMs' | 'querySchedule'>): number {
  return engine.timeoutMs + (engine.querySchedule[0] ?? 60_000);
}
