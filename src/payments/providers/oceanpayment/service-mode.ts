/**
 * Oceanpayment's `service_mode` (seed 002): S1 for a single purchase; for a subscription,
 * X1 for the first purchase, X2 for the first automatic renewal and X3 for every later one,
 * where X is the interval's letter. Retries of a period keep that period's mode.
 */
import type { Interval } from '../../../plans/billing-calendar.ts';
import type { ChargeSequence } from '../../provider.ts';

export type ServiceMode = 'S1' | `${'W' | 'M' | 'Q' | 'H' | 'Y'}${1 | 2 | 3}`;

const LETTER: Record<Interval, 'W' | 'M' | 'Q' | 'H' | 'Y'> = {
  week: 'W',
  month: 'M',
  quarter: 'Q',
  'half-year': 'H',
  year: 'Y',
};

export const SINGLE_PURCHASE: ServiceMode = 'S1';

/** The mode for charging period `period` (0 = first purchase, 1 = first renewal, …). */
export function serviceModeFor(interval: Interval, period: number): ServiceMode {
  if (!Number.isInteger(period) || period < 0) throw new RangeError(`period must be a whole number >= 0, got ${period}`);
  const stage = period === 0 ? 1 : period === 1 ? 2 : 3;
  return `${LETTER[interval]}${stage}`;
}

/** The mode for a charge's place in a subscription's life. */
export function serviceModeForSequence(interval: Interval, sequence: ChargeSequence): ServiceMode {
  switch (sequence) {
    case 'single':
      return SINGLE_PURCHASE;
    case 'first_purchase':
      return serviceModeFor(interval, 0);
    case 'first_renewal':
      return serviceModeFor(interval, 1);
    case 'renewal':
      return serviceModeFor(interval, 2);
  }
}
