import { describe, expect, it } from 'vitest';
import { buildHostedCheckoutForm, readHostedCheckoutResponse, type HostedCheckoutRequest } from '../../src/payments/providers/oceanpayment/hosted-checkout.ts';
import { buildFlatXml } from '../../src/payments/providers/oceanpayment/xml.ts';

/**
 * Seed 000's hosted-checkout example, with the documentation's public sample secure code. Its own
 * signValues are placeholders or made with a real secure code (they do not verify with 12345678),
 * so the expected hashes below were computed outside this code base, with
 * `printf '%s' '<the values joined>' | sha256sum`, from the formulas of protocol §1.1 and §1.5.
 */
const SAMPLE = { account: '995149', terminal: '99514901', secureCode: '12345678' };

const REQUEST: HostedCheckoutRequest = {
  orderNumber: 'NO12345678',
  amountMinor: 1,
  currency: 'USD',
  serviceMode: 'M1',
  orderNotes: '',
  billing: { firstName: 'test', lastName: 'test', email: 'test@gmail.com', country: 'US' },
  product: { name: 'Red Dress', sku: '#001' },
  noticeUrl: 'https://www.abc.com/notice.php',
  backUrl: 'https://www.abc.com/back.php',
};

/** The seed's `<respon>` fields (amount and currency changed to the request's). */
const RESPON: Record<string, string> = {
  account: '995149',
  terminal: '99514901',
  order_number: 'NO12345678',
  order_currency: 'USD',
  order_amount: '0.01',
  order_notes: '',
  payment_id: '231205114442682010542',
  pay_url: 'https://test-secure.oceanpayment.com:443/gateway/service/redirect?pay_id=b6e6cf9d407ce1801f62c9d204c53e512c060ffdcbc56',
  pay_results: '1',
  pay_details: '0000:Success',
};
/** sha256 of 99514999514901NO12345678USD0.01231205114442682010542{pay_url}10000:Success12345678. */
const RESPON_SIGN_VALUE = '6784DF465637A75C9292B91757846056A2B8FED60422E0D55699406BEDFAEBD1';

const SENT = { orderNumber: 'NO12345678', orderNotes: '', money: { amountMinor: 1, currency: 'USD' } };

function respon(fields: Record<string, string>, signValue = RESPON_SIGN_VALUE): string {
  const { account, terminal, ...rest } = fields;
  return buildFlatXml('respon', [['account', account!], ['terminal', terminal!], ['signValue', signValue], ...Object.entries(rest)]);
}

describe('the sendTrade request (hosted checkout, protocol §1.1)', () => {
  it('is signed over account, terminal, backUrl, order, amount and billing names, matching the fixed vector', () => {
    const form = new Map(buildHostedCheckoutForm(REQUEST, SAMPLE, { methods: 'Credit Card' }));
    // sha256 of 99514999514901https://www.abc.com/back.phpNO12345678USD0.01testtesttest@gmail.com12345678
    expect(form.get('signValue')).toBe('55712991297d346095bc09c3f5d63888c063ea86a4f401af735bfcd4f3f7e561');
    expect(form.get('service_mode')).toBe('M1');
    expect(form.get('order_amount')).toBe('0.01');
    expect(form.get('noticeUrl')).toBe('https://www.abc.com/notice.php');
    expect(form.has('quickpay_id')).toBe(false);
    expect(form.has('secureCode')).toBe(false);
  });

  it('refuses an order number the gateway would not take, before anything is sent', () => {
    expect(() => buildHostedCheckoutForm({ ...REQUEST, orderNumber: 'a,b' }, SAMPLE, { methods: 'Credit Card' })).toThrow(/order number "a,b"/);
  });
});

describe('the sendTrade <respon> (protocol §1.5, sendTrade formula)', () => {
  it('is believed only when it verifies and is about the order sent: then the customer goes to pay_url', () => {
    expect(readHostedCheckoutResponse(respon(RESPON), SENT, SAMPLE)).toEqual({ kind: 'redirect', payUrl: RESPON.pay_url, paymentId: RESPON.payment_id });
    // The gateway's uppercase and the merchant's lowercase hex are the same signature.
    expect(readHostedCheckoutResponse(respon(RESPON, RESPON_SIGN_VALUE.toLowerCase()), SENT, SAMPLE).kind).toBe('redirect');
  });

  it('treats a changed pay_url, a wrong secure code or another order as unknown, never as a page to send the customer to', () => {
    expect(readHostedCheckoutResponse(respon({ ...RESPON, pay_url: 'https://evil.example/pay' }), SENT, SAMPLE)).toMatchObject({ kind: 'unknown', reason: /failed verification/ });
    expect(readHostedCheckoutResponse(respon(RESPON), SENT, { ...SAMPLE, secureCode: 'other' })).toMatchObject({ kind: 'unknown' });
    expect(readHostedCheckoutResponse(respon(RESPON), { ...SENT, orderNumber: 'NO12345679' }, SAMPLE)).toMatchObject({ kind: 'unknown', reason: /not about this order/ });
    expect(readHostedCheckoutResponse(respon(RESPON), { ...SENT, money: { amountMinor: 2, currency: 'USD' } }, SAMPLE)).toMatchObject({ kind: 'unknown', reason: /order_amount/ });
  });

  it('checks every signed field\'s format before the signature: a re-cut of the same string is refused', () => {
    // The same concatenation cut differently: "1" moved from pay_results into the end of pay_url.
    const recut = { ...RESPON, pay_url: `${RESPON.pay_url}1`, pay_results: '', pay_details: '0000:Success' };
    expect(readHostedCheckoutResponse(respon(recut), SENT, SAMPLE)).toMatchObject({ kind: 'unknown', reason: /pay_results is not 0 or 1/ });
    const smuggled = { ...RESPON, payment_id: '23120511444268201054', order_notes: '', pay_url: `2${RESPON.pay_url}` };
    expect(readHostedCheckoutResponse(respon(smuggled), SENT, SAMPLE)).toMatchObject({ kind: 'unknown', reason: /pay_url is not an http\(s\) URL/ });
  });

  it('reads a verified refusal as refused, with the gateway\'s code', () => {
    const refused = { ...RESPON, payment_id: '', pay_url: '', pay_results: '0', pay_details: '20013:Incorrect sign value' };
    // sha256 of 99514999514901NO12345678USD0.01020013:Incorrect sign value12345678
    const signValue = '4b10351d120a3e1023bcf64d0784d8e002b4f822f2f3989703bce3817c11e34d';
    expect(readHostedCheckoutResponse(respon(refused, signValue), SENT, SAMPLE)).toEqual({ kind: 'refused', code: '20013', message: '20013:Incorrect sign value' });
  });

  it('names what is missing in an answer that is not a <respon> at all', () => {
    expect(readHostedCheckoutResponse('<response><x>1</x></response>', SENT, SAMPLE)).toMatchObject({ kind: 'unknown', reason: /could not be read/ });
  });
});
