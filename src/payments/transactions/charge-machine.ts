/**
 * How a charge attempt's status may move. Outcomes arrive from the synchronous answer, notices
 * (maybe twice, maybe out of order) and queries; this decides which of them change anything.
 * A success is final; a failure can only be overturned by a success (the money moved after all);
 * an open status only moves forward (sending < unknown < pending < action_required).
 */
import type { AttemptStatus, ChargeAttempt } from '../../db/database.ts';
import type { ChargeOutcome } from '../providers/oceanpayment/outcome.ts';
import type { SubscriptionEvent } from '../../subscriptions/subscription-machine.ts';

/** Anything that can settle or advance an attempt. */
export type Resolution =
  | { kind: 'outcome'; outcome: ChargeOutcome }
  /** The gateway has no such order: the request never arrived, so the period may be charged again. */
  | { kind: 'not_sent'; reason: string }
  /** The customer did not complete 3-D Secure before the link expired (or the subscription ended first). */
  | { kind: 'authentication_expired'; reason?: string }
  /** A query found nothing final (pending, unreachable): only the next query moves. */
  | { kind: 'still_unresolved'; reason: string };

const RANK: Record<AttemptStatus, number> = {
  sending: 0,
  unknown: 1,
  pending: 2,
  action_required: 3,
  failed: 4,
  expired: 4,
  succeeded: 5,
};

export const isFinal = (status: AttemptStatus) => RANK[status] >= 4;

export interface AttemptChange {
  status: AttemptStatus;
  declineClass?: string | null;
  gatewayCode?: string | null;
  gatewayDetails?: string | null;
  paymentId?: string | null;
  payUrl?: string | null;
  failureReason?: string | null;
  /** true: clear the query schedule; 'soon': query now; 'next': next slot of the schedule. */
  query: 'none' | 'now' | 'next';
}

export type AttemptStep =
  | { changed: true; change: AttemptChange; subscriptionEvent: SubscriptionEvent | null }
  | { changed: false; why: string };

export function nextAttemptStep(attempt: Pick<ChargeAttempt, 'status' | 'period'>, resolution: Resolution): AttemptStep {
  const current = attempt.status;
  const period = attempt.period;
  const unchanged = (why: string): AttemptStep => ({ changed: false, why });
  const moveTo = (target: AttemptStatus, change: Omit<AttemptChange, 'status'>, event: SubscriptionEvent | null): AttemptStep => {
    if (current === 'succeeded') return unchanged('the attempt already succeeded; a success is final');
    if (target !== 'succeeded' && RANK[target] <= RANK[current]) {
      return unchanged(`the attempt is already ${current}; ${target} would not move it forward`);
    }
    return { changed: true, change: { status: target, ...change }, subscriptionEvent: event };
  };

  switch (resolution.kind) {
    case 'not_sent':
      if (current !== 'sending' && current !== 'unknown') return unchanged(`the attempt is ${current}, so the gateway has seen it`);
      return moveTo('failed', { failureReason: `not sent: ${resolution.reason}`, query: 'none' }, { type: 'charge_not_sent', period });
    case 'authentication_expired':
      if (current !== 'action_required') return unchanged(`the attempt is ${current}, not waiting for the customer`);
      return moveTo('expired', { failureReason: resolution.reason ?? '3-D Secure not completed before the link expired', query: 'none' }, {
        type: 'authentication_expired',
        period,
      });
    case 'still_unresolved':
      if (isFinal(current)) return unchanged(`the attempt is already ${current}`);
      return unchanged(resolution.reason);
    case 'outcome':
      break;
  }

  const outcome = resolution.outcome;
  const facts = {
    paymentId: 'paymentId' in outcome ? (outcome.paymentId ?? null) : null,
    gatewayCode: outcome.code ?? null,
    gatewayDetails: 'details' in outcome ? (outcome.details ?? null) : null,
  };
  switch (outcome.kind) {
    case 'approved':
      return moveTo('succeeded', { ...facts, query: 'none', failureReason: null, declineClass: null }, { type: 'payment_succeeded', period });
    case 'declined':
      if (outcome.declineClass === 'duplicate') {
        // 20061: this order number is already paid. Find out by query, never count it as a failure.
        if (current !== 'sending') return unchanged('a duplicate-order answer only matters for a charge just sent');
        return moveTo('unknown', { ...facts, declineClass: 'duplicate', query: 'now' }, null);
      }
      return moveTo(
        'failed',
        { ...facts, declineClass: outcome.declineClass, query: 'none' },
        outcome.declineClass === 'request'
          ? { type: 'request_rejected', period }
          : {
              type: 'payment_failed',
              period,
              declineClass: outcome.declineClass,
              ...(outcome.retryLimit !== undefined ? { retryLimit: outcome.retryLimit } : {}),
            },
      );
    case 'action_required':
      return moveTo('action_required', { ...facts, payUrl: outcome.payUrl, query: 'none' }, { type: 'action_required', period });
    case 'pending':
      return moveTo('pending', { ...facts, query: 'next' }, null);
    case 'unknown':
      return moveTo('unknown', { ...facts, failureReason: outcome.reason, query: 'next' }, null);
  }
}
