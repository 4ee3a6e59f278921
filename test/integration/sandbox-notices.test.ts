import { afterEach, describe, expect, it } from 'vitest';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import type { ChargeRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import { parseNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import { startMerchantStub, startSandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import type { MerchantStub, Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';

const MERCHANT = { account: '995149', terminal: '99514901', secureCode: '12345678' };
const RETRY_DELAYS_MS = [0, 30, 30, 30, 30];

const running: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

async function setUp(noticeReply?: (attempt: number) => string): Promise<{ sandbox: Sandbox; merchant: MerchantStub; client: OceanpaymentClient }> {
  const sandbox = await startSandbox({ accounts: [MERCHANT], seed: 5, noticeRetryDelaysMs: RETRY_DELAYS_MS });
  const merchant = await startMerchantStub(noticeReply ? { noticeReply } : {});
  const client = new OceanpaymentClient({ gatewayUrl: sandbox.url, queryUrl: sandbox.url, credentials: MERCHANT, timeoutMs: 2_000 });
  running.push(sandbox, merchant, client);
  return { sandbox, merchant, client };
}

function chargeRequest(merchant: MerchantStub, orderNumber: string): ChargeRequest {
  return {
    orderNumber,
    amountMinor: 1200,
    currency: 'JPY',
    serviceMode: 'M1',
    quickpayId: 'card-notices',
    orderNotes: `sub_n:${orderNumber}`,
    billing: { firstName: 'Kei', lastName: 'Sato', email: 'kei@example.jp', country: 'JP' },
    product: { name: 'Plan' },
    noticeUrl: merchant.noticeUrl,
    backUrl: merchant.backUrl,
  };
}

describe('notice delivery', () => {
  it('posts signed XML with Content-Type application/xml', async () => {
    const { sandbox, merchant, client } = await setUp();
    await client.charge(chargeRequest(merchant, 'N-xml'));
    const [notice] = await merchant.waitFor('/notice', 1);
    expect(notice?.contentType).toMatch(/^application\/xml/);
    expect(notice?.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<response>\n<notice_type>transaction<\/notice_type>\n<push_dateTime>/);
    expect(parseNotice(notice?.body ?? '', MERCHANT)).toMatchObject({ kind: 'transaction', verified: true, fields: { order_amount: '1200', order_currency: 'JPY', quickpay_id: 'card-notices', card_number: '411111***1111' } });
    await sandbox.noticesIdle();
  });

  it('retries until the answer is exactly receive-ok, recording every attempt', async () => {
    const replies = ['OK', 'receive-ok\n', 'RECEIVE-OK', 'receive-ok'];
    const { sandbox, merchant, client } = await setUp((attempt) => replies[attempt - 1] ?? 'receive-ok');
    await client.charge(chargeRequest(merchant, 'N-retry'));
    await merchant.waitFor('/notice', 4);
    await sandbox.noticesIdle();
    expect(merchant.received.filter((item) => item.path === '/notice')).toHaveLength(4);
    const [entry] = sandbox.ledger.entries(0, 1, { orderNumber: 'N-retry' }).entries;
    expect(entry?.notices.map((item) => [item.attempt, item.http_status, item.acknowledged])).toEqual([
      [1, 200, false], [2, 200, false], [3, 200, false], [4, 200, true],
    ]);
    expect(sandbox.ledger.summary().notices).toEqual({ attempts: 4, acknowledged: 1 });
  });

  it('gives up after five attempts', async () => {
    const { sandbox, merchant, client } = await setUp(() => 'error');
    await client.charge(chargeRequest(merchant, 'N-gives-up'));
    await merchant.waitFor('/notice', 5);
    await sandbox.noticesIdle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(merchant.received.filter((item) => item.path === '/notice')).toHaveLength(5);
    const [entry] = sandbox.ledger.entries(0, 1, { orderNumber: 'N-gives-up' }).entries;
    expect(entry?.notices.map((item) => item.acknowledged)).toEqual([false, false, false, false, false]);
  });

  it('counts an unreachable noticeUrl as failed attempts with HTTP status 0', async () => {
    const { sandbox, merchant, client } = await setUp();
    const unreachable = `${merchant.url}/notice`;
    await merchant.close();
    await client.charge({ ...chargeRequest(merchant, 'N-down'), noticeUrl: unreachable });
    await sandbox.noticesIdle();
    const [entry] = sandbox.ledger.entries(0, 1, { orderNumber: 'N-down' }).entries;
    expect(entry?.notices.map((item) => item.http_status)).toEqual([0, 0, 0, 0, 0]);
  });

  it('sends no notice without a noticeUrl', async () => {
    const { sandbox, merchant, client } = await setUp();
    await client.charge({ ...chargeRequest(merchant, 'N-none'), noticeUrl: '' });
    await sandbox.noticesIdle();
    expect(merchant.received).toEqual([]);
    expect(sandbox.ledger.entries(0, 1, { orderNumber: 'N-none' }).entries[0]?.notices).toEqual([]);
  });

  it('stops retrying when the sandbox closes', async () => {
    const sandbox = await startSandbox({ accounts: [MERCHANT], noticeRetryDelaysMs: [0, 60_000] });
    const merchant = await startMerchantStub({ noticeReply: () => 'no' });
    const client = new OceanpaymentClient({ gatewayUrl: sandbox.url, queryUrl: sandbox.url, credentials: MERCHANT });
    running.push(merchant, client);
    await client.charge(chargeRequest(merchant, 'N-close'));
    await merchant.waitFor('/notice', 1);
    const started = Date.now();
    await sandbox.close();
    // Long before the next retry (a minute away) would have been due.
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
