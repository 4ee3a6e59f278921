/** Brings a database to the schema this version of rebill needs. */
import type { DatabaseHandle } from './connect.ts';
import { migrateToLatest, type MigrationReport } from './migrate.ts';

export async function prepareDatabase(handle: DatabaseHandle): Promise<MigrationReport> {
  return migrateToLatest(handle.db);
}
