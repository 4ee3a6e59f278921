/**
 * pg-boss, sharing rebill's connection pool. Jobs only say what to look at; the truth
 * (subscriptions, attempts, events) is in rebill's tables, so a lost or repeated job is harmless.
 */
import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import { PgBoss, fromKysely, type Db as BossDb } from 'pg-boss';
import type { DbOrTx } from '../db/connect.ts';
import type { Logger } from '../lib/logger.ts';

export const QUEUES = {
  /** One job per due subscription period. */
  charge: 'charge-renewal',
  /** The scheduler tick: queue what is due. */
  schedule: 'schedule-renewals',
  /** One job per outbox message. */
  email: 'deliver-email',
  /** The daily reconciliation with the payment providers. */
  reconcile: 'reconcile-day',
  /** "Webhook deliveries are waiting": the webhooks' outbox says which, and in what order. */
  webhooks: 'deliver-webhooks',
} as const;

export const BOSS_SCHEMA = 'pgboss';

export interface ChargeJob {
  subscriptionId: string;
  period: number;
}

/** pg-boss's executor interface over our pool. */
export function poolExecutor(pool: pg.Pool): BossDb {
  return { executeSql: (text, values) => pool.query(text, values as unknown[]) };
}

/** pg-boss statements run inside the caller's Kysely transaction (or straight on the pool). */
export function transactionExecutor(db: DbOrTx): BossDb {
  return fromKysely(db);
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
    cronMonitorIntervalSeconds: 10,
  });
  boss.on('error', (error: unknown) => options.logger?.error({ err: error }, 'job queue error'));
  return boss;
}

/**
 * A charge job outlives the longest gateway timeout (10 minutes) with room to spare; if it still
 * expired, the attempt row would stop a second copy from calling the gateway.
 */
const CHARGE_JOB_EXPIRY_SECONDS = 15 * 60;

/** Jobs are pointers, not records: finished ones are kept an hour. */
const FINISHED_JOB_RETENTION_SECONDS = 3600;

/** Creates rebill's queues (idempotent). */
export async function createQueues(boss: PgBoss): Promise<void> {
  const common = { deleteAfterSeconds: FINISHED_JOB_RETENTION_SECONDS };
  await boss.createQueue(QUEUES.charge, { ...common, retryLimit: 10, retryDelay: 15, retryBackoff: true, expireInSeconds: CHARGE_JOB_EXPIRY_SECONDS });
  await boss.createQueue(QUEUES.schedule, { ...common, retryLimit: 0, expireInSeconds: 600 });
  // Delivery retries are decided per message (the outbox knows what is safe to resend).
  await boss.createQueue(QUEUES.email, { ...common, retryLimit: 0, expireInSeconds: 600 });
  // A day of 100,000 payments takes minutes; a failed run is retried (it changes nothing twice).
  await boss.createQueue(QUEUES.reconcile, { ...common, retryLimit: 3, retryDelay: 600, expireInSeconds: 3600 });
  // Retries are the outbox's backoff, run by the worker's webhook pass.
  await boss.createQueue(QUEUES.webhooks, { ...common, retryLimit: 0, expireInSeconds: 600 });
}

/** Inserts charge jobs inside the caller's transaction, so they exist exactly when its changes do. */
export async function insertChargeJobs(boss: PgBoss, tx: DbOrTx, jobs: readonly ChargeJob[]): Promise<void> {
  if (!jobs.length) return;
  await boss.insert(QUEUES.charge, jobs.map((job) => ({ data: job })), { db: transactionExecutor(tx) });
}

/** Charge jobs waiting to be picked up. */
export async function queuedChargeJobs(db: DbOrTx): Promise<number> {
  const result = await db.executeQuery<{ n: number }>(
    CompiledQuery.raw(`select count(*)::int as n from ${BOSS_SCHEMA}.job where name = $1 and state < 'active'`, [QUEUES.charge]),
  );
  return result.rows[0]?.n ?? 0;
}

/**
 * Tells a worker that webhook deliveries are waiting, inside the transaction that wrote them. On a
 * database no worker of this release has prepared yet the queue is missing (pg-boss says so before
 * any statement runs, so the transaction is unharmed); the worker's periodic pass sends them then.
 */
export async function pokeWebhookDelivery(boss: PgBoss, tx: DbOrTx): Promise<void> {
  try {
    await boss.insert(QUEUES.webhooks, [{ data: {} }], { db: transactionExecutor(tx) });
  } catch (error) {
    if (!(error instanceof Error && error.message === `Queue ${QUEUES.webhooks} does not exist`)) throw error;
  }
}
