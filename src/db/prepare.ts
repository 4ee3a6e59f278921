/** Brings a database to what this version of rebill needs: its own schema and pg-boss's. */
import { createBoss, createQueues } from '../renewals/queue.ts';
import type { DatabaseHandle } from './connect.ts';
import { migrateToLatest, type MigrationReport } from './migrate.ts';

export async function prepareDatabase(handle: DatabaseHandle): Promise<MigrationReport> {
  const report = await migrateToLatest(handle.db);
  // pg-boss creates and migrates its schema on start, under its own advisory lock.
  const boss = createBoss(handle.pool, { background: false });
  await boss.start();
  try {
    await createQueues(boss);
  } finally {
    await boss.stop({ graceful: false });
  }
  return report;
}
