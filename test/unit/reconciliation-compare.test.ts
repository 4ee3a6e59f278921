/** The pure parts of reconciliation: what a listed line means against rebill's records, the gateway's day, CSV cells. */
import { describe, expect, it } from 'vitest';
import type { PaymentTransaction } from '../../src/db/database.ts';
import { csvCell, csvLine } from '../../src/lib/csv.ts';
import type { ListedBusinessOrder, PaymentProvider, SettledPayment } from '../../src/payments/provider.ts';
import { gatewayDay } from '../../src/payments/providers/oceanpayment/settlement.ts';
import { compareBusiness, comparePayment } from '../../src/reconciliation/compare.ts';
import { lastCompleteDay } from '../../src/reconciliation/reconcile.job.ts';

const charge = (overrides: Partial<PaymentTransaction> = {}): PaymentTransaction => ({
  id: 1, kind: 'charge', subscription_id: 's', invoice_id: 1, parent_id: null, period: 1, provider: 'oceanpayment', provider_account: '995149/99514901',
  reference: 'ORD-1', provider_reference: '111', amount_minor: 999, currency: 'USD', status: 'succeeded', decline_class: null, provider_code: null,
  provider_message: null, action_url: null, failure_reason: null, reason: null, details: {}, query_count: 0, next_query_at: null,
  requested_at: new Date(0), resolved_at: null, created_at: new Date(0), updated_at: new Date(0), ...overrides,
});
const listed = (overrides: Partial<SettledPayment> = {}): SettledPayment => ({
  reference: 'ORD-1', paymentId: '111', money: { amountMinor: 999, currency: 'USD' }, amountText: '9.99', currency: 'USD', paidAt: null, ...overrides,
});
const business = (overrides: Partial<ListedBusinessOrder> = {}): ListedBusinessOrder => ({
  category: 'refund', type: 'refund', reference: 'ORD-1', paymentId: '111', money: { amountMinor: 400, currency: 'USD' }, amountText: '4.00', currency: 'USD', state: 'done', at: null, ...overrides,
});

describe('comparePayment', () => {
  it('matches a payment rebill recorded with the same money and payment id', () => {
    expect(comparePayment(listed(), charge(), 'oceanpayment')).toEqual({ kind: 'matched' });
  });
  it('asks the order query about a payment open or failed in rebill (a lost notice)', () => {
    for (const status of ['pending', 'unknown', 'sending', 'failed', 'expired'] as const) {
      expect(comparePayment(listed(), charge({ status }), 'oceanpayment')).toMatchObject({ kind: 'confirm_success' });
    }
  });
  it('flags an order rebill never sent, a different amount or currency, and another payment id', () => {
    expect(comparePayment(listed(), undefined, 'oceanpayment')).toMatchObject({ kind: 'flag', item: 'unknown_payment' });
    expect(comparePayment(listed(), charge({ provider: 'glocash' }), 'oceanpayment')).toMatchObject({ kind: 'flag', item: 'unknown_payment' });
    expect(comparePayment(listed({ money: { amountMinor: 1000, currency: 'USD' } }), charge(), 'oceanpayment')).toMatchObject({ kind: 'flag', item: 'amount_mismatch' });
    expect(comparePayment(listed({ money: { amountMinor: 999, currency: 'EUR' } }), charge({ status: 'pending' }), 'oceanpayment')).toMatchObject({ kind: 'flag', item: 'amount_mismatch' });
    expect(comparePayment(listed({ money: null, amountText: '9.999' }), charge(), 'oceanpayment')).toMatchObject({ kind: 'flag', item: 'amount_mismatch', detail: expect.stringContaining('"9.999" USD') });
    expect(comparePayment(listed({ paymentId: '222' }), charge(), 'oceanpayment')).toMatchObject({ kind: 'flag', item: 'payment_id_mismatch' });
  });
});

describe('compareBusiness', () => {
  const refund = (overrides: Partial<PaymentTransaction> = {}) => charge({ id: 10, kind: 'refund', parent_id: 1, amount_minor: 400, reference: 'ORD-1-R1', ...overrides });
  it('matches a listed refund to one of rebill\'s, one to one', () => {
    const done = refund({ status: 'succeeded' });
    expect(compareBusiness(business(), charge(), [done], new Set(), 'oceanpayment')).toEqual({ kind: 'matched', refundId: 10 });
    expect(compareBusiness(business(), charge(), [done], new Set([10]), 'oceanpayment')).toMatchObject({ kind: 'confirm_refund', money: { amountMinor: 400 } });
  });
  it('settles rebill\'s own refund still open here, and confirms one rebill never asked for', () => {
    expect(compareBusiness(business(), charge(), [refund({ status: 'pending' })], new Set(), 'oceanpayment')).toMatchObject({ kind: 'settle_refund' });
    expect(compareBusiness(business(), charge(), [refund({ status: 'failed' })], new Set(), 'oceanpayment')).toMatchObject({ kind: 'confirm_refund' });
  });
  it('confirms an unknown chargeback and matches a known one', () => {
    const row = business({ category: 'chargeback', type: 'chargeback', money: { amountMinor: 999, currency: 'USD' } });
    expect(compareBusiness(row, charge(), [], new Set(), 'oceanpayment')).toMatchObject({ kind: 'confirm_chargeback' });
    expect(compareBusiness(row, charge(), [refund({ kind: 'chargeback', status: 'succeeded' })], new Set(), 'oceanpayment')).toMatchObject({ kind: 'matched' });
  });
  it('ignores refunds that failed or are pending (no money moved), flags what is not a payment of rebill\'s', () => {
    expect(compareBusiness(business({ state: 'failed' }), undefined, [], new Set(), 'oceanpayment')).toEqual({ kind: 'ignored' });
    expect(compareBusiness(business({ state: 'pending' }), charge(), [], new Set(), 'oceanpayment')).toEqual({ kind: 'ignored' });
    expect(compareBusiness(business(), undefined, [], new Set(), 'oceanpayment')).toMatchObject({ kind: 'flag', item: 'unknown_business' });
    expect(compareBusiness(business(), charge({ status: 'pending' }), [], new Set(), 'oceanpayment')).toMatchObject({ kind: 'flag' });
    expect(compareBusiness(business({ category: 'other', type: 'dispute' }), charge(), [], new Set(), 'oceanpayment')).toMatchObject({ kind: 'flag', detail: expect.stringContaining('dispute') });
    expect(compareBusiness(business({ money: { amountMinor: 400, currency: 'EUR' } }), charge(), [], new Set(), 'oceanpayment')).toMatchObject({ kind: 'flag' });
  });
});

describe("the gateway's day", () => {
  it('is midnight to 23:59:59 at UTC+8 by default, or at the configured offset', () => {
    expect(gatewayDay('2026-12-01', 480)).toEqual({ day: '2026-12-01', from: new Date('2026-11-30T16:00:00Z'), to: new Date('2026-12-01T15:59:59Z') });
    expect(gatewayDay('2026-12-01', -300)).toEqual({ day: '2026-12-01', from: new Date('2026-12-01T05:00:00Z'), to: new Date('2026-12-02T04:59:59Z') });
  });
  it('refuses what is not a day, naming it and the form to use', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '1.12.2026', '2026-12-1', '']) {
      expect(() => gatewayDay(bad, 480)).toThrow(/is not a day; write it as YYYY-MM-DD/);
    }
  });
  it('the last complete day is the one before, once the gateway\'s midnight has passed', () => {
    const provider = { settlementWindow: (day: string) => gatewayDay(day, 480) } as unknown as PaymentProvider;
    expect(lastCompleteDay(provider, new Date('2026-12-02T01:00:00Z'))).toBe('2026-12-01');
    expect(lastCompleteDay(provider, new Date('2026-12-01T15:59:00Z'))).toBe('2026-11-30');
    expect(lastCompleteDay(provider, new Date('2026-12-01T16:00:00Z'))).toBe('2026-12-01');
  });
});

describe('CSV cells', () => {
  it('quotes what needs it and defuses formulas, leaving numbers alone', () => {
    expect(csvLine(['a,b', 'say "hi"', null, 12, '-3.50'])).toBe('"a,b","say ""hi""",,12,-3.50\r\n');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('+1 555')).toBe("'+1 555");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});
