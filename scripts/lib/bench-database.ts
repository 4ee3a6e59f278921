/**
 * A fresh, migrated database for a benchmark: on the given server, or on a durable embedded one
 * under .rebill/bench-pg (kept between runs, so its start-up is not measured). Each step registers
 * its own undo, run in reverse by the script's exit.
 */
import pg from 'pg';
import { connectDatabase, type DatabaseHandle } from '../../src/db/connect.ts';
import { acquireEmbeddedPostgres } from '../../src/db/embedded.ts';
import { prepareDatabase } from '../../src/jobs/prepare-database.ts';

export type Cleanups = (() => Promise<unknown>)[];

/** A benchmark's progress line on stderr, stamped with the time of day. */
export function log(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * What a benchmark set up, undone in reverse order at its end, and on Ctrl-C too (the embedded
 * server's lease and the scratch database must not outlive the run).
 */
export function cleanupStack(): { cleanups: Cleanups; cleanUp: () => Promise<void> } {
  const cleanups: Cleanups = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  return { cleanups, cleanUp };
}

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  readonly handle: DatabaseHandle;
}

export async function createBenchDatabase(options: {
  label: string;
  adminUrl: string | undefined;
  settings?: Record<string, string>;
  cleanups: Cleanups;
}): Promise<BenchDatabase> {
  const { label, cleanups } = options;
  let adminUrl = options.adminUrl;
  if (!adminUrl) {
    const lease = await acquireEmbeddedPostgres({
      dir: '.rebill/bench-pg',
      database: 'postgres',
      maxConnections: 300,
      settings: { shared_buffers: '256MB', ...options.settings },
    });
    adminUrl = lease.urlFor('postgres');
    cleanups.push(() => lease.release());
  }
  const name = `rebill_${label.replace(/\W+/g, '_')}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl, application_name: `rebill-${label}` });
  await admin.connect();
  await admin.query(`create database ${name}`);
  cleanups.push(async () => {
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = connectDatabase(url.toString(), { poolSize: 4, applicationName: `rebill-${label}` });
  cleanups.push(() => handle.close());
  await prepareDatabase(handle);
  return { name, url: url.toString(), handle };
}
