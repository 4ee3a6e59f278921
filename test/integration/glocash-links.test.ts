/**
 * Subscriptions collected by Glocash payment link, end to end over real HTTP: the engine asks the
 * Glocash sandbox for each period's payment, e-mails the link, and learns the outcome from signed
 * notices (PSN) or, when none comes, a query by TNS_GCID. Forged and wrong-amount notices change
 * nothing; refunds and dunning go through the same core as card payments.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { requestRefund } from '../../src/billing/refunds.ts';
import { glocashProvider, type GlocashProvider } from '../../src/payments/providers/glocash/provider.ts';
import { glocashSign } from '../../src/payments/providers/glocash/sign.ts';
import { startGlocashSandbox, type GlocashSandbox } from '../../src/payments/providers/glocash/sandbox/index.ts';
import { enrolMany, validateEnrolment, type EnrolInput } from '../../src/subscriptions/enrol.ts';
import { useHarness } from '../support/engine-harness.ts';

const ACCOUNT = { email: 'billing@shop.test', secretKey: 'glocash-test-key-1' };
const HOUR = 3_600_000;
const PAID = '4000000000000002';
const FAILED = '5200000000000023';

let sandbox: GlocashSandbox;
let glocash: GlocashProvider;
beforeAll(async () => {
  sandbox = await startGlocashSandbox({ accounts: [ACCOUNT], noticeRetryDelaysMs: [0, 50, 100, 200, 400], pendingDelayMs: 100 });
  glocash = glocashProvider({ apiUrl: sandbox.url, credentials: ACCOUNT, timeoutMs: 20_000 });
});
afterAll(async () => {
  await glocash?.close();
  await sandbox?.close();
});
const h = useHarness('glocash_links', { notifications: {}, extraProviders: () => [glocash] });

async function enrolByLink(overrides: Partial<EnrolInput> = {}): Promise<string> {
  h.clock.set('2027-03-01T00:00:00Z');
  const result = validateEnrolment(
    { email: 'lin@example.com', firstName: 'Lin', lastName: 'Ho', country: 'SG', interval: 'month', amount: '12.00', currency: 'SGD', collection: 'payment_link', firstPaidAt: '2027-01-31T09:00:00Z', ...overrides },
    h.clock.now(),
  );
  if (!result.ok) throw new Error(result.problems.join('; '));
  await enrolMany(h.db.db, [result.row], { now: h.clock.now(), actor: 'test', provider: 'glocash' });
  return result.row.id;
}

const mails = (id: string) => h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', id).orderBy('id').execute();
const invoice = (id: string, period: number) => h.db.db.selectFrom('invoices').selectAll().where('subscription_id', '=', id).where('period', '=', period).executeTakeFirstOrThrow();
const notices = (reference: string) => h.db.db.selectFrom('provider_notices').select(['result', 'verified', 'problem']).where('reference', '=', reference).orderBy('id').execute();
const postNotice = (fields: Record<string, string>) =>
  fetch(`${h.publicUrl}/payments/glocash/notice`, { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }).then(async (r) => ({ status: r.status, body: await r.text() }));

/** The customer pays (or fails to pay) on Glocash's page, as the sandbox's page does. */
const pay = async (gcid: string, card: string) => {
  const response = await fetch(`${sandbox.url}/sandbox/pay/${gcid}`, { method: 'POST', body: new URLSearchParams({ card }) });
  return (await response.json()) as { BIL_STATUS: string };
};

describe('a subscription collected by Glocash payment link', () => {
  it('e-mails a link per period that leads to Glocash\'s page; the signed notice of payment pays the period', async () => {
    const id = await enrolByLink();
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    expect(charge).toMatchObject({ provider: 'glocash', provider_account: ACCOUNT.email, status: 'action_required', provider_reference: expect.stringMatching(/^[A-Z0-9]{16}$/), details: { collection: 'payment_link' } });
    expect(sandbox.ledger.byGcid(charge!.provider_reference!)).toMatchObject({ invoice: charge!.reference, price: '12.00', currency: 'SGD', customerEmail: 'lin@example.com', status: 'unpaid' });

    const [mail] = await mails(id);
    expect(mail).toMatchObject({ kind: 'payment_due', subject: expect.stringMatching(/SGD 12\.00 payment .* is due/) });
    const link = /(http:\/\/127\.0\.0\.1:\d+\/pay\/[A-Za-z0-9_-]+)/.exec(mail!.text_body)![1]!;
    const opened = await fetch(link, { redirect: 'manual' });
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe(charge!.action_url);
    const page = await fetch(opened.headers.get('location')!);
    expect(await page.text()).toContain('pay SGD 12.00');

    expect(await pay(charge!.provider_reference!, PAID)).toEqual({ TNS_GCID: charge!.provider_reference, BIL_STATUS: 'paid' });
    await h.eventually(async () => (await h.attempts(id))[0]!.status === 'succeeded');
    expect(await h.subscription(id)).toMatchObject({ status: 'active', renewals_paid: 1, next_period: 2 });
    expect(await invoice(id, 1)).toMatchObject({ status: 'paid', amount_paid_minor: 1200 });
    expect(await notices(charge!.reference)).toEqual([{ result: 'applied', verified: true, problem: null }]);
    // The link is closed once paid.
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(409);
  });

  it('answers a forged notice and one with a wrong amount with 200, and applies neither', async () => {
    const id = await enrolByLink({ email: 'forged@example.com' });
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    const fields: Record<string, string> = {
      REQ_INVOICE: charge!.reference, CUS_EMAIL: 'forged@example.com', BIL_METHOD: 'CCG', BIL_PRICE: '12.00', BIL_CURRENCY: 'SGD', REQ_EMAIL: ACCOUNT.email,
      TNS_GCID: charge!.provider_reference!, PGW_PRICE: '12.00', PGW_CURRENCY: 'SGD', FDL_DECISION: 'ACP', BIL_STATUS: 'paid', REQ_TIMES: String(Math.floor(Date.now() / 1000)),
    };
    const forged = { ...fields, REQ_SIGN: glocashSign('notice', fields, 'not-the-secret-key') };
    expect(await postNotice(forged)).toEqual({ status: 200, body: 'OK' });
    const cheap = { ...fields, BIL_PRICE: '1.00', PGW_PRICE: '1.00' };
    expect(await postNotice({ ...cheap, REQ_SIGN: glocashSign('notice', cheap, ACCOUNT.secretKey) })).toEqual({ status: 200, body: 'OK' });
    expect(await notices(charge!.reference)).toEqual([
      { result: 'rejected', verified: false, problem: 'REQ_SIGN does not verify' },
      { result: 'rejected', verified: true, problem: 'amount 1.00 SGD does not match the charge (12.00 SGD)' },
    ]);
    expect((await h.attempts(id))[0]).toMatchObject({ status: 'action_required' });
    expect(await invoice(id, 1)).toMatchObject({ status: 'open', amount_paid_minor: 0 });
  });

  it('answers a notice sent twice with 200 both times and applies it once', async () => {
    const id = await enrolByLink({ email: 'duplicate-notice-li@example.com' });
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    await pay(charge!.provider_reference!, PAID);
    await sandbox.notices.idle();
    expect(sandbox.notices.deliveries.filter((d) => d.gcid === charge!.provider_reference)).toMatchObject([{ delivered: true }, { delivered: true }]);
    expect((await notices(charge!.reference)).map((n) => n.result).sort()).toEqual(['applied', 'no_change']);
    expect(await invoice(id, 1)).toMatchObject({ status: 'paid', amount_paid_minor: 1200 });
    expect((await h.events(id)).filter((e) => e.type === 'payment_succeeded')).toHaveLength(1);
  });

  it('finds a payment whose notice never came by querying TNS_GCID before the link expires', async () => {
    const id = await enrolByLink({ email: 'no-notice-kim@example.com' });
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    await pay(charge!.provider_reference!, PAID);
    await sandbox.notices.idle();
    expect((await h.attempts(id))[0]).toMatchObject({ status: 'action_required' });
    h.clock.advance(73 * HOUR);
    await h.linkJanitor();
    expect((await h.attempts(id))[0]).toMatchObject({ status: 'succeeded' });
    expect(await invoice(id, 1)).toMatchObject({ status: 'paid' });
  });

  it('refunds part and then the rest of a payment; Glocash\'s REQ_CODE 200 is the success', async () => {
    const id = await enrolByLink({ email: 'refund@example.com' });
    await h.chargeDue();
    const [charge] = await h.attempts(id);
    await pay(charge!.provider_reference!, PAID);
    await h.eventually(async () => (await h.attempts(id))[0]!.status === 'succeeded');
    const part = await requestRefund(h.engine, { orderNumber: charge!.reference, amount: { amountMinor: 200, currency: 'SGD' }, reason: 'goodwill', actor: 'operator:test' });
    expect(part).toMatchObject({ outcome: { kind: 'refunded' }, refund: { status: 'succeeded', amount_minor: 200, provider: 'glocash' } });
    expect(sandbox.ledger.byGcid(charge!.provider_reference!)).toMatchObject({ refundedMinor: 200, status: 'paid' });
    const rest = await requestRefund(h.engine, { orderNumber: charge!.reference, reason: 'canceled order', actor: 'operator:test' });
    expect(rest).toMatchObject({ outcome: { kind: 'refunded' }, refund: { status: 'succeeded', amount_minor: 1000 } });
    expect(sandbox.ledger.byGcid(charge!.provider_reference!)).toMatchObject({ refundedMinor: 1200, status: 'refunded' });
    expect(await invoice(id, 1)).toMatchObject({ status: 'refunded', amount_refunded_minor: 1200 });
  });

  it('runs dunning with a new link per retry, and refunds an older link paid after the period was paid', async () => {
    const id = await enrolByLink({ email: 'twice@example.com' });
    await h.chargeDue();
    const [first] = await h.attempts(id);
    // The first link fails on the page: the period is retried with a new link.
    await pay(first!.provider_reference!, FAILED);
    await h.eventually(async () => (await h.attempts(id))[0]!.status === 'failed');
    expect(await h.subscription(id)).toMatchObject({ status: 'past_due' });
    expect((await mails(id)).map((m) => m.kind)).toEqual(['payment_due', 'payment_failed']);
    expect((await mails(id))[1]!.text_body).toContain('We will send you a new payment link on');

    h.clock.advance(24 * HOUR + 1);
    await h.chargeDue();
    const second = (await h.attempts(id)).find((a) => a.id !== first!.id)!;
    expect(second).toMatchObject({ status: 'action_required', period: 1 });
    expect(second.provider_reference).not.toBe(first!.provider_reference);
    // Unpaid, it expires after the link's lifetime (Glocash is asked first), and dunning goes on.
    h.clock.advance(73 * HOUR);
    await h.linkJanitor();
    expect((await h.attempts(id)).find((a) => a.id === second.id)).toMatchObject({ status: 'expired', failure_reason: 'the payment link expired unpaid' });

    h.clock.advance(5 * 24 * HOUR);
    await h.chargeDue();
    const third = (await h.attempts(id)).find((a) => a.id !== first!.id && a.id !== second.id)!;
    await pay(third.provider_reference!, PAID);
    await h.eventually(async () => (await invoice(id, 1)).status === 'paid');
    expect(await h.subscription(id)).toMatchObject({ status: 'active' });

    // The customer kept Glocash's page of the expired second link and pays it too: Glocash is
    // asked to confirm, the period is paid twice, and the second payment is refunded.
    await pay(second.provider_reference!, PAID);
    await h.eventually(async () => (await notices(second.reference)).length > 0);
    expect((await notices(second.reference))[0]).toMatchObject({ result: 'confirming' });
    await h.janitor();
    expect((await h.attempts(id)).find((a) => a.id === second.id)).toMatchObject({ status: 'succeeded' });
    await h.eventually(async () => {
      await h.janitor();
      return sandbox.ledger.byGcid(second.provider_reference!)!.status === 'refunded';
    });
    expect(await invoice(id, 1)).toMatchObject({ amount_paid_minor: 2400, amount_refunded_minor: 1200 });
  });
});
