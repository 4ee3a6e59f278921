import { describe, expect, it } from 'vitest';
import { parseBrowserReturn, parseNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import { PAYMENT_RESULT_FIELDS, sign } from '../../src/payments/providers/oceanpayment/sign.ts';
import type { MerchantCredentials } from '../../src/payments/providers/oceanpayment/sign.ts';
import { buildFlatXml } from '../../src/payments/providers/oceanpayment/xml.ts';

const MERCHANT: MerchantCredentials = {
  account: '995149', terminal: '99514901', secureCode: '12345678',
  extraTerminals: { '99514902': 'another-secure-code' },
};

const RESULT: Record<string, string> = {
  account: '995149', terminal: '99514901', order_number: 'R-1001', order_currency: 'USD', order_amount: '9.99',
  order_notes: 'sub_7:2024-03', card_number: '411111***1111', payment_id: '250902111334242179639', payment_authType: '0',
  payment_status: '1', payment_details: '80000:Transaction Approved', payment_risk: '',
};

function signed(values: Record<string, string>, secureCode = MERCHANT.secureCode): Record<string, string> {
  return { ...values, signValue: sign(PAYMENT_RESULT_FIELDS, values, secureCode).toUpperCase() };
}

function noticeBody(values: Record<string, string>, extra: Record<string, string> = { notice_type: 'transaction', push_dateTime: '2025-09-03 10:21:14', response_type: '1' }): string {
  return buildFlatXml('response', Object.entries({ ...extra, ...values, quickpay_id: 'tok-9' }));
}

describe('parseNotice', () => {
  it('verifies a transaction notice and reads its outcome', () => {
    const notice = parseNotice(noticeBody(signed(RESULT)), MERCHANT);
    expect(notice).toMatchObject({
      kind: 'transaction', verified: true, responseType: '1',
      outcome: { kind: 'approved', paymentId: '250902111334242179639', quickpayId: 'tok-9' },
      fields: { order_number: 'R-1001', order_amount: '9.99' },
    });
    expect(notice).not.toHaveProperty('problem');
  });

  it('reads the seed 002 pending 3-D Secure notice as action required', () => {
    const values = { ...RESULT, payment_authType: '2', payment_status: '-1', payment_details: '80093:3D Authorized Service not completed' };
    const body = noticeBody({ ...signed(values), pay_url: 'https://secure.oceanpayment.com:443/gateway/direct/redirect?pay_id=af5e' });
    expect(parseNotice(body, MERCHANT)).toMatchObject({ verified: true, outcome: { kind: 'action_required', code: '80093' } });
  });

  it('rejects a forged signValue', () => {
    const forged = { ...signed(RESULT), signValue: 'A'.repeat(64) };
    expect(parseNotice(noticeBody(forged), MERCHANT)).toMatchObject({ kind: 'transaction', verified: false, problem: expect.stringMatching(/signValue does not match/) });
  });

  it.each(['order_amount', 'order_currency', 'payment_status', 'payment_id', 'order_number', 'order_notes'])(
    'rejects a notice whose %s was altered after signing',
    (name) => {
      const altered = { ...signed(RESULT), [name]: name === 'payment_status' ? '0' : `${RESULT[name]}9` };
      expect(parseNotice(noticeBody(altered), MERCHANT)).toMatchObject({ verified: false });
    },
  );

  it('rejects another account and an unknown terminal with a clear problem', () => {
    const otherAccount = signed({ ...RESULT, account: '123456' });
    expect(parseNotice(noticeBody(otherAccount), MERCHANT)).toMatchObject({ verified: false, problem: expect.stringMatching(/account "123456"/) });
    const unknownTerminal = signed({ ...RESULT, terminal: '99514999' });
    expect(parseNotice(noticeBody(unknownTerminal), MERCHANT)).toMatchObject({ verified: false, problem: expect.stringMatching(/terminal "99514999"/) });
  });

  it('verifies a notice from the extra terminal with its own secure code', () => {
    const values = { ...RESULT, terminal: '99514902' };
    expect(parseNotice(noticeBody(signed(values, 'another-secure-code')), MERCHANT)).toMatchObject({ verified: true });
    expect(parseNotice(noticeBody(signed(values)), MERCHANT)).toMatchObject({ verified: false });
  });

  it('treats response_type with payment_status and no notice_type as a payment notice', () => {
    const body = noticeBody(signed(RESULT), { response_type: '1' });
    expect(parseNotice(body, MERCHANT)).toMatchObject({ kind: 'transaction', verified: true });
  });

  it('never verifies business notices (their formula is unknown)', () => {
    const refund = buildFlatXml('response', Object.entries({
      notice_type: 'refund', push_dateTime: '2025-09-03 10:21:14', account: '995149', terminal: '99514901',
      signValue: 'B'.repeat(64), payment_id: RESULT.payment_id!, push_id: '123', push_status: '1', push_details: 'ok', refund_number: '',
    }));
    expect(parseNotice(refund, MERCHANT)).toMatchObject({ kind: 'business', verified: false, noticeType: 'refund', fields: { push_status: '1' } });
    const noType = buildFlatXml('response', [['push_status', '2'], ['account', '995149']]);
    expect(parseNotice(noType, MERCHANT)).toMatchObject({ kind: 'business', noticeType: '' });
  });

  it.each([
    ['not XML', 'receive-ok', /not well-formed|root element/],
    ['an unknown shape', '<response><hello>1</hello></response>', /not a recognisable notice/],
    ['a transaction without its fields', '<response><notice_type>transaction</notice_type><account>995149</account></response>', /missing: terminal, signValue/],
    ['a DOCTYPE', '<!DOCTYPE r [<!ENTITY a "b">]><response><a>&a;</a></response>', /DOCTYPE/],
    ['10 MB', `<response><a>${'x'.repeat(10_000_000)}</a></response>`, /byte limit/],
  ])('calls %s malformed', (_name, body, problem) => {
    expect(parseNotice(body, MERCHANT)).toEqual({ kind: 'malformed', problem: expect.stringMatching(problem) });
  });
});

describe('parseBrowserReturn', () => {
  it('verifies the backUrl form POST with the same formula', () => {
    const form = { response_type: '0', ...signed({ ...RESULT, payment_status: '0', payment_details: '80091:3DS failed' }) };
    expect(parseBrowserReturn(form, MERCHANT)).toMatchObject({
      kind: 'transaction', verified: true, responseType: '0', outcome: { kind: 'declined', declineClass: 'soft', code: '80091' },
    });
  });

  it('rejects a tampered form and one missing fields', () => {
    const form = { response_type: '0', ...signed(RESULT), order_amount: '0.01' };
    expect(parseBrowserReturn(form, MERCHANT)).toMatchObject({ verified: false });
    expect(parseBrowserReturn({ response_type: '0' }, MERCHANT)).toMatchObject({ kind: 'malformed' });
  });
});

describe('format before signature: a signed result re-cut between fields', () => {
  // The exact attack: the customer's browser carries a genuine signed *failed* 3-D Secure result;
  // the values are re-cut so the concatenation, and so the signature, is unchanged.
  const genuineDecline = signed({
    ...RESULT, payment_authType: '2', payment_status: '0', payment_details: '80091:Cardholder failed 3D Secure authentication',
  });
  const recut = { ...genuineDecline, payment_authType: '208009', payment_status: '1', payment_details: ':Cardholder failed 3D Secure authentication' };

  it('keeps its signature valid (which is why signatures alone cannot be trusted)', () => {
    const concat = (v: Record<string, string>) => PAYMENT_RESULT_FIELDS.map((f) => v[f] ?? '').join('');
    expect(concat(recut)).toBe(concat(genuineDecline));
  });

  it('is rejected as a notice and as a browser return, never read as a success', () => {
    for (const parsed of [parseNotice(noticeBody(recut), MERCHANT), parseBrowserReturn({ response_type: '0', ...recut }, MERCHANT)]) {
      expect(parsed).toMatchObject({ kind: 'transaction', verified: false, problem: expect.stringMatching(/payment_authType "208009".*payment_details ":Card/) });
    }
  });

  it.each([
    ['payment_status', '2'], ['payment_status', '01'], ['payment_status', ''],
    ['payment_authType', '4'], ['payment_authType', ''], ['payment_authType', '02'],
    ['payment_details', '8000:Approved'], ['payment_details', 'Approved'], ['payment_details', '80000'],
    ['payment_id', '25090211133424217963a'], ['card_number', '4111111111111111'], ['card_number', '411111***1111x'],
    ['account', '9951490'], ['terminal', '9951'], ['order_currency', 'usd'], ['order_amount', '9.999'], ['order_amount', ' 9.99'],
    ['order_number', 'R 1001'],
  ])('refuses %s "%s" even when the signature matches it', (name, value) => {
    const values = signed({ ...RESULT, [name]: value });
    expect(parseNotice(noticeBody(values), MERCHANT)).toMatchObject({ verified: false, problem: expect.stringContaining(`${name} "`) });
  });

  it('accepts every documented shape: empty details, card and payment id on a refused request, -1 with a pay_url', () => {
    for (const values of [
      { ...RESULT, payment_details: '' },
      { ...RESULT, card_number: '', payment_id: '', payment_status: '0', payment_details: '20013:Incorrect sign value' },
      { ...RESULT, payment_authType: '3', payment_status: '-1', payment_details: '80093:3D Authorized Service not completed' },
      { ...RESULT, card_number: '4111********1111' },
    ]) {
      expect(parseNotice(noticeBody(signed(values)), MERCHANT)).toMatchObject({ verified: true });
    }
  });
});
