/**
 * Forged and poisoned input: a customer holding a genuine signed result cannot turn it into a
 * payment, a notice that claims money moved the customer's way is applied only once the gateway
 * confirms it, and one unstorable notice never costs a genuine one its place.
 */
import { describe, expect, it } from 'vitest';
import { receiveNotices } from '../../src/inbound/apply-notice.ts';
import { claimCharges } from '../../src/billing/claim-charges.ts';
import { HOUR_MS } from '../../src/lib/clock.ts';
import { MERCHANT, useHarness } from '../support/engine-harness.ts';

const h = useHarness('hostile', { notifications: {} });

async function storedNotices(orderNumber: string) {
  return h.db.db.selectFrom('provider_notices').selectAll().where('reference', '=', orderNumber).orderBy('id').execute();
}

/** A renewal waiting for the customer's 3-D Secure at the sandbox's bank page. */
async function threeDSecureRenewal(token: string) {
  h.clock.set('2027-03-01T00:00:00Z');
  const sub = await h.enrol({ quickpayId: token, firstPaidAt: '2027-01-31T09:00:00Z' });
  await h.chargeDue();
  const [attempt] = await h.attempts(sub.id);
  expect(attempt).toMatchObject({ status: 'action_required' });
  return { sub, attempt: attempt! };
}

/** The customer's choice on the bank's page; returns the signed fields their browser carries back. */
async function customerChooses(payUrl: string, result: 'authenticate' | 'fail'): Promise<Record<string, string>> {
  const page = await fetch(payUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ result }) });
  const html = await page.text();
  const decode = (text: string) => text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [decode(m[1]!), decode(m[2]!)]));
}

function asNoticeXml(fields: Record<string, string>): string {
  const body = Object.entries({ notice_type: 'transaction', ...fields, response_type: '1' }).map(([k, v]) => `<${k}>${v.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</${k}>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><response>${body}</response>`;
}

describe('a customer cannot forge a success without the secure code', () => {
  it('a signed 3-D Secure decline re-cut into a success is rejected, as a notice and as a browser return; the period stays unpaid', async () => {
    const { sub, attempt } = await threeDSecureRenewal('3ds-recut');
    const genuine = await customerChooses(attempt.action_url!, 'fail');
    expect(genuine).toMatchObject({ payment_status: '0', payment_authType: '2', payment_details: expect.stringMatching(/^80091:/) });
    await h.eventually(async () => (await h.attempts(sub.id))[0]?.status === 'failed', 30_000);

    const recut = {
      ...genuine,
      payment_authType: `${genuine.payment_authType}${genuine.payment_status}${genuine.payment_details!.slice(0, 4)}`,
      payment_status: genuine.payment_details!.slice(4, 5),
      payment_details: genuine.payment_details!.slice(5),
    };
    expect(recut).toMatchObject({ payment_authType: '208009', payment_status: '1' });
    expect(await h.postNotice(asNoticeXml(recut))).toEqual({ status: 200, body: 'receive-ok' });
    const page = await fetch(`${h.publicUrl}/oceanpayment/return`, { method: 'POST', body: new URLSearchParams(recut) });
    expect(await page.text()).not.toMatch(/Payment received|being confirmed/);

    const stored = (await storedNotices(attempt.reference)).slice(-2);
    expect(stored.map((n) => [n.channel, n.result, n.verified])).toEqual([['notice', 'rejected', false], ['browser_return', 'rejected', false]]);
    expect(stored[0]!.problem).toMatch(/payment_authType "208009"/);
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'failed' });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'past_due', renewals_paid: 0 });
    expect((await h.events(sub.id)).map((e) => e.type)).not.toContain('payment_succeeded');
  });

  it('a correctly signed success for a failed attempt changes nothing until the gateway confirms it, and the gateway says no', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    const [claimed] = await claimCharges(h.db.db, [sub.id], h.claimContext());
    const orderNumber = claimed!.attempt.reference;
    const result = (status: string, details: string) =>
      h.signedNotice({ order_number: orderNumber, order_currency: 'USD', order_amount: '9.99', payment_id: '261122000000000000001', payment_status: status, payment_details: details });
    await h.postNotice(result('0', '80022:Not sufficient funds'));
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'failed' });

    expect(await h.postNotice(result('1', '80000:Transaction Approved'))).toEqual({ status: 200, body: 'receive-ok' });
    expect((await storedNotices(orderNumber)).at(-1)).toMatchObject({ result: 'confirming', verified: true });
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'failed', next_query_at: h.clock.now() });
    expect((await h.events(sub.id)).at(-1)).toMatchObject({ type: 'confirmation_requested', actor: 'gateway:notice' });

    // The gateway never saw this order: nothing was paid, and the confirmation is not asked again.
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'failed', next_query_at: null });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'past_due', renewals_paid: 0 });
  });

  it('a success naming another payment than the gateway gave is confirmed first, and the gateway\'s own record wins', async () => {
    const { sub, attempt } = await threeDSecureRenewal('3ds-other-payment');
    const forged = h.signedNotice({ order_number: attempt.reference, order_currency: 'USD', order_amount: '9.99', payment_id: '999999999999999999999', payment_status: '1', payment_details: '80000:Transaction Approved' });
    await h.postNotice(forged);
    expect((await storedNotices(attempt.reference)).at(-1)).toMatchObject({ result: 'confirming', problem: expect.stringMatching(/payment 999999999999999999999/) });
    await h.janitor();
    // The gateway still waits for the customer: nothing is paid.
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'action_required', payment_id: attempt.provider_reference });

    await customerChooses(attempt.action_url!, 'authenticate');
    await h.eventually(async () => (await h.attempts(sub.id))[0]?.status === 'succeeded', 30_000);
    expect((await h.attempts(sub.id))[0]).toMatchObject({ payment_id: attempt.provider_reference });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
  });

  it('a period settled after its link expired is kept once the gateway confirms the payment (never lost)', async () => {
    const { sub, attempt } = await threeDSecureRenewal('3ds-late');
    h.clock.advance(73 * HOUR_MS);
    await h.linkJanitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'expired' });

    await customerChooses(attempt.action_url!, 'authenticate');
    await h.eventually(async () => (await storedNotices(attempt.reference)).some((n) => n.result === 'confirming'), 30_000);
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'expired' });
    await h.janitor();
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded', payment_id: attempt.provider_reference });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
  });
});

describe('one malformed notice never affects another', () => {
  async function inFlight() {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    const [claimed] = await claimCharges(h.db.db, [sub.id], h.claimContext());
    const notice = h.signedNotice({ order_number: claimed!.attempt.reference, order_currency: 'USD', order_amount: '9.99', payment_id: '261122000000000000002', payment_status: '1', payment_details: '80000:Transaction Approved' });
    return { sub, orderNumber: claimed!.attempt.reference, notice };
  }

  it('a body with a NUL byte in the same batch as a genuine notice: both stored and answered, the genuine one applied', async () => {
    const { sub, notice } = await inFlight();
    const poisoned = Buffer.from('<response><order_number>a\u0000b</order_number></response>', 'utf8');
    const receipts = await receiveNotices(h.engine, h.oceanpayment, [{ body: Buffer.from(notice, 'utf8') }, { body: poisoned }]);
    expect(receipts).toMatchObject([{ stored: true, verdict: { result: 'applied' } }, { stored: true, verdict: { result: 'malformed', problem: expect.stringMatching(/NUL/) } }]);
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 1 });
    const row = await h.db.db.selectFrom('provider_notices').selectAll().where('raw_body', 'is not', null).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ result: 'malformed', body: '<response><order_number>a\\u0000b</order_number></response>' });
    expect(Buffer.compare(row.raw_body!, poisoned)).toBe(0);
  });

  it('over HTTP, a poisoned notice and a genuine one sent together both get receive-ok, and the genuine one is applied', async () => {
    const { sub, notice } = await inFlight();
    const send = (body: Buffer | string) => fetch(h.noticeUrl, { method: 'POST', body, headers: { 'content-type': 'application/xml' } }).then(async (r) => [r.status, await r.text()]);
    const answers = await Promise.all([send(notice), send(Buffer.from([0x3c, 0x72, 0x00, 0xff, 0xfe])), send(Buffer.from('<response>\u0000</response>'))]);
    expect(answers).toEqual([[200, 'receive-ok'], [200, 'receive-ok'], [200, 'receive-ok']]);
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 1 });
  });

  it('a browser return with an encoded NUL is stored and the customer gets a page, not an error', async () => {
    const response = await fetch(`${h.publicUrl}/oceanpayment/return`, { method: 'POST', body: 'order_number=abc%00def&payment_id=1%00&payment_status=1' });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/could not confirm this payment result/);
    const row = await h.db.db.selectFrom('provider_notices').selectAll().where('channel', '=', 'browser_return').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ reference: 'abc\\u0000def', result: 'rejected' });
  });
});
