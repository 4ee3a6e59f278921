import { describe, expect, it } from 'vitest';
import { buildTokeniseForm, readQuickPayAnswer } from '../../src/payments/providers/oceanpayment/quickpay.ts';

describe('the /gateway/service/create form (protocol §1.2)', () => {
  it('is signed as the documentation\'s example: the fixed vector of §1.7', () => {
    const form = new Map(buildTokeniseForm(
      { customerId: '123456', billing: { firstName: 'test', lastName: 'test', email: 'test@test.com' }, backUrl: 'http://127.0.0.1/result.php' },
      { account: '995149', terminal: '99514901', secureCode: '12345678' },
      'Credit Card',
    ));
    expect(form.get('signValue')).toBe('e7cb35166f9066d2844c29a11ca43f4dd25a3e0f9d145579363a5a0124a901d1');
    expect(form.get('customer_id')).toBe('123456');
    expect(form.get('methods')).toBe('Credit Card');
    expect(form.has('secureCode')).toBe(false);
  });

  it('refuses a customer id the gateway could not file the card under', () => {
    expect(() => buildTokeniseForm({ customerId: 'a b', billing: { firstName: 'a', lastName: 'b', email: 'a@b.co' }, backUrl: 'http://x/' }, { account: '1', terminal: '2', secureCode: '3' }, 'Credit Card')).toThrow(/customer id "a b"/);
  });
});

describe('QuickPay API answers (protocol §3.5)', () => {
  it('reads a token with its status and expiry, and no token as none', () => {
    expect(readQuickPayAnswer('{"code":"000","message":"SUCCESS","data":{"quickpay":{"id":"9ead3654-8f84-4d02-acab-6ac9dd10531f","status":"active","expiryTime":"2029-08"}}}'))
      .toEqual({ kind: 'ok', quickpay: { id: '9ead3654-8f84-4d02-acab-6ac9dd10531f', status: 'active', expiryTime: '2029-08' } });
    expect(readQuickPayAnswer('{"code":"000","data":{}}')).toEqual({ kind: 'ok', quickpay: null });
  });

  it('treats any other code, or anything not JSON, as an error naming it', () => {
    expect(readQuickPayAnswer('{"code":"PARAM_ERROR","msg":"customer.id is required","data":{}}')).toEqual({ kind: 'error', reason: 'the QuickPay API answered code "PARAM_ERROR" (customer.id is required)' });
    expect(readQuickPayAnswer('<html>')).toMatchObject({ kind: 'error', reason: /not JSON/ });
    expect(readQuickPayAnswer('null')).toMatchObject({ kind: 'error' });
  });
});
