/**
 * A database the previous release (pg-boss 10) left behind upgrades in place with `rebill
 * migrate`: its waiting jobs and its schedule are kept, and a worker of this release then works
 * them. The database is restored from a dump made with that release (see the fixture's header).
 */
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';
import { runCli } from '../support/cli.ts';
import { createEmptyDatabase, dropTestDatabase, type TestDatabase } from '../support/database.ts';
import { freePort, startTestSandbox, waitUntil, workerEnv } from '../support/e2e.ts';

const DUMP = new URL('../fixtures/previous-release-database.sql', import.meta.url);

// What the previous release had queued, by job id, as its dump holds it.
const ADA = '1d3f060e-b6d9-478b-93c6-9a664d1bffdf';
const GRACE = 'b48dd2c0-20f9-4aff-9139-e02815fe91b4';
const ALAN = 'a8550ace-67dd-4369-b9d7-058b80a68448';

let database: TestDatabase;
let sandbox: Sandbox | undefined;
let worker: WorkerProcess | undefined;
let failed = false;

interface JobRow {
  id: string;
  name: string;
  state: string;
  data: Record<string, unknown>;
  start_after: Date;
}

const jobs = async () =>
  (await sql<JobRow>`select id, name, state::text, data, start_after from pgboss.job order by name, data->>'subscriptionId'`.execute(database.db)).rows;

beforeAll(async () => {
  database = await createEmptyDatabase('upgrade');
  // The dump sets the session's search_path, so it runs on a connection of its own.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(readFileSync(DUMP, 'utf8'));
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await worker?.stop();
  await sandbox?.close();
  if (failed) {
    await database.close();
    console.error(`kept database ${database.name} for inspection (${database.url})`);
  } else {
    await dropTestDatabase(database);
  }
});

describe('upgrading a database from the previous release', () => {
  it('keeps the waiting jobs and the schedule through `rebill migrate`, and a worker then works them', { timeout: 240_000 }, async (context) => {
    context.onTestFailed(() => void (failed = true));
    const before = (await sql<{ version: number }>`select version from pgboss.version`.execute(database.db)).rows[0]!.version;
    expect(before).toBe(24);
    const oldJobs = (await sql<{ id: string; name: string; state: string }>`select id, name, state::text from pgboss.job order by name, id`.execute(database.db)).rows;
    expect(oldJobs.map((j) => [j.name, j.state]).sort()).toEqual([['charge-renewal', 'active'], ['charge-renewal', 'created'], ['deliver-email', 'created']]);

    // A CLI command other than migrate refuses the old queue instead of half-using it.
    const refused = await runCli(['list'], { DATABASE_URL: database.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the job queue upgrade from pg-boss 10');
    expect(refused.stderr).toContain('rebill migrate');

    const migrated = await runCli(['migrate'], { DATABASE_URL: database.url });
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain(
      'Upgraded the job queue from pg-boss 10: kept 3 waiting jobs (2 charge-renewal, 1 deliver-email) and 1 schedule.',
    );

    expect((await sql<{ version: number }>`select version from pgboss.version`.execute(database.db)).rows[0]!.version).toBeGreaterThan(24);
    expect((await sql<{ left: boolean }>`select to_regnamespace('pgboss_v10') is not null as left`.execute(database.db)).rows[0]!.left).toBe(false);
    const kept = await jobs();
    expect(kept.map((j) => j.id).sort()).toEqual(oldJobs.map((j) => j.id).sort());
    expect(kept.filter((j) => j.name === 'charge-renewal').map((j) => [j.data.subscriptionId, j.state])).toEqual([
      [ADA, 'created'],
      [GRACE, 'created'], // its worker died holding it: waiting again
    ]);
    const email = kept.find((j) => j.name === 'deliver-email')!;
    expect(email.data).toEqual({ messageId: 424242 });
    expect(email.start_after.toISOString()).toBe('2031-01-01T00:00:00.000Z'); // still waits for its time
    const schedules = (await sql<{ name: string; cron: string; timezone: string }>`select name, cron, timezone from pgboss.schedule`.execute(database.db)).rows;
    expect(schedules).toEqual([{ name: 'schedule-renewals', cron: '* * * * *', timezone: 'UTC' }]);

    // Running it again changes nothing.
    const again = await runCli(['migrate'], { DATABASE_URL: database.url });
    expect(again.stdout).toBe('The database is up to date.\n');
    expect((await jobs()).map((j) => j.id).sort()).toEqual(oldJobs.map((j) => j.id).sort());

    sandbox = await startTestSandbox({ seed: 'upgrade' });
    worker = startWorkerProcess(workerEnv(database, sandbox, await freePort()));
    await worker.started();

    const state = async () =>
      (await sql<{ id: string; status: string; renewals_paid: number }>`select id, status, renewals_paid from subscriptions order by id`.execute(database.db)).rows;
    const jobStates = async () => Object.fromEntries((await jobs()).filter((j) => oldJobs.some((o) => o.id === j.id)).map((j) => [j.id, j.state]));
    // The kept charge jobs are worked: both first purchases are paid and their jobs completed;
    // the scheduler (its tick kept) renews Alan, who was due.
    await waitUntil(
      async () => {
        const subs = Object.fromEntries((await state()).map((s) => [s.id, s]));
        const done = await jobStates();
        const charged = oldJobs.filter((j) => j.name === 'charge-renewal').every((j) => done[j.id] === 'completed');
        return subs[ADA]?.status === 'active' && subs[GRACE]?.status === 'active' && (subs[ALAN]?.renewals_paid ?? 0) >= 1 && charged;
      },
      90_000,
      async () => JSON.stringify({ subscriptions: await state(), jobs: await jobStates() }),
    );
    // The kept schedule makes the scheduler's tick job every minute.
    await waitUntil(
      async () => (await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = 'schedule-renewals' and state = 'completed'`.execute(database.db)).rows[0]!.n > 0,
      150_000,
      async () => JSON.stringify((await sql`select name, state::text, created_on from pgboss.job where name = 'schedule-renewals'`.execute(database.db)).rows),
    );
    expect(email.state).toBe('created');
    expect((await jobStates())[email.id]).toBe('created');
  });
});
