/**
 * The janitor resolves what the gateway has not told us: it queries attempts left `sending`
 * (timeout, crash), `unknown` or `pending` on a backoff schedule; ends dunning for subscriptions
 * that waited past the last retry; and releases queue marks whose job was lost.
 */
import { sql } from 'kysely';
import type { ChargeAttempt } from '../db/database.ts';
import type { QueryResult } from '../payments/providers/oceanpayment/query-response.ts';
import { sameGatewayAmount } from '../lib/money.ts';
import { insertEvents } from '../events/events.repo.ts';
import { saveSubscriptionStates, stateOf } from '../subscriptions/subscription.repo.ts';
import { applyEvent } from '../subscriptions/transitions.ts';
import type { Resolution } from '../payments/transactions/charge-machine.ts';
import { answerDeadlineMs, recordContext, type RenewalEngine } from './engine.ts';
import { recordOutcomes, type RecordedOutcome } from './record-outcomes.ts';
import { releaseStaleQueueLeases } from './schedule-renewals.job.ts';

export interface JanitorSettings {
  /** Attempts queried per pass. */
  queryBatch: number;
  /** Queries in flight at once. */
  queryConcurrency: number;
}

export const DEFAULT_JANITOR_SETTINGS: JanitorSettings = { queryBatch: 200, queryConcurrency: 8 };

export interface JanitorReport {
  queried: number;
  resolved: number;
  unpaid: number;
  releasedLeases: number;
}

export async function runJanitor(engine: RenewalEngine, settings: JanitorSettings = DEFAULT_JANITOR_SETTINGS): Promise<JanitorReport> {
  const now = engine.clock.now();
  const attempts = await claimAttemptsToQuery(engine, now, settings.queryBatch);
  const recorded = await queryAttempts(engine, attempts, settings.queryConcurrency);
  const unpaid = await endExhaustedDunning(engine, now);
  // A charge job taken by a worker that died stays `active` in pg-boss until it expires; its
  // subscription is queued again sooner than that (a duplicate job finds nothing to do).
  const releasedLeases = await releaseStaleQueueLeases(engine.db, now, answerDeadlineMs(engine));
  return { queried: attempts.length, resolved: recorded.filter((r) => r.changed).length, unpaid, releasedLeases };
}

/**
 * Takes due attempts for querying. Their next query moves past the request timeout first, so
 * another worker's janitor leaves them alone, and a janitor that dies mid-query tries again later.
 */
async function claimAttemptsToQuery(engine: RenewalEngine, now: Date, limit: number): Promise<ChargeAttempt[]> {
  const lease = new Date(now.getTime() + answerDeadlineMs(engine));
  const { rows } = await sql<ChargeAttempt>`
    update charge_attempts a set next_query_at = ${lease}
    from (
      select id from charge_attempts where next_query_at <= ${now}
      order by next_query_at limit ${limit} for update skip locked
    ) due
    where a.id = due.id
    returning a.*`.execute(engine.db);
  return rows;
}

/** Queries attempts and records what the gateway says; used by the janitor and `rebill resolve`. */
export async function queryAttempts(engine: RenewalEngine, attempts: readonly ChargeAttempt[], concurrency = 8): Promise<RecordedOutcome[]> {
  const reports: { attemptId: number; resolution: Resolution }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < attempts.length) {
      const attempt = attempts[next++]!;
      const stopTimer = engine.metrics.gatewayLatency.startTimer({ operation: 'query' });
      const result = await engine.gateway.query(attempt.order_number).catch(
        (error: unknown): QueryResult => ({ kind: 'error', reason: String(error) }),
      );
      stopTimer();
      const resolution = resolutionFromQuery(attempt, result);
      engine.logger.info(
        { attempt_id: attempt.id, order_number: attempt.order_number, query: result.kind, resolution: resolution.kind },
        'attempt queried',
      );
      reports.push({ attemptId: attempt.id, resolution });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, attempts.length) }, worker));
  if (!reports.length) return [];
  return engine.db.transaction().execute((tx) =>
    recordOutcomes(tx, reports.map((r) => ({ ...r, actor: 'gateway:query', fromQuery: true })), recordContext(engine)),
  );
}

export function resolutionFromQuery(attempt: ChargeAttempt, result: QueryResult): Resolution {
  if (result.kind === 'error') return { kind: 'still_unresolved', reason: result.reason };
  if (result.kind === 'not_found') return { kind: 'not_sent', reason: `the gateway has no order ${attempt.order_number}` };
  const money = { amountMinor: attempt.amount_minor, currency: attempt.currency };
  const entries = result.entries.filter((e) => e.currency === attempt.currency && sameGatewayAmount(e.amount, money));
  if (entries.length < result.entries.length) {
    return { kind: 'still_unresolved', reason: 'the query returned an amount or currency that does not match the attempt' };
  }
  // An order may hold several payment attempts; any success settles it, else the newest speaks.
  const entry = entries.find((e) => e.outcome.kind === 'approved') ?? entries[0];
  if (!entry) return { kind: 'still_unresolved', reason: 'the query returned no usable entry' };
  return { kind: 'outcome', outcome: entry.outcome };
}

/**
 * Subscriptions waiting with nothing scheduled (hard decline, expired 3-D Secure) become unpaid
 * when the retry schedule would have ended.
 */
async function endExhaustedDunning(engine: RenewalEngine, now: Date): Promise<number> {
  const lastRetryMs = Math.max(...engine.policy.retryScheduleMs);
  const deadline = new Date(now.getTime() - lastRetryMs);
  return engine.db.transaction().execute(async (tx) => {
    const rows = await tx
      .selectFrom('subscriptions')
      .selectAll()
      .where('next_attempt_at', 'is', null)
      .where('status', 'in', ['incomplete', 'past_due'])
      .where('past_due_since', '<=', deadline)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('charge_attempts')
              .select('id')
              .whereRef('charge_attempts.subscription_id', '=', 'subscriptions.id')
              .where('status', 'in', ['sending', 'pending', 'action_required', 'unknown']),
          ),
        ),
      )
      .orderBy('id')
      .limit(500)
      .forNoKeyUpdate()
      .skipLocked()
      .execute();
    const applied = rows.flatMap((row) => {
      const before = stateOf(row);
      const result = applyEvent(row, before, { type: 'dunning_exhausted' }, {
        now,
        actor: 'janitor',
        reason: 'no successful payment before the end of the retry schedule',
      }, engine.policy);
      return result.ok ? [{ row, before, result }] : [];
    });
    await saveSubscriptionStates(tx, applied.map((a) => a.result.change));
    await insertEvents(tx, applied.flatMap((a) => a.result.events));
    await engine.followUps?.afterChanges(
      tx,
      applied.map(({ row, before, result }) => ({ subscription: row, before, after: result.state, event: { type: 'dunning_exhausted' }, flags: [], attempt: null })),
      now,
    );
    return applied.length;
  });
}
