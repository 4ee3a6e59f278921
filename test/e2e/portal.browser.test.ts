/**
 * The self-service page in a real browser: the magic link, its button, the page the session
 * opens, cancel at the period end and its undo, with the cookie and CSP as Chromium applies them.
 * Set REBILL_SCREENSHOT_DIR=docs to refresh the README's screenshot of the page.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issuePortalLink } from '../../src/customer-links/portal-link.ts';
import { CHROMIUM_PATH, hasChromium, useChromium } from '../support/browser.ts';
import { useHarness } from '../support/engine-harness.ts';

if (!hasChromium) console.warn(`portal.browser.test.ts skipped: needs Chromium at ${CHROMIUM_PATH}`);

const h = useHarness('portal-browser', { notifications: {}, start: '2027-05-03T14:30:00Z' });
const SHOTS = process.env.REBILL_SCREENSHOT_DIR;

describe.skipIf(!hasChromium)(`the self-service page in a real browser (needs Chromium at ${CHROMIUM_PATH})`, () => {
  const browser = useChromium();

  it('link → page → cancel at the period end → undo; the link then refuses a second use', async () => {
    const enrolled = await h.enrol({ email: 'ada@example.com', product: 'Tea club', amount: '14.00', currency: 'EUR', timezone: 'Europe/Berlin' });
    await h.chargeDue();
    await h.db.db.updateTable('payment_methods').set({ card_last4: '1111', card_expiry: '2030-04' }).where('subscription_id', '=', enrolled.id).execute();
    const issued = await issuePortalLink(h.db.db, await h.subscription(enrolled.id), { now: h.clock.now(), publicUrl: h.publicUrl, actor: 'test' });
    if (issued.kind !== 'issued') throw new Error(issued.reason);

    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
    });
    await page.goto(issued.url);
    await Promise.all([page.waitForURL(`${h.publicUrl}/account`), page.getByRole('button', { name: 'Open my account' }).click()]);
    expect(await page.textContent('h1')).toMatch(/Your subscription to Tea & <Biscuits> Ltd/);
    const body = await page.textContent('body');
    expect(body).toContain('Tea club: EUR 14.00 every month');
    expect(body).toContain('EUR 14.00 on Thursday 3 June 2027 at 16:30 (Europe/Berlin)');
    expect(body).toContain('card ending 1111, expires 04/2030');
    // The cookie is out of reach of any script on the page.
    expect(await page.evaluate('document.cookie')).toBe('');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'customer-portal.png') });

    await Promise.all([page.waitForURL(/done=cancel_scheduled/), page.getByRole('button', { name: 'Cancel at the end of the period' }).click()]);
    expect(await page.getByRole('status').textContent()).toMatch(/will end at the end of the current period/);
    expect(await page.textContent('body')).toContain('Thursday 3 June 2027 at 16:30 (Europe/Berlin): no further payment');
    expect(await h.subscription(enrolled.id)).toMatchObject({ status: 'active', cancel_at_period_end: true });

    await Promise.all([page.waitForURL(/done=cancel_undone/), page.getByRole('button', { name: 'Keep my subscription (undo cancel)' }).click()]);
    expect(await page.getByRole('status').textContent()).toMatch(/Your subscription continues/);
    expect(await h.subscription(enrolled.id)).toMatchObject({ status: 'active', cancel_at_period_end: false });
    expect((await h.events(enrolled.id)).filter((e) => e.actor === 'customer').map((e) => e.type)).toEqual(expect.arrayContaining(['cancel_scheduled', 'cancel_undone']));

    await page.goto(issued.url);
    expect(await page.textContent('h1')).toBe('Link already used');
    expect(blocked).toEqual([]);
  });
});
