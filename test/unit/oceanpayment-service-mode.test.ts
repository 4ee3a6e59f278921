import { describe, expect, it } from 'vitest';
import { INTERVALS } from '../../src/plans/billing-calendar.ts';
import { SINGLE_PURCHASE, serviceModeFor } from '../../src/payments/providers/oceanpayment/service-mode.ts';

describe('service_mode (seed 002 table)', () => {
  const table = {
    week: ['W1', 'W2', 'W3', 'W3', 'W3'],
    month: ['M1', 'M2', 'M3', 'M3', 'M3'],
    quarter: ['Q1', 'Q2', 'Q3', 'Q3', 'Q3'],
    'half-year': ['H1', 'H2', 'H3', 'H3', 'H3'],
    year: ['Y1', 'Y2', 'Y3', 'Y3', 'Y3'],
  } as const;

  it.each(INTERVALS.flatMap((interval) => [0, 1, 2, 3, 40].map((period, i) => [interval, period, table[interval][i]] as const)))(
    '%s period %i is %s',
    (interval, period, mode) => {
      expect(serviceModeFor(interval, period)).toBe(mode);
    },
  );

  it('a single purchase is S1', () => {
    expect(SINGLE_PURCHASE).toBe('S1');
  });

  it('refuses a negative or fractional period', () => {
    expect(() => serviceModeFor('month', -1)).toThrow(RangeError);
    expect(() => serviceModeFor('month', 1.5)).toThrow(RangeError);
  });
});
