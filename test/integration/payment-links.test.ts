import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { hashLinkToken } from '../../src/payment-links/payment-link.repo.ts';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('links', { notifications: {} });
const HOUR = 3_600_000;

async function outbox(subscriptionId: string) {
  return h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}

/** The link in the newest e-mail of a kind, read from the delivered .eml file like a mail client would. */
async function linkFromDeliveredMail(subscriptionId: string, kind: string): Promise<string> {
  await h.deliverMail();
  const messages = (await outbox(subscriptionId)).filter((m) => m.kind === kind);
  const file = messages.at(-1)!.delivered_to!;
  const parsed = await simpleParser(readFileSync(file));
  const match = /(http:\/\/127\.0\.0\.1:\d+\/pay\/[A-Za-z0-9_-]+)/.exec(parsed.text ?? '');
  if (!match) throw new Error(`no payment link in ${file}`);
  return match[1]!;
}

async function open(link: string) {
  const response = await fetch(link, { redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location'), body: await response.text() };
}

async function threeDSecureSubscriber(token: string) {
  h.clock.set('2027-03-01T00:00:00Z');
  const sub = await h.enrol({ quickpayId: token, firstPaidAt: '2027-01-31T09:00:00Z', timezone: 'Europe/Paris' });
  await h.chargeDue();
  return sub;
}

describe('the e-mailed 3-D Secure link', () => {
  it('is e-mailed once per attempt, stored only as a hash, and leads to that attempt\'s bank page', async () => {
    const sub = await threeDSecureSubscriber('3ds-link-a');
    const [attempt] = await h.attempts(sub.id);
    const link = await linkFromDeliveredMail(sub.id, 'action_required');
    const token = link.split('/pay/')[1]!;
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);

    const mails = await outbox(sub.id);
    expect(mails.map((m) => m.kind)).toEqual(['action_required']);
    expect(mails[0]).toMatchObject({ to_address: 'ada@example.com', status: 'sent' });
    expect(mails[0]!.subject).toMatch(/confirm your USD 9\.99 payment/);
    // Once delivered, the database keeps no working copy of the token: only its hash.
    const { rows } = await sql<{ n: number }>`
      select (select count(*)::int from email_outbox where text_body like ${`%${token}%`} or html_body like ${`%${token}%`})
           + (select count(*)::int from events where data::text like ${`%${token}%`}) as n`.execute(h.db.db);
    expect(rows[0]!.n).toBe(0);
    const stored = await h.db.db.selectFrom('payment_link_tokens').select('token_hash').execute();
    expect(stored.some((r) => Buffer.compare(r.token_hash, hashLinkToken(token)) === 0)).toBe(true);

    const answer = await open(link);
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(attempt!.action_url);
    expect((await h.events(sub.id)).find((e) => e.type === 'payment_link_opened')).toMatchObject({ actor: 'customer', transaction_id: attempt!.id });
  });

  it('never redirects anywhere but the configured gateway', async () => {
    const sub = await threeDSecureSubscriber('3ds-link-b');
    const link = await linkFromDeliveredMail(sub.id, 'action_required');
    await h.db.db.updateTable('payment_transactions').set({ action_url: 'https://evil.example/phish' }).where('subscription_id', '=', sub.id).execute();
    const answer = await open(link);
    expect(answer.status).toBe(502);
    expect(answer.location).toBeNull();
    expect(answer.body).toMatch(/cannot take you to your bank/);
  });

  it('is re-serialised before the redirect: a backslash or user name in pay_url never reaches the browser as written', async () => {
    const sub = await threeDSecureSubscriber('3ds-link-g');
    const link = await linkFromDeliveredMail(sub.id, 'action_required');
    const setPayUrl = (payUrl: string) => h.db.db.updateTable('payment_transactions').set({ action_url: payUrl }).where('subscription_id', '=', sub.id).execute();
    await setPayUrl(`${h.sandbox.url}\\@evil.example/`);
    const answer = await open(link);
    expect(answer).toMatchObject({ status: 303, location: `${h.sandbox.url}/@evil.example/` });
    for (const withUser of [h.sandbox.url.replace('://', '://gateway@'), h.sandbox.url.replace('://', '://user:pass@'), h.sandbox.url.replace('http://', 'https://')]) {
      await setPayUrl(`${withUser}/gateway/direct/redirect?pay_id=1`);
      expect((await open(link)).status).toBe(502);
    }
  });

  it('closes at once when the subscription is canceled: 410, the 3-D Secure step ends, and the gateway is asked whether it was paid', async () => {
    const sub = await threeDSecureSubscriber('3ds-link-h');
    const link = await linkFromDeliveredMail(sub.id, 'action_required');
    await cancelSubscription(h.db.db, sub.id, false, h.operator());
    const answer = await open(link);
    expect(answer.status).toBe(410);
    expect(answer.location).toBeNull();
    expect(answer.body).toMatch(/has been canceled/);
    const [attempt] = await h.attempts(sub.id);
    expect(attempt).toMatchObject({ status: 'expired', failure_reason: expect.stringMatching(/canceled before the payment was confirmed/), next_query_at: h.clock.now() });
    expect((await h.db.db.selectFrom('payment_links').select('closed_reason').where('transaction_id', '=', attempt!.id).executeTakeFirst())?.closed_reason).toBe('subscription canceled');
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'expired', next_query_at: null });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'canceled', renewals_paid: 0 });
  });

  it('an unknown link says so, with the support address', async () => {
    const answer = await open(`${h.publicUrl}/pay/${'A'.repeat(43)}`);
    expect(answer.status).toBe(404);
    expect(answer.body).toMatch(/not valid/);
    expect(answer.body).toContain('help@shop.test');
    expect(answer.body).toContain('Tea &amp; &lt;Biscuits&gt; Ltd');
  });

  it('reminds the customer after 24 hours with a fresh link; both work', async () => {
    const sub = await threeDSecureSubscriber('3ds-link-c');
    const first = await linkFromDeliveredMail(sub.id, 'action_required');
    h.clock.set(new Date(Date.parse('2027-03-01T00:00:00Z') + 23 * HOUR));
    expect((await h.linkJanitor()).reminders).toBe(0);
    h.clock.set(new Date(Date.parse('2027-03-01T00:00:00Z') + 24 * HOUR + 1000));
    expect((await h.linkJanitor()).reminders).toBeGreaterThanOrEqual(1);
    const second = await linkFromDeliveredMail(sub.id, 'auth_reminder');
    expect(second).not.toBe(first);
    expect((await open(first)).status).toBe(303);
    expect((await open(second)).status).toBe(303);
    expect((await h.linkJanitor()).reminders).toBe(0);
    expect((await outbox(sub.id)).map((m) => m.kind)).toEqual(['action_required', 'auth_reminder']);
  });

  it('expires after 72 hours: the link says so, the attempt expires, and dunning continues with a new link', async () => {
    const sub = await threeDSecureSubscriber('3ds-link-d');
    const first = await linkFromDeliveredMail(sub.id, 'action_required');
    h.clock.set(new Date(Date.parse('2027-03-01T00:00:00Z') + 72 * HOUR + 1000));
    const expired = await open(first);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatch(/has expired/);
    expect(expired.body).toMatch(/Thursday 4 March 2027 at 01:00 \(Europe\/Paris\)/); // the expiry, in the customer's zone (Paris)

    expect((await h.linkJanitor()).expired).toBeGreaterThanOrEqual(1);
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'expired' });
    const after = await h.subscription(sub.id);
    expect(after.status).toBe('past_due');
    expect(after.next_attempt_at).not.toBeNull(); // dunning continues (day 1 already passed: now)

    await h.chargeDue();
    const attempts = await h.attempts(sub.id);
    expect(attempts.map((a) => a.status)).toEqual(['expired', 'action_required']);
    const second = await linkFromDeliveredMail(sub.id, 'action_required');
    expect(second).not.toBe(first);
    expect((await open(second)).location).toBe(attempts[1]!.pay_url);
    expect((await open(first)).status).toBe(410);
  });

  it('asks the gateway before expiring: a payment completed whose notice was lost is kept', async () => {
    h.sandbox.setFaults({ noticeDelayMs: 600_000 });
    try {
      const sub = await threeDSecureSubscriber('3ds-link-e');
      const [attempt] = await h.attempts(sub.id);
      // The customer authenticates at the bank; the notice never reaches us.
      const page = await (await fetch(attempt!.action_url!)).text();
      const action = /<form[^>]*action="([^"]+)"/.exec(page)![1]!.replaceAll('&amp;', '&');
      await fetch(new URL(action, attempt!.action_url!), { method: 'POST', body: new URLSearchParams({ result: 'authenticate' }), redirect: 'manual' });
      h.clock.set(new Date(Date.parse('2027-03-01T00:00:00Z') + 73 * HOUR));
      await h.linkJanitor();
      expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded' });
      expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    } finally {
      h.sandbox.setFaults({ noticeDelayMs: 0 });
    }
  });

  it('a link whose payment went through shows that instead of the bank', async () => {
    const sub = await threeDSecureSubscriber('3ds-link-f');
    const link = await linkFromDeliveredMail(sub.id, 'action_required');
    const [attempt] = await h.attempts(sub.id);
    await h.postNotice(h.signedNotice({ order_number: attempt!.reference, order_currency: 'USD', order_amount: '9.99', payment_id: attempt!.provider_reference!, payment_status: '1', payment_details: '80000:Transaction Approved' }));
    const answer = await open(link);
    expect(answer.status).toBe(409);
    expect(answer.body).toMatch(/already complete/);
    expect((await h.db.db.selectFrom('payment_links').select('closed_reason').where('transaction_id', '=', attempt!.id).executeTakeFirst())?.closed_reason).toBe('succeeded');
  });
});

describe('the page the customer comes back to', () => {
  async function returnWith(fields: Record<string, string>) {
    const xml = h.signedNotice({ ...fields, response_type: '0' });
    const form = Object.fromEntries([...xml.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1]!, m[2]!]));
    const response = await fetch(`${h.publicUrl}/oceanpayment/return`, { method: 'POST', body: new URLSearchParams(form) });
    return { status: response.status, body: await response.text() };
  }

  it('after Authenticate: being confirmed, and the gateway is asked at once; the browser alone changes no money state', async () => {
    const sub = await threeDSecureSubscriber('3ds-return-a');
    const [attempt] = await h.attempts(sub.id);
    const queriesBefore = h.sandbox.ledger.summary().queries;
    // The browser claims success, but the bank step was never completed at the gateway.
    const page = await returnWith({ order_number: attempt!.reference, order_currency: 'USD', order_amount: '9.99', payment_id: '9', payment_status: '1', payment_details: '80000:Transaction Approved' });
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/being confirmed/);
    expect(h.sandbox.ledger.summary().queries).toBe(queriesBefore + 1);
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'action_required' });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'past_due', renewals_paid: 0 });
  });

  it('after Fail: not completed, no money taken, and when it will be tried again in the customer\'s time', async () => {
    const sub = await threeDSecureSubscriber('3ds-return-b');
    const [attempt] = await h.attempts(sub.id);
    await h.postNotice(h.signedNotice({ order_number: attempt!.reference, order_currency: 'USD', order_amount: '9.99', payment_id: '9', payment_status: '0', payment_details: '80091:Cardholder failed 3D Secure authentication' }));
    const page = await returnWith({ order_number: attempt!.reference, order_currency: 'USD', order_amount: '9.99', payment_id: '9', payment_status: '0', payment_details: '80091:Cardholder failed 3D Secure authentication' });
    expect(page.body).toMatch(/was not completed/);
    expect(page.body).toMatch(/No money was taken/);
    expect(page.body).toMatch(/Tuesday 2 March 2027 at 01:00 \(Europe\/Paris\)/); // a day after the failure, in Paris
  });

  it('after Fail: offers a link to save another card, and stops minting links when the signed return is replayed', async () => {
    const sub = await threeDSecureSubscriber('3ds-return-card');
    const [attempt] = await h.attempts(sub.id);
    const failed = { order_number: attempt!.reference, order_currency: 'USD', order_amount: '9.99', payment_id: '9', payment_status: '0', payment_details: '80091:Cardholder failed 3D Secure authentication' };
    await h.postNotice(h.signedNotice(failed));
    const cardLinks = () => h.db.db.selectFrom('customer_links').select('id').where('subscription_id', '=', sub.id).where('purpose', '=', 'card_update').execute();
    const sentByEmail = (await cardLinks()).length; // the decline e-mail carries one too
    const page = await returnWith(failed);
    const link = /href="([^"]+\/card\/[A-Za-z0-9_-]+)"/.exec(page.body)?.[1];
    expect(link, page.body).toBeDefined();
    // The link opens this subscription's card page.
    expect((await fetch(link!)).status).toBe(200);
    // The same signed return, replayed, mints a bounded number of links, then points to the one given.
    const replays = [];
    for (let i = 0; i < 4; i += 1) replays.push(await returnWith(failed));
    expect(replays.filter((r) => /\/card\//.test(r.body))).toHaveLength(3 - sentByEmail - 1);
    expect(replays.at(-1)!.body).toMatch(/use the "save another card" link we sent you/);
    expect(await cardLinks()).toHaveLength(3);
  });

  it('tells the truth for a canceled subscription: nothing is due, and a payment that went through anyway is to be refunded', async () => {
    const sub = await threeDSecureSubscriber('3ds-return-c');
    const [attempt] = await h.attempts(sub.id);
    await cancelSubscription(h.db.db, sub.id, false, h.operator());
    const fields = { order_number: attempt!.reference, order_currency: 'USD', order_amount: '9.99', payment_id: attempt!.provider_reference!, payment_status: '1', payment_details: '80000:Transaction Approved' };
    const unpaid = await returnWith(fields);
    expect(unpaid.body).toMatch(/has been canceled/);
    expect(unpaid.body).not.toMatch(/subscription continues/);
    // The customer had the bank's page open and completed it after all: the gateway confirms it.
    await h.db.db.updateTable('payment_transactions').set({ status: 'succeeded' }).where('id', '=', attempt!.id).execute();
    const paid = await returnWith(fields);
    expect(paid.body).toMatch(/already canceled/);
    expect(paid.body).toMatch(/refund/);
    expect(paid.body).not.toMatch(/subscription continues/);
  });

  it('a forged return is not trusted', async () => {
    const xml = h.signedNotice({ order_number: 'x-1', order_currency: 'USD', order_amount: '9.99', payment_id: '1', payment_status: '1', payment_details: '80000:ok' }, 'wrong-code');
    const form = Object.fromEntries([...xml.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1]!, m[2]!]));
    const response = await fetch(`${h.publicUrl}/oceanpayment/return`, { method: 'POST', body: new URLSearchParams(form) });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/could not confirm/);
  });
});

describe('e-mail files', () => {
  it('are written once each, as .eml files a mail client can open', async () => {
    await h.deliverMail();
    const before = readdirSync(h.outboxDir).length;
    const sent = await h.db.db.selectFrom('email_outbox').select('id').where('status', '=', 'sent').execute();
    expect(sent.length).toBe(before);
    expect(await h.deliverMail()).toBe(0);
    expect(readdirSync(h.outboxDir).length).toBe(before);
    const file = readdirSync(h.outboxDir).find((f) => f.endsWith('-action_required.eml'))!;
    const parsed = await simpleParser(readFileSync(join(h.outboxDir, file)));
    expect(parsed.html).toContain('Tea &amp; &lt;Biscuits&gt; Ltd');
    expect(parsed.text).toContain('Tea & <Biscuits> Ltd');
  });
});
