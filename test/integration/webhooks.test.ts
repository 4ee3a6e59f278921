import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFollowUps } from '../../src/billing/commit.ts';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { deliverDueWebhooks, type WebhookSenderDeps } from '../../src/webhooks/deliver.ts';
import { webhookOutbox } from '../../src/webhooks/outbox.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { useHarness } from '../support/engine-harness.ts';

const harness = useHarness('webhooks');
const HOUR = 3_600_000;

interface Received {
  id: string;
  type: string;
  subscription_id: string;
  sequence: number;
  signature: string;
  eventIdHeader: string;
  raw: string;
  data: { subscription: { status: string } };
}

/** The merchant's receiver: records what it accepts; while "down" it answers 503 and keeps nothing. */
const receiver = { down: false, refuseEvents: new Set<string>(), accepted: [] as Received[], refused: 0, server: undefined as Server | undefined, url: '' };
let secret = '';
let verify: (rawBody: string, header: string, secret: string, toleranceSeconds?: number) => boolean;
let snippetDir = '';

const sender = (): WebhookSenderDeps => ({ db: harness.db.db, clock: harness.clock, logger: silentLogger, timeoutMs: 10_000, retryForMs: 3 * 24 * HOUR });
const cliEnv = () => ({ DATABASE_URL: harness.db.url });

beforeAll(async () => {
  // Every writer's commit path, as the worker and the CLI build it: e-mails and webhooks.
  (harness.engine as { followUps: unknown }).followUps = allFollowUps(harness.engine.followUps, webhookOutbox(harness.boss()));
  receiver.server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      if (receiver.down) {
        receiver.refused++;
        res.writeHead(503).end();
        return;
      }
      const event = JSON.parse(raw) as Omit<Received, 'signature' | 'raw' | 'eventIdHeader'>;
      if (receiver.refuseEvents.has(event.id)) {
        res.writeHead(500).end();
        return;
      }
      receiver.accepted.push({ ...event, raw, signature: String(req.headers['rebill-signature']), eventIdHeader: String(req.headers['rebill-event-id']) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.server!.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hooks`;
  secret = (await runCliJson<{ secret: string }>(['webhooks', 'add', '--url', receiver.url, '--events', 'all'], cliEnv())).secret;

  // The README's verification snippet, exactly as printed there.
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const snippet = /<!-- webhook-verification[^>]*-->\n```js\n([\s\S]*?)```/.exec(readme)![1]!;
  snippetDir = mkdtempSync(join(tmpdir(), 'rebill-snippet-'));
  writeFileSync(join(snippetDir, 'verify.mjs'), snippet);
  ({ verifyRebillSignature: verify } = (await import(pathToFileURL(join(snippetDir, 'verify.mjs')).href)) as { verifyRebillSignature: typeof verify });
});

afterAll(async () => {
  await new Promise<void>((resolve) => (receiver.server ? receiver.server.close(() => resolve()) : resolve()));
  if (snippetDir) rmSync(snippetDir, { recursive: true, force: true });
});

async function outboxOf(subscriptionId: string) {
  return harness.db.db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', subscriptionId).orderBy('sequence').execute();
}

describe('signed webhooks', () => {
  it('a first payment sends payment.succeeded then subscription.activated, signed so the README snippet verifies them', async () => {
    const subscription = await harness.enrol({ email: 'first@example.com' });
    await harness.chargeDue();
    expect((await outboxOf(subscription.id)).map((d) => [d.type, d.sequence, d.status])).toEqual([
      ['payment.succeeded', 1, 'pending'],
      ['subscription.activated', 2, 'pending'],
    ]);
    expect(await deliverDueWebhooks(sender())).toBeGreaterThanOrEqual(2);
    const mine = receiver.accepted.filter((e) => e.subscription_id === subscription.id);
    expect(mine.map((e) => [e.type, e.sequence, e.data.subscription.status])).toEqual([
      ['payment.succeeded', 1, 'active'],
      ['subscription.activated', 2, 'active'],
    ]);
    for (const event of mine) {
      expect(event.eventIdHeader).toBe(event.id);
      expect(verify(event.raw, event.signature, secret)).toBe(true);
      expect(verify(event.raw.replace('"active"', '"canceled"'), event.signature, secret)).toBe(false);
      expect(verify(event.raw, event.signature, 'whsec_someone-else')).toBe(false);
    }
    // A captured delivery replayed later carries a stale timestamp.
    const [first] = mine;
    const t = Number(/t=(\d+)/.exec(first!.signature)![1]);
    const { createHmac } = await import('node:crypto');
    const stale = `t=${t - 600},v1=${createHmac('sha256', secret).update(`${t - 600}.${first!.raw}`).digest('hex')}`;
    expect(verify(first!.raw, stale, secret)).toBe(false);
    expect((await outboxOf(subscription.id)).every((d) => d.status === 'delivered')).toBe(true);
  });

  it('a receiver down for a while gets every event later, once each, in order per subscription', async () => {
    receiver.down = true;
    const accepted = receiver.accepted.length;
    const a = await harness.enrol({ email: 'a@example.com' });
    // B's first renewal falls due now and is declined: it goes past due.
    const b = await harness.enrol({ email: 'b@example.com', quickpayId: `soft-decline-${Date.now()}`, firstPaidAt: '2026-12-31T09:00:00' });
    await harness.chargeDue();
    await cancelSubscription(harness.db.db, a.id, false, harness.operator());
    // Tries while the receiver is down: only each subscription's first event is tried, and retried with backoff.
    for (let hour = 0; hour < 12; hour++) {
      await deliverDueWebhooks(sender());
      harness.clock.advance(HOUR);
    }
    expect(receiver.accepted.length).toBe(accepted);
    expect(receiver.refused).toBeGreaterThan(4);
    const waiting = [...(await outboxOf(a.id)), ...(await outboxOf(b.id))];
    expect(waiting.every((d) => d.status === 'pending')).toBe(true);
    expect(waiting.filter((d) => d.attempts > 0).map((d) => d.sequence)).toEqual([1, 1]);

    receiver.down = false;
    harness.clock.advance(7 * HOUR);
    await deliverDueWebhooks(sender());
    const got = receiver.accepted.slice(accepted);
    const ids = got.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(waiting.map((d) => d.event_id)));
    expect(got.filter((e) => e.subscription_id === a.id).map((e) => [e.sequence, e.type])).toEqual([
      [1, 'payment.succeeded'],
      [2, 'subscription.activated'],
      [3, 'subscription.canceled'],
    ]);
    expect(got.filter((e) => e.subscription_id === b.id).map((e) => [e.sequence, e.type])).toEqual([
      [1, 'payment.failed'],
      [2, 'subscription.past_due'],
    ]);
    for (const event of got) expect(verify(event.raw, event.signature, secret)).toBe(true);
  });

  it('a change committed by a process that ends before sending anything is sent by the next sender', async () => {
    const subscription = await harness.enrol({ email: 'crash@example.com', firstPaidAt: '2027-01-15T10:00:00' });
    // `rebill cancel` commits the change and its outbox rows in one transaction, then its process exits: nothing was sent.
    const canceled = await runCli(['cancel', subscription.id, '--reason', 'customer asked'], cliEnv());
    expect(canceled.code).toBe(0);
    const [waiting] = await outboxOf(subscription.id);
    expect(waiting).toMatchObject({ type: 'subscription.canceled', status: 'pending', attempts: 0 });
    const job = await harness.db.db.selectFrom('pgboss.job' as never).select('id' as never).where('name' as never, '=', 'deliver-webhooks' as never).execute();
    expect(job.length).toBeGreaterThan(0);
    await deliverDueWebhooks(sender());
    expect(receiver.accepted.filter((e) => e.subscription_id === subscription.id).map((e) => e.type)).toEqual(['subscription.canceled']);
  });

  it('gives a delivery up after the retry period, then sends the events behind it; replay sends it again', async () => {
    const subscription = await harness.enrol({ email: 'giveup@example.com', quickpayId: `soft-decline-${Date.now()}`, firstPaidAt: '2026-12-31T09:00:00' });
    await harness.chargeDue();
    const [first, second] = await outboxOf(subscription.id);
    expect([first?.type, second?.type]).toEqual(['payment.failed', 'subscription.past_due']);
    receiver.refuseEvents.add(first!.event_id);
    const quick = { ...sender(), retryForMs: 2 * HOUR };
    for (let i = 0; i < 12; i++) {
      await deliverDueWebhooks(quick);
      harness.clock.advance(HOUR);
    }
    const [givenUp, next] = await outboxOf(subscription.id);
    expect(givenUp).toMatchObject({ status: 'failed', last_status: 500 });
    expect(givenUp!.attempts).toBeGreaterThan(2);
    expect(next).toMatchObject({ status: 'delivered', attempts: 1 });
    const failed = await runCliJson<{ id: number }[]>(['webhooks', 'deliveries', '--status', 'failed'], cliEnv());
    expect(failed.map((d) => d.id)).toContain(givenUp!.id);

    receiver.refuseEvents.clear();
    expect((await runCli(['webhooks', 'replay', String(givenUp!.id)], cliEnv())).code).toBe(0);
    await deliverDueWebhooks(quick);
    expect(receiver.accepted.filter((e) => e.subscription_id === subscription.id).map((e) => e.sequence)).toEqual([2, 1]);
  });
});

describe('rebill webhooks', () => {
  it('refuses a plain-http URL to another machine and unknown event types, and lists without secrets', async () => {
    const insecure = await runCli(['webhooks', 'add', '--url', 'http://shop.example/hooks', '--events', 'all'], cliEnv());
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toMatch(/must be https:\/\//);
    const unknown = await runCli(['webhooks', 'add', '--url', 'https://shop.example/hooks', '--events', 'subscription.activated,subscription.exploded'], cliEnv());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/subscription\.exploded/);
    const listed = await runCli(['webhooks', 'list'], cliEnv());
    expect(listed.stdout).toContain(receiver.url);
    expect(listed.stdout).not.toContain(secret);
    const extra = await runCliJson<{ id: number }>(['webhooks', 'add', '--url', 'https://shop.example/hooks/access', '--events', 'subscription.canceled'], cliEnv());
    expect((await runCli(['webhooks', 'remove', String(extra.id)], cliEnv())).code).toBe(0);
    expect((await runCli(['webhooks', 'remove', String(extra.id)], cliEnv())).code).toBe(1);
    expect((await runCli(['webhooks', 'replay', 'x'], cliEnv())).code).toBe(2);
  });
});
