/**
 * Sign-up by hosted checkout over real HTTP: rebill's checkout link, the sandbox's sendTrade and
 * card page, the browser return and the signed notice that brings the card token.
 */
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { enrolByCheckout } from '../../src/checkout/enrol-by-checkout.ts';
import { expireCheckouts } from '../../src/checkout/expire-checkouts.ts';
import type { EnrolInput } from '../../src/subscriptions/enrol.ts';
import { PUBLIC_SHOP, useHarness } from '../support/engine-harness.ts';

const h = useHarness('checkout', { notifications: {} });
const HOUR = 3_600_000;

const CUSTOMER: EnrolInput = {
  email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', country: 'US',
  interval: 'month', amount: '12.50', currency: 'USD', quickpayId: '', timezone: 'America/New_York',
};

async function signUp(overrides: Partial<EnrolInput> = {}, send = false) {
  const result = await enrolByCheckout(h.db.db, { ...CUSTOMER, ...overrides }, {
    provider: 'oceanpayment', now: h.clock.now(), actor: 'test',
    links: { publicUrl: h.publicUrl, ttlMs: 48 * HOUR },
    ...(send ? { send: { boss: h.boss(), settings: { merchant: PUBLIC_SHOP } } } : {}),
  });
  if (result.status === 'refused' || !result.checkout) throw new Error('not enrolled');
  return { subscription: result.subscription, url: result.checkout.url };
}

async function open(url: string) {
  const response = await fetch(url, { redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location'), body: await response.text() };
}

/** What the customer's browser does on the gateway's page: fill in the card, press a button, follow the form back. */
async function payOnGatewayPage(pageUrl: string, card: string, action: 'pay' | 'cancel' = 'pay') {
  const form = await fetch(pageUrl);
  expect(form.status).toBe(200);
  expect(await form.text()).toMatch(/Card number/);
  const paid = await fetch(pageUrl, { method: 'POST', body: new URLSearchParams({ card_number: card, expiry: '12/39', cvv: '123', action }) });
  const page = await paid.text();
  expect(paid.status).toBe(200);
  // The page carries the signed result back to rebill's return URL, as the real gateway does.
  const action_ = /<form id="return" method="post" action="([^"]+)"/.exec(page)![1]!.replaceAll('&amp;', '&');
  const fields = [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m): [string, string] => [m[1]!, m[2]!.replaceAll('&amp;', '&')]);
  const back = await fetch(action_, { method: 'POST', body: new URLSearchParams(fields) });
  return { status: back.status, body: await back.text(), fields: Object.fromEntries(fields) };
}

async function ledgerFor(orderNumber: string) {
  const response = await fetch(`${h.sandbox.url}/sandbox/ledger?order_number=${orderNumber}`);
  return ((await response.json()) as { entries: Array<{ quickpay_id: string; service_mode: string; status: string; order_number: string }> }).entries;
}

describe('sign-up by hosted checkout', () => {
  it('takes the customer from the link to the gateway\'s page; the verified notice stores the card and activates the subscription, anchored at the payment', async () => {
    h.clock.set('2027-04-01T12:00:00Z');
    const { subscription, url } = await signUp({ externalId: 'shop-order-1' });
    expect(url).toMatch(new RegExp(`^${h.publicUrl}/checkout/[A-Za-z0-9_-]{43}$`));
    expect(subscription).toMatchObject({ status: 'incomplete', payment_method_id: null, next_attempt_at: null });
    // Nothing is charged until the customer pays.
    expect(await h.chargeDue()).toBe(0);
    expect(await h.attempts(subscription.id)).toEqual([]);

    h.clock.set('2027-04-01T15:30:00Z');
    const redirect = await open(url);
    expect(redirect.status).toBe(303);
    expect(redirect.location).toMatch(new RegExp(`^${h.sandbox.url}/gateway/service/redirect\\?pay_id=[0-9a-f]{64}$`));
    const [charge] = await h.attempts(subscription.id);
    expect(charge).toMatchObject({ status: 'action_required', period: 0, service_mode: 'M1', pay_url: redirect.location, amount_minor: 1250 });
    expect(charge!.details.channel).toBe('hosted_checkout');
    // Opening the link again goes back to the same page: no second order.
    expect((await open(url)).location).toBe(redirect.location);
    expect(await h.attempts(subscription.id)).toHaveLength(1);

    const back = await payOnGatewayPage(redirect.location!, '4111 1111 1111 1111');
    expect(back.fields.quickpay_id).toMatch(/^[0-9a-f-]{36}$/);
    // The browser return makes rebill ask the gateway at once, so the order query may settle the
    // payment before the notice brings the token: the token is taken whenever the notice comes.
    const active = await h.eventually(async () => {
      const s = await h.subscription(subscription.id);
      return s.status === 'active' && s.quickpay_id ? s : null;
    });
    const [entry] = await ledgerFor(charge!.order_number);
    expect(active.quickpay_id).toBe(entry!.quickpay_id);
    expect(active.anchor_at.toISOString()).toBe('2027-04-01T15:30:00.000Z');
    expect(active.next_renewal_at?.toISOString()).toBe('2027-05-01T15:30:00.000Z');
    expect((await h.attempts(subscription.id))[0]).toMatchObject({ status: 'succeeded' });
    const types = (await h.events(subscription.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['enrolled', 'customer_link_created', 'customer_link_opened', 'checkout_started', 'payment_method_added', 'payment_succeeded']));

    // The link has done its job: it says so, and opens nothing at the gateway.
    const again = await open(url);
    expect(again.status).toBe(409);
    expect(again.body).toMatch(/already signed up/);

    // The first renewal charges the stored token with M2, one month after the payment.
    h.clock.set('2027-05-01T15:30:00Z');
    expect(await h.chargeDue()).toBe(1);
    const renewal = (await h.attempts(subscription.id)).find((a) => a.period === 1)!;
    expect(renewal).toMatchObject({ status: 'succeeded', service_mode: 'M2' });
    expect((await ledgerFor(renewal.order_number))[0]).toMatchObject({ quickpay_id: entry!.quickpay_id, service_mode: 'M2', status: 'approved' });
  });

  it('e-mails the link with --send, and repeating the enrolment issues a fresh link that replaces the first', async () => {
    const { subscription, url } = await signUp({ email: 'linus@example.com', externalId: 'shop-order-2' }, true);
    await h.deliverMail();
    const [mail] = await h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', subscription.id).execute();
    expect(mail).toMatchObject({ kind: 'checkout', to_address: 'linus@example.com', status: 'sent' });
    const parsed = await simpleParser(readFileSync(mail!.delivered_to!));
    expect(parsed.text).toContain(url);
    expect(parsed.subject).toMatch(/Complete your .* subscription: USD 12\.50/);

    const repeat = await signUp({ email: 'linus@example.com', externalId: 'shop-order-2' });
    expect(repeat.subscription.id).toBe(subscription.id);
    expect(repeat.url).not.toBe(url);
    expect((await open(url)).status).toBe(410);
    expect((await open(repeat.url)).status).toBe(303);
  });

  it('keeps the checkout open after a declined card: no dunning, no e-mail, and the next try is a new order', async () => {
    const { subscription, url } = await signUp({ email: 'ken@example.com' });
    const first = await open(url);
    const back = await payOnGatewayPage(first.location!, '4000000000009995');
    expect(back.body).toMatch(/not completed/);
    await h.eventually(async () => (await h.attempts(subscription.id))[0]?.status === 'failed');
    const sub = await h.subscription(subscription.id);
    expect(sub).toMatchObject({ status: 'incomplete', past_due_since: null, next_attempt_at: null, payment_method_id: null });
    expect(await h.db.db.selectFrom('email_outbox').select('id').where('subscription_id', '=', subscription.id).execute()).toEqual([]);

    const retry = await open(url);
    expect(retry.status).toBe(303);
    expect(retry.location).not.toBe(first.location);
    const attempts = await h.attempts(subscription.id);
    expect(attempts.map((a) => a.order_number.split('-').slice(1).join('-'))).toEqual(['0-1', '0-2']);
    await payOnGatewayPage(retry.location!, '4000000000000341');
    const active = await h.eventually(async () => {
      const s = await h.subscription(subscription.id);
      return s.status === 'active' && s.quickpay_id ? s : null;
    });
    expect(active.quickpay_id).toMatch(/^hard-decline-/);
  });

  it('ends an abandoned checkout incomplete_expired, after asking the gateway about the order left on its page', async () => {
    h.clock.set('2027-06-01T08:00:00Z');
    const opened = await signUp({ email: 'barbara@example.com' });
    const neverOpened = await signUp({ email: 'edsger@example.com' });
    const page = await open(opened.url);
    expect(page.status).toBe(303);

    const statuses = async () => [(await h.subscription(opened.subscription.id)).status, (await h.subscription(neverOpened.subscription.id)).status];
    h.clock.set('2027-06-03T07:59:00Z');
    await expireCheckouts(h.engine);
    expect(await statuses()).toEqual(['incomplete', 'incomplete']);
    h.clock.set('2027-06-03T08:00:00Z');
    expect(await expireCheckouts(h.engine)).toBeGreaterThanOrEqual(2);
    for (const { subscription } of [opened, neverOpened]) {
      expect(await h.subscription(subscription.id)).toMatchObject({ status: 'incomplete_expired', next_attempt_at: null, next_renewal_at: null });
    }
    const [charge] = await h.attempts(opened.subscription.id);
    expect(charge).toMatchObject({ status: 'expired' });
    const [invoice] = await h.db.db.selectFrom('invoices').selectAll().where('subscription_id', '=', opened.subscription.id).execute();
    expect(invoice).toMatchObject({ status: 'void' });
    const expired = await open(opened.url);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatch(/expired/);
    // The gateway's page no longer leads to a payment rebill would keep.
    expect((await ledgerFor(charge!.order_number))[0]!.status).toBe('action_required');
    await h.chargeDue();
    expect(await h.attempts(opened.subscription.id)).toHaveLength(1);
    expect(await h.attempts(neverOpened.subscription.id)).toHaveLength(0);
  });

  it('refuses unknown and malformed tokens, and a checkout token opens nothing else', async () => {
    const { url } = await signUp({ email: 'alan@example.com' });
    const token = url.split('/checkout/')[1]!;
    expect((await open(`${h.publicUrl}/checkout/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await open(`${h.publicUrl}/checkout/%3Cscript%3E`)).status).toBe(404);
    expect((await open(`${h.publicUrl}/pay/${token}`)).status).toBe(404);
  });

  it('takes the card token from a verified notice only: a forged notice for the checkout order changes nothing', async () => {
    const { subscription, url } = await signUp({ email: 'margaret@example.com' });
    await open(url);
    const [charge] = await h.attempts(subscription.id);
    const forged = h.signedNotice({
      order_number: charge!.order_number, order_currency: 'USD', order_amount: '12.50', payment_id: charge!.payment_id ?? '1',
      payment_status: '1', payment_details: '80000:Transaction Approved', quickpay_id: 'attacker-token',
    }, 'not-the-secure-code');
    expect((await h.postNotice(forged)).body).toBe('receive-ok');
    const after = await h.subscription(subscription.id);
    expect(after).toMatchObject({ status: 'incomplete', payment_method_id: null });
    expect((await h.attempts(subscription.id))[0]).toMatchObject({ status: 'action_required' });
  });
});
