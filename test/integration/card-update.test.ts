/**
 * A customer whose card was declined saves another one over real HTTP: the e-mailed link, rebill's
 * page, the sandbox's /gateway/service/create card page, the return, the QuickPay query that
 * confirms the new token and the cancel that disables the old one, then the period charged again.
 */
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { enrolByCheckout } from '../../src/checkout/enrol-by-checkout.ts';
import { customerIdOf } from '../../src/card-update/replace-card.ts';
import { MERCHANT, useHarness } from '../support/engine-harness.ts';

const h = useHarness('card-update', { notifications: {} });
const HOUR = 3_600_000;

/** Posts a page's first form the way a browser would, returning the answer. */
async function submitForm(page: string, extra: Record<string, string> = {}, formId?: string) {
  const start = formId ? page.indexOf(`id="${formId}"`) : page.indexOf('<form');
  const form = page.slice(page.lastIndexOf('<form', start + 5), page.indexOf('</form>', start));
  const action = /action="([^"]+)"/.exec(form)![1]!.replaceAll('&amp;', '&');
  const fields = [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m): [string, string] => [m[1]!, m[2]!.replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"')]);
  const response = await fetch(action, { method: 'POST', body: new URLSearchParams([...fields, ...Object.entries(extra)]) });
  return { status: response.status, body: await response.text(), action, fields: Object.fromEntries(fields) };
}

async function quickPay(path: 'query' | 'cancel', body: unknown) {
  const response = await fetch(`${h.sandbox.url}/pg/quickPay/${path}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', account: MERCHANT.account, terminal: MERCHANT.terminal, securecode: MERCHANT.secureCode },
  });
  return (await response.json()) as { code: string; data: { quickpay?: { id: string; status: string } } };
}

/** A subscriber who signed up by checkout with a card whose renewals are declined as lost or stolen. */
async function declinedSubscriber(email: string) {
  h.clock.set('2027-03-01T10:00:00Z');
  const enrolled = await enrolByCheckout(h.db.db, {
    email, firstName: 'Rosalind', lastName: 'Franklin', country: 'GB', interval: 'month', amount: '20.00', currency: 'EUR', quickpayId: '',
  }, { provider: 'oceanpayment', now: h.clock.now(), actor: 'test', links: { publicUrl: h.publicUrl, ttlMs: 48 * HOUR } });
  if (enrolled.status === 'refused') throw new Error(enrolled.message);
  const page = await fetch(enrolled.checkout!.url, { redirect: 'manual' });
  const paid = await fetch(page.headers.get('location')!, { method: 'POST', body: new URLSearchParams({ card_number: '4000000000000341', expiry: '11/38', cvv: '123', action: 'pay' }) });
  await submitForm(await paid.text(), {}, 'return');
  const sub = await h.eventually(async () => {
    const s = await h.subscription(enrolled.subscription.id);
    return s.status === 'active' && s.quickpay_id ? s : null;
  });
  expect(sub.quickpay_id).toMatch(/^hard-decline-/);
  h.clock.set('2027-04-01T10:00:00Z');
  await h.chargeDue();
  const declined = await h.subscription(sub.id);
  expect(declined).toMatchObject({ status: 'past_due', next_attempt_at: null });
  return declined;
}

async function cardLinkFromMail(subscriptionId: string): Promise<string> {
  await h.deliverMail();
  const mails = await h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', subscriptionId).where('kind', '=', 'payment_failed').execute();
  const parsed = await simpleParser(readFileSync(mails.at(-1)!.delivered_to!));
  expect(parsed.text).not.toMatch(/reply to this e-mail/);
  return /(http:\/\/127\.0\.0\.1:\d+\/card\/[A-Za-z0-9_-]{43})/.exec(parsed.text ?? '')![1]!;
}

describe('updating a declined card', () => {
  it('hard decline → e-mailed link → the gateway\'s card page → new token confirmed and stored, old disabled, the period paid', async () => {
    const sub = await declinedSubscriber('rosalind@example.com');
    const oldToken = sub.quickpay_id!;
    const link = await cardLinkFromMail(sub.id);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/the unpaid EUR 20\.00 is charged to the new card at once/);
    const gatewayPage = await submitForm(html);
    expect(gatewayPage.action).toBe(`${h.sandbox.url}/gateway/service/create`);
    expect(gatewayPage.fields).toMatchObject({ customer_id: customerIdOf(sub), backUrl: `${link}/done`, billing_email: 'rosalind@example.com' });
    expect(gatewayPage.status).toBe(200);

    const saved = await submitForm(gatewayPage.body, { card_number: '4111111111111111', expiry: '09/37', cvv: '321', action: 'save' });
    const done = await submitForm(saved.body, {}, 'return');
    expect(done.status).toBe(200);
    expect(done.body).toMatch(/Your new card is saved/);
    expect(done.body).toMatch(/being charged to it now/);

    const updated = await h.subscription(sub.id);
    expect(updated.quickpay_id).toBe(done.fields.quickpay_id);
    expect(updated.quickpay_id).not.toBe(oldToken);
    const methods = await h.db.db.selectFrom('payment_methods').selectAll().where('subscription_id', '=', sub.id).orderBy('id').execute();
    expect(methods.map((m) => [m.status, m.card_expiry])).toEqual([['replaced', null], ['active', '2037-09']]);
    expect(methods[0]!.replaced_by).toBe(methods[1]!.id);
    expect((await quickPay('query', { quickpay: { id: oldToken } })).data.quickpay?.status).toBe('canceled');
    expect((await h.events(sub.id)).find((e) => e.type === 'payment_method_disabled')?.data).toMatchObject({ disabled_at_provider: true });

    // The unpaid period is due at once and charged to the new card.
    expect(await h.chargeDue()).toBe(1);
    const retried = (await h.attempts(sub.id)).filter((a) => a.period === 1);
    expect(retried.map((a) => a.status)).toEqual(['failed', 'succeeded']);
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });

    // The link did its job once; it never opens the card page again.
    expect((await fetch(link)).status).toBe(410);
  });

  it('uses a token only when the gateway confirms it is this customer\'s: a forged or foreign return changes nothing', async () => {
    const sub = await declinedSubscriber('alan@example.com');
    const link = await cardLinkFromMail(sub.id);
    const post = (fields: Record<string, string>) => fetch(`${link}/done`, { method: 'POST', body: new URLSearchParams(fields) });
    const forged = await post({ customer_id: customerIdOf(sub), quickpay_id: '9ead3654-8f84-4d02-acab-6ac9dd10531f' });
    expect(forged.status).toBe(400);
    const foreign = await post({ customer_id: 'someone-else', quickpay_id: '9ead3654-8f84-4d02-acab-6ac9dd10531f' });
    expect(foreign.status).toBe(400);
    const hostile = await post({ customer_id: customerIdOf(sub), quickpay_id: '<script>alert(1)</script>' });
    expect(hostile.status).toBe(400);
    expect(await hostile.text()).not.toContain('<script>');
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'past_due', quickpay_id: sub.quickpay_id });
    // The link still works for the real card.
    expect((await fetch(link)).status).toBe(200);
    expect((await fetch(`${h.publicUrl}/card/${'B'.repeat(43)}`)).status).toBe(404);
  });

  it('gives a card to a subscription that has none (a checkout paid whose token never reached rebill)', async () => {
    h.clock.set('2027-05-01T10:00:00Z');
    const sub = await h.enrol({ email: 'tokenless@example.com', firstPaidAt: '2027-04-01T10:00:00Z' });
    // As if the notice carrying the token was lost and the order query settled the checkout.
    await h.db.db.updateTable('payment_methods').set({ status: 'disabled' }).where('subscription_id', '=', sub.id).execute();
    await h.db.db.updateTable('subscriptions').set({ payment_method_id: null }).where('id', '=', sub.id).execute();
    await h.chargeDue();
    expect(await h.attempts(sub.id)).toEqual([]);
    const { createCustomerLink, customerLinkUrl } = await import('../../src/customer-links/customer-link.repo.ts');
    const { token } = await createCustomerLink(h.db.db, { purpose: 'card_update', subscriptionId: sub.id, now: h.clock.now(), ttlMs: HOUR });
    const link = customerLinkUrl(h.publicUrl, 'card_update', token);
    const gatewayPage = await submitForm(await (await fetch(link)).text());
    const saved = await submitForm(gatewayPage.body, { card_number: '4111111111111111', expiry: '09/37', cvv: '321', action: 'save' });
    const done = await submitForm(saved.body, {}, 'return');
    expect(done.body).toMatch(/Your new card is saved/);
    expect((await h.subscription(sub.id)).quickpay_id).toBe(done.fields.quickpay_id);
    await h.chargeDue();
    expect((await h.attempts(sub.id)).at(-1)).toMatchObject({ period: 1, status: 'succeeded', service_mode: 'M2' });
  });

  it('the gateway\'s card page refuses a form whose signature does not verify', async () => {
    const response = await fetch(`${h.sandbox.url}/gateway/service/create`, {
      method: 'POST',
      body: new URLSearchParams({ account: MERCHANT.account, terminal: MERCHANT.terminal, customer_id: 'c1', backUrl: 'http://127.0.0.1/x', billing_firstName: 'a', billing_lastName: 'b', billing_email: 'a@b.co', signValue: '0'.repeat(64) }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/20013/);
  });
});
