/** The report's figures against a hand-made fixture: every number below was worked out by hand. */
import { describe, expect, it } from 'vitest';
import { computeReport, type ReportCharge, type ReportInput, type StatusChange } from '../../src/reports/report.ts';
import { reportCsv, reportText } from '../../src/reports/report-format.ts';

const at = (iso: string) => new Date(`${iso}T12:00:00Z`);
const change = (subscription_id: string, type: string, to_status: string, day: string): StatusChange => ({ subscription_id, type, to_status, occurred_at: at(day) });
const charge = (invoice_id: number, period: number, status: string, day: string, resolved: string | null, action_required = false): ReportCharge => ({
  subscription_id: 's', invoice_id, period, status, action_required, requested_at: at(day), resolved_at: resolved ? at(resolved) : null,
});

const FIXTURE: ReportInput = {
  from: new Date('2026-11-01T00:00:00Z'),
  to: new Date('2026-12-01T00:00:00Z'),
  subscriptions: [
    { id: 'A', product_name: 'Tea box', interval: 'month', amount_minor: 999, currency: 'USD' },
    { id: 'B', product_name: 'Tea box', interval: 'week', amount_minor: 250, currency: 'USD' },
    { id: 'C', product_name: 'Tea box', interval: 'year', amount_minor: 12000, currency: 'USD' },
    { id: 'D', product_name: 'Coffee', interval: 'month', amount_minor: 1500, currency: 'EUR' },
    { id: 'E', product_name: 'Coffee', interval: 'quarter', amount_minor: 4500, currency: 'EUR' },
    { id: 'F', product_name: 'Tea box', interval: 'month', amount_minor: 999, currency: 'USD' },
    { id: 'G', product_name: 'Tea box', interval: 'half-year', amount_minor: 3000, currency: 'USD' },
    { id: 'H', product_name: 'Tea box', interval: 'month', amount_minor: 999, currency: 'USD' },
  ],
  changes: [
    change('G', 'enrolled', 'active', '2026-06-01'),
    change('F', 'enrolled', 'active', '2026-08-01'),
    change('C', 'enrolled', 'active', '2026-09-01'),
    change('G', 'payment_failed', 'past_due', '2026-09-15'),
    change('F', 'payment_failed', 'past_due', '2026-10-01'),
    change('D', 'enrolled', 'active', '2026-10-01'),
    change('A', 'enrolled', 'active', '2026-10-05'),
    change('G', 'payment_failed', 'past_due', '2026-10-20'), // still past due: the ageing counts from 09-15
    change('B', 'enrolled', 'active', '2026-11-03'),
    change('F', 'unpaid', 'unpaid', '2026-11-05'),
    change('C', 'canceled', 'canceled', '2026-11-10'),
    change('E', 'enrolled', 'active', '2026-11-15'),
    change('D', 'payment_failed', 'past_due', '2026-11-20'),
    change('H', 'enrolled', 'active', '2026-12-05'),
  ],
  charges: [
    charge(1, 1, 'succeeded', '2026-11-05', '2026-11-05'),
    charge(2, 2, 'failed', '2026-11-20', '2026-11-20'),
    charge(2, 2, 'failed', '2026-11-21', '2026-11-21'),
    charge(3, 4, 'failed', '2026-10-28', '2026-10-28'),
    charge(3, 4, 'succeeded', '2026-11-02', '2026-11-02'),
    charge(4, 0, 'succeeded', '2026-11-03', '2026-11-03', true),
    charge(5, 1, 'action_required', '2026-11-25', null, true),
    charge(6, 1, 'succeeded', '2026-12-02', '2026-12-02'),
  ],
  moneyBack: [
    { kind: 'refund', status: 'succeeded', amount_minor: 400, currency: 'USD', resolved_at: at('2026-11-06') },
    { kind: 'refund', status: 'succeeded', amount_minor: 599, currency: 'USD', resolved_at: at('2026-11-07') },
    { kind: 'refund', status: 'failed', amount_minor: 100, currency: 'EUR', resolved_at: at('2026-11-08') },
    { kind: 'refund', status: 'succeeded', amount_minor: 100, currency: 'USD', resolved_at: new Date('2026-12-01T00:00:00Z') },
    { kind: 'chargeback', status: 'succeeded', amount_minor: 1500, currency: 'EUR', resolved_at: at('2026-11-22') },
  ],
};

describe('the report', () => {
  it('gives every figure of the hand-made fixture', () => {
    expect(computeReport(FIXTURE)).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      // USD: (999 x 12 + 250 x 52 + 3000 x 2) / 12 = 30988 / 12 = 2582.33; EUR: (1500 x 12 + 4500 x 4) / 12 = 3000.
      mrr: [
        { currency: 'EUR', mrr_minor: 3000, subscriptions: 2 },
        { currency: 'USD', mrr_minor: 2582, subscriptions: 3 },
      ],
      active_by_plan: [
        { product: 'Coffee', interval: 'month', currency: 'EUR', amount_minor: 1500, active: 0, past_due: 1 },
        { product: 'Coffee', interval: 'quarter', currency: 'EUR', amount_minor: 4500, active: 1, past_due: 0 },
        { product: 'Tea box', interval: 'half-year', currency: 'USD', amount_minor: 3000, active: 0, past_due: 1 },
        { product: 'Tea box', interval: 'month', currency: 'USD', amount_minor: 999, active: 1, past_due: 0 },
        { product: 'Tea box', interval: 'week', currency: 'USD', amount_minor: 250, active: 1, past_due: 0 },
      ],
      new_subscriptions: 2,
      churned: { voluntary: 1, involuntary: 1 },
      renewals: { attempted: 4, succeeded: 2, recovered_by_dunning: 1 },
      three_d_secure: { required: 2, completed: 1, completion_rate: 0.5 },
      refunds: [{ currency: 'USD', count: 2, amount_minor: 999 }],
      chargebacks: [{ currency: 'EUR', count: 1, amount_minor: 1500 }],
      // D: from 11-20 12:00 to 12-01 00:00, 10 whole days; G: past due since 09-15, 76 days.
      past_due_ageing: [
        { bucket: '0-7 days', subscriptions: 0 },
        { bucket: '8-14 days', subscriptions: 1 },
        { bucket: '15-30 days', subscriptions: 0 },
        { bucket: '31-60 days', subscriptions: 0 },
        { bucket: 'over 60 days', subscriptions: 1 },
      ],
    });
  });

  it('an empty range reports zeros and no rate, not a division by zero', () => {
    const empty = computeReport({ ...FIXTURE, changes: [], charges: [], moneyBack: [] });
    expect(empty).toMatchObject({ mrr: [], new_subscriptions: 0, renewals: { attempted: 0, succeeded: 0, recovered_by_dunning: 0 }, three_d_secure: { required: 0, completed: 0, completion_rate: null } });
  });

  it('reads as text and as CSV with the same figures', () => {
    const report = computeReport(FIXTURE);
    const text = reportText(report);
    expect(text).toContain('MRR:            EUR 30.00 (2 subscriptions), USD 25.82 (3 subscriptions)');
    expect(text).toContain('Renewals:       4 attempted, 2 succeeded, 1 recovered by dunning');
    expect(text).toContain('3-D Secure:     1 of 2 completed (50.0%)');
    expect(text).toContain('Refunds:        2 (USD 9.99)');
    const csv = reportCsv(report).split('\r\n');
    expect(csv[0]).toBe('figure,detail,currency,value');
    expect(csv).toContain('mrr_minor,3 subscriptions,USD,2582');
    expect(csv).toContain('chargebacks,amount_minor,EUR,1500');
    expect(csv).toContain('past_due,over 60 days,,1');
  });
});
