/**
 * The self-service page over real HTTP, as a browser would use it: the magic link, the session
 * cookie, the forms with their CSRF token and Origin, and what each does to the subscription and
 * to the charges the worker makes afterwards.
 */
import { describe, expect, it } from 'vitest';
import { issuePortalLink } from '../../src/customer-links/portal-link.ts';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('portal', { notifications: {}, start: '2027-03-01T10:00:00Z', portalLimits: { perLink: 4, perAddress: 1000 } });
const HOSTILE = '<img src=x onerror=alert(1)>';

/** An active subscriber whose first purchase was charged on the clock's date. */
async function subscriber(email: string, product = 'Monthly plan') {
  const sub = await h.enrol({ email, product, timezone: 'America/New_York', amount: '12.50', currency: 'USD' });
  await h.chargeDue();
  const paid = await h.subscription(sub.id);
  expect(paid.status).toBe('active');
  return paid;
}

async function mintLink(subscriptionId: string): Promise<string> {
  const issued = await issuePortalLink(h.db.db, await h.subscription(subscriptionId), { now: h.clock.now(), publicUrl: h.publicUrl, actor: 'test' });
  if (issued.kind !== 'issued') throw new Error(issued.reason);
  return issued.url;
}

/** Opens the link as a browser does (its page, then its button) and returns the session cookie. */
async function signIn(link: string): Promise<string> {
  const page = await fetch(link);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('Open my account');
  const opened = await fetch(link, { method: 'POST', headers: { origin: h.publicUrl }, redirect: 'manual' });
  expect(opened.status).toBe(303);
  expect(opened.headers.get('location')).toBe('/account');
  const cookie = opened.headers.get('set-cookie')!;
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  expect(cookie).toMatch(/Path=\/account/);
  return cookie.split(';')[0]!;
}

async function account(cookie: string, path = '/account') {
  const response = await fetch(`${h.publicUrl}${path}`, { headers: { cookie }, redirect: 'manual' });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)![1]!;

async function submit(cookie: string, action: string, fields: Record<string, string>, origin: string | null = h.publicUrl) {
  const headers: Record<string, string> = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
  if (origin) headers.origin = origin;
  const response = await fetch(`${h.publicUrl}/account/${action}`, { method: 'POST', headers, body: new URLSearchParams(fields), redirect: 'manual' });
  return { status: response.status, body: await response.text(), location: response.headers.get('location') };
}

async function chargesOf(id: string) {
  return (await h.attempts(id)).length;
}

describe('the self-service page', () => {
  it('shows the plan, the next renewal in the customer\'s zone, the card and the payments with a receipt, every value escaped, under a strict CSP', async () => {
    const sub = await subscriber('grace@example.com', `Tea club ${HOSTILE}`);
    // The gateway refuses such a name at enrolment; the page must not rely on that.
    await h.db.db.updateTable('subscriptions').set({ customer_first_name: HOSTILE }).where('id', '=', sub.id).execute();
    await h.db.db.updateTable('payment_methods').set({ card_last4: '4242', card_expiry: '2029-08' }).where('subscription_id', '=', sub.id).execute();
    const cookie = await signIn(await mintLink(sub.id));

    const page = await account(cookie);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/);
    expect(page.body).not.toContain(HOSTILE);
    expect(page.body).toContain('Tea club &lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).toContain('Tea &amp; &lt;Biscuits&gt; Ltd');
    expect(page.body).toContain('USD 12.50 every month');
    expect(page.body).toContain('Next payment</dt><dd>USD 12.50 on Thursday 1 April 2027 at 05:00 (America/New_York)');
    expect(page.body).toContain('card ending 4242, expires 08/2029');
    const [charge] = await h.attempts(sub.id);
    expect(page.body).toContain(`href="/account/receipts/${charge!.order_number}"`);

    const receipt = await account(cookie, `/account/receipts/${charge!.order_number}`);
    expect(receipt.status).toBe(200);
    expect(receipt.body).toMatch(/Receipt/);
    expect(receipt.body).toContain(charge!.order_number);
    expect(receipt.body).toContain('USD 12.50');
  });

  it('refuses a link used once already, an expired link, and a session after sign-out or once the subscription has ended', async () => {
    const sub = await subscriber('hopper@example.com');
    const link = await mintLink(sub.id);
    const cookie = await signIn(link);
    const again = await fetch(link, { method: 'POST', headers: { origin: h.publicUrl }, redirect: 'manual' });
    expect(again.status).toBe(410);
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(await again.text()).toMatch(/already been used/);
    expect((await fetch(link)).status).toBe(410);

    const expiring = await mintLink(sub.id);
    h.clock.advance(61 * 60_000);
    const expired = await fetch(expiring);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toMatch(/has expired/);
    expect((await fetch(expiring, { method: 'POST', headers: { origin: h.publicUrl }, redirect: 'manual' })).status).toBe(410);
    // The session lasts as long as a link would have: it ran out with the clock too.
    expect((await account(cookie)).status).toBe(401);

    const fresh = await signIn(await mintLink(sub.id));
    const page = await account(fresh);
    expect((await submit(fresh, 'sign-out', { csrf: csrfOf(page.body) })).status).toBe(200);
    expect((await account(fresh)).status).toBe(401);

    const last = await signIn(await mintLink(sub.id));
    const open = await mintLink(sub.id);
    await cancelSubscription(h.db.db, sub.id, false, h.operator());
    expect((await account(last)).status).toBe(410);
    expect((await fetch(open)).status).toBe(410);
  });

  it('refuses a form without the CSRF token, with a wrong one, or from another origin (403), and changes nothing', async () => {
    const sub = await subscriber('lamarr@example.com');
    const cookie = await signIn(await mintLink(sub.id));
    const csrf = csrfOf((await account(cookie)).body);
    const attempts = [
      submit(cookie, 'cancel', {}),
      submit(cookie, 'cancel', { csrf: `${csrf.slice(0, -2)}xx` }),
      submit(cookie, 'cancel', { csrf }, 'https://evil.example'),
      submit(cookie, 'cancel', { csrf }, null),
    ];
    for (const refused of await Promise.all(attempts)) {
      expect(refused.status).toBe(403);
      expect(refused.body).toMatch(/nothing was changed/);
    }
    expect((await h.subscription(sub.id)).cancel_at_period_end).toBe(false);
    expect((await h.events(sub.id)).map((e) => e.type)).not.toContain('cancel_scheduled');
  });

  it('reaches no other subscription: swapped cookies, tokens and order numbers', async () => {
    const mine = await subscriber('mine@example.com', 'Mine plan');
    const theirs = await subscriber('theirs@example.com', 'Theirs plan');
    const myCookie = await signIn(await mintLink(mine.id));
    const theirCookie = await signIn(await mintLink(theirs.id));
    const myPage = await account(myCookie);
    expect(myPage.body).toContain('Mine plan');
    expect(myPage.body).not.toContain('Theirs plan');
    expect(myPage.body).not.toContain('theirs@example.com');

    const [theirCharge] = await h.attempts(theirs.id);
    const receipt = await account(myCookie, `/account/receipts/${theirCharge!.order_number}`);
    expect(receipt.status).toBe(404);
    expect(receipt.body).not.toContain('theirs@example.com');

    // My CSRF token with their cookie, and theirs with mine: refused both ways.
    const theirCsrf = csrfOf((await account(theirCookie)).body);
    expect((await submit(theirCookie, 'cancel', { csrf: csrfOf(myPage.body) })).status).toBe(403);
    expect((await submit(myCookie, 'cancel', { csrf: theirCsrf })).status).toBe(403);
    // A subscription id in the form is ignored: the session alone says which subscription.
    expect((await submit(myCookie, 'cancel', { csrf: csrfOf(myPage.body), subscription_id: theirs.id })).status).toBe(303);
    expect((await h.subscription(mine.id)).cancel_at_period_end).toBe(true);
    expect((await h.subscription(theirs.id)).cancel_at_period_end).toBe(false);
  });

  it('cancel at the period end: the worker makes no further charge and the subscription ends there', async () => {
    h.clock.set('2027-03-01T10:00:00Z');
    const sub = await subscriber('noether@example.com');
    const cookie = await signIn(await mintLink(sub.id));
    const canceled = await submit(cookie, 'cancel', { csrf: csrfOf((await account(cookie)).body) });
    expect(canceled).toMatchObject({ status: 303, location: '/account?done=cancel_scheduled' });
    const page = await account(cookie, canceled.location!);
    expect(page.body).toMatch(/will end at the end of the current period/);
    expect(page.body).toContain('Ends</dt><dd>Thursday 1 April 2027 at 05:00 (America/New_York): no further payment');
    expect(page.body).toContain('Keep my subscription (undo cancel)');
    const cancelEvent = (await h.events(sub.id)).find((e) => e.type === 'cancel_scheduled');
    expect(cancelEvent).toMatchObject({ actor: 'customer' });

    const before = await chargesOf(sub.id);
    h.clock.set('2027-04-01T10:00:01Z');
    await h.chargeDue();
    expect(await chargesOf(sub.id)).toBe(before);
    expect((await h.subscription(sub.id)).status).toBe('canceled');
  });

  it('undo before the period ends: the renewal is charged as before', async () => {
    h.clock.set('2027-03-01T10:00:00Z');
    const sub = await subscriber('curie@example.com');
    const cookie = await signIn(await mintLink(sub.id));
    await submit(cookie, 'cancel', { csrf: csrfOf((await account(cookie)).body) });
    const undone = await submit(cookie, 'resume', { csrf: csrfOf((await account(cookie)).body) });
    expect(undone).toMatchObject({ status: 303, location: '/account?done=cancel_undone' });
    expect((await account(cookie, undone.location!)).body).toMatch(/Your subscription continues/);
    expect((await h.subscription(sub.id)).cancel_at_period_end).toBe(false);
    // Twice is refused with a reason, and changes nothing.
    const twice = await submit(cookie, 'resume', { csrf: csrfOf((await account(cookie)).body) });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatch(/not set to end at the period end/);

    const before = await chargesOf(sub.id);
    h.clock.set('2027-04-01T10:00:01Z');
    await h.chargeDue();
    expect(await chargesOf(sub.id)).toBe(before + 1);
    expect((await h.subscription(sub.id))).toMatchObject({ status: 'active', renewals_paid: 1 });
  });

  it('update card opens a fresh card-update link of the same subscription', async () => {
    h.clock.set('2027-03-01T10:00:00Z');
    const sub = await subscriber('franklin@example.com');
    const cookie = await signIn(await mintLink(sub.id));
    const moved = await submit(cookie, 'card', { csrf: csrfOf((await account(cookie)).body) });
    expect(moved.status).toBe(303);
    expect(moved.location).toMatch(new RegExp(`^${h.publicUrl}/card/[A-Za-z0-9_-]{43}$`));
    const cardPage = await fetch(moved.location!);
    expect(cardPage.status).toBe(200);
    expect(await cardPage.text()).toMatch(/Update your card/);
  });

  it('pay now: a past-due period is charged at once, and the page then shows it paid', async () => {
    h.clock.set('2027-03-01T10:00:00Z');
    const sub = await h.enrol({ email: 'payer@example.com', quickpayId: `decline-once-${Date.now()}`, firstPaidAt: '2027-03-01T10:00:00Z' });
    h.clock.set('2027-04-01T10:00:01Z');
    await h.chargeDue();
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'past_due' });
    const cookie = await signIn(await mintLink(sub.id));
    const page = await account(cookie);
    expect(page.body).toContain('Pay USD 9.99 now');
    expect(page.body).toContain('Payment due: the last payment did not go through');
    expect(page.body).toContain('Declined: nothing was taken');

    const paying = await submit(cookie, 'pay', { csrf: csrfOf(page.body) });
    expect(paying).toMatchObject({ status: 303, location: '/account?done=payment_started' });
    expect((await h.events(sub.id)).find((e) => e.type === 'retry_requested')).toMatchObject({ actor: 'customer' });
    expect(await h.chargeDue()).toBeGreaterThan(0);
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    const after = await account(cookie);
    expect(after.body).toContain('<dt>Status</dt><dd>Active</dd>');
    expect(after.body).not.toContain('>Pay USD');
  });

  it('limits how often one link is tried', async () => {
    const sub = await subscriber('babbage@example.com');
    const link = await mintLink(sub.id);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(link)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });
});
