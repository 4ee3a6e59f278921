/**
 * The operator console in a real browser, served by a real `rebill worker` process: nothing is
 * reachable without the operator key, the dashboard draws its charts with the bundled Chart.js,
 * the subscriber search finds by e-mail, order number and status, the subscriber page shows the
 * timeline, and the reconciliation runs show what they flagged. Set REBILL_SCREENSHOT_DIR=docs to
 * refresh the README's screenshots.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatGatewayDateTime } from '../../src/payments/providers/oceanpayment/gateway-time.ts';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { CHROMIUM_PATH, hasChromium, launchChromium, saveScreenshot } from '../support/browser.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';
import { freePort, startTestSandbox, waitUntil, workerEnv } from '../support/e2e.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';

const OPERATOR_KEY = 'correct-horse-battery-staple-42';
const SHOTS = process.env.REBILL_SCREENSHOT_DIR;

describe.skipIf(!hasChromium)(`the operator console in a real browser (needs Chromium at ${CHROMIUM_PATH})`, () => {
  const database = useTestDatabase('e2e_console');
  let sandbox: Sandbox;
  let worker: WorkerProcess;
  let browser: Browser;
  let env: Record<string, string>;
  let base: string;
  const subscribers: { id: string; email: string; orderNumber: string }[] = [];

  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `console-${name}.png`) });
  };

  beforeAll(async () => {
    [sandbox, browser] = await Promise.all([startTestSandbox({ seed: 'console' }), launchChromium()]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = workerEnv(database.current, sandbox, port, { REBILL_ADMIN_KEY: OPERATOR_KEY });
    worker = startWorkerProcess(env);
    await worker.started();
    for (const [name, token] of [['ada', 'approve'], ['grace', 'approve'], ['linus', 'soft-decline']] as const) {
      const sub = await runCliJson<{ id: string }>([
        'enrol', '--email', `${name}@example.com`, '--first-name', name, '--last-name', 'Tester', '--country', 'GB',
        '--interval', 'month', '--amount', '9.99', '--currency', 'USD', '--quickpay-id', `${token}-${randomUUID()}`, '--external-id', `shop-${name}`,
      ], env);
      subscribers.push({ id: sub.id, email: `${name}@example.com`, orderNumber: '' });
    }
    const shown = async (id: string) => runCliJson<{ status: string; attempts: { order_number: string; status: string }[] }>(['show', id], env);
    await waitUntil(async () => (await Promise.all(subscribers.map((s) => shown(s.id)))).every((s) => s.attempts.some((a) => a.status === 'succeeded' || a.status === 'failed')), 60_000, async () => 'first charges not settled');
    for (const s of subscribers) s.orderNumber = (await shown(s.id)).attempts[0]!.order_number;
    await fetch(`${sandbox.url}/sandbox/orders`, { method: 'POST', body: JSON.stringify({ order_number: 'BACKOFFICE-9', amount: '25.00', currency: 'USD' }) });
    const reconciled = await runCli(['reconcile', '--date', formatGatewayDateTime(new Date()).slice(0, 10)], env);
    expect(reconciled.code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await sandbox?.close();
  });

  it('reaches no page without the operator key, and refuses a sign-in from another site', async () => {
    for (const path of ['/admin', '/admin/subscribers', `/admin/subscribers/${subscribers[0]!.id}`, '/admin/reconciliation', '/admin/reconciliation/1', '/admin/assets/chart.js']) {
      const anonymous = await fetch(`${base}${path}`, { redirect: 'manual' });
      expect([path, anonymous.status, anonymous.headers.get('location')]).toEqual([path, 303, '/admin/login']);
      const forged = await fetch(`${base}${path}`, { redirect: 'manual', headers: { cookie: `rebill_admin=99999999999999.${'a'.repeat(22)}.${'b'.repeat(43)}` } });
      expect(forged.status).toBe(303);
    }
    const form = await fetch(`${base}/admin/login`);
    const nonce = /name="nonce" value="([^"]+)"/.exec(await form.text())![1]!;
    const cookie = form.headers.get('set-cookie')!.split(';')[0]!;
    const html = await (await fetch(`${base}/admin/login`, { headers: { cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const fromElsewhere = await fetch(`${base}/admin/login`, {
      method: 'POST', redirect: 'manual',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ nonce, csrf, key: OPERATOR_KEY }).toString(),
    });
    expect(fromElsewhere.status).toBe(403);
    expect(fromElsewhere.headers.get('set-cookie') ?? '').not.toContain('rebill_admin=');
  });

  it('signs in with the key, draws the dashboard, searches subscribers, shows a timeline and the reconciliation runs', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${base}/admin/subscribers`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      await page.fill('input[name=key]', 'not-the-key-at-all-not-the-key');
      await page.click('button[type=submit]');
      await expect(page.locator('[role=alert]').textContent()).resolves.toContain('That is not the operator key.');
      await shot(page, 'login');
      await page.fill('input[name=key]', OPERATOR_KEY);
      await page.click('button[type=submit]');
      await page.waitForURL(`${base}/admin`);
      await page.waitForSelector('body[data-charts=drawn]', { timeout: 30_000 });
      expect(await page.locator('.figure').first().textContent()).toMatch(/MRR.*USD/);
      expect(await page.locator('#renewals-chart').boundingBox()).toMatchObject({ width: expect.any(Number) });
      await shot(page, 'dashboard');

      const [ada, , linus] = subscribers;
      await page.click('nav >> text=Subscribers');
      await page.fill('input[name=q]', ada!.orderNumber);
      await page.click('form.search button');
      await expect(page.locator('tbody tr').allTextContents()).resolves.toEqual([expect.stringContaining(ada!.email)]);
      await page.fill('input[name=q]', '@example.com');
      await page.selectOption('select[name=status]', 'incomplete');
      await page.click('form.search button');
      await expect(page.locator('tbody tr').allTextContents()).resolves.toEqual([expect.stringContaining(linus!.email)]);
      await page.fill('input[name=q]', 'shop-grace');
      await page.selectOption('select[name=status]', '');
      await page.click('form.search button');
      await expect(page.locator('tbody tr').allTextContents()).resolves.toEqual([expect.stringContaining('grace@example.com')]);
      await page.fill('input[name=q]', '');
      await page.click('form.search button');
      expect(await page.locator('tbody tr').count()).toBe(3);
      await shot(page, 'subscribers');

      await page.click(`a[href="/admin/subscribers/${linus!.id}"]`);
      const timeline = await page.locator('table.timeline').textContent();
      expect(timeline).toContain('enrolled');
      expect(timeline).toContain('payment_failed');
      expect(timeline).toMatch(/sufficient funds/i);
      expect(await page.locator('body').textContent()).toContain(linus!.orderNumber);
      await shot(page, 'subscriber');

      await page.click('nav >> text=Reconciliation');
      await page.click('tbody tr a');
      const run = await page.locator('main').textContent();
      expect(run).toContain('Flagged for a person (1)');
      expect(run).toContain('BACKOFFICE-9');
      expect(run).toContain('which rebill never sent');
      await shot(page, 'reconciliation');

      expect(errors).toEqual([]);
      await page.click('text=Sign out');
      await page.waitForURL(`${base}/admin/login`);
      await page.goto(`${base}/admin`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
    } catch (error) {
      await saveScreenshot(page, 'console');
      throw error;
    } finally {
      await context.close();
    }
  });
});
