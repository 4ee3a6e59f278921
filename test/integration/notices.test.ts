import { describe, expect, it } from 'vitest';
import { claimCharges } from '../../src/billing/claim-charges.ts';
import { recordOutcomes } from '../../src/billing/record-outcomes.ts';
import { recordContext } from '../../src/billing/engine.ts';
import { connectDatabase } from '../../src/db/connect.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { inboundRoutes } from '../../src/inbound/listener.ts';
import { confirmBusinessNotices } from '../../src/inbound/confirm-business.ts';
import { MERCHANT, useHarness } from '../support/engine-harness.ts';

const h = useHarness('notices', { sandbox: { noticeRetryDelaysMs: [0, 50, 100, 200, 400] } });

/** A subscription with one attempt sent and not yet answered (the sync answer is ours to fake). */
async function attemptInFlight() {
  h.clock.set('2027-03-01T00:00:00Z');
  const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
  const [claimed] = await claimCharges(h.db.db, [sub.id], h.claimContext());
  return { sub, attempt: claimed!.attempt };
}

function result(attempt: { reference: string }, status: '1' | '0' | '-1', details: string, extra: Record<string, string> = {}) {
  return {
    order_number: attempt.reference,
    order_currency: 'USD',
    order_amount: '9.99',
    payment_id: `2611220${attempt.reference.slice(-3).replace(/\D/g, '0')}1`,
    payment_status: status,
    payment_details: details,
    ...extra,
  };
}

async function storedNotices(orderNumber: string) {
  return h.db.db.selectFrom('provider_notices').selectAll().where('reference', '=', orderNumber).orderBy('id').execute();
}

describe('the notice listener', () => {
  it('applies a verified notice, stores it raw with its verdict, and answers exactly receive-ok', async () => {
    const { sub, attempt } = await attemptInFlight();
    const xml = h.signedNotice(result(attempt, '1', '80000:Transaction Approved'));
    const reply = await h.postNotice(xml);
    expect(reply).toEqual({ status: 200, body: 'receive-ok' });
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded', gateway_code: '80000' });
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 1 });
    const [stored] = await storedNotices(attempt.reference);
    expect(stored).toMatchObject({ channel: 'notice', verified: true, result: 'applied', transaction_id: attempt.id, body: xml });
  });

  it('arriving before the synchronous answer is recorded, it wins; the late answer changes nothing', async () => {
    const { sub, attempt } = await attemptInFlight();
    await h.postNotice(h.signedNotice(result(attempt, '1', '80000:Transaction Approved')));
    const [late] = await h.db.db.transaction().execute((tx) =>
      recordOutcomes(tx, [{ transactionId: attempt.id, resolution: { kind: 'outcome', outcome: { kind: 'approved', paymentId: 'p' } }, actor: 'gateway:sync' }], recordContext(h.engine)),
    );
    expect(late).toMatchObject({ changed: false });
    expect((await h.events(sub.id)).filter((e) => e.type === 'payment_succeeded')).toHaveLength(1);
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 1 });
  });

  it('a duplicate changes nothing', async () => {
    const { sub, attempt } = await attemptInFlight();
    const xml = h.signedNotice(result(attempt, '1', '80000:Transaction Approved'));
    await h.postNotice(xml);
    expect(await h.postNotice(xml)).toEqual({ status: 200, body: 'receive-ok' });
    expect((await storedNotices(attempt.reference)).map((n) => n.result)).toEqual(['applied', 'no_change']);
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 1 });
  });

  it('out of order: a stale pending, or a late failure, never undoes a success', async () => {
    const { sub, attempt } = await attemptInFlight();
    await h.postNotice(h.signedNotice(result(attempt, '1', '80000:Transaction Approved')));
    await h.postNotice(h.signedNotice(result(attempt, '-1', '80093:3D Authorized Service not completed')));
    await h.postNotice(h.signedNotice(result(attempt, '0', '80022:Not sufficient funds')));
    expect((await storedNotices(attempt.reference)).map((n) => n.result)).toEqual(['applied', 'no_change', 'no_change']);
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'succeeded' });
    expect(await h.subscription(sub.id)).toMatchObject({ status: 'active', renewals_paid: 1 });
  });

  it.each([
    ['a forged signature', (a: { reference: string }) => h.signedNotice(result(a, '1', '80000:Transaction Approved'), 'forger-secret'), 'rejected', /signValue|signature/i],
    ['a wrong amount (correctly signed)', (a: { reference: string }) => h.signedNotice(result(a, '1', '80000:Transaction Approved', { order_amount: '0.01' })), 'rejected', /amount 0.01 USD does not match/],
    ['a wrong currency (correctly signed)', (a: { reference: string }) => h.signedNotice(result(a, '1', '80000:Transaction Approved', { order_currency: 'EUR' })), 'rejected', /does not match/],
    ['another account', (a: { reference: string }) => h.signedNotice(result(a, '1', '80000:Transaction Approved', { account: '123456' })), 'rejected', /account/],
    ['an unknown terminal', (a: { reference: string }) => h.signedNotice(result(a, '1', '80000:Transaction Approved', { terminal: '99999999' })), 'rejected', /terminal/],
  ])('%s is stored as rejected, answered receive-ok, and changes nothing', async (_name, build, verdict, problem) => {
    const { sub, attempt } = await attemptInFlight();
    expect(await h.postNotice(build(attempt))).toEqual({ status: 200, body: 'receive-ok' });
    const [stored] = await storedNotices(attempt.reference);
    expect(stored).toMatchObject({ result: verdict });
    expect(stored!.problem).toMatch(problem);
    expect((await h.attempts(sub.id))[0]).toMatchObject({ status: 'sending' });
    expect(await h.subscription(sub.id)).toMatchObject({ renewals_paid: 0 });
  });

  it('an unknown order is stored as unmatched', async () => {
    const xml = h.signedNotice(result({ reference: 'no-such-order-1' }, '1', '80000:Transaction Approved'));
    expect(await h.postNotice(xml)).toEqual({ status: 200, body: 'receive-ok' });
    expect((await storedNotices('no-such-order-1'))[0]).toMatchObject({ result: 'unmatched', verified: true });
  });

  it('hostile bodies (truncated, entity expansion, oversized) are stored as malformed and answered receive-ok', async () => {
    const before = await h.db.db.selectFrom('provider_notices').select((eb) => eb.fn.countAll<number>().as('n')).where('result', '=', 'malformed').executeTakeFirstOrThrow();
    const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><response><order_number>&lol2;</order_number></response>';
    for (const body of ['<response><account>995149</acc', bomb, `<response>${'x'.repeat(10 * 1024 * 1024)}</response>`]) {
      expect(await h.postNotice(body)).toEqual({ status: 200, body: 'receive-ok' });
    }
    const after = await h.db.db.selectFrom('provider_notices').select((eb) => eb.fn.countAll<number>().as('n')).where('result', '=', 'malformed').executeTakeFirstOrThrow();
    expect(Number(after.n) - Number(before.n)).toBe(3);
  });

  it('business notices (refunds, chargebacks) cannot be verified, so they are stored and never applied by themselves', async () => {
    const xml = '<response><notice_type>refund</notice_type><account>995149</account><terminal>99514901</terminal><order_number>any-1</order_number><push_status>1</push_status><signValue>ABC</signValue></response>';
    expect(await h.postNotice(xml)).toEqual({ status: 200, body: 'receive-ok' });
    // Stored unverified; all it can lead to is a signed query to the gateway.
    expect((await storedNotices('any-1'))[0]).toMatchObject({ verified: false, result: 'confirming', transaction_id: null });
    await confirmBusinessNotices(h.engine);
    expect((await storedNotices('any-1'))[0]).toMatchObject({ result: 'not_confirmed', problem: 'the notice names no refund', next_check_at: null });
  });

  it('only when the notice cannot be stored (database down) is the answer 500, so the gateway retries', async () => {
    const broken = connectDatabase('postgres://nobody:nothing@127.0.0.1:1/none', { poolSize: 1 });
    const listener = await startHttpServer(
      inboundRoutes({ ...h.engine, db: broken.db }, { merchant: { name: 'x', supportEmail: 'x@y.z' }, cardLinkTtlMs: 3_600_000, pokeJanitor: () => {} }),
      0,
      silentLogger,
      '127.0.0.1',
    );
    try {
      const response = await fetch(`http://127.0.0.1:${listener.port}/oceanpayment/notice`, { method: 'POST', body: h.signedNotice(result({ reference: 'x-1' }, '1', '80000:ok')) });
      expect(response.status).toBe(500);
      expect(await response.text()).not.toBe('receive-ok');
    } finally {
      await listener.close();
      await broken.close();
    }
  });

  it('the sandbox retries its notice until it reads receive-ok, and rebill applies it once', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'duplicate-notice-q', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [attempt] = await h.attempts(sub.id);
    await h.eventually(async () => (await storedNotices(attempt!.reference)).length >= 2);
    await h.sandbox.noticesIdle();
    const results = (await storedNotices(attempt!.reference)).map((n) => n.result);
    expect(results.filter((r) => r === 'applied').length).toBeLessThanOrEqual(1);
    expect((await h.events(sub.id)).filter((e) => e.type === 'payment_succeeded')).toHaveLength(1);
  });
});
