/**
 * How a chargeback's status may move. rebill records a chargeback only once the provider confirms
 * it (its notices cannot be verified), so it starts `succeeded`: the money went back to the
 * cardholder. If the merchant wins the dispute (re-presentment), it is `reversed`; that is final.
 */
export const CHARGEBACK_STATUSES = ['succeeded', 'reversed'] as const;
export type ChargebackStatus = (typeof CHARGEBACK_STATUSES)[number];

export type ChargebackResolution = { kind: 'confirmed' } | { kind: 'reversed' };

export type ChargebackStep = { changed: true; status: ChargebackStatus; event: 'chargeback_confirmed' | 'chargeback_reversed' } | { changed: false; why: string };

/** `null` for a chargeback not recorded yet. */
export function nextChargebackStep(current: ChargebackStatus | null, resolution: ChargebackResolution): ChargebackStep {
  if (resolution.kind === 'confirmed') {
    return current === null ? { changed: true, status: 'succeeded', event: 'chargeback_confirmed' } : { changed: false, why: `the chargeback is already recorded (${current})` };
  }
  if (current === 'succeeded') return { changed: true, status: 'reversed', event: 'chargeback_reversed' };
  return { changed: false, why: current === null ? 'no chargeback is recorded to reverse' : 'the chargeback is already reversed' };
}
