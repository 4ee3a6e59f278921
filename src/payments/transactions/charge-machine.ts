/**
 * How a charge's status may move. Outcomes arrive from the synchronous answer, notices
 * (maybe twice, maybe out of order) and queries; this decides which of them change anything.
 * A success is final; a failure can only be overturned by a success (the money moved after all);
 * an open status only moves forward (sending < unknown < pending < action_required).
 */
import type { ChargeStatus } from '../../db/database.ts';
import type { ChargeOutcome } from '../outcomes.ts';

/** Anything that can settle or advance an attempt. */
export type Resolution =
  | { kind: 'outcome'; outcome: ChargeOutcome }
  /** The gateway has no such order: the request never arrived, so the period may be charged again. */
  | { kind: 'not_sent'; reason: string }
  /** The customer did not complete 3-D Secure before the link expired (or the subscription ended first). */
  | { kind: 'authentication_expired'; reason?: string }
  /** A query found nothing final (pending, unreachable): only the next query moves. */
  | { kind: 'still_unresolved'; reason: string };

/** What a charge's change means for whoever it was charged for (the subscription machine takes it). */
export type ChargeEvent =
  | { type: 'payment_succeeded' }
  | { type: 'payment_failed'; declineClass: 'soft' | 'hard'; retryLimit?: number }
  | { type: 'request_rejected' }
  | { type: 'action_required' }
  | { type: 'authentication_expired' }
  | { type: 'charge_not_sent' };

const RANK: Record<ChargeStatus, number> = {
  sending: 0,
  unknown: 1,
  pending: 2,
  action_required: 3,
  failed: 4,
  expired: 4,
  succeeded: 5,
};

export const isFinal = (status: ChargeStatus) => RANK[status] >= 4;

export interface ChargeChange {
  status: ChargeStatus;
  declineClass?: string | null;
  providerCode?: string | null;
  providerMessage?: string | null;
  providerReference?: string | null;
  actionUrl?: string | null;
  failureReason?: string | null;
  /** true: clear the query schedule; 'soon': query now; 'next': next slot of the schedule. */
  query: 'none' | 'now' | 'next';
}

export type ChargeStep =
  | { changed: true; change: ChargeChange; event: ChargeEvent | null }
  | { changed: false; why: string };

export function nextChargeStep(charge: { status: ChargeStatus }, resolution: Resolution): ChargeStep {
  const current = charge.status;
  const unchanged = (why: string): ChargeStep => ({ changed: false, why });
  const moveTo = (target: ChargeStatus, change: Omit<ChargeChange, 'status'>, event: ChargeEvent | null): ChargeStep => {
    if (current === 'succeeded') return unchanged('the charge already succeeded; a success is final');
    if (target !== 'succeeded' && RANK[target] <= RANK[current]) {
      return unchanged(`the charge is already ${current}; ${target} would not move it forward`);
    }
    return { changed: true, change: { status: target, ...change }, event };
  };

  switch (resolution.kind) {
    case 'not_sent':
      if (current !== 'sending' && current !== 'unknown') return unchanged(`the charge is ${current}, so the provider has seen it`);
      return moveTo('failed', { failureReason: `not sent: ${resolution.reason}`, query: 'none' }, { type: 'charge_not_sent' });
    case 'authentication_expired':
      if (current !== 'action_required') return unchanged(`the charge is ${current}, not waiting for the customer`);
      return moveTo('expired', { failureReason: resolution.reason ?? '3-D Secure not completed before the link expired', query: 'none' }, { type: 'authentication_expired' });
    case 'still_unresolved':
      if (isFinal(current)) return unchanged(`the charge is already ${current}`);
      return unchanged(resolution.reason);
    case 'outcome':
      break;
  }

  const outcome = resolution.outcome;
  const facts = {
    providerReference: 'paymentId' in outcome ? (outcome.paymentId ?? null) : null,
    providerCode: outcome.code ?? null,
    providerMessage: 'details' in outcome ? (outcome.details ?? null) : null,
  };
  switch (outcome.kind) {
    case 'approved':
      return moveTo('succeeded', { ...facts, query: 'none', failureReason: null, declineClass: null }, { type: 'payment_succeeded' });
    case 'declined':
      if (outcome.declineClass === 'duplicate') {
        // e.g. Oceanpayment's 20061: this reference is already paid. Find out by query, never count it as a failure.
        if (current !== 'sending') return unchanged('a duplicate-order answer only matters for a charge just sent');
        return moveTo('unknown', { ...facts, declineClass: 'duplicate', query: 'now' }, null);
      }
      return moveTo(
        'failed',
        { ...facts, declineClass: outcome.declineClass, query: 'none' },
        outcome.declineClass === 'request'
          ? { type: 'request_rejected' }
          : {
              type: 'payment_failed',
              declineClass: outcome.declineClass,
              ...(outcome.retryLimit !== undefined ? { retryLimit: outcome.retryLimit } : {}),
            },
      );
    case 'action_required':
      return moveTo('action_required', { ...facts, actionUrl: outcome.payUrl, query: 'none' }, { type: 'action_required' });
    case 'pending':
      return moveTo('pending', { ...facts, ...(outcome.scanCode ? { actionUrl: outcome.scanCode } : {}), query: 'next' }, null);
    case 'unknown':
      return moveTo('unknown', { ...facts, failureReason: outcome.reason, query: 'next' }, null);
  }
}
