/**
 * The reference bound for the benchmark: the minimal SQL one renewal needs, two commits per
 * renewal, on tables shaped like rebill's (same kinds of keys and indexes), run as fast as the
 * database allows. Commit 1 claims the subscription and inserts the attempt; commit 2 records
 * the result, advances the subscription and writes the event. pgbench when it is installed,
 * otherwise the same loop in-process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface ReferenceOptions {
  seconds: number;
  clients: number;
  /** Subscriptions in the reference table. */
  rows: number;
}

export interface ReferenceResult {
  renewalsPerSecond: number;
  tool: string;
}

const SCHEMA = `
  drop table if exists ref_events, ref_attempts, ref_subscriptions;
  create table ref_subscriptions (
    id bigint primary key, status text not null, renewals_paid int not null default 0, next_period int not null default 1,
    next_renewal_at timestamptz not null, next_attempt_at timestamptz, amount_minor bigint not null, currency text not null,
    updated_at timestamptz not null default now());
  create index on ref_subscriptions (next_attempt_at) where next_attempt_at is not null;
  create table ref_attempts (
    id bigint generated always as identity primary key, subscription_id bigint not null references ref_subscriptions (id),
    period int not null, order_number text not null unique, status text not null, amount_minor bigint not null, currency text not null,
    payment_id text, requested_at timestamptz not null, resolved_at timestamptz, updated_at timestamptz not null default now());
  create unique index on ref_attempts (subscription_id) where status in ('sending', 'pending', 'action_required', 'unknown');
  create index on ref_attempts (subscription_id, period);
  create table ref_events (
    id bigint generated always as identity primary key, subscription_id bigint not null references ref_subscriptions (id),
    transaction_id bigint, type text not null, actor text not null, data jsonb not null default '{}',
    occurred_at timestamptz not null, recorded_at timestamptz not null default now());
  create index on ref_events (subscription_id, id);
`;

// Each client works on its own slice of subscriptions, so the unique open-attempt index never trips.
const RENEWAL = (rowsPerClient: number) => `
\\set sid (:client_id * ${rowsPerClient}) + random(1, ${rowsPerClient})
BEGIN;
SELECT status FROM ref_subscriptions WHERE id = :sid FOR NO KEY UPDATE;
INSERT INTO ref_attempts (subscription_id, period, order_number, status, amount_minor, currency, requested_at)
  VALUES (:sid, 1, gen_random_uuid()::text, 'sending', 999, 'USD', now()) RETURNING id AS transaction_id \\gset
UPDATE ref_subscriptions SET next_attempt_at = NULL, updated_at = now() WHERE id = :sid;
COMMIT;
BEGIN;
UPDATE ref_attempts SET status = 'succeeded', payment_id = 'p', resolved_at = now(), updated_at = now() WHERE id = :transaction_id;
UPDATE ref_subscriptions SET renewals_paid = renewals_paid + 1, next_period = next_period + 1,
  next_renewal_at = next_renewal_at + interval '7 days', next_attempt_at = next_renewal_at + interval '7 days', updated_at = now()
  WHERE id = :sid;
INSERT INTO ref_events (subscription_id, transaction_id, type, actor, data, occurred_at)
  VALUES (:sid, :transaction_id, 'payment_succeeded', 'worker', '{"period": 1}', now());
COMMIT;
`;

export async function referenceBound(databaseUrl: string, options: ReferenceOptions): Promise<ReferenceResult> {
  const rowsPerClient = Math.max(1, Math.floor(options.rows / options.clients));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(SCHEMA);
    await client.query(
      `insert into ref_subscriptions (id, status, next_renewal_at, next_attempt_at, amount_minor, currency)
       select g, 'active', now(), now(), 999, 'USD' from generate_series(1, $1) g`,
      [rowsPerClient * (options.clients + 1)],
    );
    await client.query('vacuum analyze ref_subscriptions');
  } finally {
    await client.end();
  }
  const result = hasPgbench() ? await withPgbench(databaseUrl, options, rowsPerClient) : await inProcess(databaseUrl, options, rowsPerClient);
  const cleanup = new pg.Client({ connectionString: databaseUrl });
  await cleanup.connect();
  await cleanup.query('drop table if exists ref_events, ref_attempts, ref_subscriptions');
  await cleanup.end();
  return result;
}

function hasPgbench(): boolean {
  return spawnSync('pgbench', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function withPgbench(databaseUrl: string, options: ReferenceOptions, rowsPerClient: number): Promise<ReferenceResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rebill-reference-'));
  const script = join(dir, 'renewal.sql');
  writeFileSync(script, RENEWAL(rowsPerClient));
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'pgbench',
        ['--no-vacuum', '-n', '-M', 'prepared', '-c', String(options.clients), '-j', String(Math.min(options.clients, 4)), '-T', String(options.seconds), '-f', script, databaseUrl],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.stderr.on('data', (c: Buffer) => (text += c.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`pgbench failed: ${text.slice(-1000)}`))));
    });
    // One pgbench "transaction" is one run of the script: one renewal, two commits.
    const tps = /tps = ([\d.]+)/.exec(output);
    if (!tps) throw new Error(`could not read pgbench output: ${output.slice(-500)}`);
    return { renewalsPerSecond: Number(tps[1]), tool: `pgbench, ${options.clients} clients` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function inProcess(databaseUrl: string, options: ReferenceOptions, rowsPerClient: number): Promise<ReferenceResult> {
  const deadline = Date.now() + options.seconds * 1000;
  let renewals = 0;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, clientIndex) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        while (Date.now() < deadline) {
          const sid = (clientIndex + 1) * rowsPerClient + 1 + Math.floor(Math.random() * rowsPerClient);
          await client.query('BEGIN');
          await client.query('SELECT status FROM ref_subscriptions WHERE id = $1 FOR NO KEY UPDATE', [sid]);
          const { rows } = await client.query(
            `INSERT INTO ref_attempts (subscription_id, period, order_number, status, amount_minor, currency, requested_at)
             VALUES ($1, 1, gen_random_uuid()::text, 'sending', 999, 'USD', now()) RETURNING id`,
            [sid],
          );
          await client.query('UPDATE ref_subscriptions SET next_attempt_at = NULL, updated_at = now() WHERE id = $1', [sid]);
          await client.query('COMMIT');
          await client.query('BEGIN');
          await client.query(`UPDATE ref_attempts SET status = 'succeeded', payment_id = 'p', resolved_at = now(), updated_at = now() WHERE id = $1`, [rows[0].id]);
          await client.query(
            `UPDATE ref_subscriptions SET renewals_paid = renewals_paid + 1, next_period = next_period + 1,
               next_renewal_at = next_renewal_at + interval '7 days', next_attempt_at = next_renewal_at + interval '7 days', updated_at = now()
             WHERE id = $1`,
            [sid],
          );
          await client.query(
            `INSERT INTO ref_events (subscription_id, transaction_id, type, actor, data, occurred_at) VALUES ($1, $2, 'payment_succeeded', 'worker', '{"period": 1}', now())`,
            [sid, rows[0].id],
          );
          await client.query('COMMIT');
          renewals += 1;
        }
      } finally {
        await client.end();
      }
    }),
  );
  return { renewalsPerSecond: renewals / options.seconds, tool: `in-process loop, ${options.clients} clients` };
}
