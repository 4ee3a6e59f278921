/**
 * Crash safety and scale-out, with real worker processes: whatever happens to the workers, every
 * due period is charged exactly once according to the gateway's own ledger, and no attempt is
 * left unresolved.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { createTestDatabase, dropTestDatabase } from '../support/database.ts';
import { approvedByPeriod, freePort, seedDueSubscriptions, settlement, startTestSandbox, startWorkers, waitUntil, waitUntilAllPaid, workerEnv } from '../support/e2e.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';

// Each test makes its own database and drops it only when it passes, so a failure leaves it to inspect.
const running: { workers: WorkerProcess[]; sandbox?: Sandbox } = { workers: [] };

afterEach(async () => {
  await Promise.all(running.workers.map((w) => w.stop()));
  running.workers = [];
  await running.sandbox?.close();
});

function expectEachPeriodChargedOnce(sandbox: Sandbox, ids: readonly string[]): void {
  const approved = approvedByPeriod(sandbox);
  const counts = ids.map((id) => approved.get(`subscription ${id} period 1`) ?? 0);
  expect(counts.filter((n) => n !== 1)).toEqual([]);
  expect(sandbox.ledger.summary().double_charges).toBe(0);
}

describe('crash safety', () => {
  it('a worker killed with SIGKILL while charges are in flight, then restarted, charges every period exactly once', async () => {
    const database = await createTestDatabase('e2e_crash');
    // Slow answers and late notices, so a kill leaves requests at the gateway with nothing recorded.
    const sandbox = (running.sandbox = await startTestSandbox({ seed: 'crash', latencyMs: 400, noticeDelayMs: 1_500 }));
    const ids = await seedDueSubscriptions(database.db, 150);
    const port = await freePort();
    const env = workerEnv(database, sandbox, port, { REBILL_CHARGE_CONCURRENCY: '24', REBILL_CHARGE_BATCH_SIZE: '8' });

    let leftInFlight = 0;
    for (let kill = 0; kill < 3; kill += 1) {
      const worker = startWorkerProcess(env);
      running.workers = [worker];
      await worker.started();
      const before = sandbox.ledger.summary().requests;
      // Kill it in the middle of a batch: requests have reached the gateway, answers are pending.
      await waitUntil(async () => sandbox.ledger.summary().requests >= before + 10, 120_000, async () => 'no charges reached the sandbox');
      await sleep(150 + Math.random() * 200);
      worker.kill('SIGKILL');
      await worker.exited;
      leftInFlight += (await settlement(database.db, ids)).open;
    }
    // The kills did land mid-flight: attempts were left for the janitor (or a late notice) to resolve.
    expect(leftInFlight).toBeGreaterThan(0);
    const survivor = startWorkerProcess(env);
    running.workers = [survivor];
    await survivor.started();
    expect((await waitUntilAllPaid(database.db, ids)).open).toBe(0);
    expectEachPeriodChargedOnce(sandbox, ids);
    await survivor.stop();
    await dropTestDatabase(database);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM stops taking charges but lets those in flight finish and be recorded', async () => {
    const database = await createTestDatabase('e2e_sigterm');
    const sandbox = (running.sandbox = await startTestSandbox({ seed: 'sigterm', latencyMs: 1_500, noticeDelayMs: 60_000 }));
    const ids = await seedDueSubscriptions(database.db, 200);
    const port = await freePort();
    // A grace far longer than the gateway's 1.5 s answers: on a loaded machine recording them can
    // take many seconds, and what is tested is that the worker waits for them, not how fast.
    const worker = startWorkerProcess(
      workerEnv(database, sandbox, port, { REBILL_CHARGE_CONCURRENCY: '16', REBILL_CHARGE_BATCH_SIZE: '8', REBILL_SHUTDOWN_GRACE_MS: '120000' }),
    );
    running.workers = [worker];
    await worker.started();
    await waitUntil(async () => sandbox.ledger.summary().requests >= 8, 120_000, async () => 'no charge reached the gateway');
    const stoppedAt = Date.now();
    worker.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    // It waited for the gateway's slow answers (1.5 s) rather than abandoning them.
    expect(Date.now() - stoppedAt).toBeGreaterThan(500);
    const after = await settlement(database.db, ids);
    expect(after.attemptsByStatus).toEqual({ succeeded: sandbox.ledger.summary().by_status.approved });
    expect(after.open).toBe(0);
    expect(after.paid).toBeLessThan(ids.length); // the rest stays due for the next worker
    await dropTestDatabase(database);
  });
});

describe('scale-out', () => {
  it('two workers on one database charge a few hundred due subscriptions with zero double charges', async () => {
    const database = await createTestDatabase('e2e_two_workers');
    const sandbox = (running.sandbox = await startTestSandbox({ seed: 'two-workers', latencyMs: 50 }));
    const ids = await seedDueSubscriptions(database.db, 300);
    running.workers = await startWorkers(2, (_, port) =>
      workerEnv(database, sandbox, port, { REBILL_CHARGE_CONCURRENCY: '16', REBILL_CHARGE_BATCH_SIZE: '8', REBILL_SCHEDULER_BATCH_SIZE: '20' }),
    );
    await waitUntilAllPaid(database.db, ids);
    expectEachPeriodChargedOnce(sandbox, ids);
    // Both workers did part of the work.
    for (const worker of running.workers) {
      expect(worker.logs.filter((l) => l.msg === 'charge answered').length).toBeGreaterThan(0);
    }
    await Promise.all(running.workers.map((w) => w.stop()));
    await dropTestDatabase(database);
  });
});
