/**
 * Schema migrations with Kysely's migrator. The migrator takes a PostgreSQL advisory lock,
 * so two processes starting together migrate once.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import type { Db } from './connect.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

class DirectoryMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    // .ts when running the sources, .js in the compiled build; the name is the same either way.
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
    const entries = await Promise.all(
      files.map(async (file) => [file.replace(/\.(ts|js)$/, ''), (await import(pathToFileURL(MIGRATIONS_DIR + file).href)) as Migration] as const),
    );
    return Object.fromEntries(entries);
  }
}

export interface MigrationReport {
  applied: string[];
}

/** Applies pending migrations; `upTo` stops after that one (the state an earlier release left). */
export async function migrateToLatest(db: Db, upTo?: string): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider: new DirectoryMigrationProvider() });
  const result: MigrationResultSet = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo);
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    const cause = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed ?? '(unknown)'} failed: ${cause}`);
  }
  return { applied: (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

/** Migrations not yet applied to this database. */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new DirectoryMigrationProvider() });
  const all = await migrator.getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
