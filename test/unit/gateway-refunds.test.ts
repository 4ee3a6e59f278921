import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { ValidationError } from '../../src/lib/errors.ts';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import type { RefundRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import { buildRefundForm } from '../../src/payments/providers/oceanpayment/refund.ts';
import { buildRefundQueryForm } from '../../src/payments/providers/oceanpayment/refund-query.ts';
import { REFUND_QUERY_REQUEST_FIELDS, REFUND_REQUEST_FIELDS, verify } from '../../src/payments/providers/oceanpayment/sign.ts';
import type { MerchantCredentials } from '../../src/payments/providers/oceanpayment/sign.ts';
import { buildFlatXml } from '../../src/payments/providers/oceanpayment/xml.ts';

const QUERY = 'https://query.test';
const MERCHANT: MerchantCredentials = { account: '995149', terminal: '99514901', secureCode: '12345678' };
/** The account and terminal of the documentation's order-management examples (§1.7). */
const DOC_MERCHANT = { account: '995378', terminal: '99537801', secureCode: '12345678' };

const REFUND: RefundRequest = {
  paymentId: '231220170723834010513', refundNumber: 'R-42-1', refundType: 'partial', amount: '4.00', description: 'Goodwill',
};

let agent: MockAgent;
let client: OceanpaymentClient;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new OceanpaymentClient({ gatewayUrl: 'https://gateway.test', queryUrl: `${QUERY}/`, credentials: MERCHANT, dispatcher: agent, timeoutMs: 200 });
});

afterEach(async () => {
  await client.close();
  await agent.close();
});

function intercept(path: string, status: number, body: string, capture?: (form: Record<string, string>) => void): void {
  agent.get(QUERY).intercept({ path, method: 'POST' }).reply(status, (options) => {
    capture?.(Object.fromEntries(new URLSearchParams(String(options.body))));
    return body;
  });
}

function refundAnswer(fields: Record<string, string>): string {
  return buildFlatXml('response', Object.entries({
    account: '995149', terminal: '99514901', payment_id: REFUND.paymentId, refund_number: REFUND.refundNumber, ...fields,
  }));
}

describe('request signatures against the published vectors (§1.7)', () => {
  it('signs applyRefund exactly as the documentation example', () => {
    const form = Object.fromEntries(buildRefundForm(
      { paymentId: '231220170723834010513', refundNumber: '', refundType: 'full', amount: '0.1', description: 'ProductDamage' },
      DOC_MERCHANT,
    ));
    expect(form).toEqual({
      account: '995378', terminal: '99537801', payment_id: '231220170723834010513', refund_type: '1', refund_amount: '0.1',
      refund_description: 'ProductDamage', signValue: 'c719beb74b87d4f200a1c9c42aa87d3ecdab6b78aa9f2f4f9a126b16cb1d4a91',
    });
  });

  it('signs queryRefund exactly as the documentation example', () => {
    expect(Object.fromEntries(buildRefundQueryForm({ refundId: '0' }, DOC_MERCHANT))).toEqual({
      account: '995378', terminal: '99537801', refund_id: '0', signValue: '9aa2eb3fbba5ae6cc151f7d7500c77033cd4ca1d6b92a0fb3ed14cb63e02b226',
    });
  });
});

describe('OceanpaymentClient.applyRefund', () => {
  it('sends the signed form with our refund number and reads an accepted refund', async () => {
    let form: Record<string, string> = {};
    intercept('/service/applyRefund', 200, refundAnswer({ refund_id: '240101120000700000001', refund_results: '00', refund_description: 'Success' }), (sent) => { form = sent; });
    expect(await client.applyRefund(REFUND)).toEqual({ kind: 'accepted', refundId: '240101120000700000001' });
    expect(form).toMatchObject({
      account: '995149', terminal: '99514901', payment_id: REFUND.paymentId, refund_number: 'R-42-1', refund_type: '2',
      refund_amount: '4.00', refund_description: 'Goodwill',
    });
    expect(verify(REFUND_REQUEST_FIELDS, form, MERCHANT.secureCode, form.signValue ?? '')).toBe(true);
  });

  it('reads any other result as a refusal, with its code and description', async () => {
    intercept('/service/applyRefund', 200, refundAnswer({ refund_id: '', refund_results: '11', refund_description: 'Refund amount exceeds' }));
    expect(await client.applyRefund(REFUND)).toEqual({ kind: 'refused', code: '11', message: 'Refund amount exceeds' });
  });

  it.each([
    ['HTTP 502', 502, 'Bad Gateway', /HTTP 502.*query it by refund number/],
    ['an HTML page', 200, '<html><body>down</body></html>', /could not be read/],
    ['a truncated answer', 200, refundAnswer({ refund_results: '00' }).slice(0, 60), /could not be read/],
    ['an answer without refund_results', 200, refundAnswer({ refund_id: '1' }), /missing required field: refund_results/],
    ['an answer for another account', 200, refundAnswer({ account: '111111', refund_id: '1', refund_results: '00' }), /account "111111"/],
    ['an answer about another payment', 200, refundAnswer({ payment_id: '999', refund_id: '1', refund_results: '00' }), /payment_id is "999"/],
    ['an answer about another refund number', 200, refundAnswer({ refund_number: 'R-9', refund_id: '1', refund_results: '00' }), /refund_number is "R-9"/],
    ['an acceptance without a refund id', 200, refundAnswer({ refund_results: '00' }), /refund_id "" is missing or malformed/],
    ['a result that is not a code', 200, refundAnswer({ refund_results: 'ok then' }), /not a result code/],
  ])('calls %s unknown', async (_name, status, body, reason) => {
    intercept('/service/applyRefund', status, body);
    expect(await client.applyRefund(REFUND)).toEqual({ kind: 'unknown', reason: expect.stringMatching(reason) });
  });

  it('calls a network failure unknown rather than throwing', async () => {
    agent.get(QUERY).intercept({ path: '/service/applyRefund', method: 'POST' }).replyWithError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    expect(await client.applyRefund(REFUND)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/connection was closed.*may or may not have been requested/) });
  });

  it.each([
    ['a payment id that is not digits', { paymentId: '12a' }, /payment id "12a"/],
    ['a zero amount', { amount: '0.00' }, /refund amount "0.00"/],
    ['three decimals', { amount: '1.005' }, /refund amount "1.005"/],
    ['an empty description', { description: ' ' }, /description must be 1-200/],
    ['a control character', { description: 'a\u001bb' }, /control character \(U\+001B\)/],
    ['a refund number with spaces', { refundNumber: 'R 1' }, /refund number "R 1"/],
  ])('refuses to send %s', async (_name, overrides, problem) => {
    await expect(client.applyRefund({ ...REFUND, ...overrides })).rejects.toThrow(ValidationError);
    await expect(client.applyRefund({ ...REFUND, ...overrides })).rejects.toThrow(problem);
  });
});

describe('OceanpaymentClient.queryRefund', () => {
  function queryAnswer(check: string, extra: Record<string, string> = {}): string {
    return buildFlatXml('response', Object.entries({
      account: '995149', terminal: '99514901', signValue: 'AB', refund_id: '777', refund_number: 'R-42-1', refund_queryNo: '',
      refund_check: check, refund_description: 'text', ...extra,
    }));
  }

  it.each([
    ['00', { kind: 'refunded', refundId: '777', refundNumber: 'R-42-1' }],
    ['01', { kind: 'pending', refundId: '777', refundNumber: 'R-42-1', code: '01' }],
    ['02', { kind: 'pending', refundId: '777', refundNumber: 'R-42-1', code: '02' }],
    ['03', { kind: 'failed', refundId: '777', refundNumber: 'R-42-1', message: 'text' }],
    ['04', { kind: 'not_found' }],
    ['05', { kind: 'error', code: '05', reason: expect.stringMatching(/signature is wrong/) }],
    ['06', { kind: 'error', code: '06', reason: expect.stringMatching(/IP address is not registered/) }],
    ['97', { kind: 'error', code: '97', reason: expect.stringMatching(/parameter or system error/) }],
    ['42', { kind: 'error', code: '42', reason: expect.stringMatching(/not documented/) }],
  ])('reads refund_check %s', async (check, expected) => {
    intercept('/service/queryRefund', 200, queryAnswer(check));
    expect(await client.queryRefund({ refundId: '777' })).toEqual(expected);
  });

  it('sends only the refund id when it is known, signed as documented', async () => {
    let form: Record<string, string> = {};
    intercept('/service/queryRefund', 200, queryAnswer('00'), (sent) => { form = sent; });
    await client.queryRefund({ refundId: '777', refundNumber: 'R-42-1' });
    expect(form).toEqual({ account: '995149', terminal: '99514901', refund_id: '777', signValue: expect.any(String) });
    expect(verify(REFUND_QUERY_REQUEST_FIELDS, form, MERCHANT.secureCode, form.signValue ?? '')).toBe(true);
  });

  it('queries by refund number when the refund id is not known (after an unknown refund)', async () => {
    let form: Record<string, string> = {};
    intercept('/service/queryRefund', 200, queryAnswer('02'), (sent) => { form = sent; });
    expect(await client.queryRefund({ refundNumber: 'R-42-1' })).toMatchObject({ kind: 'pending', refundId: '777' });
    expect(form).toEqual({ account: '995149', terminal: '99514901', refund_number: 'R-42-1', signValue: expect.any(String) });
    expect(verify(REFUND_QUERY_REQUEST_FIELDS, form, MERCHANT.secureCode, form.signValue ?? '')).toBe(true);
  });

  it.each([
    ['another account', queryAnswer('00', { account: '111111' }), /account "111111"/],
    ['another refund', queryAnswer('00', { refund_id: '778' }), /refund_id is "778"/],
    ['an unreadable body', '<response><refund_check>00', /could not be read/],
  ])('calls an answer about %s an error', async (_name, body, reason) => {
    intercept('/service/queryRefund', 200, body);
    expect(await client.queryRefund({ refundId: '777' })).toEqual({ kind: 'error', reason: expect.stringMatching(reason) });
  });

  it('needs a refund id or a refund number', async () => {
    await expect(client.queryRefund({})).rejects.toThrow(/needs the refund id or the refund number/);
  });
});
