/**
 * Subscriptions collected in person, through Oceanpayment's face-to-face WeChat Pay / Alipay
 * (`/gateway/directservice/pay`) on the sandbox over real HTTP: a QR order paid by the customer's
 * wallet and settled by the notice, a scanned code declined, and an unpaid QR order voided after
 * the timeout so it can no longer be paid. The worker never charges these subscriptions itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleInPersonCollection, startInPersonCollection } from '../../src/billing/collect-in-person.ts';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { startHttpServer, type RunningServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { counterPageRoutes } from '../../src/payment-links/counter-page.ts';
import { createPaymentLink } from '../../src/payment-links/payment-link.repo.ts';
import { enrolMany, validateEnrolment } from '../../src/subscriptions/enrol.ts';
import { useHarness, PUBLIC_SHOP } from '../support/engine-harness.ts';

const h = useHarness('in_person', { notifications: {} });
const ACTOR = 'operator:counter';
let counter: RunningServer;
beforeAll(async () => {
  counter = await startHttpServer(counterPageRoutes({ db: h.db.db, clock: h.clock, merchant: PUBLIC_SHOP }), 0, silentLogger);
});
afterAll(() => counter?.close());

async function enrolInPerson(email: string): Promise<string> {
  h.clock.set('2027-03-01T00:00:00Z');
  const result = validateEnrolment(
    { email, firstName: 'Wei', lastName: 'Zhang', country: 'CN', interval: 'month', amount: '88.00', currency: 'USD', collection: 'in_person', firstPaidAt: '2027-01-31T09:00:00Z' },
    h.clock.now(),
  );
  if (!result.ok) throw new Error(result.problems.join('; '));
  await enrolMany(h.db.db, [result.row], { now: h.clock.now(), actor: 'test', provider: 'oceanpayment' });
  return result.row.id;
}

const wait = (timeoutMs: number) => ({ timeoutMs, queryEveryMs: 500, sleep: (ms: number) => sleep(ms) });
const invoice = (id: string) => h.db.db.selectFrom('invoices').selectAll().where('subscription_id', '=', id).executeTakeFirstOrThrow();
const mails = (id: string) => h.db.db.selectFrom('email_outbox').select('kind').where('subscription_id', '=', id).execute();

describe('a subscription collected in person', () => {
  it('is never charged by the worker; a QR order paid in the customer\'s wallet is settled by the notice', async () => {
    const id = await enrolInPerson('wei.qr@example.com');
    await h.chargeDue();
    expect(await h.attempts(id)).toEqual([]);

    const started = await startInPersonCollection(h.engine, id, { kind: 'qr', wallet: 'wechat' }, ACTOR);
    expect(started).toMatchObject({ provider: 'oceanpayment', status: 'pending', details: { collection: 'in_person' }, action_url: expect.stringContaining('/gateway/direct/redirect?pay_id=') });
    // No link is e-mailed for a counter payment.
    expect(await mails(id)).toEqual([]);

    const { token } = await createPaymentLink(h.db.db, started, h.clock.now(), 120_000, 120_000);
    const waiting = await fetch(`http://127.0.0.1:${counter.port}/counter/${token}`).then((r) => r.text());
    expect(waiting).toContain('Scan to pay USD 88.00');
    expect(waiting).toContain('<svg');

    // The customer's wallet opens the code and pays.
    const paid = await fetch(started.action_url!, { method: 'POST', body: new URLSearchParams({ result: 'authenticate' }) });
    expect(paid.status).toBe(200);
    const settled = await settleInPersonCollection(h.engine, started, ACTOR, wait(60_000));
    expect(settled).toMatchObject({ status: 'succeeded', provider_reference: expect.any(String) });
    expect(await h.subscription(id)).toMatchObject({ status: 'active', renewals_paid: 1 });
    expect(await invoice(id)).toMatchObject({ status: 'paid', amount_paid_minor: 8800 });
    const notices = await h.db.db.selectFrom('provider_notices').select('result').where('reference', '=', started.reference).execute();
    expect(notices.map((n) => n.result)).toContain('applied');
    expect(await fetch(`http://127.0.0.1:${counter.port}/counter/${token}`).then((r) => r.text())).toContain('Paid: USD 88.00');
  });

  it('charges a scanned code at once: declined leaves the period due, and the counter may try again at once', async () => {
    const id = await enrolInPerson('wei.scan@example.com');
    const declined = await startInPersonCollection(h.engine, id, { kind: 'scan', code: 'soft-decline-134567890' }, ACTOR);
    expect(declined).toMatchObject({ status: 'failed', provider_code: '80022', provider_message: '80022:Not sufficient funds' });
    expect(await h.subscription(id)).toMatchObject({ status: 'past_due' });
    expect(await invoice(id)).toMatchObject({ status: 'open', amount_paid_minor: 0 });
    // The customer is at the counter and hears it there: no e-mail about a failed payment.
    expect(await mails(id)).toEqual([]);

    const approved = await startInPersonCollection(h.engine, id, { kind: 'scan', code: '134567890123456789' }, ACTOR);
    expect(approved).toMatchObject({ status: 'succeeded', period: declined.period });
    expect(await h.subscription(id)).toMatchObject({ status: 'active' });
  });

  it('voids a QR order not paid in time: the gateway closes it, the period stays due, and the code can no longer be paid', async () => {
    const id = await enrolInPerson('wei.void@example.com');
    const started = await startInPersonCollection(h.engine, id, { kind: 'qr', wallet: 'alipay' }, ACTOR);
    expect(started.status).toBe('pending');
    const settled = await settleInPersonCollection(h.engine, started, ACTOR, wait(1_500));
    expect(settled).toMatchObject({ status: 'failed', provider_message: '80095:Order voided by the merchant' });
    const order = h.sandbox.ledger.entries(0, 1000, { orderNumber: started.reference }).entries;
    expect(order).toMatchObject([{ status: 'declined' }]);
    const late = await fetch(started.action_url!, { method: 'POST', body: new URLSearchParams({ result: 'authenticate' }) });
    expect(late.status).toBe(409);
    expect(await h.subscription(id)).toMatchObject({ status: 'past_due' });
    expect(await invoice(id)).toMatchObject({ status: 'open' });
  });

  it('ends at its period end when canceled so, by the worker, though the worker never charges it', async () => {
    const id = await enrolInPerson('wei.leaves@example.com');
    const paid = await startInPersonCollection(h.engine, id, { kind: 'scan', code: '134567890123456789' }, ACTOR);
    expect(paid.status).toBe('succeeded');
    await cancelSubscription(h.db.db, id, true, h.operator());
    h.clock.set('2027-03-31T10:00:00Z');
    await h.chargeDue();
    expect(await h.subscription(id)).toMatchObject({ status: 'canceled' });
    expect(await h.attempts(id)).toHaveLength(1);
  });

  it('is refused for a subscription collected otherwise, naming why', async () => {
    const card = await h.enrol({ email: 'card@example.com' });
    await expect(startInPersonCollection(h.engine, card.id, { kind: 'scan', code: '134567890123456789' }, ACTOR)).rejects.toThrow(/is collected by card token, not in person/);
  });
});
