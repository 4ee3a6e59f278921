/**
 * `npm run api-load`: a bounded load check of the HTTP API on one `rebill worker`, on loopback,
 * while that worker renews subscriptions falling due throughout the run.
 *
 *  1. seeds `--renewing` subscriptions due evenly over the run, and starts a `rebill sandbox`
 *     process (answering after `--latency-ms`) and one worker;
 *  2. `--clients` concurrent clients enrol subscribers for `--seconds` (POST /api/v1/subscriptions,
 *     each with its own Idempotency-Key), then read them back for `--seconds`
 *     (GET /api/v1/subscriptions/{id});
 *  3. prints requests/s, p50 and p99 latency per operation, errors, and the renewals the worker
 *     settled meanwhile.
 *
 * A script that prints figures, not a test: nothing here passes or fails on timing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort } from '../src/lib/ports.ts';
import { cleanupStack, createBenchDatabase, log } from './lib/bench-database.ts';
import { startRebillProcess, startWorkerProcess } from './lib/rebill-process.ts';
import { seedDueSubscriptions } from './lib/seed.ts';

const { values: options } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '16' },
    renewing: { type: 'string', default: '20000' },
    'latency-ms': { type: 'string', default: '200' },
    'database-url': { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (options.help) {
  console.log(`Usage: npm run api-load -- [options]

  --seconds S        how long each phase (create, then get) runs (default 20)
  --clients C        concurrent API clients (default 16)
  --renewing N       subscriptions falling due evenly over both phases, renewed meanwhile (default 20000)
  --latency-ms L     sandbox answer delay (default 200)
  --database-url URL a PostgreSQL server to use (default: the embedded one in .rebill/bench-pg)
`);
  process.exit(0);
}

const seconds = Number(options.seconds);
const clients = Number(options.clients);
const renewing = Number(options.renewing);

const { cleanups, cleanUp } = cleanupStack();

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : 0;
}

interface PhaseResult {
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** Runs `clients` loops of `request` for `seconds`; each request's latency is kept. */
async function phase(request: (i: number) => Promise<boolean>): Promise<PhaseResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const i = next++;
        const t0 = performance.now();
        const ok = await request(i).catch(() => false);
        latencies.push(performance.now() - t0);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, seconds: elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'rebill-api-load-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));

  const { url: databaseUrl, handle } = await createBenchDatabase({ label: 'api_load', adminUrl: options['database-url'], cleanups });

  // Renewals falling due evenly over both phases, so the worker charges while the API is loaded.
  log(`seeding ${renewing} subscriptions due over the next ${2 * seconds} s …`);
  await seedDueSubscriptions(handle.db, renewing, { spreadMs: 0 });
  const windowStart = Date.now() + 15_000;
  await handle.pool.query(
    `update subscriptions s set next_renewal_at = d.due, next_attempt_at = d.due, anchor_at = d.due - interval '7 days'
     from (select id, to_timestamp($1::float8 / 1000) + (row_number() over (order by id) - 1) * ($2::float8 / $3::float8) * interval '1 second' as due from subscriptions) d
     where s.id = d.id`,
    [windowStart, 2 * seconds, renewing],
  );

  const sandboxPort = await freePort();
  const sandbox = startRebillProcess(['sandbox', '--port', String(sandboxPort), '--latency-ms', options['latency-ms']!], { LOG_LEVEL: 'warn' });
  cleanups.push(() => sandbox.stop());
  const port = await freePort();
  const worker = startWorkerProcess({
    DATABASE_URL: databaseUrl,
    OCEANPAYMENT_GATEWAY_URL: `http://127.0.0.1:${sandboxPort}`,
    REBILL_PORT: String(port),
    REBILL_PUBLIC_URL: `http://127.0.0.1:${port}`,
    REBILL_OUTBOX_DIR: join(work, 'outbox'),
    REBILL_API_RATE_LIMIT: '1000000',
    LOG_LEVEL: 'warn',
  });
  cleanups.push(() => worker.stop());
  await worker.started();

  const keyProcess = startRebillProcess(['api-key', 'create', '--name', 'load', '--json'], { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  let keyOutput = '';
  keyProcess.child.stdout!.on('data', (chunk: Buffer) => (keyOutput += chunk.toString()));
  await keyProcess.exited;
  const key = (JSON.parse(keyOutput) as { key: string }).key;
  const base = `http://127.0.0.1:${port}/api/v1`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

  await sleep(Math.max(0, windowStart - Date.now()));
  const settledBefore = await settled(handle.pool);
  log(`create: ${clients} clients for ${seconds} s …`);
  const created: string[] = [];
  const create = await phase(async (i) => {
    const response = await fetch(`${base}/subscriptions`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': `load-${i}` },
      body: JSON.stringify({
        email: `api${i}@example.com`, first_name: 'Load', last_name: `Client${i}`, country: 'US', interval: 'month',
        amount: '9.99', currency: 'USD', quickpay_id: `approve-${randomUUID()}`, external_id: `load-${i}`,
      }),
    });
    const body = (await response.json()) as { id?: string };
    if (response.status === 201 && body.id) created.push(body.id);
    return response.status === 201;
  });
  log(`get: ${clients} clients for ${seconds} s …`);
  const get = await phase(async (i) => {
    const response = await fetch(`${base}/subscriptions/${created[i % created.length]}`, { headers });
    await response.arrayBuffer();
    return response.status === 200;
  });
  const settledAfter = await settled(handle.pool);

  const row = (label: string, r: PhaseResult) =>
    `| ${label} | ${r.requests} | ${(r.requests / r.seconds).toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} |`;
  console.log(`API load check: 1 worker, ${clients} clients, ${seconds} s per operation, loopback; renewals due meanwhile: ${renewing}
| Operation | Requests | Requests/s | p50 (ms) | p99 (ms) | Errors |
|---|---|---|---|---|---|
${row('POST /subscriptions', create)}
${row('GET /subscriptions/{id}', get)}
Renewals settled by the worker during the two phases: ${settledAfter - settledBefore} (${((settledAfter - settledBefore) / (create.seconds + get.seconds)).toFixed(0)}/s)`);
}

async function settled(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from payment_transactions where kind = 'charge' and status = 'succeeded' and period > 0`);
  return rows[0]!.n;
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
