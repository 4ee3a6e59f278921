import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import { formatGatewayDateTime, parseGatewayDateTime } from '../../src/payments/providers/oceanpayment/gateway-time.ts';
import { buildOrderListForm } from '../../src/payments/providers/oceanpayment/order-lists.ts';
import type { MerchantCredentials } from '../../src/payments/providers/oceanpayment/sign.ts';

const QUERY = 'https://query.test';
const MERCHANT: MerchantCredentials = { account: '995149', terminal: '99514901', secureCode: '12345678', extraTerminals: { '99514902': 'other' } };
const DOC_MERCHANT = { account: '995378', terminal: '99537801', secureCode: '12345678' };
/** The documentation's window, 2023-12-25 15:29:42 to 2023-12-26 15:29:45 at UTC+8. */
const DOC_WINDOW = { beginDate: new Date('2023-12-25T07:29:42Z'), endDate: new Date('2023-12-26T07:29:45Z') };

/** The documentation's QueryOrdersList example answer. */
const SUCCESS_EXAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<response>
<account>995149</account>
<terminal>99514901</terminal>
<signValue>EB7DBDF91F14C9453B73DD69029C830CA99BDAB7AF6447BFFB49837F0024F202</signValue>
<results>00</results>
<details>Success</details>
<count>2</count>
<totalpages>1</totalpages>
<pages>1</pages>
<orderInfo>
<account>995149</account>
<terminal>99514901</terminal>
<payment_id>240527141641780010530</payment_id>
<order_number>test20240527141619</order_number>
<order_currency>HKD</order_currency>
<order_amount>0.10</order_amount>
<methods>Credit Card</methods>
<payment_dateTime>2024-05-27 14:16:41</payment_dateTime>
</orderInfo>
<orderInfo>
<account>995149</account>
<terminal>99514901</terminal>
<payment_id>240527091159911010575</payment_id>
<order_number>test20240527091152</order_number>
<order_currency>HKD</order_currency>
<order_amount>0.10</order_amount>
<methods>Credit Card</methods>
<payment_dateTime>2024-05-27 09:12:00</payment_dateTime>
</orderInfo>
</response>`;

const BUSINESS_ROW = `<orderInfo>
<account>995149</account>
<terminal>99514901</terminal>
<type>refund</type>
<payment_id>240527141641780010530</payment_id>
<order_number>test20240527141619</order_number>
<order_currency>HKD</order_currency>
<order_amount>0.10</order_amount>
<methods>Credit Card</methods>
<payment_dateTime>2025-05-27 14:16:41</payment_dateTime>
<payment_debitTime>2025-05-27 14:27:25</payment_debitTime>
<payment_cpdTime/>
<amount>0.10</amount>
<status>1</status>
<details>test</details>
</orderInfo>`;

function businessAnswer(rows: string, head: Partial<Record<string, string>> = {}): string {
  const fields = { account: '995149', terminal: '99514901', signValue: 'AB', results: '00', details: 'Success', count: '1', totalpages: '1', pages: '1', ...head };
  return `<response>${Object.entries(fields).map(([name, value]) => `<${name}>${value}</${name}>`).join('')}${rows}</response>`;
}

function replaceLast(text: string, search: string, replacement: string): string {
  const at = text.lastIndexOf(search);
  return text.slice(0, at) + replacement + text.slice(at + search.length);
}

let agent: MockAgent;
let client: OceanpaymentClient;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new OceanpaymentClient({ gatewayUrl: 'https://gateway.test', queryUrl: QUERY, credentials: MERCHANT, dispatcher: agent, timeoutMs: 200 });
});

afterEach(async () => {
  await client.close();
  await agent.close();
});

function intercept(path: string, body: string, capture?: (form: Record<string, string>) => void): void {
  agent.get(QUERY).intercept({ path, method: 'POST' }).reply(200, (options) => {
    capture?.(Object.fromEntries(new URLSearchParams(String(options.body))));
    return body;
  });
}

describe('request signatures against the published vectors (§1.7)', () => {
  it('writes the window in the gateway zone and signs QueryOrdersList as documented', () => {
    const form = Object.fromEntries(buildOrderListForm('success', { ...DOC_WINDOW, page: 1 }, DOC_MERCHANT, 480));
    expect(form).toEqual({
      account: '995378', terminal: '99537801', order_beginDate: '2023-12-25 15:29:42', order_endDate: '2023-12-26 15:29:45', pages: '1',
      signValue: '3bf8550e7773b414a35ac966e5855d8781c5264224dfdb9418f13ceefb79ebda',
    });
  });

  it('signs BusinessOrdersList with the page as documented', () => {
    const form = Object.fromEntries(buildOrderListForm('business', { ...DOC_WINDOW, page: 0 }, DOC_MERCHANT, 480));
    expect(form.signValue).toBe('a54dd863aaa1cabcd7285da666fc7f6fdb92cfd3151334b3e1f271332fe1fc19');
  });

  it('refuses a window that ends before it begins, a bad page size, and a date type on the success list', () => {
    expect(() => buildOrderListForm('success', { beginDate: DOC_WINDOW.endDate, endDate: DOC_WINDOW.beginDate, page: 1 }, DOC_MERCHANT, 480))
      .toThrow(/begins \(2023-12-26 15:29:45\) after it ends \(2023-12-25 15:29:42\)/);
    expect(() => buildOrderListForm('business', { ...DOC_WINDOW, page: 1, pageSize: 20 as 10 }, DOC_MERCHANT, 480)).toThrow(/page size 20/);
    expect(() => buildOrderListForm('success', { ...DOC_WINDOW, page: 1, dateType: 'review' }, DOC_MERCHANT, 480)).toThrow(/only for the business/);
  });
});

describe('gateway time', () => {
  it('writes and reads UTC+8 wall-clock times, and any other offset', () => {
    expect(formatGatewayDateTime(new Date('2024-02-29T16:00:00.999Z'))).toBe('2024-03-01 00:00:00');
    expect(parseGatewayDateTime('2024-03-01 00:00:00')).toEqual(new Date('2024-02-29T16:00:00Z'));
    expect(formatGatewayDateTime(new Date('2024-02-29T16:00:00Z'), -300)).toBe('2024-02-29 11:00:00');
  });

  it.each(['2024-02-30 00:00:00', '2024-03-01T00:00:00', '2024-03-01 24:00:00', '2024-3-1 00:00:00', ''])('refuses "%s"', (text) => {
    expect(parseGatewayDateTime(text)).toBeNull();
  });

  it('refuses an impossible offset for the client', () => {
    expect(() => new OceanpaymentClient({ gatewayUrl: 'x', queryUrl: 'y', credentials: MERCHANT, gatewayUtcOffsetMinutes: 900 })).toThrow(/UTC offset/);
  });
});

describe('OceanpaymentClient.successOrders', () => {
  it('reads the documentation example into typed rows', async () => {
    let form: Record<string, string> = {};
    intercept('/service/QueryOrdersList', SUCCESS_EXAMPLE, (sent) => { form = sent; });
    const page = await client.successOrders({ beginDate: new Date('2024-05-26T16:00:00Z'), endDate: new Date('2024-05-27T15:59:59Z'), page: 1, pageSize: 50 });
    expect(form).toMatchObject({ order_beginDate: '2024-05-27 00:00:00', order_endDate: '2024-05-27 23:59:59', pages: '1', count: '50' });
    expect(page).toMatchObject({ kind: 'page', page: 1, totalPages: 1, count: 2 });
    expect(page.kind === 'page' && page.rows).toEqual([
      expect.objectContaining({
        paymentId: '240527141641780010530', orderNumber: 'test20240527141619', currency: 'HKD', amount: '0.10', methods: 'Credit Card',
        paymentDateTime: '2024-05-27 14:16:41', paidAt: new Date('2024-05-27T06:16:41Z'),
      }),
      expect.objectContaining({ orderNumber: 'test20240527091152', paidAt: new Date('2024-05-27T01:12:00Z') }),
    ]);
  });

  it('reports a refused query with its code', async () => {
    intercept('/service/QueryOrdersList', businessAnswer('', { results: '20013', details: 'Incorrect sign value' }));
    expect(await client.successOrders({ ...DOC_WINDOW, page: 1 })).toEqual({
      kind: 'error', code: '20013', reason: 'the gateway refused the list query (results "20013": Incorrect sign value)',
    });
  });

  it.each([
    ['an answer for another account', SUCCESS_EXAMPLE.replace('<account>995149</account>', '<account>111111</account>'), /answer is not ours.*account "111111"/],
    ['a row of another account', replaceLast(SUCCESS_EXAMPLE, '<account>995149</account>', '<account>111111</account>'), /orderInfo #2.*account "111111"/],
    ['another page', SUCCESS_EXAMPLE.replace('<pages>1</pages>', '<pages>2</pages>'), /answered page 2, we asked for page 1/],
    ['a malformed amount', SUCCESS_EXAMPLE.replace('<order_amount>0.10</order_amount>', '<order_amount>0.1O</order_amount>'), /orderInfo #1.*order_amount "0.1O"/],
    ['an unreadable time', SUCCESS_EXAMPLE.replace('2024-05-27 09:12:00', '27/05/2024'), /payment_dateTime "27\/05\/2024"/],
    ['a row with a repeated field', SUCCESS_EXAMPLE.replace('<methods>Credit Card</methods>', '<methods>a</methods><methods>b</methods>'), /appears 2 times/],
    ['no paging counts', SUCCESS_EXAMPLE.replace('<count>2</count>', ''), /missing: count/],
  ])('calls %s an error', async (_name, body, reason) => {
    intercept('/service/QueryOrdersList', body);
    expect(await client.successOrders({ ...DOC_WINDOW, page: 1 })).toEqual({ kind: 'error', reason: expect.stringMatching(reason) });
  });

  it('turns a network failure into an error, and refuses page 0', async () => {
    agent.get(QUERY).intercept({ path: '/service/QueryOrdersList', method: 'POST' }).replyWithError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    expect(await client.successOrders({ ...DOC_WINDOW, page: 1 })).toEqual({ kind: 'error', reason: expect.stringMatching(/connection refused/) });
    await expect(client.successOrders({ ...DOC_WINDOW, page: 0 })).rejects.toThrow(/page 0/);
  });
});

describe('OceanpaymentClient.businessOrders', () => {
  it('reads refund and chargeback rows, and sends count and date_type', async () => {
    let form: Record<string, string> = {};
    const chargeback = BUSINESS_ROW.replace('<type>refund</type>', '<type>chargeback</type>')
      .replace('<terminal>99514901</terminal>', '<terminal>99514902</terminal>')
      .replace('<payment_cpdTime/>', '<payment_cpdTime>2025-05-28 10:00:00</payment_cpdTime>');
    intercept('/service/BusinessOrdersList', businessAnswer(BUSINESS_ROW + chargeback, { count: '2' }), (sent) => { form = sent; });
    const page = await client.businessOrders({ ...DOC_WINDOW, page: 1, pageSize: 100, dateType: 'exception' });
    expect(form).toMatchObject({ pages: '1', count: '100', date_type: '2' });
    expect(page).toMatchObject({ kind: 'page', count: 2, rows: [
      {
        type: 'refund', paymentId: '240527141641780010530', orderAmount: '0.10', amount: '0.10', status: '1', details: 'test',
        debitTime: '2025-05-27 14:27:25', debitedAt: new Date('2025-05-27T06:27:25Z'), exceptionTime: '', exceptionAt: null,
      },
      { type: 'chargeback', terminal: '99514902', exceptionAt: new Date('2025-05-28T02:00:00Z') },
    ] });
  });

  it('calls a row with a status that is not a code an error', async () => {
    intercept('/service/BusinessOrdersList', businessAnswer(BUSINESS_ROW.replace('<status>1</status>', '<status>done</status>')));
    expect(await client.businessOrders({ ...DOC_WINDOW, page: 1 })).toEqual({ kind: 'error', reason: expect.stringMatching(/status "done"/) });
  });
});
