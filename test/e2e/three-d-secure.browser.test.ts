/**
 * 3-D Secure as the customer lives it: a real `rebill worker` process e-mails the link over SMTP
 * to a real SMTP server, and Chromium follows it to the sandbox's bank page, presses a button and
 * lands on rebill's return page, while the gateway's notice settles the subscription.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/lib/clock.ts';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { CHROMIUM_PATH, hasChromium, launchChromium, saveScreenshot } from '../support/browser.ts';
import { runCliJson } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';
import { freePort, startTestSandbox, waitUntil, workerEnv } from '../support/e2e.ts';
import { startMailCatcher, type CaughtMail, type MailCatcher } from '../support/mail-catcher.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';

if (!hasChromium) {
  console.warn(`three-d-secure.browser.test.ts skipped: needs Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
}

const MERCHANT_NAME = 'Northwind Coffee Club';
const SUPPORT_EMAIL = 'help@northwind.test';

interface Shown {
  id: string;
  status: string;
  renewals_paid: number;
  next_attempt_at: string | null;
  attempts: { order_number: string; service_mode: string; status: string; decline_class: string | null; gateway_code: string | null }[];
  events: { type: string; actor: string }[];
}

describe.skipIf(!hasChromium)(`3-D Secure by e-mail in a real browser (needs Chromium at ${CHROMIUM_PATH})`, () => {
  const database = useTestDatabase('e2e_3ds_browser');
  let sandbox: Sandbox;
  let mail: MailCatcher;
  let worker: WorkerProcess;
  let browser: Browser;
  let env: Record<string, string>;
  let context: BrowserContext | undefined;
  let page: Page;

  beforeAll(async () => {
    [sandbox, mail, browser] = await Promise.all([startTestSandbox({ seed: '3ds-browser' }), startMailCatcher(), launchChromium()]);
    env = workerEnv(database.current, sandbox, await freePort(), {
      SMTP_URL: mail.url,
      REBILL_MERCHANT_NAME: MERCHANT_NAME,
      REBILL_SUPPORT_EMAIL: SUPPORT_EMAIL,
    });
    worker = startWorkerProcess(env);
    await worker.started();
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await worker?.stop();
    await mail?.close();
    await sandbox?.close();
  });

  beforeEach(async (test) => {
    // The previous context is closed here rather than after its test: a failed test's
    // screenshot is taken after every after-hook has run.
    await context?.close();
    context = await browser.newContext();
    page = await context.newPage();
    test.onTestFailed(async () => {
      const path = await saveScreenshot(page, test.task.name);
      if (path) console.error(`screenshot of the page when "${test.task.name}" failed: ${path}`);
    });
  });

  const show = (id: string) => runCliJson<Shown>(['show', id], env);

  async function enrol(token: string, email: string, extra: string[] = []): Promise<Shown> {
    return runCliJson<Shown>(
      ['enrol', '--email', email, '--first-name', 'Grace', '--last-name', 'Hopper', '--country', 'US',
        '--interval', 'month', '--amount', '12.50', '--currency', 'USD', '--quickpay-id', token, ...extra],
      env,
    );
  }

  function actionRequiredMail(email: string): Promise<CaughtMail> {
    return mail.waitFor((m) => m.to.includes(email) && m.subject.startsWith('Action needed'), 60_000);
  }

  function linkIn(message: CaughtMail): string {
    const found = message.text.match(/https?:\/\/\S+\/pay\/[A-Za-z0-9_-]+/);
    if (!found) throw new Error(`no payment link in the e-mail:\n${message.text}`);
    return found[0];
  }

  async function openBankPage(link: string, orderNumber: string): Promise<void> {
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    expect(page.url()).toMatch(new RegExp(`^${sandbox.url}/gateway/direct/redirect\\?pay_id=[0-9a-f]{64}$`));
    expect(await page.locator('h1').innerText()).toBe('Verify this payment');
    const details = await page.locator('dl').innerText();
    expect(details).toContain(orderNumber);
    expect(details).toContain('USD 12.50');
  }

  async function press(button: 'Authenticate' | 'Fail'): Promise<string> {
    // The bank's answer is a form that submits itself to rebill's backUrl.
    await Promise.all([
      page.waitForURL(`${env.REBILL_PUBLIC_URL}/payments/oceanpayment/return`, { timeout: 120_000 }),
      page.getByRole('button', { name: button }).click(),
    ]);
    return page.locator('body').innerText();
  }

  /** Holds the browser's return until the gateway's notice has settled the attempt, so the page can show the result. */
  async function returnAfterTheNotice(subscriptionId: string): Promise<void> {
    await page.route(`${env.REBILL_PUBLIC_URL}/payments/oceanpayment/return`, async (route) => {
      const settled = async () => {
        const attempts = await database.current.db.selectFrom('payment_transactions').select('status').where('subscription_id', '=', subscriptionId).execute();
        return attempts.length > 0 && attempts.every((a) => a.status === 'failed');
      };
      // On a timeout the page is let through anyway, and the assertions on it say what is missing.
      await waitUntil(settled, 180_000, async () => 'no notice').catch(() => undefined);
      await route.continue();
    });
  }

  async function enrolAndFail(token: string, email: string, order: 'notice first' | 'browser first'): Promise<{ id: string; page: string }> {
    const enrolled = await enrol(token, email);
    expect(enrolled.status).toBe('incomplete');
    const link = linkIn(await actionRequiredMail(email));
    const waiting = await show(enrolled.id);
    expect(waiting.attempts).toMatchObject([{ status: 'action_required', service_mode: 'M1' }]);
    await openBankPage(link, waiting.attempts[0]!.order_number);
    if (order === 'notice first') {
      await returnAfterTheNotice(enrolled.id);
      return { id: enrolled.id, page: await press('Fail') };
    }
    sandbox.setFaults({ noticeDelayMs: 2_000 });
    try {
      return { id: enrolled.id, page: await press('Fail') };
    } finally {
      sandbox.setFaults({ noticeDelayMs: 0 });
    }
  }

  it('a customer who authenticates lands on the return page, the renewal is paid, and the link then says "already complete"', async () => {
    const email = 'grace.pays@example.com';
    const firstPaidAt = new Date(Date.now() - 35 * DAY_MS).toISOString();
    const enrolled = await enrol('3ds-pays-1', email, ['--first-paid-at', firstPaidAt]);
    expect(enrolled.status).toBe('active');

    const message = await actionRequiredMail(email);
    expect(message.from).toContain(MERCHANT_NAME);
    expect(message.subject).toBe(`Action needed: confirm your USD 12.50 payment to ${MERCHANT_NAME}`);
    const link = linkIn(message);
    expect(link.startsWith(`${env.REBILL_PUBLIC_URL}/pay/`)).toBe(true);

    const waiting = await show(enrolled.id);
    expect(waiting.status).toBe('past_due');
    expect(waiting.attempts).toMatchObject([{ status: 'action_required', service_mode: 'M2' }]);
    await openBankPage(link, waiting.attempts[0]!.order_number);

    const returned = await press('Authenticate');
    // "Payment received" when the notice was first, "being confirmed" when the browser was.
    expect(returned).toMatch(/Payment received|Thank you, your payment is being confirmed/);
    expect(returned).toContain(MERCHANT_NAME);
    expect(returned).toContain(waiting.attempts[0]!.order_number);

    await waitUntil(async () => (await show(enrolled.id)).status === 'active', 120_000, async () => JSON.stringify(await show(enrolled.id)));
    const paid = await show(enrolled.id);
    expect(paid).toMatchObject({ status: 'active', renewals_paid: 1 });
    expect(paid.attempts).toMatchObject([{ status: 'succeeded', service_mode: 'M2', gateway_code: '80000' }]);
    expect(paid.events).toContainEqual(expect.objectContaining({ type: 'payment_link_opened', actor: 'customer' }));

    // Opened again (from the same e-mail), the link no longer leads to the bank.
    const again = await page.goto(link);
    expect(again?.status()).toBe(409);
    expect(page.url()).toBe(link);
    expect(await page.locator('h1').innerText()).toBe('This payment is already complete');
    expect(await page.locator('body').innerText()).toContain(`Your payment of USD 12.50 to ${MERCHANT_NAME} went through`);
  });

  it('a made-up payment link shows the "not valid" page with a 404', async () => {
    const madeUp = await page.goto(`${env.REBILL_PUBLIC_URL}/pay/xyzMadeUpLinkThatWasNeverSent0123456789abc`);
    expect(madeUp?.status()).toBe(404);
    expect(await page.locator('h1').innerText()).toBe('This payment link is not valid');
    expect(await page.locator('body').innerText()).toContain(SUPPORT_EMAIL);
  });

  it('a customer who fails authentication is told nothing was taken and when it will be tried again', async () => {
    const email = 'grace.fails@example.com';
    const { id, page: returned } = await enrolAndFail('3ds-fails-1', email, 'notice first');
    expect(returned).toContain('The payment was not completed');
    expect(returned).toContain('No money was taken');
    expect(returned).toMatch(/We will try again on \w+day \d{1,2} \w+ \d{4} at \d\d:\d\d/);

    const failedMail = await mail.waitFor((m) => m.to.includes(email) && m.subject.includes('did not go through'), 60_000);
    expect(failedMail.subject).toBe(`Your USD 12.50 payment to ${MERCHANT_NAME} did not go through`);
    expect(failedMail.text).toMatch(/No money was taken\.\s+We will try again on/);

    const failed = await show(id);
    expect(failed.status).toBe('incomplete');
    expect(failed.next_attempt_at).not.toBeNull();
    expect(failed.attempts).toMatchObject([{ status: 'failed', service_mode: 'M1', decline_class: 'soft', gateway_code: '80091' }]);
  });

  // The browser often beats the notice: the return page asks the gateway before answering, so
  // the customer still learns when the payment will be tried again.
  it('a customer back before the notice is also told when it will be tried again', async () => {
    const { page: returned } = await enrolAndFail('3ds-fails-early-1', 'grace.early@example.com', 'browser first');
    expect(returned).toContain('The payment was not completed');
    expect(returned).toMatch(/We will try again on \w+day \d{1,2} \w+ \d{4} at \d\d:\d\d/);
  });
});
