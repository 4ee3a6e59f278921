/**
 * Upgrading the job queue left by rebill releases on pg-boss 10 (its schema version 24). pg-boss
 * 12 cannot migrate that schema (its migrations start at version 25), so rebill does it: the old
 * schema is set aside under another name, pg-boss creates its own, and the waiting jobs and the
 * schedules are copied across in one transaction that also drops the old schema. A crash in
 * between leaves the set-aside schema for the next `rebill migrate` to finish. Jobs only point at
 * rebill's tables, so a copied job that has gone stale is harmless; none is left behind.
 */
import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Db, DbOrTx } from '../db/connect.ts';
import { BOSS_SCHEMA, transactionExecutor } from './queue.ts';

/** Where the old schema waits while pg-boss 12 creates its own. */
export const LEGACY_BOSS_SCHEMA = 'pgboss_v10';
const LEGACY_SCHEMA_VERSION = 24;
/** Serialises upgrades by several processes starting together. */
const UPGRADE_LOCK = 'rebill:job-queue-upgrade';

export interface QueueUpgradeReport {
  /** Waiting jobs (created, retry, or taken by a worker that has stopped) copied across, by queue. */
  jobs: Record<string, number>;
  schedules: number;
}

async function bossSchemaVersion(db: DbOrTx, schema: string): Promise<number | null> {
  const table = await sql<{ exists: boolean }>`select to_regclass(${`${schema}.version`}) is not null as exists`.execute(db);
  if (!table.rows[0]?.exists) return null;
  const row = await sql<{ version: number }>`select version from ${sql.table(`${schema}.version`)}`.execute(db);
  return row.rows[0]?.version ?? null;
}

async function schemaExists(db: DbOrTx, schema: string): Promise<boolean> {
  const result = await sql<{ exists: boolean }>`select to_regnamespace(${schema}) is not null as exists`.execute(db);
  return result.rows[0]?.exists ?? false;
}

/** The database still holds pg-boss 10's job queue, moved or not. */
export async function queueUpgradePending(db: DbOrTx): Promise<boolean> {
  return (await schemaExists(db, LEGACY_BOSS_SCHEMA)) || (await bossSchemaVersion(db, BOSS_SCHEMA)) === LEGACY_SCHEMA_VERSION;
}

/** Step 1, before pg-boss starts: renames pg-boss 10's schema out of its way. */
export async function setAsideLegacyQueue(db: Db): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${UPGRADE_LOCK}))`.execute(tx);
    const version = await bossSchemaVersion(tx, BOSS_SCHEMA);
    if (version === null || version > LEGACY_SCHEMA_VERSION) return false;
    if (version < LEGACY_SCHEMA_VERSION) {
      throw new Error(
        `the job queue schema "${BOSS_SCHEMA}" is at pg-boss schema version ${version}, older than any rebill release used (${LEGACY_SCHEMA_VERSION}); ` +
          `drop it (drop schema ${BOSS_SCHEMA} cascade) after its jobs are done and run \`rebill migrate\` again`,
      );
    }
    if (await schemaExists(tx, LEGACY_BOSS_SCHEMA)) {
      throw new Error(
        `both "${BOSS_SCHEMA}" and "${LEGACY_BOSS_SCHEMA}" hold pg-boss 10 job queues; keep the one with the waiting jobs, drop the other, and run \`rebill migrate\` again`,
      );
    }
    await sql`alter schema ${sql.id(BOSS_SCHEMA)} rename to ${sql.id(LEGACY_BOSS_SCHEMA)}`.execute(tx);
    return true;
  });
}

interface LegacyJob {
  id: string;
  name: string;
  data: object | null;
  priority: number;
  state: string;
  start_after: Date;
  singleton_key: string | null;
}

interface LegacySchedule {
  name: string;
  cron: string;
  timezone: string | null;
  data: object | null;
  options: Record<string, unknown> | null;
}

/**
 * Step 2, once pg-boss has created its schema and rebill's queues: copies the waiting jobs (a job
 * a stopped worker had taken is waiting again) and the schedules, then drops the old schema.
 */
export async function moveLegacyQueue(db: Db, boss: PgBoss, now: Date): Promise<QueueUpgradeReport | null> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${UPGRADE_LOCK}))`.execute(tx);
    if (!(await schemaExists(tx, LEGACY_BOSS_SCHEMA))) return null;
    const legacy = (table: string) => sql.table(`${LEGACY_BOSS_SCHEMA}.${table}`);
    const jobs = await sql<LegacyJob>`
      select id, name, data, priority, state, start_after, singleton_key from ${legacy('job')}
      where state in ('created', 'retry', 'active') order by created_on, id`.execute(tx);
    const known = new Set((await sql<{ name: string }>`select name from ${sql.table(`${BOSS_SCHEMA}.queue`)}`.execute(tx)).rows.map((r) => r.name));
    const byQueue = new Map<string, LegacyJob[]>();
    for (const job of jobs.rows) {
      if (!known.has(job.name)) {
        throw new Error(`pg-boss 10 job ${job.id} is in queue "${job.name}", which this rebill does not have; nothing was moved`);
      }
      byQueue.set(job.name, [...(byQueue.get(job.name) ?? []), job]);
    }
    const db12 = { db: transactionExecutor(tx) };
    const report: QueueUpgradeReport = { jobs: {}, schedules: 0 };
    for (const [name, queued] of byQueue) {
      await boss.insert(
        name,
        queued.map((job) => ({
          id: job.id,
          data: job.data ?? {},
          priority: job.priority,
          // Its worker is gone (workers stop for the upgrade): it may be taken again at once.
          startAfter: job.state === 'active' ? now : job.start_after,
          ...(job.singleton_key ? { singletonKey: job.singleton_key } : {}),
        })),
        db12,
      );
      report.jobs[name] = queued.length;
    }
    const schedules = await sql<LegacySchedule>`select name, cron, timezone, data, options from ${legacy('schedule')} order by name`.execute(tx);
    for (const schedule of schedules.rows) {
      if (!known.has(schedule.name)) throw new Error(`pg-boss 10 schedule for "${schedule.name}" names a queue this rebill does not have; nothing was moved`);
      await boss.schedule(schedule.name, schedule.cron, schedule.data, { ...(schedule.options ?? {}), tz: schedule.timezone ?? 'UTC', ...db12 });
      report.schedules += 1;
    }
    await sql`drop schema ${sql.id(LEGACY_BOSS_SCHEMA)} cascade`.execute(tx);
    return report;
  });
}
