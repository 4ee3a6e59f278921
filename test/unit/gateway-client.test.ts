import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import type { ChargeRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import {
  ORDER_QUERY_REQUEST_FIELDS, PAYMENT_RESULT_FIELDS, QUICKPAY_CHARGE_REQUEST_FIELDS, sign, verify,
} from '../../src/payments/providers/oceanpayment/sign.ts';
import type { MerchantCredentials } from '../../src/payments/providers/oceanpayment/sign.ts';
import { buildFlatXml, buildXml } from '../../src/payments/providers/oceanpayment/xml.ts';

const GATEWAY = 'https://gateway.test';
const QUERY = 'https://query.test';
const MERCHANT: MerchantCredentials = { account: '995149', terminal: '99514901', secureCode: '12345678', extraTerminals: { '99514902': 'three-ds-code' } };

const REQUEST: ChargeRequest = {
  orderNumber: 'R-2024-0001',
  amountMinor: 1000,
  currency: 'USD',
  serviceMode: 'M2',
  quickpayId: '9ead3654-8f84-4d02-acab-6ac9dd10531f',
  orderNotes: 'sub_42:2024-02',
  billing: { firstName: ' "Ann" ', lastName: "O'Neil", email: '<ann@example.com>', country: 'US', city: 'Springfield' },
  product: { name: 'Pro plan' },
  noticeUrl: 'https://merchant.test/oceanpayment/notice',
  backUrl: 'https://merchant.test/oceanpayment/return',
};

let agent: MockAgent;
let client: OceanpaymentClient;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new OceanpaymentClient({ gatewayUrl: `${GATEWAY}/`, queryUrl: QUERY, credentials: MERCHANT, dispatcher: agent, timeoutMs: 200 });
});

afterEach(async () => {
  await client.close();
  await agent.close();
});

function answer(overrides: Record<string, string> = {}, secureCode = MERCHANT.secureCode): string {
  const values: Record<string, string> = {
    account: '995149', terminal: '99514901', order_number: REQUEST.orderNumber, order_currency: 'USD', order_amount: '10.00',
    order_notes: REQUEST.orderNotes, card_number: '411111***1111', payment_id: '231220170723834010513', payment_authType: '0',
    payment_status: '1', payment_details: '80000:Transaction Approved', payment_risk: '', ...overrides,
  };
  const signValue = sign(PAYMENT_RESULT_FIELDS, values, secureCode).toUpperCase();
  return buildFlatXml('response', Object.entries({ ...values, signValue, pay_url: overrides.pay_url ?? '', quickpay_id: REQUEST.quickpayId ?? '' }));
}

function interceptCharge(status: number, body: string, capture?: (form: URLSearchParams) => void): void {
  agent.get(GATEWAY).intercept({ path: '/gateway/direct/pay', method: 'POST' }).reply(status, (options) => {
    capture?.(new URLSearchParams(String(options.body)));
    return body;
  });
}

describe('OceanpaymentClient.charge', () => {
  it('sends the documented form, signed over exactly the sanitized strings it sends', async () => {
    let form = new URLSearchParams();
    interceptCharge(200, answer(), (sent) => { form = sent; });
    const outcome = await client.charge(REQUEST);
    expect(outcome).toEqual({
      kind: 'approved', paymentId: '231220170723834010513', code: '80000', details: '80000:Transaction Approved', quickpayId: REQUEST.quickpayId,
    });
    const fields = Object.fromEntries(form);
    expect(fields).toMatchObject({
      account: '995149', terminal: '99514901', quickpay_id: REQUEST.quickpayId, service_mode: 'M2',
      order_number: 'R-2024-0001', order_currency: 'USD', order_amount: '10.00', order_notes: 'sub_42:2024-02',
      methods: 'Credit Card', billing_firstName: 'Ann', billing_lastName: 'ONeil', billing_email: 'ann@example.com',
      billing_country: 'US', billing_city: 'Springfield', productName: 'Pro plan', productSku: 'N/A', productNum: '1',
      productPrice: '10.00', noticeUrl: REQUEST.noticeUrl, backUrl: REQUEST.backUrl,
    });
    expect(fields).not.toHaveProperty('billing_phone');
    expect(verify(QUICKPAY_CHARGE_REQUEST_FIELDS, fields, MERCHANT.secureCode, fields.signValue ?? '')).toBe(true);
  });

  it('compares the echoed amount by value ("10" for 10.00)', async () => {
    interceptCharge(200, answer({ order_amount: '10' }));
    expect(await client.charge(REQUEST)).toMatchObject({ kind: 'approved' });
  });

  it('verifies an answer from the merchant\'s other terminal with that terminal\'s secure code', async () => {
    interceptCharge(200, answer({ terminal: '99514902' }, 'three-ds-code'));
    expect(await client.charge(REQUEST)).toMatchObject({ kind: 'approved' });
  });

  it.each([
    ['another order number', { order_number: 'R-2024-0002' }, /order_number is "R-2024-0002"/],
    ['another amount', { order_amount: '10.01' }, /order_amount is "10.01"/],
    ['another currency', { order_currency: 'EUR' }, /order_currency is "EUR"/],
  ])('calls a signed answer about %s unknown', async (_name, overrides, reason) => {
    interceptCharge(200, answer(overrides));
    expect(await client.charge(REQUEST)).toEqual({ kind: 'unknown', reason: expect.stringMatching(reason) });
  });

  it('calls a signed decline re-cut into a success unknown (format before signature), so only a query decides', async () => {
    interceptCharge(200, answer({ payment_authType: '208009', payment_status: '1', payment_details: ':Cardholder failed 3D Secure authentication' }));
    expect(await client.charge(REQUEST)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/malformed signed field: payment_authType "208009"/) });
  });

  it('calls an answer for another account unknown', async () => {
    interceptCharge(200, answer({ account: '111111' }));
    expect(await client.charge(REQUEST)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/account "111111"/) });
  });

  it('calls an answer with a bad signature unknown, quoting what it claimed', async () => {
    interceptCharge(200, answer({}, 'wrong-code'));
    expect(await client.charge(REQUEST)).toEqual({
      kind: 'unknown', reason: expect.stringMatching(/failed verification: signValue does not match.*unverified answer says "80000:Transaction Approved"/),
    });
  });

  it.each([
    ['HTTP 503', 503, 'Service Unavailable', /HTTP 503/],
    ['an HTML error page', 200, '<html><body>oops</body>', /could not be read.*not well-formed/],
    ['an empty body', 200, '', /could not be read: body is empty/],
    ['truncated XML', 200, answer().slice(0, 300), /not well-formed/],
    ['XML missing fields', 200, '<response><account>995149</account></response>', /missing required fields: terminal, signValue/],
    ['an oversize body', 200, `<response>${'x'.repeat(70_000)}</response>`, /more than the 65536-byte limit/],
  ])('calls %s unknown', async (_name, status, body, reason) => {
    interceptCharge(status, body);
    expect(await client.charge(REQUEST)).toEqual({ kind: 'unknown', reason: expect.stringMatching(reason) });
  });

  it('calls a network failure unknown rather than throwing', async () => {
    agent.get(GATEWAY).intercept({ path: '/gateway/direct/pay', method: 'POST' }).replyWithError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(await client.charge(REQUEST)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/connection was closed.*may or may not have been made/) });
  });

  it('calls a slow gateway unknown after timeoutMs', async () => {
    // The answer (an approval) would arrive long after the 200 ms timeout: only the timeout can
    // make this unknown, however slow the machine.
    agent.get(GATEWAY).intercept({ path: '/gateway/direct/pay', method: 'POST' }).reply(200, answer()).delay(20_000);
    expect(await client.charge(REQUEST)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/within 200 ms/) });
  });

  it('maps gateway results to outcomes', async () => {
    interceptCharge(200, answer({ payment_status: '0', payment_details: '80022:Not sufficient funds' }));
    expect(await client.charge(REQUEST)).toMatchObject({ kind: 'declined', declineClass: 'soft', code: '80022' });
    interceptCharge(200, answer({ payment_status: '-1', payment_details: '80093:3D', pay_url: 'https://gateway.test/redirect?pay_id=1' }));
    expect(await client.charge(REQUEST)).toMatchObject({ kind: 'action_required', payUrl: 'https://gateway.test/redirect?pay_id=1' });
    interceptCharge(200, answer({ payment_status: '0', payment_details: '80031:Time out' }));
    expect(await client.charge(REQUEST)).toMatchObject({ kind: 'unknown', code: '80031' });
  });

  it('throws for an order number or amount that must never reach the gateway', async () => {
    await expect(client.charge({ ...REQUEST, orderNumber: 'has space' })).rejects.toThrow(/order number "has space"/);
    await expect(client.charge({ ...REQUEST, orderNumber: 'x'.repeat(51) })).rejects.toThrow(/1 to 50 characters/);
    await expect(client.charge({ ...REQUEST, orderNumber: '' })).rejects.toThrow(/order number/);
    await expect(client.charge({ ...REQUEST, amountMinor: 0 })).rejects.toThrow(/greater than zero/);
  });
});

describe('OceanpaymentClient.query', () => {
  function entry(overrides: Record<string, string> = {}): Array<[string, string]> {
    return Object.entries({
      account: '995149', terminal: '99514901', signValue: 'C'.repeat(64), order_number: 'R-2024-0001', order_currency: 'USD',
      order_amount: '10.00', payment_id: '1', payment_results: '1', payment_details: '80000:Transaction Approved', ...overrides,
    });
  }

  function interceptQuery(body: string, capture?: (form: URLSearchParams) => void): void {
    agent.get(QUERY).intercept({ path: '/service/check/normal', method: 'POST' }).reply(200, (options) => {
      capture?.(new URLSearchParams(String(options.body)));
      return body;
    });
  }

  it('signs the request and keeps the entries in the gateway\'s order (newest first)', async () => {
    let form = new URLSearchParams();
    interceptQuery(buildXml('response', [
      ['paymentInfo', entry({ payment_id: '2', payment_results: '1' })],
      ['paymentInfo', entry({ payment_id: '1', payment_results: '0', payment_details: '80022:NSF' })],
    ]), (sent) => { form = sent; });
    const result = await client.query('R-2024-0001');
    expect(result.kind).toBe('found');
    if (result.kind !== 'found') return;
    expect(result.entries.map((item) => [item.paymentId, item.outcome.kind])).toEqual([['2', 'approved'], ['1', 'declined']]);
    expect(result.entries[0]).toMatchObject({ orderNumber: 'R-2024-0001', amount: '10.00', currency: 'USD', raw: { payment_results: '1' } });
    const fields = Object.fromEntries(form);
    expect(fields).toMatchObject({ account: '995149', terminal: '99514901', order_number: 'R-2024-0001' });
    expect(fields.signValue).toBe(sign(ORDER_QUERY_REQUEST_FIELDS, fields, MERCHANT.secureCode));
  });

  it('reads a response without entries, or with an empty placeholder entry, as not found', async () => {
    interceptQuery('<response></response>');
    expect(await client.query('R-2024-0001')).toEqual({ kind: 'not_found' });
    interceptQuery(buildXml('response', [['account', '995149'], ['terminal', '99514901']]));
    expect(await client.query('R-2024-0001')).toEqual({ kind: 'not_found' });
    interceptQuery(buildXml('response', [['paymentInfo', entry({ order_number: '', payment_results: '' })]]));
    expect(await client.query('R-2024-0001')).toEqual({ kind: 'not_found' });
  });

  it('reads a response without entries that says something else as an error, never as not found', async () => {
    interceptQuery(buildXml('response', [['account', '995149'], ['query_details', '20013:Incorrect sign value']]));
    expect(await client.query('R-2024-0001')).toEqual({ kind: 'error', reason: expect.stringMatching(/query_details=20013/) });
  });

  it.each([
    ['another account', { account: '111111' }, /account "111111"/],
    ['an unknown terminal', { terminal: '12345678' }, /terminal "12345678"/],
    ['another order', { order_number: 'R-9' }, /order "R-9"/],
  ])('refuses an entry for %s', async (_name, overrides, reason) => {
    interceptQuery(buildXml('response', [['paymentInfo', entry(overrides)]]));
    expect(await client.query('R-2024-0001')).toEqual({ kind: 'error', reason: expect.stringMatching(reason) });
  });

  it('reports unreadable answers and HTTP errors as errors', async () => {
    interceptQuery('<response><paymentInfo>');
    expect(await client.query('R-2024-0001')).toMatchObject({ kind: 'error', reason: expect.stringMatching(/not well-formed/) });
    agent.get(QUERY).intercept({ path: '/service/check/normal', method: 'POST' }).reply(500, 'boom');
    expect(await client.query('R-2024-0001')).toEqual({ kind: 'error', reason: 'order query answered HTTP 500' });
  });

  it('throws for an order number that would change the query (a comma lists several)', async () => {
    await expect(client.query('A,B')).rejects.toThrow(/order number/);
  });
});
