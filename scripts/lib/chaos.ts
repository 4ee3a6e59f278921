/**
 * Fault-injection scenarios, shared by `npm run chaos` and the short version in `npm test`.
 * Each runs real worker processes against a sandbox process on its own database, injects its
 * faults, waits until every subscription is settled, and then checks from the sandbox's ledger
 * and the database that every period was charged exactly once, every verified notice was
 * applied, and no attempt is left unresolved.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { connectDatabase, type DatabaseHandle } from '../../src/db/connect.ts';
import { prepareDatabase } from '../../src/jobs/prepare-database.ts';
import { freePort } from '../../src/lib/ports.ts';
import { startRebillProcess, startWorkerProcess, type WorkerProcess } from './rebill-process.ts';
import { seedDueSubscriptions } from './seed.ts';

/** A PostgreSQL server the scenarios may create databases on, and restart. */
export interface ChaosDatabaseServer {
  adminUrl: string;
  restart(): Promise<void>;
}

export interface ChaosSettings {
  subscriptions: number;
  kills: number;
  /** "Delayed by minutes" in the full suite; seconds in the short one. */
  noticeDelayMs: number;
  seed: string;
  log: (message: string) => void;
}

export interface ScenarioResult {
  scenario: string;
  renewals: number;
  doubleCharges: number;
  lostCharges: number;
  unresolved: number;
  /** Verified notices that were not applied, and forged ones that were. */
  noticeProblems: number;
  /** What the faults did, counted: proof the scenario exercised something. */
  evidence: string;
  wallSeconds: number;
  notes: string;
}

export const SCENARIO_NAMES = ['sigkill', 'database-restart', 'gateway-faults', 'notice-faults', 'clock-skew'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

interface Run {
  db: DatabaseHandle;
  databaseUrl: string;
  sandboxUrl: string;
  ids: string[];
  startWorker(extra?: Record<string, string>): Promise<WorkerProcess>;
  workers: WorkerProcess[];
}

const WORKER_SETTINGS = {
  OCEANPAYMENT_TIMEOUT_MS: '2000',
  REBILL_QUERY_SCHEDULE: '1s,2s',
  REBILL_JANITOR_INTERVAL: '500ms',
  REBILL_CHARGE_CONCURRENCY: '24',
  REBILL_CHARGE_BATCH_SIZE: '8',
  REBILL_DB_POOL_SIZE: '5',
  REBILL_SHUTDOWN_GRACE_MS: '3000',
  LOG_LEVEL: 'warn',
};

export async function runScenario(name: ScenarioName, server: ChaosDatabaseServer, settings: ChaosSettings): Promise<ScenarioResult> {
  const started = Date.now();
  switch (name) {
    case 'sigkill':
      return withRun(name, server, settings, { latencyMs: 400, faults: { noticeDelayMs: 800 } }, started, async (run) => {
        // A worker killed at random moments, restarted each time; one survivor finishes.
        for (let kill = 0; kill < settings.kills; kill += 1) {
          const worker = await run.startWorker();
          await sleep(200 + Math.random() * 1800);
          worker.kill('SIGKILL');
          await worker.exited;
        }
        await run.startWorker();
        return `${settings.kills} SIGKILLs at random moments, each followed by a restart`;
      });
    case 'database-restart':
      return withRun(name, server, settings, { latencyMs: 300 }, started, async (run) => {
        const worker = await run.startWorker();
        await waitFor(async () => (await settledCount(run)) > run.ids.length / 4, 180_000, 'a quarter of the renewals before the restart');
        await server.restart();
        if (worker.child.exitCode !== null) throw new Error(`the worker died when PostgreSQL restarted: ${worker.stderr.slice(-1000)}`);
        return 'PostgreSQL restarted mid-run; the same worker process reconnected and finished';
      });
    case 'gateway-faults':
      return withRun(
        name,
        server,
        settings,
        // Notices come late here, so what the faults hide is found by querying the gateway.
        { latencyMs: 50, faults: { serverErrorShare: 0.1, timeoutShare: 0.1, garbledShare: 0.05, noticeDelayMs: 4_000 } },
        started,
        async (run) => {
          await run.startWorker();
          return 'the gateway answered 10% 5xx, 10% timeouts and 5% garbled XML (the charges booked all the same)';
        },
      );
    case 'notice-faults':
      return withRun(
        name,
        server,
        settings,
        { latencyMs: 50, faults: { noticeDuplicateShare: 0.3, noticeReorderShare: 0.3, noticeDelayMs: settings.noticeDelayMs, noticeForgeShare: 0.1 } },
        started,
        async (run) => {
          await run.startWorker();
          return `notices duplicated (30%), reordered (30%), delayed by ${Math.round(settings.noticeDelayMs / 1000)} s, and 10% forged`;
        },
        { waitForNotices: true },
      );
    case 'clock-skew':
      return withRun(name, server, settings, { latencyMs: 100, dueSpreadMs: 60_000 }, started, async (run) => {
        await run.startWorker({ REBILL_CLOCK_OFFSET_MS: '0' });
        await run.startWorker({ REBILL_CLOCK_OFFSET_MS: '30000' });
        return 'two workers whose clocks are 30 s apart, renewals falling due over a minute';
      });
  }
}

interface RunShape {
  latencyMs: number;
  faults?: Record<string, number>;
  /** Spread due times over this window around now, so clock skew matters. */
  dueSpreadMs?: number;
}

async function withRun(
  name: ScenarioName,
  server: ChaosDatabaseServer,
  settings: ChaosSettings,
  shape: RunShape,
  started: number,
  act: (run: Run) => Promise<string>,
  options: { waitForNotices?: boolean } = {},
): Promise<ScenarioResult> {
  const databaseName = `rebill_chaos_${name.replaceAll('-', '_')}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query(`create database ${databaseName}`);
  await admin.end();
  const url = new URL(server.adminUrl);
  url.pathname = `/${databaseName}`;
  const databaseUrl = url.toString();
  const db = connectDatabase(databaseUrl, { poolSize: 3, applicationName: 'rebill-chaos' });
  db.pool.on('error', () => undefined);
  const processes: WorkerProcess[] = [];
  try {
    await prepareDatabase(db);
    const ids = await seedDueSubscriptions(db.db, settings.subscriptions, { spreadMs: shape.dueSpreadMs ?? 0 });
    const sandboxPort = await freePort();
    const sandbox = startRebillProcess(
      ['sandbox', '--port', String(sandboxPort), '--latency-ms', String(shape.latencyMs), '--seed', `${settings.seed}-${name}`, '--notice-retry-delays', '0s,1s,2s,4s,8s'],
      { LOG_LEVEL: 'warn' },
    );
    processes.push(sandbox);
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    await waitFor(() => fetch(`${sandboxUrl}/sandbox/ledger/summary`).then((r) => r.ok, () => false), 120_000, 'the sandbox to start');
    if (shape.faults) {
      const response = await fetch(`${sandboxUrl}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(shape.faults) });
      if (!response.ok) throw new Error(`could not set sandbox faults: ${await response.text()}`);
    }
    const workers: WorkerProcess[] = [];
    const run: Run = {
      db,
      databaseUrl,
      sandboxUrl,
      ids,
      workers,
      async startWorker(extra = {}) {
        const port = await freePort();
        const worker = startWorkerProcess({
          ...WORKER_SETTINGS,
          DATABASE_URL: databaseUrl,
          OCEANPAYMENT_GATEWAY_URL: sandboxUrl,
          REBILL_PORT: String(port),
          REBILL_PUBLIC_URL: `http://127.0.0.1:${port}`,
          REBILL_OUTBOX_DIR: `/tmp/${databaseName}-outbox`,
          ...extra,
        });
        processes.push(worker);
        workers.push(worker);
        await worker.started();
        return worker;
      },
    };
    settings.log(`${name}: ${ids.length} subscriptions due`);
    const notes = await act(run);
    await waitFor(
      async () => (await settledCount(run)) === ids.length && (await openAttempts(run)) === 0,
      600_000,
      `every renewal to settle (${name})`,
      async () => `${await settledCount(run)}/${ids.length} settled, ${await openAttempts(run)} open; worker stderr: ${workers.map((w) => w.stderr.slice(-300)).join(' | ')}`,
    );
    if (options.waitForNotices) await waitForNoticeDeliveries(sandboxUrl, settings.noticeDelayMs);
    const checks = await verify(run);
    for (const worker of workers) {
      if (worker.child.exitCode !== null && worker.child.signalCode !== 'SIGKILL') throw new Error(`a worker crashed (exit ${worker.child.exitCode}): ${worker.stderr.slice(-1000)}`);
    }
    return { scenario: name, renewals: ids.length, ...checks, wallSeconds: Math.round((Date.now() - started) / 100) / 10, notes };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await db.close();
    const cleanup = new pg.Client({ connectionString: server.adminUrl });
    await cleanup.connect().then(() => cleanup.query(`drop database if exists ${databaseName} with (force)`)).catch(() => undefined);
    await cleanup.end().catch(() => undefined);
  }
}

async function settledCount(run: Run): Promise<number> {
  return queryNumber(run, 'select count(*)::int as n from subscriptions where renewals_paid >= 1');
}

async function openAttempts(run: Run): Promise<number> {
  return queryNumber(run, `select count(*)::int as n from payment_transactions where status in ('sending', 'pending', 'action_required', 'unknown')`);
}

async function queryNumber(run: Run, text: string): Promise<number> {
  // The database may be restarting: a failed read is "not yet".
  return run.db.pool.query(text).then((r) => Number(r.rows[0].n), () => -1);
}

async function waitForNoticeDeliveries(sandboxUrl: string, delayMs: number): Promise<void> {
  // Delayed notices are still on their way; wait until the sandbox has nothing left to send.
  const deadline = Date.now() + delayMs + 60_000;
  let last = -1;
  let stable = 0;
  while (Date.now() < deadline) {
    const summary = (await (await fetch(`${sandboxUrl}/sandbox/ledger/summary`)).json()) as { notices: { attempts: number } };
    stable = summary.notices.attempts === last ? stable + 1 : 0;
    last = summary.notices.attempts;
    if (stable >= 3 && Date.now() > deadline - 60_000) return;
    await sleep(1000);
  }
}

interface LedgerEntryView {
  order_number: string;
  order_notes: string;
  status: string;
}

/** Small enough that even the short suite reads several pages. */
const LEDGER_PAGE = 100;

async function ledgerEntries(sandboxUrl: string): Promise<LedgerEntryView[]> {
  const entries: LedgerEntryView[] = [];
  // The sandbox caps each page; follow its `total` rather than assume a page size.
  for (;;) {
    const page = (await (await fetch(`${sandboxUrl}/sandbox/ledger?offset=${entries.length}&limit=${LEDGER_PAGE}`)).json()) as {
      total: number;
      entries: LedgerEntryView[];
    };
    entries.push(...page.entries);
    if (entries.length >= page.total || page.entries.length === 0) return entries;
  }
}

/**
 * The gateway's side against rebill's: approvals per subscription period (exactly one each),
 * approvals rebill does not know as succeeded (lost), attempts left open, and notices.
 */
async function verify(run: Run): Promise<Pick<ScenarioResult, 'doubleCharges' | 'lostCharges' | 'unresolved' | 'noticeProblems' | 'evidence'>> {
  const ledger = await ledgerEntries(run.sandboxUrl);
  const approvals = new Map<string, number>();
  for (const entry of ledger) if (entry.status === 'approved') approvals.set(entry.order_notes, (approvals.get(entry.order_notes) ?? 0) + 1);
  const doubleCharges = [...approvals.values()].reduce((n, count) => n + Math.max(0, count - 1), 0);
  const succeeded = new Set(
    (await run.db.pool.query(`select reference as order_number from payment_transactions where kind = 'charge' and status = 'succeeded'`)).rows.map((r: { order_number: string }) => r.order_number),
  );
  const lostCharges = ledger.filter((e) => e.status === 'approved' && !succeeded.has(e.order_number)).length;
  const unpaidPeriods = run.ids.filter((id) => (approvals.get(`subscription ${id} period 1`) ?? 0) === 0).length;
  const unresolved = (await openAttempts(run)) + unpaidPeriods;
  const { rows } = await run.db.pool.query(`
    select count(*) filter (where verified and result not in ('applied', 'no_change', 'confirming'))::int as unapplied,
           count(*) filter (where not verified and result in ('applied', 'no_change'))::int as forged_applied,
           count(*)::int as notices,
           count(*) filter (where result = 'rejected')::int as rejected,
           count(*) filter (where result = 'applied')::int as applied
    from provider_notices where channel = 'notice'`);
  const { rows: attempts } = await run.db.pool.query(`
    select count(*)::int as attempts,
           count(*) filter (where failure_reason like 'not sent%')::int as not_sent,
           (select count(distinct transaction_id)::int from events where actor = 'gateway:query') as by_query
    from payment_transactions`);
  const n = rows[0];
  const a = attempts[0];
  return {
    doubleCharges,
    lostCharges,
    unresolved,
    noticeProblems: n.unapplied + n.forged_applied,
    evidence:
      `${ledger.length} gateway charges for ${a.attempts} attempts (${a.by_query} settled by query, ${a.not_sent} failed as never sent); ` +
      `${n.notices} notices (${n.applied} applied first, ${n.rejected} rejected)`,
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, describe?: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe ? `: ${await describe()}` : ''}`);
    await sleep(250);
  }
}

export function resultTable(results: readonly ScenarioResult[]): string {
  const header = '| Scenario | Renewals | Double charges | Lost charges | Unresolved | Notice problems | Wall time (s) | Faults | Evidence |';
  const rows = results.map(
    (r) => `| ${r.scenario} | ${r.renewals} | ${r.doubleCharges} | ${r.lostCharges} | ${r.unresolved} | ${r.noticeProblems} | ${r.wallSeconds} | ${r.notes} | ${r.evidence} |`,
  );
  return [header, '|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}
