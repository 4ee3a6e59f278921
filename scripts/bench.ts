/**
 * `npm run bench`: how fast rebill renews, measured end to end with real processes.
 *
 *  1. imports N subscriptions due now (or due over a window) through `rebill import`;
 *  2. runs K `rebill worker` processes against a `rebill sandbox` process until every
 *     subscription is settled (charged, and where the mix says so its notice applied);
 *  3. prints throughput, due-to-request lag, database statements and commits per renewal, peak
 *     memory per worker and the sandbox ledger's double-charge count;
 *  4. measures the reference bound on the same database: pgbench (or, without it, an in-process
 *     loop) running only the SQL a renewal needs, two commits per renewal, and prints the ratio.
 *
 * A script that prints figures, not a test: nothing here passes or fails on timing.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort } from '../src/lib/ports.ts';
import { cleanupStack, createBenchDatabase, log } from './lib/bench-database.ts';
import { cpuSeconds, peakRssBytes, startRebillProcess, startWorkerProcess, type WorkerProcess } from './lib/rebill-process.ts';
import { referenceBound } from './lib/reference-bound.ts';
import { summariseProfiles } from './lib/cpu-profile.ts';

const MIX_TOKENS = { approve: 'approve', soft: 'soft-decline', '3ds': '3ds', pending: 'pending' } as const;
type MixKind = keyof typeof MIX_TOKENS;

const { values: options } = parseArgs({
  options: {
    subscriptions: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1' },
    'latency-ms': { type: 'string', default: '200' },
    mix: { type: 'string', default: 'approve=1' },
    concurrency: { type: 'string', default: '512' },
    batch: { type: 'string', default: '128' },
    'pool-size': { type: 'string', default: '8' },
    'due-over': { type: 'string', default: '0' },
    'reference-seconds': { type: 'string', default: '20' },
    'reference-clients': { type: 'string', default: '16' },
    'database-url': { type: 'string' },
    'json-out': { type: 'string' },
    profile: { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (options.help) {
  console.log(`Usage: npm run bench -- [options]

  --subscriptions N       subscriptions to renew (default 10000)
  --workers K             separate worker processes (default 1)
  --latency-ms L          sandbox answer delay (default 200)
  --mix SPEC              share of approve, soft, 3ds, pending, e.g. approve=0.7,soft=0.1,3ds=0.1,pending=0.1
  --concurrency C         charges in flight per worker (REBILL_CHARGE_CONCURRENCY, default 512)
  --batch B               charges claimed and recorded together (REBILL_CHARGE_BATCH_SIZE, default 128)
  --pool-size P           database connections per worker (default 8)
  --due-over S            spread due times over S seconds from the start (default 0: all due now);
                          with an arrival rate below capacity this measures lag while keeping up
  --reference-seconds T   how long the reference bound runs (default 20)
  --reference-clients C   its database clients (default 16)
  --database-url URL      a PostgreSQL server to use (default: a durable embedded one in .rebill/bench-pg)
  --json-out FILE         also write the figures as JSON
  --profile DIR           write CPU profiles of the workers and the sandbox (.cpuprofile) to DIR,
                          and print the statements that cost the database most`);
  process.exit(0);
}

const count = positive('subscriptions');
const workerCount = positive('workers');
const latencyMs = Number(options['latency-ms']);
const concurrency = positive('concurrency');
const dueOverSeconds = Number(options['due-over']);
const mix = parseMix(options.mix!);

function positive(name: keyof typeof options): number {
  const value = Number(options[name]);
  if (!Number.isInteger(value) || value <= 0) fail(`--${name} must be a positive whole number, got "${options[name]}"`);
  return value;
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function parseMix(spec: string): [MixKind, number][] {
  const parts = spec.split(',').map((p) => p.trim().split('='));
  const entries = parts.map(([kind, share]) => {
    if (!kind || !(kind in MIX_TOKENS)) fail(`--mix: unknown kind "${kind}" (use ${Object.keys(MIX_TOKENS).join(', ')})`);
    const value = Number(share);
    if (!(value >= 0)) fail(`--mix: share of ${kind} must be a number >= 0`);
    return [kind as MixKind, value] as [MixKind, number];
  });
  const total = entries.reduce((n, [, v]) => n + v, 0);
  if (total <= 0) fail('--mix: the shares add up to zero');
  return entries.map(([k, v]) => [k, v / total]);
}

const { cleanups, cleanUp } = cleanupStack();

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'rebill-bench-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));

  // 0. A fresh database on a durable server with pg_stat_statements.
  const { name, url: databaseUrl, handle } = await createBenchDatabase({
    label: 'bench',
    adminUrl: options['database-url'],
    settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' },
    cleanups,
  });
  const statements = await handle.pool.query('create extension if not exists pg_stat_statements').then(() => true, () => false);

  // 1. The subscriptions, through the import path.
  const csv = join(work, 'subscriptions.csv');
  await writeCsv(csv, Date.now());
  log(`importing ${count} subscriptions (${options.mix}) …`);
  const importStarted = Date.now();
  await run(['import', '--csv', csv, '--json'], { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  const importSeconds = (Date.now() - importStarted) / 1000;
  log(`imported in ${importSeconds.toFixed(1)} s`);

  // 2. The sandbox in its own process, then K workers.
  const sandboxPort = await freePort();
  const profiling = options.profile
    ? process.env.BENCH_HEAP_PROFILE
      ? ['--heap-prof', `--heap-prof-dir=${resolve(options.profile)}`]
      : ['--cpu-prof', `--cpu-prof-dir=${resolve(options.profile)}`]
    : [];
  const sandbox = startRebillProcess(
    ['sandbox', '--port', String(sandboxPort), '--latency-ms', String(latencyMs), '--notice-retry-delays', '0s,5s,10s,30s,60s'],
    { LOG_LEVEL: 'warn' },
    profiling,
  );
  cleanups.push(() => sandbox.stop());
  await waitForHttp(`http://127.0.0.1:${sandboxPort}/sandbox/ledger/summary`);

  if (dueOverSeconds > 0) {
    // Spread the due times evenly over the window, starting just after the workers come up.
    await handle.pool.query(
      `update subscriptions s set next_renewal_at = d.due, next_attempt_at = d.due, anchor_at = d.due - interval '7 days'
       from (select id, to_timestamp($1::float8 / 1000) + (row_number() over (order by id) - 1) * ($2::float8 / $3::float8) * interval '1 second' as due
             from subscriptions) d
       where s.id = d.id`,
      [Date.now() + 10_000, dueOverSeconds, count],
    );
    await handle.pool.query('vacuum analyze subscriptions');
  }
  await handle.pool.query(statements ? 'select pg_stat_statements_reset()' : 'select 1');
  const before = await databaseCounters(handle.pool, name);
  const workers: WorkerProcess[] = [];
  const workerPorts: number[] = [];
  for (let i = 0; i < workerCount; i += 1) {
    const port = await freePort();
    workerPorts.push(port);
    const worker = startWorkerProcess({
      DATABASE_URL: databaseUrl,
      OCEANPAYMENT_GATEWAY_URL: `http://127.0.0.1:${sandboxPort}`,
      REBILL_PORT: String(port),
      REBILL_PUBLIC_URL: `http://127.0.0.1:${port}`,
      REBILL_CHARGE_CONCURRENCY: String(concurrency),
      REBILL_CHARGE_BATCH_SIZE: options.batch!,
      REBILL_DB_POOL_SIZE: options['pool-size']!,
      REBILL_OUTBOX_DIR: join(work, 'outbox'),
      OCEANPAYMENT_TIMEOUT_MS: '30000',
      LOG_LEVEL: 'warn',
      ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
      // Receipts are on by default; runs before them are compared with REBILL_SEND_RECEIPTS=false.
      ...(process.env.REBILL_SEND_RECEIPTS ? { REBILL_SEND_RECEIPTS: process.env.REBILL_SEND_RECEIPTS } : {}),
    }, profiling);
    workers.push(worker);
    cleanups.push(() => worker.stop());
  }
  await Promise.all(workers.map((w) => w.started()));
  const workersStartedAt = Date.now();
  log(`${workerCount} worker(s) up; waiting until every subscription is settled …`);

  const cpuBefore = await cpuByRole(workers, sandbox);
  const peaks = new Map<number, number>();
  const heapPeaks = { used: 0, total: 0, external: 0 };
  const sampleMemory = async () => {
    for (const w of workers) {
      const rss = await peakRssBytes(w.child.pid!);
      if (rss) peaks.set(w.child.pid!, Math.max(peaks.get(w.child.pid!) ?? 0, rss));
    }
    // What the memory is made of, from the first worker's own metrics.
    const metrics = await fetch(`http://127.0.0.1:${workerPorts[0]}/metrics`).then((r) => r.text(), () => '');
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? 0);
    heapPeaks.used = Math.max(heapPeaks.used, read('rebill_process_nodejs_heap_size_used_bytes'));
    heapPeaks.total = Math.max(heapPeaks.total, read('rebill_process_nodejs_heap_size_total_bytes'));
    heapPeaks.external = Math.max(heapPeaks.external, read('rebill_process_nodejs_external_memory_bytes'));
  };
  const deadline = Date.now() + 6 * 3600_000;
  let lastReport = 0;
  for (;;) {
    await sleep(2000);
    await sampleMemory();
    const progress = await settledCount(handle.pool);
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(`settled ${progress.settled}/${count} (open ${progress.open})`);
    }
    if (progress.settled >= count && progress.open === 0) break;
    if (Date.now() > deadline) throw new Error('not settled within 6 hours');
    if (workers.some((w) => w.child.exitCode !== null)) throw new Error(`a worker exited: ${workers.map((w) => w.stderr.slice(-500)).join('\n')}`);
  }
  await sampleMemory();
  const cpuAfter = await cpuByRole(workers, sandbox);
  const after = await databaseCounters(handle.pool, name);
  const statementCount = statements
    ? Number((await handle.pool.query(`select coalesce(sum(calls), 0)::bigint as n from pg_stat_statements where dbid = (select oid from pg_database where datname = $1)`, [name])).rows[0].n)
    : null;
  const ledger = (await (await fetch(`http://127.0.0.1:${sandboxPort}/sandbox/ledger/summary`)).json()) as { double_charges: number; requests: number };
  if (options.profile && statements) await printTopStatements(handle.pool, name);
  await Promise.all(workers.map((w) => w.stop()));
  await sandbox.stop(); // its ledger is read; stopping it also writes its CPU profile

  const timing = await throughput(handle.pool, workersStartedAt);

  // 4. The reference bound, on the same database.
  log('measuring the reference bound …');
  const reference = await referenceBound(databaseUrl, {
    seconds: Number(options['reference-seconds']),
    clients: positive('reference-clients'),
    rows: Math.min(count, 200_000),
  });

  const figures = {
    date: new Date().toISOString(),
    machine: `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB`,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
    subscriptions: count,
    workers: workerCount,
    latency_ms: latencyMs,
    mix: options.mix,
    import_seconds: round(importSeconds),
    renewals_per_second_overall: round(timing.overall),
    renewals_per_second_steady: round(timing.steady),
    wall_seconds: round(timing.wallSeconds),
    lag_p50_seconds: round(timing.lagP50),
    lag_p99_seconds: round(timing.lagP99),
    statements_per_renewal: statementCount === null ? null : round(statementCount / count),
    commits_per_renewal: round((after.commits - before.commits) / count),
    peak_rss_mb_per_worker: [...peaks.values()].map((b) => Math.round(b / 2 ** 20)),
    peak_heap_mb_first_worker: { used: Math.round(heapPeaks.used / 2 ** 20), total: Math.round(heapPeaks.total / 2 ** 20), external: Math.round(heapPeaks.external / 2 ** 20) },
    cpu_ms_per_renewal: Object.fromEntries(
      Object.entries(cpuAfter).map(([role, seconds]) => [role, round((1000 * (seconds - (cpuBefore[role] ?? 0))) / count)]),
    ),
    double_charges: ledger.double_charges,
    gateway_requests: ledger.requests,
    reference_renewals_per_second: round(reference.renewalsPerSecond),
    reference_tool: reference.tool,
    ratio_to_reference: round(timing.steady / reference.renewalsPerSecond),
  };
  printTable(figures);
  if (options.profile && !process.env.BENCH_HEAP_PROFILE) {
    const labels = new Map<number, string>([[sandbox.child.pid!, 'sandbox'], ...workers.map((w, i) => [w.child.pid!, `worker ${i + 1}`] as [number, string])]);
    console.log(`CPU profiles (${options.profile}):\n${await summariseProfiles(options.profile, labels)}\n`);
  }
  if (options['json-out']) await writeFile(options['json-out'], `${JSON.stringify(figures, null, 2)}\n`);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Rows for `rebill import`: renewal 1 of every row falls due just before `dueFrom`. */
async function writeCsv(path: string, dueFrom: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('email,first_name,last_name,country,interval,amount,currency,quickpay_id,timezone,first_paid_at\n');
  const cumulative = mix.reduce<[MixKind, number][]>((acc, [k, v]) => [...acc, [k, (acc.at(-1)?.[1] ?? 0) + v]], []);
  for (let i = 0; i < count; i += 1) {
    const position = (i + 0.5) / count;
    const kind = cumulative.find(([, upTo]) => position <= upTo + 1e-12)?.[0] ?? 'approve';
    const due = new Date(dueFrom - 60_000);
    // A weekly plan whose first purchase was 7 days before the due instant: renewal 1 is due then.
    const firstPaid = new Date(due.getTime() - 7 * 86_400_000);
    await write(`bench${i}@example.com,Bench,Customer${i},US,week,9.99,USD,${MIX_TOKENS[kind]}-${randomUUID()},UTC,${firstPaid.toISOString()}\n`);
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

function run(args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/rebill.mjs', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rebill ${args[0]} exited with ${code}`))));
  });
}

async function waitForHttp(url: string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

/** CPU seconds used so far by the workers, the sandbox and the PostgreSQL server's processes (when local). */
async function cpuByRole(workers: WorkerProcess[], sandbox: WorkerProcess): Promise<Record<string, number>> {
  const sum = async (pids: number[]) => (await Promise.all(pids.map((pid) => cpuSeconds(pid)))).reduce<number>((n, v) => n + (v ?? 0), 0);
  const { readdir, readFile } = await import('node:fs/promises');
  const postgresPids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.startsWith('postgres')) postgresPids.push(Number(entry));
  }
  // Summed with exited children, so backends that ended between the two readings still count.
  const postgres = (await Promise.all(postgresPids.map((pid) => cpuSeconds(pid, true)))).reduce<number>((n, v) => n + (v ?? 0), 0);
  return {
    workers: await sum(workers.map((w) => w.child.pid!)),
    sandbox: await sum([sandbox.child.pid!]),
    postgres,
  };
}

async function databaseCounters(pool: pg.Pool, name: string): Promise<{ commits: number }> {
  const { rows } = await pool.query('select xact_commit::bigint as commits from pg_stat_database where datname = $1', [name]);
  return { commits: Number(rows[0].commits) };
}

/** Settled: every subscription has an attempt, and none waits for an answer (3-D Secure waits for the customer). */
async function settledCount(pool: pg.Pool): Promise<{ settled: number; open: number }> {
  const { rows } = await pool.query(`
    select count(*) filter (where status in ('succeeded', 'failed', 'action_required'))::int as settled,
           count(*) filter (where status in ('sending', 'pending', 'unknown'))::int as open
    from payment_transactions`);
  return rows[0];
}

/**
 * Overall: renewals over the time from the first request to the last settlement. Steady: the
 * rate between the 10th and 90th percentile of request times. Lag: request time minus the later
 * of due time and the moment the workers started.
 */
async function throughput(pool: pg.Pool, workersStartedAt: number) {
  const { rows } = await pool.query(
    `
    with a as (
      select a.requested_at, coalesce(a.resolved_at, a.updated_at) as settled_at,
             extract(epoch from a.requested_at - greatest(s.anchor_at + interval '7 days', to_timestamp($1 / 1000.0))) as lag
      from payment_transactions a join subscriptions s on s.id = a.subscription_id
    )
    select extract(epoch from max(settled_at) - min(requested_at)) as wall,
           count(*)::int as n,
           extract(epoch from percentile_disc(0.9) within group (order by requested_at)
                             - percentile_disc(0.1) within group (order by requested_at)) as middle,
           percentile_cont(0.5) within group (order by lag) as p50,
           percentile_cont(0.99) within group (order by lag) as p99
    from a`,
    [workersStartedAt],
  );
  const row = rows[0];
  const wallSeconds = Number(row.wall);
  return {
    wallSeconds,
    overall: Number(row.n) / wallSeconds,
    steady: (Number(row.n) * 0.8) / Math.max(Number(row.middle), 0.001),
    lagP50: Math.max(0, Number(row.p50)),
    lagP99: Math.max(0, Number(row.p99)),
  };
}

async function printTopStatements(pool: pg.Pool, name: string): Promise<void> {
  const { rows } = await pool.query(
    `select calls, round(total_exec_time::numeric, 0) as ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as query
     from pg_stat_statements where dbid = (select oid from pg_database where datname = $1)
     order by total_exec_time desc limit 12`,
    [name],
  );
  console.log('\nstatements by database time (calls, ms, statement):');
  for (const r of rows) console.log(`  ${String(r.calls).padStart(8)} ${String(r.ms).padStart(8)}  ${r.query}`);
}

function printTable(figures: Record<string, unknown>): void {
  const rows: [string, unknown][] = [
    ['subscriptions', figures.subscriptions],
    ['worker processes', figures.workers],
    ['sandbox latency (ms)', figures.latency_ms],
    ['mix', figures.mix],
    ['import (s)', figures.import_seconds],
    ['renewals/s overall', figures.renewals_per_second_overall],
    ['renewals/s steady state', figures.renewals_per_second_steady],
    ['wall time (s)', figures.wall_seconds],
    ['due-to-request lag p50 (s)', figures.lag_p50_seconds],
    ['due-to-request lag p99 (s)', figures.lag_p99_seconds],
    ['statements per renewal', figures.statements_per_renewal ?? 'n/a (no pg_stat_statements)'],
    ['commits per renewal', figures.commits_per_renewal],
    ['peak RSS per worker (MB)', (figures.peak_rss_mb_per_worker as number[]).join(', ')],
    ['peak JS heap, first worker (MB)', Object.entries(figures.peak_heap_mb_first_worker as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['CPU ms per renewal', Object.entries(figures.cpu_ms_per_renewal as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['double charges (sandbox ledger)', figures.double_charges],
    [`reference bound (${figures.reference_tool}), renewals/s`, figures.reference_renewals_per_second],
    ['rebill / reference', `${figures.ratio_to_reference}x`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nrebill benchmark, ${figures.date} on ${figures.machine}\n${figures.command}\n`);
  for (const [key, value] of rows) console.log(`  ${key.padEnd(width)}  ${String(value)}`);
  console.log('');
}

main()
  .then(cleanUp, async (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    await cleanUp();
    process.exit(1);
  })
  .then(() => process.exit(0));

