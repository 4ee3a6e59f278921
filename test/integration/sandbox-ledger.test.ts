import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import type { ChargeRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import { Ledger, startSandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import type { LedgerEntry, LedgerSummary, Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';

const MERCHANT = { account: '995149', terminal: '99514901', secureCode: '12345678' };

let sandbox: Sandbox;
let client: OceanpaymentClient;

beforeAll(async () => {
  sandbox = await startSandbox({ accounts: [MERCHANT], seed: 1 });
  client = new OceanpaymentClient({ gatewayUrl: sandbox.url, queryUrl: sandbox.url, credentials: MERCHANT, timeoutMs: 2_000 });
});

afterAll(async () => {
  await client?.close();
  await sandbox?.close();
});

function chargeRequest(orderNumber: string, quickpayId: string, orderNotes: string): ChargeRequest {
  return {
    orderNumber, amountMinor: 2500, currency: 'GBP', serviceMode: 'Q2', quickpayId, orderNotes,
    billing: { firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', country: 'GB' },
    product: { name: 'Quarterly plan' }, noticeUrl: '', backUrl: '',
  };
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`${sandbox.url}${path}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as T;
}

describe('ledger over HTTP', () => {
  it('lists every request in booking order, with paging and an order_number filter', async () => {
    await client.charge(chargeRequest('L-1', 'card-a', 'sub_a:2024-Q1'));
    await client.charge(chargeRequest('L-2', 'soft-decline-b', 'sub_b:2024-Q1'));
    await client.charge(chargeRequest('L-2', 'card-b', 'sub_b:2024-Q1'));
    await client.charge(chargeRequest('L-2', 'card-b', 'sub_b:2024-Q1'));
    await client.charge(chargeRequest('L-3', '3ds-c', 'sub_c:2024-Q1'));

    const all = await getJson<{ total: number; offset: number; limit: number; entries: LedgerEntry[] }>('/sandbox/ledger');
    expect(all.total).toBe(5);
    expect(all.entries.map((entry) => [entry.order_number, entry.status, entry.behaviour])).toEqual([
      ['L-1', 'approved', 'approve'],
      ['L-2', 'declined', 'soft-decline'],
      ['L-2', 'approved', 'approve'],
      ['L-2', 'rejected', 'approve'],
      ['L-3', 'action_required', '3ds'],
    ]);
    expect(all.entries[0]).toEqual({
      index: 0, order_number: 'L-1', payment_id: expect.stringMatching(/^\d{21}$/), account: '995149', terminal: '99514901',
      quickpay_id: 'card-a', service_mode: 'Q2', amount: '25.00', currency: 'GBP', order_notes: 'sub_a:2024-Q1',
      status: 'approved', payment_details: '80000:Transaction Approved', behaviour: 'approve', fault: 'none',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), updated_at: expect.any(String), notices: [],
      refunds: [], chargebacks: [],
    });
    expect(all.entries[3]).toMatchObject({ payment_id: '', payment_details: expect.stringMatching(/^20061:/) });
    expect(new Set(all.entries.map((entry) => entry.payment_id)).size).toBe(5);

    const page = await getJson<{ total: number; entries: LedgerEntry[] }>('/sandbox/ledger?offset=1&limit=2');
    expect(page.entries.map((entry) => entry.index)).toEqual([1, 2]);
    const filtered = await getJson<{ total: number; entries: LedgerEntry[] }>('/sandbox/ledger?order_number=L-2');
    expect(filtered.total).toBe(2);
    expect((await getJson<{ entries: LedgerEntry[] }>('/sandbox/ledger?offset=99')).entries).toEqual([]);

    const summary = await getJson<LedgerSummary>('/sandbox/ledger/summary');
    expect(summary).toMatchObject({
      requests: 5,
      by_status: { approved: 2, declined: 1, rejected: 1, action_required: 1, pending: 0 },
      double_charges: 0,
    });
  });
});

describe('ledger capacity', () => {
  it('books 200,000 charges and answers summaries, pages and lookups over all of them', () => {
    const ledger = new Ledger();
    const rows = 200_000;
    for (let index = 0; index < rows; index += 1) {
      ledger.record({
        account: '995149', terminal: '99514901', orderNumber: `RB-${index}-20240501`,
        quickpayId: `9ead3654-8f84-4d02-acab-${String(index % 20_000).padStart(12, '0')}`, serviceMode: 'M3',
        amount: index % 2 ? '9.99' : '19.99', currency: 'USD', orderNotes: `sub_${index}:2024-05`,
        status: index % 10 === 0 ? 'declined' : 'approved',
        details: index % 10 === 0 ? '80022:Not sufficient funds' : '80000:Transaction Approved',
        behaviour: 'approve', fault: 'none', at: 1_714_521_600_000 + index,
      });
      if (index % 2 === 0) ledger.recordDelivery(index, { at: 1, kind: 'result', paymentStatus: 1, attempt: 1, httpStatus: 200, acknowledged: true });
    }
    expect(ledger.summary()).toMatchObject({ requests: rows, by_status: { approved: 180_000, declined: 20_000 }, double_charges: 0 });
    expect(ledger.entries(rows - 2, 10).entries.map((entry) => entry.order_number)).toEqual([`RB-${rows - 2}-20240501`, `RB-${rows - 1}-20240501`]);
    expect(ledger.chargesForOrder('RB-4-20240501', '995149')).toEqual([4]);
    expect(ledger.chargeCountForToken('9ead3654-8f84-4d02-acab-000000000004')).toBe(10);
  });

  it('counts a double charge only for the same account, token and non-empty notes', () => {
    const ledger = new Ledger();
    const base = {
      account: '995149', terminal: '99514901', serviceMode: 'M2', amount: '9.99', currency: 'USD',
      details: '80000:Transaction Approved', behaviour: 'approve' as const, fault: 'none' as const, at: 0,
    };
    ledger.record({ ...base, orderNumber: 'A-1', quickpayId: 't1', orderNotes: 'sub_1:2024-01', status: 'approved' });
    ledger.record({ ...base, orderNumber: 'A-2', quickpayId: 't1', orderNotes: 'sub_1:2024-01', status: 'declined' });
    ledger.record({ ...base, orderNumber: 'A-3', quickpayId: 't2', orderNotes: 'sub_1:2024-01', status: 'approved' });
    ledger.record({ ...base, orderNumber: 'A-4', quickpayId: 't1', orderNotes: '', status: 'approved' });
    ledger.record({ ...base, orderNumber: 'A-5', quickpayId: 't1', orderNotes: '', status: 'approved' });
    ledger.record({ ...base, account: '777001', orderNumber: 'A-6', quickpayId: 't1', orderNotes: 'sub_1:2024-01', status: 'approved' });
    expect(ledger.summary().double_charges).toBe(0);
    const pending = ledger.record({ ...base, orderNumber: 'A-7', quickpayId: 't1', orderNotes: 'sub_1:2024-01', status: 'pending' });
    expect(ledger.summary().double_charges).toBe(0);
    ledger.settle(pending, 'approved', '80000:Transaction Approved', 1);
    expect(ledger.summary()).toMatchObject({
      double_charges: 1,
      double_charge_examples: [{ order_notes: 'sub_1:2024-01', order_numbers: ['A-1', 'A-7'] }],
      by_status: { approved: 6, pending: 0, declined: 1 },
    });
  });
});
