/**
 * pg-boss, sharing rebill's connection pool. Jobs only say what to look at; the truth
 * (subscriptions, attempts, events) is in rebill's tables, so a lost or repeated job is harmless.
 */
import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import PgBoss from 'pg-boss';
import type { DbOrTx } from '../db/connect.ts';
import type { Logger } from '../lib/logger.ts';

export const QUEUES = {
  /** One job per due subscription period. */
  charge: 'charge-renewal',
  /** The scheduler tick: queue what is due. */
  schedule: 'schedule-renewals',
  /** One job per outbox message. */
  email: 'deliver-email',
} as const;

export const BOSS_SCHEMA = 'pgboss';

export interface ChargeJob {
  subscriptionId: string;
  period: number;
}

/** pg-boss's executor interface over our pool or a Kysely transaction. */
interface Executor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export function poolExecutor(pool: pg.Pool): Executor {
  return { executeSql: (text, values) => pool.query(text, values as unknown[]) };
}

export function transactionExecutor(db: DbOrTx): Executor {
  return { executeSql: async (text, values) => ({ rows: (await db.executeQuery(CompiledQuery.raw(text, values ?? []))).rows }) };
}

export interface BossOptions {
  /** Run pg-boss's maintenance and cron (the worker); CLI commands only send jobs. */
  background: boolean;
  logger?: Logger;
}

export function createBoss(pool: pg.Pool, options: BossOptions): PgBoss {
  const boss = new PgBoss({
    db: poolExecutor(pool),
    schema: BOSS_SCHEMA,
    supervise: options.background,
    schedule: options.background,
    migrate: true,
    // Jobs are pointers, not records: keep the finished ones briefly.
    archiveCompletedAfterSeconds: 3600,
    deleteAfterDays: 1,
    cronMonitorIntervalSeconds: 10,
  } as PgBoss.ConstructorOptions);
  boss.on('error', (error) => options.logger?.error({ err: error }, 'job queue error'));
  return boss;
}

/**
 * A charge job outlives the longest gateway timeout (10 minutes) with room to spare; if it still
 * expired, the attempt row would stop a second copy from calling the gateway.
 */
const CHARGE_JOB_EXPIRY_SECONDS = 15 * 60;

/** Creates rebill's queues (idempotent). */
export async function createQueues(boss: PgBoss): Promise<void> {
  await boss.createQueue(QUEUES.charge, { name: QUEUES.charge, retryLimit: 10, retryDelay: 15, retryBackoff: true, expireInSeconds: CHARGE_JOB_EXPIRY_SECONDS });
  await boss.createQueue(QUEUES.schedule, { name: QUEUES.schedule, retryLimit: 0, expireInSeconds: 600 });
  // Delivery retries are decided per message (the outbox knows what is safe to resend).
  await boss.createQueue(QUEUES.email, { name: QUEUES.email, retryLimit: 0, expireInSeconds: 600 });
}

/** Inserts charge jobs inside the caller's transaction, so they exist exactly when its changes do. */
export async function insertChargeJobs(boss: PgBoss, tx: DbOrTx, jobs: readonly ChargeJob[]): Promise<void> {
  if (!jobs.length) return;
  await boss.insert(
    jobs.map((job) => ({ name: QUEUES.charge, data: job })),
    // pg-boss 10 supports insert(jobs, { db }) but its type declarations omit the option.
    { db: transactionExecutor(tx) } as never,
  );
}

/** Charge jobs waiting to be picked up. */
export async function queuedChargeJobs(db: DbOrTx): Promise<number> {
  const result = await db.executeQuery<{ n: number }>(
    CompiledQuery.raw(`select count(*)::int as n from ${BOSS_SCHEMA}.job where name = $1 and state < 'active'`, [QUEUES.charge]),
  );
  return result.rows[0]?.n ?? 0;
}
