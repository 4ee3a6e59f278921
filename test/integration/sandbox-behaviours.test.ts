import { SAMPLE_MERCHANT, useSandboxClient } from '../support/sandbox-client.ts';
import { describe, expect, it } from 'vitest';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import type { ChargeRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import { parseNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import type { TransactionNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import { DIRECT_PAY_REQUEST_FIELDS } from '../../src/payments/providers/oceanpayment/sign.ts';
import type { LedgerSummary } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';

const MERCHANT = SAMPLE_MERCHANT;
const setup = useSandboxClient({ seed: 7, noticeRetryDelaysMs: [0, 20, 20, 20, 20], pendingNoticeDelayMs: 100, timeoutHoldMs: 5_000 });

let sequence = 0;

function chargeRequest(quickpayId: string, overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  sequence += 1;
  return {
    orderNumber: `B-${sequence}-${Date.now()}`,
    amountMinor: 1999,
    currency: 'USD',
    serviceMode: 'M3',
    quickpayId,
    orderNotes: `sub_${sequence}:2024-05`,
    billing: { firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', country: 'US' },
    product: { name: 'Monthly plan' },
    noticeUrl: setup.merchant.noticeUrl,
    backUrl: setup.merchant.backUrl,
    ...overrides,
  };
}

/** Verified notices that arrived for one order, in arrival order. */
function noticesFor(orderNumber: string): TransactionNotice[] {
  return setup.merchant.received
    .filter((item) => item.path === '/notice')
    .map((item) => parseNotice(item.body, MERCHANT))
    .filter((notice): notice is TransactionNotice => notice.kind === 'transaction' && notice.fields.order_number === orderNumber);
}

async function waitForNotices(orderNumber: string, count: number, timeoutMs = 30_000): Promise<TransactionNotice[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = noticesFor(orderNumber);
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} notice(s) for ${orderNumber}, got ${noticesFor(orderNumber).length}`);
}

describe('sandbox behaviours chosen by the token', () => {
  it('approves an ordinary token (a UUID) and notifies the merchant once', async () => {
    const request = chargeRequest('9ead3654-8f84-4d02-acab-6ac9dd10531f');
    const outcome = await setup.client.charge(request);
    expect(outcome).toMatchObject({ kind: 'approved', code: '80000', quickpayId: request.quickpayId });
    const [notice, ...others] = await waitForNotices(request.orderNumber, 1);
    expect(notice).toMatchObject({ verified: true, responseType: '1', outcome: { kind: 'approved' }, fields: { notice_type: 'transaction', order_amount: '19.99', order_notes: request.orderNotes } });
    expect(notice?.fields.push_dateTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await setup.sandbox.noticesIdle();
    expect(others).toEqual([]);
    const [entry] = setup.sandbox.ledger.entries(0, 1, { orderNumber: request.orderNumber }).entries;
    expect(entry).toMatchObject({ status: 'approved', service_mode: 'M3', amount: '19.99', currency: 'USD', quickpay_id: request.quickpayId, behaviour: 'approve' });
    expect(entry?.notices).toEqual([expect.objectContaining({ kind: 'result', attempt: 1, http_status: 200, acknowledged: true, payment_status: 1 })]);
  });

  it('soft-declines with 80022 and hard-declines with 80040', async () => {
    const soft = chargeRequest('soft-decline-1');
    expect(await setup.client.charge(soft)).toMatchObject({ kind: 'declined', declineClass: 'soft', code: '80022' });
    const hard = chargeRequest('hard-decline-1');
    expect(await setup.client.charge(hard)).toMatchObject({ kind: 'declined', declineClass: 'hard', code: '80040' });
    expect((await waitForNotices(soft.orderNumber, 1))[0]).toMatchObject({ verified: true, outcome: { kind: 'declined', code: '80022' } });
    expect((await waitForNotices(hard.orderNumber, 1))[0]).toMatchObject({ verified: true, outcome: { kind: 'declined', code: '80040' } });
  });

  it('declines the first charge of a decline-once token and approves the retry', async () => {
    const token = `decline-once-${Date.now()}`;
    expect(await setup.client.charge(chargeRequest(token))).toMatchObject({ kind: 'declined', declineClass: 'soft' });
    expect(await setup.client.charge(chargeRequest(token))).toMatchObject({ kind: 'approved' });
    expect(await setup.client.charge(chargeRequest(token))).toMatchObject({ kind: 'approved' });
  });

  it('lets a declined order number be retried, but answers 20061 once it is paid', async () => {
    const declined = chargeRequest('soft-decline-2');
    expect(await setup.client.charge(declined)).toMatchObject({ kind: 'declined' });
    const retry = { ...declined, quickpayId: 'ok-token' };
    expect(await setup.client.charge(retry)).toMatchObject({ kind: 'approved' });
    expect(await setup.client.charge(retry)).toEqual({
      kind: 'declined', declineClass: 'duplicate', code: '20061', details: expect.stringMatching(/^20061:/),
    });
    const query = await setup.client.query(declined.orderNumber);
    expect(query.kind).toBe('found');
    if (query.kind !== 'found') return;
    // Newest first; the rejected 20061 request is not a payment and is not listed.
    expect(query.entries.map((entry) => entry.outcome.kind)).toEqual(['approved', 'declined']);
  });

  it('answers 20013 when the signature is wrong, and the client reports a request error', async () => {
    const wronglySigned = new OceanpaymentClient({
      gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: MERCHANT,
      chargeSignatureFields: DIRECT_PAY_REQUEST_FIELDS.filter((name) => name !== 'billing_email'),
    });
    try {
      const request = chargeRequest('any-token');
      expect(await wronglySigned.charge(request)).toEqual({
        kind: 'declined', declineClass: 'request', code: '20013', details: '20013:Incorrect sign value',
      });
      expect(await setup.client.query(request.orderNumber)).toEqual({ kind: 'not_found' });
      expect(setup.sandbox.ledger.entries(0, 10, { orderNumber: request.orderNumber }).total).toBe(0);
    } finally {
      await wronglySigned.close();
    }
  });

  it('timeout: no answer and no notice, but the approved charge is found by a later query', async () => {
    const impatient = new OceanpaymentClient({ gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: MERCHANT, timeoutMs: 300 });
    try {
      const request = chargeRequest('timeout-1');
      expect(await impatient.charge(request)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/within 300 ms/) });
      const query = await setup.client.query(request.orderNumber);
      expect(query).toMatchObject({ kind: 'found', entries: [{ orderNumber: request.orderNumber, amount: '19.99', currency: 'USD', outcome: { kind: 'approved' } }] });
      await setup.sandbox.noticesIdle();
      expect(noticesFor(request.orderNumber)).toEqual([]);
    } finally {
      await impatient.close();
    }
  });

  it('pending: status -1 at once, then an approval notice, and the query agrees', async () => {
    const request = chargeRequest('pending-1');
    expect(await setup.client.charge(request)).toMatchObject({ kind: 'pending' });
    expect(await setup.client.query(request.orderNumber)).toMatchObject({ kind: 'found', entries: [{ outcome: { kind: 'pending' } }] });
    const [notice] = await waitForNotices(request.orderNumber, 1);
    expect(notice).toMatchObject({ verified: true, outcome: { kind: 'approved' } });
    expect(await setup.client.query(request.orderNumber)).toMatchObject({ kind: 'found', entries: [{ outcome: { kind: 'approved' } }] });
  });

  it('duplicate-notice: the same verified approval arrives twice', async () => {
    const request = chargeRequest('duplicate-notice-1');
    expect(await setup.client.charge(request)).toMatchObject({ kind: 'approved' });
    const notices = await waitForNotices(request.orderNumber, 2);
    expect(notices.map((notice) => [notice.verified, notice.outcome.kind])).toEqual([[true, 'approved'], [true, 'approved']]);
    expect(notices[0]?.fields.payment_id).toBe(notices[1]?.fields.payment_id);
  });

  it('out-of-order: the approval, then a stale (but genuine) pending notice for the same payment', async () => {
    const request = chargeRequest('out-of-order-1');
    const outcome = await setup.client.charge(request);
    expect(outcome).toMatchObject({ kind: 'approved' });
    const notices = await waitForNotices(request.orderNumber, 2);
    expect(notices.map((notice) => [notice.verified, notice.outcome.kind])).toEqual([[true, 'approved'], [true, 'pending']]);
    expect(notices[1]?.fields.payment_id).toBe(outcome.kind === 'approved' ? outcome.paymentId : '');
    // The merchant has both; the sandbox books a delivery once it has read the merchant's answer.
    await setup.sandbox.noticesIdle();
    const kinds = setup.sandbox.ledger.entries(0, 1, { orderNumber: request.orderNumber }).entries[0]?.notices.map((item) => item.kind);
    expect(kinds).toEqual(['result', 'stale']);
  });

  it('counts a double charge when the same order_notes is approved twice on one token', async () => {
    const before = setup.sandbox.ledger.summary().double_charges;
    const first = chargeRequest('double-token', { orderNotes: 'sub_77:2024-06' });
    const second = chargeRequest('double-token', { orderNotes: 'sub_77:2024-06' });
    const otherCard = chargeRequest('another-token', { orderNotes: 'sub_77:2024-06' });
    expect(await setup.client.charge(first)).toMatchObject({ kind: 'approved' });
    expect(await setup.client.charge(otherCard)).toMatchObject({ kind: 'approved' });
    expect(setup.sandbox.ledger.summary().double_charges).toBe(before);
    expect(await setup.client.charge(second)).toMatchObject({ kind: 'approved' });
    const summary = (await (await fetch(`${setup.sandbox.url}/sandbox/ledger/summary`)).json()) as LedgerSummary;
    expect(summary.double_charges).toBe(before + 1);
    expect(summary.double_charge_examples).toContainEqual({ order_notes: 'sub_77:2024-06', order_numbers: [first.orderNumber, second.orderNumber] });
  });
});
