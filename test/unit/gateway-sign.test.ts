import { describe, expect, it } from 'vitest';
import {
  BUSINESS_ORDERS_LIST_REQUEST_FIELDS, DIRECT_PAY_REQUEST_FIELDS, HOSTED_CHECKOUT_REQUEST_FIELDS,
  HOSTED_CHECKOUT_RESPONSE_FIELDS, OFFLINE_VOID_REQUEST_FIELDS, ORDER_QUERY_REQUEST_FIELDS, ORDERS_LIST_REQUEST_FIELDS,
  PAYMENT_RESULT_FIELDS, PREAUTH_REQUEST_FIELDS, QUICKPAY_CHARGE_REQUEST_FIELDS, REFUND_QUERY_REQUEST_FIELDS,
  REFUND_REQUEST_FIELDS, sanitizeBillingField, secureCodeForTerminal, sign, signatureInput, TOKENISE_REQUEST_FIELDS,
  verify, verifyMessage,
} from '../../src/payments/providers/oceanpayment/sign.ts';
import type { MerchantCredentials, SignatureFields } from '../../src/payments/providers/oceanpayment/sign.ts';

const SAMPLE_SECURE_CODE = '12345678';

/** §1.7 of the protocol reference: hashes recomputed from published examples. */
const VECTORS: Array<[string, SignatureFields, Record<string, string>, string]> = [
  ['check/normal', ORDER_QUERY_REQUEST_FIELDS,
    { account: '995378', terminal: '99537801', order_number: 'ae866' },
    '2e27426ca627e4734ca9c43bd18e593c4af1848688486a3c167d39f7f75cf7b2'],
  ['QueryOrdersList', ORDERS_LIST_REQUEST_FIELDS,
    { account: '995378', terminal: '99537801', order_beginDate: '2023-12-25 15:29:42', order_endDate: '2023-12-26 15:29:45' },
    '3bf8550e7773b414a35ac966e5855d8781c5264224dfdb9418f13ceefb79ebda'],
  ['BusinessOrdersList', BUSINESS_ORDERS_LIST_REQUEST_FIELDS,
    { account: '995378', terminal: '99537801', order_beginDate: '2023-12-25 15:29:42', order_endDate: '2023-12-26 15:29:45', pages: '0' },
    'a54dd863aaa1cabcd7285da666fc7f6fdb92cfd3151334b3e1f271332fe1fc19'],
  ['applyRefund', REFUND_REQUEST_FIELDS,
    { account: '995378', terminal: '99537801', payment_id: '231220170723834010513', refund_type: '1', refund_amount: '0.1', refund_description: 'ProductDamage' },
    'c719beb74b87d4f200a1c9c42aa87d3ecdab6b78aa9f2f4f9a126b16cb1d4a91'],
  ['queryRefund', REFUND_QUERY_REQUEST_FIELDS,
    { account: '995378', terminal: '99537801', refund_id: '0' },
    '9aa2eb3fbba5ae6cc151f7d7500c77033cd4ca1d6b92a0fb3ed14cb63e02b226'],
  ['service/auth capture', PREAUTH_REQUEST_FIELDS,
    { account: '995378', terminal: '99537801', payment_id: '231220170723834010513', payment_authType: '1', order_amount: '10' },
    '0ebca4617f30d89bdac0a25cf2033ca920e1f9bece180f904f75efc1c5257735'],
  ['service/auth void (offline)', OFFLINE_VOID_REQUEST_FIELDS,
    { account: '995378', terminal: '99537801', order_number: '231220170723834010513', payment_authType: '3' },
    '14b420a0660f292dacb54f7d5c790bb80d9175635e47e32956637f50a39e4bc4'],
  ['service/create (tokenise)', TOKENISE_REQUEST_FIELDS,
    { account: '995149', terminal: '99514901', customer_id: '123456', backUrl: 'http://127.0.0.1/result.php', billing_firstName: 'test', billing_lastName: 'test', billing_email: 'test@test.com' },
    'e7cb35166f9066d2844c29a11ca43f4dd25a3e0f9d145579363a5a0124a901d1'],
];

const RESULT: Record<string, string> = {
  account: '995149', terminal: '99514901', order_number: 'R-2024-0001', order_currency: 'USD', order_amount: '9.99',
  order_notes: 'sub_42:2024-02', card_number: '411111***1111', payment_id: '231220170723834010513', payment_authType: '0',
  payment_status: '1', payment_details: '80000:Transaction Approved', payment_risk: '',
};

const MERCHANT: MerchantCredentials = {
  account: '995149', terminal: '99514901', secureCode: SAMPLE_SECURE_CODE,
  extraTerminals: { '99514902': 'secure-code-of-the-3ds-terminal' },
};

describe('signValue', () => {
  it.each(VECTORS)('matches the published %s example byte for byte', (_name, fields, values, expected) => {
    expect(sign(fields, values, SAMPLE_SECURE_CODE)).toBe(expected);
    expect(verify(fields, values, SAMPLE_SECURE_CODE, expected)).toBe(true);
  });

  it('builds the applyRefund sign string exactly as the documentation shows it', () => {
    const values = { account: '150260', terminal: '15026001', payment_id: '231129145554141026041', refund_type: '1', refund_amount: '1', refund_description: '商品瑕疵' };
    expect(signatureInput(REFUND_REQUEST_FIELDS, values, SAMPLE_SECURE_CODE)).toBe('1502601502600123112914555414102604111商品瑕疵12345678');
  });

  it('concatenates field values in the documented orders, with nothing between them', () => {
    const values = Object.fromEntries(
      ['account', 'terminal', 'backUrl', 'order_number', 'order_currency', 'order_amount', 'billing_firstName', 'billing_lastName',
        'billing_email', 'order_notes', 'card_number', 'payment_id', 'payment_authType', 'payment_status', 'payment_details',
        'payment_risk', 'pay_url', 'pay_results', 'pay_details'].map((name) => [name, `<${name}>`]),
    );
    expect(signatureInput(DIRECT_PAY_REQUEST_FIELDS, values, 'S')).toBe(
      '<account><terminal><order_number><order_currency><order_amount><billing_firstName><billing_lastName><billing_email>S',
    );
    expect(signatureInput(HOSTED_CHECKOUT_REQUEST_FIELDS, values, 'S')).toBe(
      '<account><terminal><backUrl><order_number><order_currency><order_amount><billing_firstName><billing_lastName><billing_email>S',
    );
    expect(signatureInput(PAYMENT_RESULT_FIELDS, values, 'S')).toBe(
      '<account><terminal><order_number><order_currency><order_amount><order_notes><card_number><payment_id><payment_authType><payment_status><payment_details><payment_risk>S',
    );
    expect(signatureInput(HOSTED_CHECKOUT_RESPONSE_FIELDS, values, 'S')).toBe(
      '<account><terminal><order_number><order_currency><order_amount><order_notes><payment_id><pay_url><pay_results><pay_details>S',
    );
  });

  it('signs a quickpay charge with the (inferred) card direct/pay list, leaving quickpay_id and service_mode out', () => {
    expect(QUICKPAY_CHARGE_REQUEST_FIELDS).toEqual(DIRECT_PAY_REQUEST_FIELDS);
    expect(QUICKPAY_CHARGE_REQUEST_FIELDS).not.toContain('quickpay_id');
    expect(QUICKPAY_CHARGE_REQUEST_FIELDS).not.toContain('service_mode');
  });

  it('hashes a missing field like an empty one (the optional refund_number slot)', () => {
    const [, , values, expected] = VECTORS[3]!;
    expect(values).not.toHaveProperty('refund_number');
    expect(sign(REFUND_REQUEST_FIELDS, { ...values, refund_number: '' }, SAMPLE_SECURE_CODE)).toBe(expected);
    expect(sign(REFUND_REQUEST_FIELDS, { ...values, refund_number: 'R1' }, SAMPLE_SECURE_CODE)).not.toBe(expected);
  });

  it.each(PAYMENT_RESULT_FIELDS)('fails verification when %s is altered', (name) => {
    const signValue = sign(PAYMENT_RESULT_FIELDS, RESULT, SAMPLE_SECURE_CODE);
    expect(verify(PAYMENT_RESULT_FIELDS, RESULT, SAMPLE_SECURE_CODE, signValue)).toBe(true);
    expect(verify(PAYMENT_RESULT_FIELDS, { ...RESULT, [name]: `${RESULT[name]}x` }, SAMPLE_SECURE_CODE, signValue)).toBe(false);
  });

  it('fails with a wrong secure code', () => {
    const signValue = sign(PAYMENT_RESULT_FIELDS, RESULT, SAMPLE_SECURE_CODE);
    expect(verify(PAYMENT_RESULT_FIELDS, RESULT, '12345679', signValue)).toBe(false);
  });

  it('accepts uppercase (the gateway) and lowercase (merchants) hex alike', () => {
    const signValue = sign(PAYMENT_RESULT_FIELDS, RESULT, SAMPLE_SECURE_CODE);
    expect(signValue).toMatch(/^[0-9a-f]{64}$/);
    expect(verify(PAYMENT_RESULT_FIELDS, RESULT, SAMPLE_SECURE_CODE, signValue.toUpperCase())).toBe(true);
    expect(verify(PAYMENT_RESULT_FIELDS, RESULT, SAMPLE_SECURE_CODE, signValue)).toBe(true);
  });

  it.each([['empty', ''], ['short', 'abc'], ['one digit short', 'a'.repeat(63)], ['not hex', 'z'.repeat(64)], ['too long', 'a'.repeat(65)]])(
    'refuses a %s signValue without throwing',
    (_name, signValue) => {
      expect(verify(PAYMENT_RESULT_FIELDS, RESULT, SAMPLE_SECURE_CODE, signValue)).toBe(false);
    },
  );
});

describe('terminals and message verification', () => {
  it('chooses the secure code by terminal, and knows no others', () => {
    expect(secureCodeForTerminal(MERCHANT, '99514901')).toBe(SAMPLE_SECURE_CODE);
    expect(secureCodeForTerminal(MERCHANT, '99514902')).toBe('secure-code-of-the-3ds-terminal');
    expect(secureCodeForTerminal(MERCHANT, '99514903')).toBeUndefined();
    expect(secureCodeForTerminal(MERCHANT, '')).toBeUndefined();
    expect(secureCodeForTerminal(MERCHANT, 'constructor')).toBeUndefined();
    expect(secureCodeForTerminal(MERCHANT, '__proto__')).toBeUndefined();
  });

  it('verifies a message from the extra terminal with that terminal\'s secure code', () => {
    const values = { ...RESULT, terminal: '99514902' };
    const signedByExtra = { ...values, signValue: sign(PAYMENT_RESULT_FIELDS, values, 'secure-code-of-the-3ds-terminal').toUpperCase() };
    expect(verifyMessage(PAYMENT_RESULT_FIELDS, signedByExtra, MERCHANT)).toEqual({ ok: true });
    const signedByMain = { ...values, signValue: sign(PAYMENT_RESULT_FIELDS, values, SAMPLE_SECURE_CODE) };
    expect(verifyMessage(PAYMENT_RESULT_FIELDS, signedByMain, MERCHANT)).toMatchObject({ ok: false, problem: expect.stringMatching(/signValue does not match/) });
  });

  it('refuses an unknown terminal even with a signature that would match the main secure code', () => {
    const values = { ...RESULT, terminal: '99999999' };
    const message = { ...values, signValue: sign(PAYMENT_RESULT_FIELDS, values, SAMPLE_SECURE_CODE) };
    expect(verifyMessage(PAYMENT_RESULT_FIELDS, message, MERCHANT)).toMatchObject({ ok: false, problem: expect.stringMatching(/terminal "99999999"/) });
  });

  it('refuses another account and a missing signValue', () => {
    const other = { ...RESULT, account: '111111' };
    expect(verifyMessage(PAYMENT_RESULT_FIELDS, { ...other, signValue: sign(PAYMENT_RESULT_FIELDS, other, SAMPLE_SECURE_CODE) }, MERCHANT))
      .toMatchObject({ ok: false, problem: expect.stringMatching(/account "111111"/) });
    expect(verifyMessage(PAYMENT_RESULT_FIELDS, RESULT, MERCHANT)).toMatchObject({ ok: false, problem: 'message has no signValue' });
  });
});

describe('sanitizeBillingField', () => {
  it.each([
    ['  Ann  ', 'Ann'],
    ['O\'Brien', 'OBrien'],
    ['"Bob" <bob>', 'Bob bob'],
    ['  "x" ', 'x'],
    ['José Müller', 'José Müller'],
    ['a@b.co', 'a@b.co'],
  ])('turns %j into %j', (input, expected) => {
    expect(sanitizeBillingField(input)).toBe(expected);
  });
});
