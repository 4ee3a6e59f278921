/**
 * Done-when for the renewal worker: subscribers of each sandbox behaviour, enrolled with the CLI
 * and renewed by a real `rebill worker` process, end in the state the README describes, shown by
 * `rebill show --json`, with the sandbox's ledger agreeing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';
import { approvedByPeriod, freePort, startTestSandbox, waitUntil, workerEnv } from '../support/e2e.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';

const database = useTestDatabase('e2e_behaviours');
let sandbox: Sandbox;
let worker: WorkerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  sandbox = await startTestSandbox({ seed: 'behaviours' });
  const port = await freePort();
  env = workerEnv(database.current, sandbox, port, { REBILL_RETRY_SCHEDULE: '1s,2s' });
  worker = startWorkerProcess(env);
  await worker.started();
});

afterAll(async () => {
  await worker?.stop();
  await sandbox?.close();
});

interface Shown {
  id: string;
  status: string;
  renewals_paid: number;
  next_period: number;
  attempts: { status: string; service_mode: string; order_number: string; decline_class: string | null; gateway_code: string | null }[];
}

const EXPECTED: Record<string, { status: string; attempts: string[]; paid: number }> = {
  'approve-1': { status: 'active', attempts: ['succeeded'], paid: 1 },
  'soft-decline-1': { status: 'unpaid', attempts: ['failed', 'failed', 'failed'], paid: 0 },
  'decline-once-1': { status: 'active', attempts: ['failed', 'succeeded'], paid: 1 },
  'hard-decline-1': { status: 'unpaid', attempts: ['failed'], paid: 0 },
  '3ds-1': { status: 'incomplete', attempts: ['action_required'], paid: 0 },
  'pending-1': { status: 'active', attempts: ['succeeded'], paid: 1 },
  'timeout-1': { status: 'active', attempts: ['succeeded'], paid: 1 },
  'duplicate-notice-1': { status: 'active', attempts: ['succeeded'], paid: 1 },
  'out-of-order-1': { status: 'active', attempts: ['succeeded'], paid: 1 },
};

describe('rebill worker against the sandbox', () => {
  it('ends every behaviour in its documented state, and the ledger agrees', async () => {
    const ids: Record<string, string> = {};
    for (const token of Object.keys(EXPECTED)) {
      const sub = await runCliJson<{ id: string; status: string }>(
        ['enrol', '--email', `${token}@example.com`, '--first-name', 'Test', '--last-name', token, '--country', 'US',
          '--interval', 'month', '--amount', '12.50', '--currency', 'USD', '--quickpay-id', token],
        env,
      );
      expect(sub.status).toBe('incomplete');
      ids[token] = sub.id;
    }
    const show = (id: string) => runCliJson<Shown>(['show', id], env);
    // Poll the database (cheap); the final word comes from `rebill show` below.
    const states = async () => {
      const rows = await database.current.db
        .selectFrom('subscriptions as s')
        .innerJoin('payment_methods as m', 'm.id', 's.payment_method_id')
        .leftJoin('payment_transactions as a', 'a.subscription_id', 's.id')
        .select(['m.token as quickpay_id', 's.status', 'a.status as attempt', 'a.id'])
        .where('s.id', 'in', Object.values(ids))
        .orderBy('a.id')
        .execute();
      return Object.fromEntries(
        Object.keys(EXPECTED).map((token) => {
          const mine = rows.filter((r) => r.quickpay_id === token);
          return [token, `${mine[0]?.status} ${mine.flatMap((r) => (r.attempt ? [r.attempt] : [])).join()}`];
        }),
      );
    };
    const expected = Object.fromEntries(Object.entries(EXPECTED).map(([token, e]) => [token, `${e.status} ${e.attempts.join()}`]));
    await waitUntil(async () => JSON.stringify(await states()) === JSON.stringify(expected), 180_000, async () => JSON.stringify(await states()));

    const approved = approvedByPeriod(sandbox);
    for (const [token, expected] of Object.entries(EXPECTED)) {
      const shown = await show(ids[token]!);
      // First purchase (M1) on every attempt; retries keep the period's mode.
      expect(new Set(shown.attempts.map((a) => a.service_mode))).toEqual(new Set(['M1']));
      expect(approved.get(`subscription ${shown.id} period 0`) ?? 0, token).toBe(expected.paid);
      expect(shown.next_period, token).toBe(expected.paid);
    }
    const hard = await show(ids['hard-decline-1']!);
    expect(hard.attempts[0]).toMatchObject({ decline_class: 'hard', gateway_code: '80040' });
    expect(sandbox.ledger.summary().double_charges).toBe(0);
  });

  it('operators revive, query and refuse through the CLI', async () => {
    const list = await runCliJson<{ id: string; quickpay_id: string; status: string }[]>(['list', '--limit', '100'], env);
    const byToken = (token: string) => list.find((s) => s.quickpay_id === token)!;

    // A lost card: the customer gave a new one; the operator swaps the token and retries.
    const hard = byToken('hard-decline-1');
    const swapped = await runCliJson(['update-token', hard.id, '--quickpay-id', 'new-card-1', '--reason', 'customer sent a new card'], env);
    expect(swapped).toMatchObject({ status: 'unpaid', quickpay_id: 'new-card-1' });
    expect(await runCliJson(['retry', hard.id], env)).toMatchObject({ status: 'unpaid' });
    await waitUntil(async () => (await runCliJson<Shown>(['show', hard.id], env)).status === 'active', 120_000, async () => 'retry did not charge');
    const revived = await runCliJson<Shown & { events: { type: string; actor: string; reason: string | null }[] }>(['show', hard.id], env);
    expect(revived.attempts.map((a) => a.status)).toEqual(['failed', 'succeeded']);
    expect(revived.events.find((e) => e.type === 'token_replaced')).toMatchObject({ actor: expect.stringMatching(/^operator:/), reason: 'customer sent a new card' });

    // 3-D Secure still waiting: resolve asks the gateway and reports that nothing changed.
    const waiting = await runCli(['resolve', byToken('3ds-1').id], env);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect(waiting.stdout).toMatch(/is still action_required/);

    // Refusals say why and exit 1.
    const notDue = await runCli(['retry', byToken('approve-1').id], env);
    expect(notDue.code).toBe(1);
    expect(notDue.stderr).toMatch(/nothing is due until/);
    const nothingOpen = await runCli(['resolve', byToken('approve-1').id], env);
    expect(nothingOpen.code).toBe(1);
    expect(nothingOpen.stderr).toMatch(/nothing to resolve/);
    const busy = await runCli(['retry', byToken('3ds-1').id], env);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/is action_required, awaiting its outcome: run `rebill resolve/);
  });

  it('serves its health and metrics', async () => {
    const health = await fetch(`${env.REBILL_PUBLIC_URL}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${env.REBILL_PUBLIC_URL}/metrics`)).text();
    expect(metrics).toMatch(/rebill_charges_total\{outcome="approved"\} \d+/);
    expect(metrics).toMatch(/rebill_charges_total\{outcome="declined_soft"\} \d+/);
    expect(metrics).toMatch(/rebill_notices_total\{result="applied"\} \d+/);
    expect(metrics).toMatch(/rebill_unresolved_attempts\{status="action_required"\} 1/);
    expect(metrics).toMatch(/rebill_gateway_latency_seconds_bucket/);
    expect(metrics).toMatch(/rebill_due_to_sent_lag_seconds_count \d+/);
  });
});
