/**
 * `npm run bench:reconcile`: how long `rebill reconcile` takes over a day of N payments.
 *
 *  1. a sandbox (in this process, over real HTTP) holds N approved payments spread over one
 *     gateway day (UTC+8), plus a few the merchant never sent;
 *  2. the database holds the same N payments as rebill records them (subscription, paid invoice,
 *     succeeded charge with the gateway's payment id);
 *  3. `rebill reconcile --date DAY --json` runs as a separate process, as an operator would, paging
 *     through both lists 100 orders at a time; its wall time, peak memory and result are printed.
 *
 * A script that prints figures, not a test: nothing here passes or fails on timing.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { connectDatabase } from '../src/db/connect.ts';
import { acquireEmbeddedPostgres } from '../src/db/embedded.ts';
import { prepareDatabase } from '../src/jobs/prepare-database.ts';
import { gatewayDay } from '../src/payments/providers/oceanpayment/settlement.ts';
import { GATEWAY_UTC_OFFSET_MINUTES } from '../src/payments/providers/oceanpayment/gateway-time.ts';
import { startSandbox } from '../src/payments/providers/oceanpayment/sandbox/index.ts';
import { SANDBOX_DEFAULT_ACCOUNT, SANDBOX_DEFAULT_SECURE_CODE, SANDBOX_DEFAULT_TERMINAL } from '../src/payments/providers/oceanpayment/sandbox/options.ts';
import { REBILL_BIN } from './lib/rebill-process.ts';

const { values: options } = parseArgs({
  options: {
    payments: { type: 'string', default: '100000' },
    unknown: { type: 'string', default: '100' },
    day: { type: 'string', default: '2026-11-30' },
    'latency-ms': { type: 'string', default: '0' },
    'database-url': { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (options.help) {
  console.log(`Usage: npm run bench:reconcile -- [options]

  --payments N       payments on the day, known to both sides (default 100000)
  --unknown U        more payments only the gateway has, to be flagged (default 100)
  --day DAY          the gateway day they fall on (default 2026-11-30)
  --latency-ms L     the sandbox's delay before each list answer (default 0)
  --database-url U   an existing, empty PostgreSQL database (default: a fresh embedded one)`);
  process.exit(0);
}

const N = Number(options.payments);
const UNKNOWN = Number(options.unknown);
const window = gatewayDay(options.day!, GATEWAY_UTC_OFFSET_MINUTES);
const BATCH = 10_000;

const dir = mkdtempSync(join(tmpdir(), 'rebill-bench-reconcile-'));
// The embedded PostgreSQL runs as its own OS user when this runs as root: it must reach the directory.
chmodSync(dir, 0o755);
const lease = options['database-url'] ? null : await acquireEmbeddedPostgres({ dir: join(dir, 'pg') });
const url = options['database-url'] ?? lease!.url;
const database = connectDatabase(url, { poolSize: 4 });
const sandbox = await startSandbox({
  accounts: [{ account: SANDBOX_DEFAULT_ACCOUNT, terminal: SANDBOX_DEFAULT_TERMINAL, secureCode: SANDBOX_DEFAULT_SECURE_CODE }],
  latencyMs: Number(options['latency-ms']),
  seed: 'bench-reconcile',
});

try {
  await prepareDatabase(database);
  console.log(`seeding ${N.toLocaleString('en')} payments on ${window.day} (+${UNKNOWN} only at the gateway)…`);
  const step = Math.floor((window.to.getTime() - window.from.getTime()) / (N + UNKNOWN));
  for (let start = 0; start < N; start += BATCH) {
    const refs: string[] = [];
    const paymentIds: string[] = [];
    const times: Date[] = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      const at = window.from.getTime() + i * step;
      const reference = `bench-${String(i).padStart(7, '0')}-1-1`;
      const row = sandbox.ledger.record({
        account: SANDBOX_DEFAULT_ACCOUNT, terminal: SANDBOX_DEFAULT_TERMINAL, orderNumber: reference, quickpayId: `tok-${i}`, serviceMode: 'M2',
        amount: '9.99', currency: 'USD', orderNotes: '', status: 'approved', details: '80000:Approved', behaviour: 'approve', fault: 'none', at,
      });
      refs.push(reference);
      paymentIds.push(sandbox.ledger.get(row).paymentId);
      times.push(new Date(at));
    }
    await sql`
      with input as (select * from unnest(${refs}::text[], ${paymentIds}::text[], ${times}::timestamptz[]) as t(ref, pid, at)),
      subs as (
        insert into subscriptions (id, customer_email, customer_first_name, customer_last_name, customer_country, product_name, interval,
          amount_minor, currency, timezone, anchor_at, status, renewals_paid, next_period, next_renewal_at, next_attempt_at)
        select md5(ref)::uuid, 'bench@example.com', 'Bench', 'Mark', 'GB', 'Tea box', 'month', 999, 'USD', 'UTC', at - interval '1 month',
          'active', 1, 2, at + interval '1 month', at + interval '1 month' from input
        returning id),
      inv as (
        insert into invoices (subscription_id, period, currency, amount_due_minor, amount_paid_minor, status, due_at, paid_at)
        select md5(ref)::uuid, 1, 'USD', 999, 999, 'paid', at, at from input
        returning id, subscription_id)
      insert into payment_transactions (kind, subscription_id, invoice_id, period, provider, provider_account, reference, provider_reference,
        amount_minor, currency, status, details, requested_at, resolved_at)
      select 'charge', inv.subscription_id, inv.id, 1, 'oceanpayment', ${`${SANDBOX_DEFAULT_ACCOUNT}/${SANDBOX_DEFAULT_TERMINAL}`}, input.ref, input.pid,
        999, 'USD', 'succeeded', '{}', input.at, input.at
      from input join inv on inv.subscription_id = md5(input.ref)::uuid`.execute(database.db);
  }
  for (let i = 0; i < UNKNOWN; i++) {
    sandbox.ledger.record({
      account: SANDBOX_DEFAULT_ACCOUNT, terminal: SANDBOX_DEFAULT_TERMINAL, orderNumber: `backoffice-${i}`, quickpayId: 'out-of-band', serviceMode: '',
      amount: '5.00', currency: 'USD', orderNotes: '', status: 'approved', details: '80000:Approved', behaviour: 'approve', fault: 'out_of_band',
      at: window.from.getTime() + (N + i) * step,
    });
  }
  await sql`analyze`.execute(database.db);

  console.log(`rebill reconcile --date ${window.day} (sandbox at ${sandbox.url})…`);
  const started = process.hrtime.bigint();
  const result = await runReconcile(window.day, { DATABASE_URL: url, OCEANPAYMENT_GATEWAY_URL: sandbox.url, REBILL_DATA_DIR: dir, LOG_LEVEL: 'warn' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.code !== 0) throw new Error(`rebill reconcile exited ${result.code}: ${result.stderr.slice(-2000)}`);
  const { run } = JSON.parse(result.stdout) as { run: Record<string, number | string> };
  console.log(JSON.stringify({
    payments: N, unknown: UNKNOWN, day: window.day, seconds: Math.round(seconds * 10) / 10,
    payments_per_second: Math.round(Number(run.payments_compared) / seconds),
    peak_rss_mb: Math.round(result.peakRssKb / 1024), run,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  }, null, 2));
} finally {
  await sandbox.close();
  await database.close();
  await lease?.release();
  rmSync(dir, { recursive: true, force: true });
}

/** Runs the real CLI as a child process; its peak RSS comes from /usr/bin/time when present. */
function runReconcile(day: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; peakRssKb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'peak_rss_kb=%M', process.execPath, REBILL_BIN, 'reconcile', '--date', day, '--json'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      process.stderr.write(c);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, peakRssKb: Number(/peak_rss_kb=(\d+)/.exec(stderr)?.[1] ?? 0) }));
  });
}
