/**
 * A Glocash payment link as the customer lives it: a real `rebill worker` process creates the
 * period's payment at the Glocash sandbox and e-mails the link over SMTP; Chromium follows it to
 * the sandbox's payment page, pays with a test card and is sent back to rebill, while Glocash's
 * signed notice pays the period.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { GLOCASH_SANDBOX_EMAIL, GLOCASH_SANDBOX_SECRET_KEY, startGlocashSandbox, type GlocashSandbox } from '../../src/payments/providers/glocash/sandbox/index.ts';
import { CHROMIUM_PATH, hasChromium, launchChromium, saveScreenshot } from '../support/browser.ts';
import { runCliJson } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';
import { freePort, startTestSandbox, waitUntil, workerEnv } from '../support/e2e.ts';
import { startMailCatcher, type MailCatcher } from '../support/mail-catcher.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';

if (!hasChromium) {
  console.warn(`glocash-link.browser.test.ts skipped: needs Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
}

const MERCHANT_NAME = 'Northwind Coffee Club';

interface Shown {
  id: string;
  status: string;
  collection_method: string;
  renewals_paid: number;
  attempts: { order_number: string; provider: string; status: string; payment_id: string | null }[];
}

describe.skipIf(!hasChromium)(`a Glocash payment link in a real browser (needs Chromium at ${CHROMIUM_PATH})`, () => {
  const database = useTestDatabase('e2e_glocash_browser');
  let sandbox: Sandbox;
  let glocash: GlocashSandbox;
  let mail: MailCatcher;
  let worker: WorkerProcess;
  let browser: Browser;
  let env: Record<string, string>;
  let page: Page;

  beforeAll(async () => {
    [sandbox, glocash, mail, browser] = await Promise.all([
      startTestSandbox({ seed: 'glocash-browser' }),
      startGlocashSandbox({ accounts: [{ email: GLOCASH_SANDBOX_EMAIL, secretKey: GLOCASH_SANDBOX_SECRET_KEY }], noticeRetryDelaysMs: [0, 300, 1000, 2000, 4000] }),
      startMailCatcher(),
      launchChromium(),
    ]);
    env = workerEnv(database.current, sandbox, await freePort(), { SMTP_URL: mail.url, REBILL_MERCHANT_NAME: MERCHANT_NAME, REBILL_SUPPORT_EMAIL: 'help@northwind.test', GLOCASH_API_URL: glocash.url });
    worker = startWorkerProcess(env);
    await worker.started();
    page = await (await browser.newContext()).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await mail?.close();
    await glocash?.close();
    await sandbox?.close();
  });

  it('the e-mailed link leads to Glocash\'s page; paying there pays the period and brings the customer back', async (test) => {
    test.onTestFailed(async () => {
      const path = await saveScreenshot(page, test.task.name);
      if (path) console.error(`screenshot of the page when "${test.task.name}" failed: ${path}`);
    });
    const email = 'mei.pays@example.com';
    const enrolled = await runCliJson<Shown>(
      ['enrol', '--email', email, '--first-name', 'Mei', '--last-name', 'Chen', '--country', 'SG', '--interval', 'month', '--amount', '12.50', '--currency', 'SGD', '--collection', 'payment_link'],
      env,
    );
    expect(enrolled).toMatchObject({ status: 'incomplete', collection_method: 'payment_link' });

    const message = await mail.waitFor((m) => m.to.includes(email), 60_000);
    expect(message.subject).toBe(`Your SGD 12.50 payment to ${MERCHANT_NAME} is due`);
    const link = message.text.match(/https?:\/\/\S+\/pay\/[A-Za-z0-9_-]+/)?.[0];
    expect(link).toBeDefined();

    const response = await page.goto(link!);
    expect(response?.status()).toBe(200);
    expect(page.url().startsWith(`${glocash.url}/gateway/payment/index/token/`)).toBe(true);
    expect(await page.locator('h1').innerText()).toBe('Glocash sandbox: pay SGD 12.50');
    await page.locator('#card').fill('4000000000000002');
    await Promise.all([page.waitForURL(`${env.REBILL_PUBLIC_URL}/payments/glocash/return`, { timeout: 120_000 }), page.locator('#pay').click()]);
    expect(await page.locator('body').innerText()).toContain(MERCHANT_NAME);

    const show = () => runCliJson<Shown>(['show', enrolled.id], env);
    await waitUntil(async () => (await show()).status === 'active', 120_000, async () => JSON.stringify(await show()));
    const paid = await show();
    expect(paid.attempts).toMatchObject([{ provider: 'glocash', status: 'succeeded', payment_id: expect.stringMatching(/^[A-Z0-9]{16}$/) }]);
    expect(glocash.ledger.byGcid(paid.attempts[0]!.payment_id!)).toMatchObject({ status: 'paid', invoice: paid.attempts[0]!.order_number });
    // The link, once paid, says so instead of leading to the page again.
    await page.goto(link!);
    expect(await page.locator('h1').innerText()).toBe('This payment is already complete');
  });
});
