import { describe, expect, it } from 'vitest';
import { termDifferences, validateEnrolment, type EnrolInput } from '../../src/subscriptions/enrol.ts';
import type { Subscription } from '../../src/db/database.ts';

const NOW = new Date('2026-11-01T12:00:00Z');
const ADA: EnrolInput = {
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  country: 'GB',
  interval: 'month',
  amount: '9.99',
  currency: 'GBP',
  quickpayId: 'tok-ada',
};
const CSV_NAMES = { firstPaidAt: 'first_paid_at', renewalsPaid: 'renewals_paid' };

function issues(input: Partial<EnrolInput>) {
  const result = validateEnrolment({ ...ADA, ...input }, NOW, CSV_NAMES);
  return result.ok ? [] : result.issues;
}

describe('enrolment e-mail addresses', () => {
  it.each(['ada,bob@example.com', 'ada;bob@example.com', 'a(comment)@example.com', 'a@b..com'])(
    'refuses %s, naming the value',
    (email) => {
      expect(issues({ email })).toEqual([{ field: 'email', message: expect.stringContaining(`e-mail "${email}" is not a valid address such as name@example.com: `) }]);
    },
  );

  it("accepts a sub-addressed mailbox on a deep domain, and refuses the apostrophe the gateway's signature strips", () => {
    expect(validateEnrolment({ ...ADA, email: 'a.b+tag@sub.example.co.uk' }, NOW)).toMatchObject({ ok: true, row: { customer_email: 'a.b+tag@sub.example.co.uk' } });
    expect(issues({ email: "o'neil@example.com" })).toEqual([{ field: 'email', message: expect.stringMatching(/o'neil@example\.com.*" ' < or >, which the gateway does not accept/) }]);
  });

  it('keeps the 50-character limit of the gateway', () => {
    const email = `${'a'.repeat(40)}@example.com`;
    expect(issues({ email })).toEqual([{ field: 'email', message: `e-mail "${email}" is longer than the gateway's 50 characters` }]);
  });
});

describe('control characters in an enrolment', () => {
  it.each([
    ['firstName', 'Ada\x1b[31m', 'first name contains a control character (U+001B) at position 4'],
    ['lastName', 'Love\0lace', 'last name contains a control character (U+0000) at position 5'],
    ['email', 'ada@example.com\x07', 'e-mail contains a control character (U+0007) at position 16'],
    ['product', 'Pro\u009b2J', 'product name contains a control character (U+009B) at position 4'],
    ['quickpayId', 'tok\x7f', 'quickpay id contains a control character (U+007F) at position 4'],
    ['country', 'G\tB', 'country contains a control character (U+0009) at position 2'],
    ['timezone', 'Europe/London\r\n', 'time zone contains a control character (U+000D) at position 14'],
    ['externalId', 'shop\x001', 'external id contains a control character (U+0000) at position 5'],
    ['firstPaidAt', '2026-01-01\x00', 'first_paid_at contains a control character (U+0000) at position 11'],
  ] as const)('refuses one in %s, naming the field, the character and where it is', (field, value, message) => {
    // Only that one problem: the field's other checks would just repeat the value.
    expect(issues({ [field]: value })).toEqual([{ field, message }]);
  });
});

describe('external ids', () => {
  it('are kept as given (trimmed) and are optional', () => {
    expect(validateEnrolment({ ...ADA, externalId: ' shop:cus/1042#a@b+c_d.e-f ' }, NOW)).toMatchObject({ ok: true, row: { external_id: 'shop:cus/1042#a@b+c_d.e-f' } });
    expect(validateEnrolment(ADA, NOW)).toMatchObject({ ok: true, row: { external_id: null } });
  });

  it.each(['', 'shop 1042', 'a'.repeat(101), 'shop,1042', 'ünï'])('refuses %j, saying what is allowed', (externalId) => {
    expect(issues({ externalId })).toEqual([
      { field: 'externalId', message: `external id "${externalId}" must be 1 to 100 characters: letters A-Z and a-z, digits and . _ - : / # @ + (no spaces)` },
    ]);
  });
});

describe('a repeated enrolment', () => {
  const existingOf = (input: EnrolInput): Subscription => {
    const result = validateEnrolment(input, NOW);
    if (!result.ok) throw new Error(result.problems.join('; '));
    const { card_token: _token, ...row } = result.row;
    return { ...row, payment_method_id: 1, retries_used: 0, cancel_at_period_end: false, renewals_paid: 0, created_at: NOW, updated_at: NOW } as Subscription;
  };
  const rowOf = (input: EnrolInput) => {
    const result = validateEnrolment(input, NOW);
    if (!result.ok) throw new Error(result.problems.join('; '));
    return result.row;
  };

  it('with the same terms (the e-mail in another case) differs in nothing', () => {
    const existing = existingOf({ ...ADA, externalId: 'shop-1' });
    expect(termDifferences(existing, ADA.quickpayId ?? null, rowOf({ ...ADA, email: 'ADA@Example.com', externalId: 'shop-1' }), {})).toEqual([]);
  });

  it('names every term that differs', () => {
    const existing = existingOf({ ...ADA, externalId: 'shop-1', firstPaidAt: '2026-01-31T09:00:00Z' });
    const repeat = { ...ADA, externalId: 'shop-1', email: 'bob@example.com', amount: '12.00', quickpayId: 'tok-other', interval: 'year', firstPaidAt: '2026-02-01T09:00:00Z' };
    expect(termDifferences(existing, ADA.quickpayId ?? null, rowOf(repeat), repeat)).toEqual([
      'e-mail "ada@example.com" on the subscription, "bob@example.com" given',
      'interval "month" on the subscription, "year" given',
      'amount "9.99" on the subscription, "12.00" given',
      'quickpay id "tok-ada" on the subscription, "tok-other" given',
      'product name "Monthly subscription" on the subscription, "Yearly subscription" given',
      'first purchase "2026-01-31T09:00:00.000Z" on the subscription, "2026-02-01T09:00:00.000Z" given',
    ]);
  });
});
