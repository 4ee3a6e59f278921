/** Brings a database to what this version of rebill needs: its own schema and pg-boss's. */
import { createBoss, createQueues } from './queue.ts';
import { moveLegacyQueue, setAsideLegacyQueue, type QueueUpgradeReport } from './queue-upgrade.ts';
import type { DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest, type MigrationReport } from '../db/migrate.ts';

export interface PreparationReport extends MigrationReport {
  /** Set when this run moved a pg-boss 10 job queue (an earlier release's) to pg-boss 12. */
  queueUpgrade: QueueUpgradeReport | null;
}

export async function prepareDatabase(handle: DatabaseHandle, now: Date = new Date()): Promise<PreparationReport> {
  const report = await migrateToLatest(handle.db);
  await setAsideLegacyQueue(handle.db);
  // pg-boss creates and migrates its schema on start, under its own advisory lock.
  const boss = createBoss(handle.pool, { background: false });
  await boss.start();
  try {
    await createQueues(boss);
    return { ...report, queueUpgrade: await moveLegacyQueue(handle.db, boss, now) };
  } finally {
    await boss.stop({ graceful: false });
  }
}
