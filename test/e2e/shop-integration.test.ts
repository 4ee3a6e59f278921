/**
 * A merchant's app against real `rebill worker` processes: it enrols through the worker's API and
 * hears back through webhooks, received by the Node receiver printed in docs/integrate.md; and a
 * worker killed while sending a webhook loses nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';
import { runCliJson } from '../support/cli.ts';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '../support/database.ts';
import { freePort, startTestSandbox, waitUntil, workerEnv } from '../support/e2e.ts';

const running: { workers: WorkerProcess[]; children: ChildProcess[]; closers: (() => Promise<void>)[]; sandbox?: Sandbox; databases: TestDatabase[]; dirs: string[] } = {
  workers: [],
  children: [],
  closers: [],
  databases: [],
  dirs: [],
};

afterEach(async () => {
  await Promise.all(running.workers.splice(0).map(async (w) => (w.kill('SIGKILL'), await w.exited)));
  for (const child of running.children.splice(0)) child.kill('SIGKILL');
  for (const close of running.closers.splice(0)) await close();
  await running.sandbox?.close();
  running.sandbox = undefined;
  for (const database of running.databases.splice(0)) await dropTestDatabase(database);
  for (const dir of running.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function setUp(label: string) {
  const database = await createTestDatabase(label);
  running.databases.push(database);
  const sandbox = (running.sandbox = await startTestSandbox());
  const env = (port: number) => workerEnv(database, sandbox, port, { REBILL_WEBHOOK_TIMEOUT: '3s' });
  const cli = { DATABASE_URL: database.url };
  return { database, env, cli };
}

async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const worker = startWorkerProcess(env);
  running.workers.push(worker);
  await worker.started();
  return worker;
}

async function enrol(port: number, key: string, email: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': `checkout-${email}` },
    body: JSON.stringify({ email, first_name: 'Ada', last_name: 'Lovelace', country: 'GB', interval: 'month', amount: '9.99', currency: 'GBP', quickpay_id: `approve-${email}` }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('a shop integrated as docs/integrate.md shows', () => {
  it("enrols through the worker's API and grants access when the docs' receiver hears subscription.activated", async () => {
    const { env, cli } = await setUp('e2e_shop_docs');
    const guide = readFileSync(new URL('../../docs/integrate.md', import.meta.url), 'utf8');
    const receiverSource = /Save it as `hooks\.mjs`[\s\S]*?```js\n([\s\S]*?)```/.exec(guide)![1]!;
    const dir = mkdtempSync(join(tmpdir(), 'rebill-shop-'));
    running.dirs.push(dir);
    writeFileSync(join(dir, 'hooks.mjs'), receiverSource);

    const hooksPort = await freePort();
    const { secret } = await runCliJson<{ secret: string }>(['webhooks', 'add', '--url', `http://127.0.0.1:${hooksPort}/hooks/rebill`, '--events', 'all'], cli);
    const receiver = spawn(process.execPath, [join(dir, 'hooks.mjs')], { env: { PATH: process.env.PATH, PORT: String(hooksPort), REBILL_WEBHOOK_SECRET: secret }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.children.push(receiver);
    let printed = '';
    receiver.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));

    const { key } = await runCliJson<{ key: string }>(['api-key', 'create', '--name', 'shop'], cli);
    const port = await freePort();
    await startWorker(env(port));
    const id = await enrol(port, key, 'ada@example.com');
    await waitUntil(async () => printed.includes(`subscription.activated ${id} access: true`), 120_000, async () => `the receiver printed: ${printed}`);
    expect(printed.indexOf(`payment.succeeded ${id}`)).toBeLessThan(printed.indexOf(`subscription.activated ${id}`));
  });

  it('a worker killed while sending a webhook loses nothing: the next worker sends every event, in order', async () => {
    const { database, env, cli } = await setUp('e2e_shop_crash');
    // A receiver that holds the first delivery without answering, as a slow shop would.
    const accepted: { id: string; sequence: number; type: string }[] = [];
    const held: ServerResponse[] = [];
    let holding = true;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        if (holding) {
          held.push(res);
          return;
        }
        const event = JSON.parse(raw) as { id: string; sequence: number; type: string };
        accepted.push({ id: event.id, sequence: event.sequence, type: event.type });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    running.closers.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
    await runCliJson(['webhooks', 'add', '--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, '--events', 'all'], cli);
    const { key } = await runCliJson<{ key: string }>(['api-key', 'create', '--name', 'shop'], cli);

    const firstPort = await freePort();
    const first = await startWorker(env(firstPort));
    const id = await enrol(firstPort, key, 'grace@example.com');
    await waitUntil(async () => held.length > 0, 120_000, async () => 'no delivery reached the receiver');
    first.kill('SIGKILL');
    await first.exited;
    holding = false;
    for (const res of held) res.destroy();

    await startWorker(env(await freePort()));
    const outbox = () => database.db.selectFrom('webhook_deliveries').select(['event_id', 'sequence', 'status']).where('subscription_id', '=', id).orderBy('sequence').execute();
    await waitUntil(async () => (await outbox()).every((d) => d.status === 'delivered') && accepted.length >= 2, 180_000, async () => JSON.stringify(await outbox()));
    const events = await outbox();
    expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    // Every event arrived; the one in flight at the kill may come twice, never out of order.
    expect([...new Set(accepted.map((a) => a.id))]).toEqual(events.map((e) => e.event_id));
    expect(accepted.map((a) => a.sequence)).toEqual([...accepted.map((a) => a.sequence)].sort());
    expect(accepted.map((a) => a.type).filter((t, i, all) => all.indexOf(t) === i)).toEqual(['payment.succeeded', 'subscription.activated']);
  });
});
