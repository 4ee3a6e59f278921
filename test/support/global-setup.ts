/**
 * Starts one PostgreSQL for the whole run (embedded in a directory under the system's temporary
 * directory, or the server in TEST_DATABASE_URL) and builds a migrated template database; each
 * test file clones it. At the end it checks that the run left nothing new in the project's own
 * `.rebill/` (the developer's database and e-mails).
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { builtIsCurrent } from '../../bin/sources.mjs';
import { acquireFileLock } from '../../src/lib/lock-file.ts';
import type { TestProject } from 'vitest/node';
import { acquireEmbeddedPostgres } from '../../src/db/embedded.ts';
import { prepareDatabase } from '../../src/jobs/prepare-database.ts';
import { connectDatabase } from '../../src/db/connect.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
    /** A directory of this run for the local state of the processes tests start (see state-dir.ts). */
    runStateDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const projectState = snapshotProjectState();
  await buildIfStale();
  const runStateDir = mkdtempSync(join(testStateDir(), 'run-'));
  chmodSync(runStateDir, 0o755);
  let adminUrl = process.env.TEST_DATABASE_URL;
  let release = async () => {};
  if (!adminUrl) {
    const lease = await acquireEmbeddedPostgres({ dir: join(testStateDir(), 'pg'), tuning: 'disposable', database: 'postgres', maxConnections: 500 });
    adminUrl = lease.urlFor('postgres');
    release = () => lease.release();
  }
  const template = `rebill_template_${schemaFingerprint()}`;
  await ensureTemplate(adminUrl, template);
  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', template);
  project.provide('runStateDir', runStateDir);
  return async () => {
    await release();
    rmSync(runStateDir, { recursive: true, force: true });
    assertNothingNewIn(projectState);
  };
}

/**
 * `{tmpdir}/rebill-test-{hash of the project path}`: one per checkout, shared by runs of the same
 * checkout (they share its PostgreSQL, `pg/`, through leases; each run has its own `run-*`). As
 * root the server runs as the `postgres` OS user, which must be able to enter it.
 */
function testStateDir(): string {
  const dir = join(tmpdir(), `rebill-test-${createHash('sha256').update(resolve('.')).digest('hex').slice(0, 12)}`);
  mkdirSync(dir, { recursive: true });
  const info = lstatSync(dir);
  if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) {
    throw new Error(`${dir} is not a directory of this user: remove it, or set TEST_DATABASE_URL`);
  }
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * What is in the project's `.rebill/` (each entry, and each file in `.rebill/outbox/`): tests keep
 * their state in temporary directories and must never add to the developer's.
 */
const PROJECT_STATE = '.rebill';

function snapshotProjectState(): Set<string> {
  const entries = new Set<string>();
  for (const name of existsSync(PROJECT_STATE) ? readdirSync(PROJECT_STATE) : []) entries.add(name);
  const outbox = join(PROJECT_STATE, 'outbox');
  for (const name of existsSync(outbox) ? readdirSync(outbox) : []) entries.add(join('outbox', name));
  return entries;
}

function assertNothingNewIn(before: Set<string>): void {
  const added = [...snapshotProjectState()].filter((entry) => !before.has(entry));
  if (added.length) {
    // vitest only prints an error thrown here; the exit code is what makes the run fail.
    process.exitCode = 1;
    throw new Error(
      `the test run wrote into the project's ${PROJECT_STATE}/ (${added.join(', ')}): give every rebill process a test starts ` +
        'a REBILL_DATA_DIR under a temporary directory (or, if you ran `npm start` or the demo here meanwhile, run the tests again)',
    );
  }
}

/**
 * The processes tests start (workers, CLI commands) run dist/ when it matches the sources and
 * compile the sources on the fly otherwise, which is slow for hundreds of processes: build once.
 */
async function buildIfStale(): Promise<void> {
  if (builtIsCurrent()) return;
  const lock = await acquireFileLock(join(testStateDir(), 'build.lock'), 600_000);
  try {
    if (builtIsCurrent()) return; // built meanwhile by another run
    const result = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
    if (result.status !== 0) throw new Error('npm run build failed; see the compiler output above');
  } finally {
    await lock.release();
  }
}

/** Changes whenever a migration, the pg-boss version or rebill's queues change, so a stale template is never used. */
function schemaFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync('migrations').sort()) hash.update(file).update(readFileSync(join('migrations', file)));
  hash.update(readFileSync('node_modules/pg-boss/package.json'));
  hash.update(readFileSync('src/jobs/prepare-database.ts'));
  hash.update(readFileSync('src/jobs/queue.ts'));
  return hash.digest('hex').slice(0, 12);
}

async function ensureTemplate(adminUrl: string, template: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'rebill-test-setup' });
  await admin.connect();
  try {
    await admin.query('select pg_advisory_lock(4242)');
    const exists = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (exists.rowCount) return;
    const building = `${template}_building`;
    await admin.query(`drop database if exists ${building}`);
    await admin.query(`create database ${building}`);
    const url = new URL(adminUrl);
    url.pathname = `/${building}`;
    const handle = connectDatabase(url.toString(), { poolSize: 2 });
    try {
      await prepareDatabase(handle);
    } finally {
      await handle.close();
    }
    await admin.query(`alter database ${building} rename to ${template}`);
  } finally {
    await admin.query('select pg_advisory_unlock(4242)').catch(() => undefined);
    await admin.end();
  }
}
