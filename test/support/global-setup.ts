/**
 * Starts one PostgreSQL for the whole run (embedded under .rebill/test-pg, or the server in
 * TEST_DATABASE_URL) and builds a migrated template database; each test file clones it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { acquireEmbeddedPostgres } from '../../src/db/embedded.ts';
import { prepareDatabase } from '../../src/db/prepare.ts';
import { connectDatabase } from '../../src/db/connect.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let release = async () => {};
  if (!adminUrl) {
    const lease = await acquireEmbeddedPostgres({ dir: '.rebill/test-pg', tuning: 'disposable', database: 'postgres', maxConnections: 500 });
    adminUrl = lease.urlFor('postgres');
    release = () => lease.release();
  }
  const template = `rebill_template_${schemaFingerprint()}`;
  await ensureTemplate(adminUrl, template);
  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', template);
  return release;
}

/** Changes whenever a migration (or the pg-boss version) changes, so a stale template is never used. */
function schemaFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync('migrations').sort()) hash.update(file).update(readFileSync(join('migrations', file)));
  hash.update(readFileSync('node_modules/pg-boss/package.json'));
  hash.update(readFileSync('src/db/prepare.ts'));
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
