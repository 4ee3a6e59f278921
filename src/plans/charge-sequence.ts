/**
 * Where a charge sits in a subscription's life, in neutral words: period 0 is the first purchase,
 * period 1 the first automatic renewal, every later period a renewal. Providers encode it their
 * own way (Oceanpayment: X1, X2, X3 as service_mode). Retries of a period keep its sequence.
 */
export type ChargeSequence = 'single' | 'first_purchase' | 'first_renewal' | 'renewal';

export function sequenceOf(period: number): ChargeSequence {
  if (!Number.isInteger(period) || period < 0) throw new RangeError(`period must be a whole number >= 0, got ${period}`);
  return period === 0 ? 'first_purchase' : period === 1 ? 'first_renewal' : 'renewal';
}
