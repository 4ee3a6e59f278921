/**
 * The customer's own pages in a real browser: sign-up by hosted checkout through the sandbox's
 * card page to an active subscription whose renewal is charged with X2, and a declined card
 * replaced from the e-mailed link, the unpaid period then charged to the new card. Set
 * REBILL_SCREENSHOT_DIR=docs to refresh the README's screenshots of these pages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { enrolByCheckout } from '../../src/checkout/enrol-by-checkout.ts';
import { CHROMIUM_PATH, hasChromium, useChromium } from '../support/browser.ts';
import { useHarness } from '../support/engine-harness.ts';

if (!hasChromium) console.warn(`customer-pages.browser.test.ts skipped: needs Chromium at ${CHROMIUM_PATH}`);

const h = useHarness('customer-pages', { notifications: {} });
const SHOTS = process.env.REBILL_SCREENSHOT_DIR;
const shot = async (page: Page, name: string) => {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `customer-${name}.png`) });
};

describe.skipIf(!hasChromium)(`the customer's pages in a real browser (needs Chromium at ${CHROMIUM_PATH})`, () => {
  const browser = useChromium();
  let page: Page;

  async function signUp(email: string, card: string) {
    const enrolled = await enrolByCheckout(h.db.db, {
      email, firstName: 'Ada', lastName: 'Lovelace', country: 'GB', interval: 'month', amount: '9.99', currency: 'GBP', quickpayId: '',
    }, { provider: 'oceanpayment', now: h.clock.now(), actor: 'test', links: { publicUrl: h.publicUrl, ttlMs: 48 * 3_600_000 } });
    if (enrolled.status === 'refused') throw new Error(enrolled.message);
    page = await browser.newPage();
    await page.goto(enrolled.checkout!.url);
    expect(await page.textContent('h1')).toBe('Pay by card');
    await shot(page, 'checkout-gateway');
    await page.getByLabel('Card number').fill(card);
    await page.getByLabel('Expiry (MM/YY)').fill('12/39');
    await page.getByLabel('Security code').fill('123');
    await Promise.all([page.waitForURL(`${h.publicUrl}/**`), page.getByRole('button', { name: /^Pay / }).click()]);
    const id = enrolled.subscription.id;
    return h.eventually(async () => {
      const s = await h.subscription(id);
      return s.status === 'active' && s.quickpay_id ? s : null;
    });
  }

  it('signs up by checkout: the customer pays on the gateway\'s page, returns to rebill, and the first renewal is charged with M2', async () => {
    h.clock.set('2027-09-10T08:00:00Z');
    const sub = await signUp('ada@example.com', '4111 1111 1111 1111');
    expect(await page.textContent('body')).toMatch(/Payment (received|being confirmed)/i);
    await shot(page, 'checkout-return');
    h.clock.set('2027-10-10T08:00:00Z');
    expect(await h.chargeDue()).toBe(1);
    expect((await h.attempts(sub.id)).find((a) => a.period === 1)).toMatchObject({ status: 'succeeded', service_mode: 'M2' });
  });

  it('replaces a declined card from the e-mailed link: the new token is stored, the old one replaced, the period paid', async () => {
    h.clock.set('2027-09-10T08:00:00Z');
    const sub = await signUp('grace@example.com', '4000 0000 0000 0341');
    await page.close();
    h.clock.set('2027-10-10T08:00:00Z');
    await h.chargeDue();
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'past_due' });
    await h.deliverMail();
    const [mail] = await h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', sub.id).where('kind', '=', 'payment_failed').execute();
    const link = /(http:\/\/127\.0\.0\.1:\d+\/card\/[A-Za-z0-9_-]+)/.exec((await simpleParser(readFileSync(mail!.delivered_to!))).text ?? '')![1]!;

    page = await browser.newPage();
    await page.goto(link);
    await shot(page, 'card-update');
    await page.getByRole('button', { name: 'Continue to the secure card page' }).click();
    await page.getByLabel('Card number').fill('4111 1111 1111 1111');
    await page.getByLabel('Expiry (MM/YY)').fill('08/38');
    await page.getByLabel('Security code').fill('456');
    await Promise.all([page.waitForURL(`${link}/done`), page.getByRole('button', { name: 'Save card' }).click()]);
    expect(await page.textContent('h1')).toBe('Your new card is saved');
    await shot(page, 'card-saved');

    const updated = await h.subscription(sub.id);
    expect(updated.quickpay_id).not.toBe(sub.quickpay_id);
    expect(await h.chargeDue()).toBe(1);
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    const methods = await h.db.db.selectFrom('payment_methods').select(['status']).where('subscription_id', '=', sub.id).orderBy('id').execute();
    expect(methods.map((m) => m.status)).toEqual(['replaced', 'active']);
  });
});
