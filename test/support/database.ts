/**
 * A fresh database per test file, cloned from the migrated template. A file whose tests all
 * pass drops its database; a failing file keeps it for inspection and prints its name.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { connectDatabase, type DatabaseHandle } from '../../src/db/connect.ts';

export interface TestDatabase extends DatabaseHandle {
  readonly name: string;
  readonly url: string;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('adminUrl'), application_name: 'rebill-test-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `rebill_${label.replace(/\W+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database ${name} template ${inject('templateDatabase')}`));
  const url = new URL(inject('adminUrl'));
  url.pathname = `/${name}`;
  const handle = connectDatabase(url.toString(), { poolSize: 5, applicationName: 'rebill-test' });
  return { ...handle, name, url: url.toString() };
}

/** A database with nothing in it (no rebill schema), e.g. to restore an old dump into. */
export async function createEmptyDatabase(label: string): Promise<TestDatabase> {
  const name = `rebill_${label.replace(/\W+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database ${name} template template0`));
  const url = new URL(inject('adminUrl'));
  url.pathname = `/${name}`;
  const handle = connectDatabase(url.toString(), { poolSize: 5, applicationName: 'rebill-test' });
  return { ...handle, name, url: url.toString() };
}

export async function dropTestDatabase(database: TestDatabase): Promise<void> {
  await database.close();
  await admin((c) => c.query(`drop database if exists ${database.name} with (force)`));
}

/** Registers hooks giving the file one database; read `.current` inside tests. */
export function useTestDatabase(label: string): { readonly current: TestDatabase } {
  const holder: { current: TestDatabase } = { current: undefined as unknown as TestDatabase };
  let failed = false;
  beforeAll(async () => {
    holder.current = await createTestDatabase(label);
  });
  beforeEach((context) => {
    context.onTestFailed(() => {
      // An `it.fails` test "fails" on purpose; only real failures keep the database.
      if (!context.task.fails) failed = true;
    });
  });
  afterAll(async () => {
    if (!holder.current) return;
    if (failed) {
      await holder.current.close();
      console.error(`kept database ${holder.current.name} for inspection (${holder.current.url})`);
    } else {
      await dropTestDatabase(holder.current);
    }
  });
  return holder;
}
