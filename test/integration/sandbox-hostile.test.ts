import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChargeForm } from '../../src/payments/providers/oceanpayment/charge-request.ts';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import { PAYMENT_RESULT_FIELDS, QUICKPAY_CHARGE_REQUEST_FIELDS, sign, verify } from '../../src/payments/providers/oceanpayment/sign.ts';
import { parseFlatXml } from '../../src/payments/providers/oceanpayment/xml.ts';
import { startSandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';

const MERCHANT = { account: '995149', terminal: '99514901', secureCode: '12345678' };
const SECOND_TERMINAL = { account: '995149', terminal: '99514902', secureCode: 'second-terminal-code' };
const OTHER_MERCHANT = { account: '777001', terminal: '77700101', secureCode: 'other-merchant-code' };

let sandbox: Sandbox;
let sequence = 0;

beforeAll(async () => {
  sandbox = await startSandbox({ accounts: [MERCHANT, SECOND_TERMINAL, OTHER_MERCHANT], seed: 9 });
});

afterAll(async () => {
  await sandbox?.close();
});

/** A correctly signed charge form, as a record to tamper with. */
function validForm(credentials = MERCHANT): Record<string, string> {
  sequence += 1;
  const { fields } = buildChargeForm({
    orderNumber: `H-${sequence}`,
    amountMinor: 999,
    currency: 'USD',
    serviceMode: 'M2',
    quickpayId: 'card-h',
    orderNotes: `sub_h:${sequence}`,
    billing: { firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', country: 'US' },
    product: { name: 'Plan' },
    noticeUrl: '',
    backUrl: 'https://merchant.test/return',
  }, credentials, { methods: 'Credit Card' });
  return Object.fromEntries(fields);
}

function resigned(form: Record<string, string>, secureCode = MERCHANT.secureCode): Record<string, string> {
  return { ...form, signValue: sign(QUICKPAY_CHARGE_REQUEST_FIELDS, form, secureCode) };
}

async function post(path: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${sandbox.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: response.status, text: await response.text() };
}

async function charge(form: Record<string, string>): Promise<Record<string, string>> {
  const { status, text } = await post('/gateway/direct/pay', new URLSearchParams(form).toString());
  expect(status).toBe(200);
  const parsed = parseFlatXml(text, { roots: ['response'] });
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value.fields;
}

describe('hostile and broken requests to /gateway/direct/pay', () => {
  it('answers a missing signValue with a signed 20013 and payment_status 0', async () => {
    const { signValue: _dropped, ...form } = validForm();
    const answer = await charge(form);
    expect(answer).toMatchObject({ payment_status: '0', payment_details: '20013:Incorrect sign value', order_number: form.order_number, payment_id: '' });
    expect(answer.signValue).toMatch(/^[0-9A-F]{64}$/);
    expect(verify(PAYMENT_RESULT_FIELDS, answer, MERCHANT.secureCode, answer.signValue ?? '')).toBe(true);
  });

  it.each([
    ['an unknown account', { account: '123456' }],
    ['an unknown terminal', { terminal: '99514999' }],
    ['another account\'s terminal', { terminal: OTHER_MERCHANT.terminal }],
    ['no account at all', { account: '' }],
  ])('answers %s with 20016 and no signature it could not make', async (_name, change) => {
    const answer = await charge({ ...validForm(), ...change });
    expect(answer).toMatchObject({ payment_status: '0', payment_details: expect.stringMatching(/^20016:/), signValue: '' });
  });

  it.each([
    ['an amount with three decimals', { order_amount: '9.999' }, '20021'],
    ['an amount longer than 10 characters', { order_amount: '12345678.90' }, '20021'],
    ['a zero amount', { order_amount: '0.00' }, '20020'],
    ['a negative amount', { order_amount: '-5' }, '20020'],
    ['an amount in words', { order_amount: 'ten' }, '20020'],
    ['no amount', { order_amount: '' }, '20019'],
    ['no order number', { order_number: '' }, '20017'],
    ['an order number of 51 characters', { order_number: 'x'.repeat(51) }, '20018'],
    ['a lowercase currency', { order_currency: 'usd' }, '20023'],
    ['no currency', { order_currency: '' }, '20022'],
    ['a backUrl that is not http', { backUrl: 'javascript:alert(1)' }, '20024'],
    ['a noticeUrl over 500 characters', { noticeUrl: `https://x.test/${'a'.repeat(500)}` }, '20025'],
    ['no first name', { billing_firstName: '' }, '20044'],
    ['a malformed email', { billing_email: 'not-an-email' }, '20049'],
    ['no country', { billing_country: '' }, '20051'],
    ['no token', { quickpay_id: '' }, '20030'],
  ])('answers %s with %s', async (_name, change, code) => {
    const answer = await charge(resigned({ ...validForm(), ...change }));
    expect(answer.payment_status).toBe('0');
    expect(answer.payment_details).toMatch(new RegExp(`^${code}:`));
    expect(verify(PAYMENT_RESULT_FIELDS, answer, MERCHANT.secureCode, answer.signValue ?? '')).toBe(true);
  });

  it('checks the signature with the secure code of the terminal named in the request', async () => {
    const form = validForm(SECOND_TERMINAL);
    expect(await charge(form)).toMatchObject({ payment_status: '1', terminal: SECOND_TERMINAL.terminal });
    expect(await charge(resigned(validForm(SECOND_TERMINAL), MERCHANT.secureCode))).toMatchObject({ payment_details: '20013:Incorrect sign value' });
  });

  it('answers a 10 MB body with 413 and keeps serving', async () => {
    const huge = `account=995149&order_notes=${'x'.repeat(10 * 1024 * 1024)}`;
    const response = await request(`${sandbox.url}/gateway/direct/pay`, { method: 'POST', body: huge, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.statusCode).toBe(413);
    expect(await response.body.text()).toMatch(/request body is 1048\d+ bytes; the limit is 65536/);
    expect(await charge(validForm())).toMatchObject({ payment_status: '1' });
  });

  it('survives bodies that are not forms at all', async () => {
    for (const body of ['<xml/>', '%%%%', '\u0000\u0001', '&&&=&=', 'account=995149&account=111111&__proto__=x&constructor=y']) {
      const { status, text } = await post('/gateway/direct/pay', body);
      expect(status).toBe(200);
      expect(parseFlatXml(text, { roots: ['response'] })).toMatchObject({ ok: true, value: { fields: { payment_status: '0' } } });
    }
    expect(await charge(validForm())).toMatchObject({ payment_status: '1' });
  });

  it('answers wrong methods and unknown paths plainly', async () => {
    const get = await fetch(`${sandbox.url}/gateway/direct/pay`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${sandbox.url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${sandbox.url}/__proto__`)).status).toBe(404);
    expect((await fetch(`${sandbox.url}/constructor`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await fetch(`${sandbox.url}/sandbox/ledger?limit=abc`)).status).toBe(400);
    expect((await fetch(`${sandbox.url}/`)).status).toBe(200);
  });
});

describe('hostile requests to /service/check/normal', () => {
  it('refuses an unsigned or wrongly signed query with an error the client reports', async () => {
    const unsigned = await post('/service/check/normal', new URLSearchParams({ account: '995149', terminal: '99514901', order_number: 'H-1' }).toString());
    expect(unsigned.status).toBe(200);
    expect(unsigned.text).toContain('<query_details>20013:Incorrect sign value</query_details>');
    expect(unsigned.text).not.toContain('paymentInfo');

    const wrongCode = new OceanpaymentClient({ gatewayUrl: sandbox.url, queryUrl: sandbox.url, credentials: { ...MERCHANT, secureCode: 'wrong' } });
    try {
      expect(await wrongCode.query('H-1')).toEqual({ kind: 'error', reason: expect.stringMatching(/20013:Incorrect sign value/) });
    } finally {
      await wrongCode.close();
    }
  });

  it('does not show one merchant\'s orders to another', async () => {
    const form = validForm();
    await charge(form);
    const other = new OceanpaymentClient({ gatewayUrl: sandbox.url, queryUrl: sandbox.url, credentials: OTHER_MERCHANT });
    const owner = new OceanpaymentClient({ gatewayUrl: sandbox.url, queryUrl: sandbox.url, credentials: MERCHANT });
    try {
      expect(await other.query(form.order_number ?? '')).toEqual({ kind: 'not_found' });
      expect(await owner.query(form.order_number ?? '')).toMatchObject({ kind: 'found' });
    } finally {
      await other.close();
      await owner.close();
    }
  });
});
