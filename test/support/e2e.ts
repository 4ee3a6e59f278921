/** Helpers for end-to-end tests: worker processes against a sandbox over real HTTP. */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../../src/db/connect.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { MERCHANT } from './engine-harness.ts';
import type { TestDatabase } from './database.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';
import { temporaryDataDir } from './state-dir.ts';

import { freePort } from '../../src/lib/ports.ts';

export { freePort };

export function startTestSandbox(options: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({ accounts: [MERCHANT], noticeRetryDelaysMs: [0, 300, 1000, 2000, 4000], pendingNoticeDelayMs: 300, timeoutHoldMs: 5_000, ...options });
}

/**
 * Environment for a worker talking to `sandbox` on `database`, with short timers so tests settle
 * quickly, and its local state (`.eml` files) in a temporary directory.
 */
export function workerEnv(database: TestDatabase, sandbox: Sandbox, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    REBILL_DATA_DIR: temporaryDataDir('worker'),
    OCEANPAYMENT_ACCOUNT: MERCHANT.account,
    OCEANPAYMENT_TERMINAL: MERCHANT.terminal,
    OCEANPAYMENT_SECURE_CODE: MERCHANT.secureCode,
    OCEANPAYMENT_GATEWAY_URL: sandbox.url,
    OCEANPAYMENT_QUERY_URL: sandbox.url,
    OCEANPAYMENT_TIMEOUT_MS: '2000',
    REBILL_PORT: String(port),
    REBILL_PUBLIC_URL: `http://127.0.0.1:${port}`,
    REBILL_JANITOR_INTERVAL: '300ms',
    REBILL_QUERY_SCHEDULE: '500ms,1s',
    REBILL_SHUTDOWN_GRACE_MS: '5000',
    ...extra,
  };
}

export async function startWorkers(count: number, env: (index: number, port: number) => Record<string, string>): Promise<WorkerProcess[]> {
  const workers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const port = await freePort();
      return startWorkerProcess(env(i, port));
    }),
  );
  await Promise.all(workers.map((w) => w.started()));
  return workers;
}

export { seedDueSubscriptions } from '../../scripts/lib/seed.ts';

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not settled within ${timeoutMs} ms: ${await describe()}`);
    await sleep(200);
  }
}

export interface Settlement {
  paid: number;
  open: number;
  attemptsByStatus: Record<string, number>;
}

export async function settlement(db: Db, ids: readonly string[]): Promise<Settlement> {
  const { rows } = await sql<{ paid: number; open: number }>`
    select
      (select count(*)::int from subscriptions where id = any(${ids}::uuid[]) and renewals_paid >= 1) as paid,
      (select count(*)::int from payment_transactions where subscription_id = any(${ids}::uuid[])
         and status in ('sending', 'pending', 'action_required', 'unknown')) as open`.execute(db);
  const statuses = await sql<{ status: string; n: number }>`
    select status, count(*)::int as n from payment_transactions where subscription_id = any(${ids}::uuid[]) group by status`.execute(db);
  return { ...rows[0]!, attemptsByStatus: Object.fromEntries(statuses.rows.map((r) => [r.status, r.n])) };
}

/** Approved charges per subscription period, from the gateway's side, keyed by order_notes. */
export function approvedByPeriod(sandbox: Sandbox): Map<string, number> {
  const counts = new Map<string, number>();
  const total = sandbox.ledger.summary().requests;
  for (let offset = 0; offset < total; offset += 10_000) {
    for (const entry of sandbox.ledger.entries(offset, 10_000).entries) {
      if (entry.status === 'approved') counts.set(entry.order_notes, (counts.get(entry.order_notes) ?? 0) + 1);
    }
  }
  return counts;
}

/** Waits until every subscription has its renewal paid and no attempt is left open. */
export async function waitUntilAllPaid(db: Db, ids: readonly string[], timeoutMs = 300_000): Promise<Settlement> {
  await waitUntil(
    async () => {
      const s = await settlement(db, ids);
      return s.paid === ids.length && s.open === 0;
    },
    timeoutMs,
    async () => JSON.stringify(await settlement(db, ids)),
  );
  return settlement(db, ids);
}
