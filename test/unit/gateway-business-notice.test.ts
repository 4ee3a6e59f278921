import { describe, expect, it } from 'vitest';
import { parseNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import type { BusinessNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import { sign } from '../../src/payments/providers/oceanpayment/sign.ts';
import type { MerchantCredentials } from '../../src/payments/providers/oceanpayment/sign.ts';
import { buildFlatXml } from '../../src/payments/providers/oceanpayment/xml.ts';
import { SANDBOX_BUSINESS_NOTICE_SIGN_FIELDS } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';

const MERCHANT: MerchantCredentials = { account: '995149', terminal: '99514901', secureCode: '12345678' };

/** A partial refund notice with the documented fields (DOC `webhook/payments/orders`). */
const PARTIAL_REFUND: Record<string, string> = {
  notice_type: 'partialRefund', account: '995149', terminal: '99514901', signValue: 'C'.repeat(64),
  payment_dateTime: '2025-05-27 14:16:41', payment_debitTime: '2025-05-28 09:00:00', push_dateTime: '2025-05-28 09:00:05',
  order_number: 'sub-7-3-1', order_currency: 'USD', order_amount: '19.99', order_notes: 'subscription 7 period 3',
  card_type: 'Visa', card_country: 'US', payment_id: '250527141641780010530', refund_number: 'R-7-3-1', refund_reference: '',
  push_status: '1', push_details: 'Refund completed', push_id: '250528090000700000004', payment_cpdTime: '',
};

function read(fields: Record<string, string>): BusinessNotice {
  const notice = parseNotice(buildFlatXml('response', Object.entries(fields)), MERCHANT);
  if (notice.kind !== 'business') throw new Error(`expected a business notice, got ${notice.kind}`);
  return notice;
}

describe('business notice claims', () => {
  it('reads the documented fields of a refund notice into typed claims', () => {
    const notice = read(PARTIAL_REFUND);
    expect(notice.verified).toBe(false);
    expect(notice.claims).toEqual({
      noticeType: 'partialRefund', category: 'refund', pushId: '250528090000700000004', pushStatus: 'succeeded',
      pushDetails: 'Refund completed', refundNumber: 'R-7-3-1', refundReference: '', account: '995149', terminal: '99514901',
      orderNumber: 'sub-7-3-1', paymentId: '250527141641780010530', orderAmount: '19.99', orderCurrency: 'USD',
      orderNotes: 'subscription 7 period 3', pushDateTime: '2025-05-28 09:00:05', paymentDateTime: '2025-05-27 14:16:41',
      debitTime: '2025-05-28 09:00:00', exceptionTime: '', problems: [],
    });
  });

  it.each([
    ['refund', '0', 'refund', 'failed'],
    ['chargeBack', '1', 'chargeback', 'succeeded'],
    ['re-presentment', '2', 'dispute', 'in_dispute'],
    ['retrieval', '1', 'dispute', 'succeeded'],
    ['fraud', '1', 'fraud', 'succeeded'],
    ['ARN', '1', 'other', 'succeeded'],
    ['highRisk', '7', 'other', 'unrecognised'],
    ['somethingNew', '1', 'other', 'succeeded'],
  ])('reads notice_type %s with push_status %s as %s, %s', (noticeType, status, category, pushStatus) => {
    expect(read({ ...PARTIAL_REFUND, notice_type: noticeType, push_status: status }).claims).toMatchObject({ noticeType, category, pushStatus });
  });

  it('lists the fields whose format is wrong, and shows their values escaped', () => {
    const claims = read({ ...PARTIAL_REFUND, payment_id: '25O5', order_amount: '19.999', push_id: 'a b', order_number: 'x\u009b2Jy' }).claims;
    expect(claims.problems).toEqual([
      expect.stringMatching(/^payment_id "25O5"/),
      expect.stringMatching(/^push_id "a b"/),
      expect.stringMatching(/^order_number "x\\x9b2Jy"/),
      expect.stringMatching(/^order_amount "19.999"/),
    ]);
    expect(claims.orderNumber).toBe('x\\x9b2Jy');
  });

  it('stays unverified even when signed with the sandbox formula and the right secure code: nothing may rely on it', () => {
    const values = { ...PARTIAL_REFUND };
    values.signValue = sign(SANDBOX_BUSINESS_NOTICE_SIGN_FIELDS, values, MERCHANT.secureCode).toUpperCase();
    expect(read(values)).toMatchObject({ kind: 'business', verified: false });
  });
});
