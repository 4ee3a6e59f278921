import { describe, expect, it } from 'vitest';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import type { ChargeRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import { parseNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import type { BusinessNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import type { LedgerEntry, LedgerSummary } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { SAMPLE_MERCHANT, useSandboxClient } from '../support/sandbox-client.ts';

/** A second merchant with a sandbox of its own ledger rows, so the list tests see only their own orders. */
const OTHER = { account: '995150', terminal: '99515001', secureCode: 'other-secure-code' };

const setup = useSandboxClient({
  accounts: [SAMPLE_MERCHANT, OTHER],
  seed: 11,
  noticeRetryDelaysMs: [0, 20, 20, 20, 20],
  refundDelayMs: 100,
  timeoutHoldMs: 1_000,
});

const DEADLINE_MS = 30_000;
let sequence = 0;

function chargeRequest(quickpayId: string, amountMinor: number): ChargeRequest {
  sequence += 1;
  return {
    orderNumber: `RF-${sequence}-${Date.now()}`,
    amountMinor,
    currency: 'USD',
    serviceMode: 'M2',
    quickpayId,
    orderNotes: `sub_${sequence}:2024-05`,
    billing: { firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', country: 'US' },
    product: { name: 'Monthly plan' },
    noticeUrl: setup.merchant.noticeUrl,
    backUrl: setup.merchant.backUrl,
  };
}

/** An approved payment of the sample merchant. */
async function pay(quickpayId: string, amountMinor = 2000): Promise<{ orderNumber: string; paymentId: string }> {
  const request = chargeRequest(quickpayId, amountMinor);
  const outcome = await setup.client.charge(request);
  if (outcome.kind !== 'approved') throw new Error(`expected an approved charge, got ${JSON.stringify(outcome)}`);
  return { orderNumber: request.orderNumber, paymentId: outcome.paymentId };
}

function refundNumber(): string {
  sequence += 1;
  return `R${sequence}-${Date.now()}`;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function businessNotices(): BusinessNotice[] {
  return setup.merchant.received
    .filter((item) => item.path === '/notice')
    .map((item) => parseNotice(item.body, SAMPLE_MERCHANT))
    .filter((notice): notice is BusinessNotice => notice.kind === 'business');
}

function noticeFor(pushId: string): Promise<BusinessNotice> {
  return waitFor(`the business notice ${pushId}`, () => businessNotices().find((notice) => notice.claims.pushId === pushId));
}

async function postJson(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${setup.sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function ledgerEntry(orderNumber: string): LedgerEntry {
  const [entry] = setup.sandbox.ledger.entries(0, 10, { orderNumber }).entries;
  if (!entry) throw new Error(`no ledger entry for ${orderNumber}`);
  return entry;
}

async function summary(): Promise<LedgerSummary> {
  return (await (await fetch(`${setup.sandbox.url}/sandbox/ledger/summary`)).json()) as LedgerSummary;
}

/** Refunds booked (whatever their status, which earlier tests' refunds may still be changing) and refused, from the summary. */
async function refundCounts(): Promise<{ booked: number; refused: number }> {
  const { refunds } = await summary();
  return { booked: refunds.pending + refunds.refunded + refunds.failed, refused: refunds.refused };
}

describe('refunds', () => {
  it('refunds a whole payment: accepted, then refunded by query and by an (unverifiable) refund notice', async () => {
    const { orderNumber, paymentId } = await pay('9ead3654-8f84-4d02-acab-6ac9dd10531f', 2000);
    const number = refundNumber();
    const outcome = await setup.client.applyRefund({ paymentId, refundNumber: number, refundType: 'full', amount: '20.00', description: 'Customer asked' });
    if (outcome.kind !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(outcome)}`);
    const { refundId } = outcome;

    const refunded = await waitFor('the refund to be refunded', async () => {
      const result = await setup.client.queryRefund({ refundId });
      return result.kind === 'refunded' ? result : undefined;
    });
    expect(refunded).toEqual({ kind: 'refunded', refundId, refundNumber: number });
    expect(await setup.client.queryRefund({ refundNumber: number })).toEqual({ kind: 'refunded', refundId, refundNumber: number });

    const notice = await noticeFor(refundId);
    expect(notice.verified).toBe(false);
    expect(notice.claims).toMatchObject({
      noticeType: 'refund', category: 'refund', pushStatus: 'succeeded', refundNumber: number,
      paymentId, orderNumber, orderAmount: '20.00', orderCurrency: 'USD', problems: [],
    });

    const query = await setup.client.query(orderNumber);
    expect(query).toMatchObject({ kind: 'found', entries: [{ raw: { refund_status: '1', chargeBack_status: '0' } }] });
    expect(ledgerEntry(orderNumber).refunds).toEqual([
      expect.objectContaining({ refund_id: refundId, refund_number: number, amount: '20.00', type: 'full', status: 'refunded', description: 'Customer asked' }),
    ]);
    await setup.sandbox.noticesIdle();
    expect(ledgerEntry(orderNumber).notices).toContainEqual(expect.objectContaining({ kind: 'refund', payment_status: 1, acknowledged: true }));
  });

  it('takes partial refunds until nothing is left, then refuses an over-refund', async () => {
    const { orderNumber, paymentId } = await pay('card-partial', 1000);
    const ids: string[] = [];
    for (const amount of ['3.00', '3.00', '4.00']) {
      const outcome = await setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'partial', amount, description: 'Goodwill' });
      if (outcome.kind !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(outcome)}`);
      ids.push(outcome.refundId);
    }
    const over = await setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'partial', amount: '0.01', description: 'One cent more' });
    expect(over).toEqual({ kind: 'refused', code: 'S05', message: expect.stringContaining('0.00 USD left unrefunded') });
    const full = await setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'full', amount: '10.00', description: 'All of it' });
    expect(full).toMatchObject({ kind: 'refused', code: 'S05' });

    for (const id of ids) expect((await noticeFor(id)).claims).toMatchObject({ noticeType: 'partialRefund', pushStatus: 'succeeded', orderNumber });
    expect(ledgerEntry(orderNumber).refunds.map((refund) => refund.amount)).toEqual(['3.00', '3.00', '4.00']);
  });

  it('never lets refunds sent at once take more than the payment', async () => {
    const { orderNumber, paymentId } = await pay('card-concurrent', 1000);
    // A slow answer keeps every request in flight while the others arrive.
    setup.sandbox.setFaults({ latencyMs: 200 });
    const outcomes = await Promise.all(Array.from({ length: 5 }, () =>
      setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'partial', amount: '3.00', description: 'At once' })))
      .finally(() => setup.sandbox.setFaults({ latencyMs: 0 }));
    expect(outcomes.filter((outcome) => outcome.kind === 'accepted')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome.kind === 'refused' && outcome.code === 'S05')).toHaveLength(2);
    expect(ledgerEntry(orderNumber).refunds).toHaveLength(3);
  });

  it('keeps a refund-pending refund pending until it is settled; a failed refund leaves the money refundable', async () => {
    const { orderNumber, paymentId } = await pay('refund-pending-7', 1500);
    const first = await setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'full', amount: '15.00', description: 'Cancelled' });
    if (first.kind !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(first)}`);
    expect(await setup.client.queryRefund({ refundId: first.refundId })).toMatchObject({ kind: 'pending', code: '02' });
    // A pending refund counts against what is left.
    expect(await setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'partial', amount: '0.01', description: 'More' }))
      .toMatchObject({ kind: 'refused', code: 'S05' });

    expect(await postJson(`/sandbox/refunds/${first.refundId}`, { status: 'failed' })).toMatchObject({ status: 200, json: { status: 'failed' } });
    expect(await setup.client.queryRefund({ refundId: first.refundId })).toMatchObject({ kind: 'failed', refundId: first.refundId });
    expect((await noticeFor(first.refundId)).claims).toMatchObject({ noticeType: 'refund', pushStatus: 'failed' });

    const second = await setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'full', amount: '15.00', description: 'Cancelled, again' });
    if (second.kind !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(second)}`);
    expect(await postJson(`/sandbox/refunds/${second.refundId}`, { status: 'refunded' })).toMatchObject({ status: 200, json: { refund_id: second.refundId, status: 'refunded' } });
    expect(await setup.client.queryRefund({ refundId: second.refundId })).toMatchObject({ kind: 'refunded' });
    expect((await noticeFor(second.refundId)).claims).toMatchObject({ pushStatus: 'succeeded' });

    expect(await postJson(`/sandbox/refunds/${second.refundId}`, { status: 'failed' })).toMatchObject({ status: 409, json: { error: expect.stringContaining('already refunded') } });
    expect((await postJson('/sandbox/refunds/123', { status: 'refunded' })).status).toBe(404);
    expect((await postJson(`/sandbox/refunds/${second.refundId}`, { status: 'done' })).status).toBe(400);
    expect(ledgerEntry(orderNumber).refunds.map((refund) => refund.status)).toEqual(['failed', 'refunded']);
  });

  it('refuses a refund-refused payment\'s refund for insufficient balance, and books nothing', async () => {
    const before = await refundCounts();
    const { orderNumber, paymentId } = await pay('refund-refused-3', 900);
    const number = refundNumber();
    const outcome = await setup.client.applyRefund({ paymentId, refundNumber: number, refundType: 'full', amount: '9.00', description: 'Refund' });
    expect(outcome).toEqual({ kind: 'refused', code: 'S06', message: expect.stringMatching(/^Insufficient balance/) });
    expect(await setup.client.queryRefund({ refundNumber: number })).toEqual({ kind: 'not_found' });
    expect(ledgerEntry(orderNumber).refunds).toEqual([]);
    expect(await refundCounts()).toEqual({ booked: before.booked, refused: before.refused + 1 });
  });

  it('refuses a refund number used before, and a payment that is not an approved one of this account', async () => {
    const { paymentId } = await pay('card-duplicate', 500);
    const number = refundNumber();
    expect(await setup.client.applyRefund({ paymentId, refundNumber: number, refundType: 'partial', amount: '1.00', description: 'First' })).toMatchObject({ kind: 'accepted' });
    expect(await setup.client.applyRefund({ paymentId, refundNumber: number, refundType: 'partial', amount: '1.00', description: 'Again' }))
      .toMatchObject({ kind: 'refused', code: 'S04' });

    const declined = await setup.client.charge(chargeRequest('soft-decline-1', 500));
    expect(declined).toMatchObject({ kind: 'declined', paymentId: expect.any(String) });
    const declinedId = declined.kind === 'declined' ? declined.paymentId ?? '' : '';
    expect(await setup.client.applyRefund({ paymentId: declinedId, refundNumber: refundNumber(), refundType: 'full', amount: '5.00', description: 'x' }))
      .toMatchObject({ kind: 'refused', code: 'S02' });

    const other = new OceanpaymentClient({ gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: OTHER, timeoutMs: 20_000 });
    try {
      expect(await other.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'partial', amount: '1.00', description: 'Not mine' }))
        .toMatchObject({ kind: 'refused', code: 'S02' });
    } finally {
      await other.close();
    }
  });
});

describe('chargebacks', () => {
  it('books a chargeback: a chargeBack notice, chargeBack_status in the order query, a row in the business order list', async () => {
    const start = new Date(Date.now() - 2_000);
    const { orderNumber, paymentId } = await pay('card-disputed', 3000);
    const booked = await postJson('/sandbox/chargebacks', { order_number: orderNumber });
    expect(booked).toMatchObject({ status: 201, json: { order_number: orderNumber, payment_id: paymentId, amount: '30.00', currency: 'USD' } });
    const chargebackId = String(booked.json.chargeback_id);

    const notice = await noticeFor(chargebackId);
    expect(notice).toMatchObject({ kind: 'business', verified: false, noticeType: 'chargeBack' });
    expect(notice.claims).toMatchObject({ category: 'chargeback', pushStatus: 'succeeded', paymentId, orderNumber, problems: [] });
    expect(notice.claims.exceptionTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    expect(await setup.client.query(orderNumber)).toMatchObject({ kind: 'found', entries: [{ raw: { chargeBack_status: '1' } }] });
    const page = await setup.client.businessOrders({ beginDate: start, endDate: new Date(Date.now() + 60_000), page: 1, pageSize: 100 });
    if (page.kind !== 'page') throw new Error(`expected a page, got ${JSON.stringify(page)}`);
    expect(page.rows.filter((row) => row.paymentId === paymentId)).toEqual([
      expect.objectContaining({ type: 'chargeback', orderNumber, orderAmount: '30.00', amount: '30.00', status: '1', exceptionAt: expect.any(Date) }),
    ]);

    expect(await setup.client.applyRefund({ paymentId, refundNumber: refundNumber(), refundType: 'full', amount: '30.00', description: 'Too late' }))
      .toMatchObject({ kind: 'refused', code: 'S03' });
    expect((await postJson('/sandbox/chargebacks', { order_number: orderNumber })).status).toBe(409);
    expect((await postJson('/sandbox/chargebacks', { order_number: 'no-such-order' })).status).toBe(404);
    expect(ledgerEntry(orderNumber).chargebacks).toEqual([expect.objectContaining({ chargeback_id: chargebackId, amount: '30.00' })]);
    expect((await summary()).chargebacks).toBeGreaterThanOrEqual(1);
  });
});

describe('order lists', () => {
  /** A gateway day (UTC+8): 2024-03-01 00:00:00 to 23:59:59. */
  const DAY = { beginDate: new Date('2024-02-29T16:00:00Z'), endDate: new Date('2024-03-01T15:59:59Z') };

  it('pages the successful payments of a gateway day, including ones the merchant never sent', async () => {
    const other = new OceanpaymentClient({ gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: OTHER, timeoutMs: 20_000 });
    try {
      const booked: string[] = [];
      for (let i = 0; i < 23; i += 1) {
        const at = new Date(Date.UTC(2024, 1, 29, 16, 0, 0) + i * 3_600_000).toISOString();
        const response = await postJson('/sandbox/orders', { account: OTHER.account, terminal: OTHER.terminal, order_number: `OOB-${i}`, amount: `${i + 1}.50`, currency: 'EUR', at });
        expect(response.status).toBe(201);
        booked.push(`OOB-${i}`);
      }
      expect((await postJson('/sandbox/orders', { account: OTHER.account, terminal: OTHER.terminal, order_number: 'OOB-next-day', amount: '1.00', currency: 'EUR', at: '2024-03-01T16:00:00Z' })).status).toBe(201);
      expect((await postJson('/sandbox/orders', { account: OTHER.account, terminal: OTHER.terminal, order_number: 'OOB-0', amount: '1.00', currency: 'EUR' })).status).toBe(409);

      const rows = [];
      for (let page = 1; page <= 3; page += 1) {
        const answer = await other.successOrders({ ...DAY, page });
        if (answer.kind !== 'page') throw new Error(`expected a page, got ${JSON.stringify(answer)}`);
        expect(answer).toMatchObject({ page, totalPages: 3, count: 23 });
        expect(answer.rows).toHaveLength(page < 3 ? 10 : 3);
        rows.push(...answer.rows);
      }
      expect(rows.map((row) => row.orderNumber)).toEqual(booked);
      expect(rows[0]).toMatchObject({ paymentDateTime: '2024-03-01 00:00:00', paidAt: new Date('2024-02-29T16:00:00Z'), amount: '1.50', currency: 'EUR' });
      expect(rows[22]).toMatchObject({ paymentDateTime: '2024-03-01 22:00:00', amount: '23.50' });
      expect(await other.successOrders({ ...DAY, page: 4 })).toMatchObject({ kind: 'page', page: 4, totalPages: 3, rows: [] });
      expect(await other.successOrders({ ...DAY, page: 1, pageSize: 50 })).toMatchObject({ kind: 'page', totalPages: 1, rows: expect.any(Array) });

      // Never sent by the merchant: no notice went anywhere, and the ledger says so.
      expect(setup.sandbox.ledger.entries(0, 1, { orderNumber: 'OOB-5' }).entries[0]).toMatchObject({ fault: 'out_of_band', status: 'approved', notices: [] });
      expect(await other.query('OOB-5')).toMatchObject({ kind: 'found', entries: [{ outcome: { kind: 'approved' } }] });
    } finally {
      await other.close();
    }
  });

  it('lists a charge whose answer and notice were both lost (the timeout behaviour)', async () => {
    const start = new Date(Date.now() - 2_000);
    const request = chargeRequest('timeout-lost', 700);
    expect(await setup.client.charge(request)).toMatchObject({ kind: 'unknown' });
    const found = await waitFor('the lost charge in the list', async () => {
      const page = await setup.client.successOrders({ beginDate: start, endDate: new Date(Date.now() + 60_000), page: 1, pageSize: 100 });
      if (page.kind !== 'page') throw new Error(`expected a page, got ${JSON.stringify(page)}`);
      return page.rows.find((row) => row.orderNumber === request.orderNumber);
    });
    expect(found).toMatchObject({ amount: '7.00', currency: 'USD', paidAt: expect.any(Date) });
    expect(setup.merchant.received.some((item) => item.body.includes(request.orderNumber))).toBe(false);
  });

  it('pages the refunds and chargebacks of a window', async () => {
    const other = new OceanpaymentClient({ gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: OTHER, timeoutMs: 20_000 });
    try {
      const start = new Date(Date.now() - 2_000);
      const booked = await postJson('/sandbox/orders', { account: OTHER.account, terminal: OTHER.terminal, order_number: 'BIZ-1', amount: '100.00', currency: 'USD' });
      const paymentId = String(booked.json.payment_id);
      for (let i = 0; i < 12; i += 1) {
        expect(await other.applyRefund({ paymentId, refundNumber: `BIZ-1-R${i}`, refundType: 'partial', amount: '1.00', description: `Refund ${i}` }))
          .toMatchObject({ kind: 'accepted' });
      }
      expect((await postJson('/sandbox/chargebacks', { order_number: 'BIZ-1', account: OTHER.account, amount: '88.00' })).status).toBe(201);
      const window = { beginDate: start, endDate: new Date(Date.now() + 60_000) };

      const first = await other.businessOrders({ ...window, page: 1 });
      const second = await other.businessOrders({ ...window, page: 2 });
      if (first.kind !== 'page' || second.kind !== 'page') throw new Error(`expected pages, got ${JSON.stringify([first, second])}`);
      expect(first).toMatchObject({ totalPages: 2, count: 13 });
      expect(first.rows).toHaveLength(10);
      expect(second.rows).toHaveLength(3);
      const rows = [...first.rows, ...second.rows];
      expect(rows.filter((row) => row.type === 'refund').map((row) => row.details)).toEqual(Array.from({ length: 12 }, (_, i) => `Refund ${i}`));
      expect(rows.at(-1)).toMatchObject({ type: 'chargeback', amount: '88.00', status: '1', paymentId, orderNumber: 'BIZ-1', orderAmount: '100.00' });
      expect(new Set(rows.map((row) => row.paymentId))).toEqual(new Set([paymentId]));
      // By the payment's own time (2 s before the window, at most a few seconds), the window still holds them all.
      expect(await other.businessOrders({ ...window, page: 1, pageSize: 50, dateType: 'transaction' })).toMatchObject({ kind: 'page', count: 13 });
    } finally {
      await other.close();
    }
  });
});

describe('hostile requests', () => {
  it('refuses a badly signed request or an unknown terminal and books nothing', async () => {
    const { orderNumber, paymentId } = await pay('card-forged', 1200);
    const forger = new OceanpaymentClient({
      gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: { ...SAMPLE_MERCHANT, secureCode: 'guessed' }, timeoutMs: 20_000,
    });
    const stranger = new OceanpaymentClient({
      gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: { account: '999999', terminal: '99999901', secureCode: 'x' }, timeoutMs: 20_000,
    });
    try {
      const before = await refundCounts();
      const refund = { paymentId, refundNumber: refundNumber(), refundType: 'full' as const, amount: '12.00', description: 'Forged' };
      expect(await forger.applyRefund(refund)).toEqual({ kind: 'refused', code: '20013', message: 'Incorrect sign value' });
      expect(await stranger.applyRefund(refund)).toMatchObject({ kind: 'refused', code: '20016' });
      expect(ledgerEntry(orderNumber).refunds).toEqual([]);
      expect(await refundCounts()).toEqual({ booked: before.booked, refused: before.refused + 2 });

      expect(await forger.queryRefund({ refundNumber: refund.refundNumber })).toMatchObject({ kind: 'error', code: '05' });
      const window = { beginDate: new Date(Date.now() - 60_000), endDate: new Date(), page: 1 };
      expect(await forger.successOrders(window)).toMatchObject({ kind: 'error', code: '20013' });
      expect(await forger.businessOrders(window)).toMatchObject({ kind: 'error', code: '20013' });
      expect(await stranger.successOrders(window)).toMatchObject({ kind: 'error', code: '20016' });
    } finally {
      await forger.close();
      await stranger.close();
    }
  });
});
