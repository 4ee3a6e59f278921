/**
 * What a payment provider can say, in words every provider shares: amounts as integer minor units
 * plus a currency, a decline class instead of a provider's codes, the provider's own reference.
 * Each provider maps its protocol onto these; nothing above src/payments reads a provider's fields.
 */
import type { Money } from '../lib/money.ts';

/**
 * How to treat a decline: `soft` retry on the dunning schedule; `hard` stop and ask for another
 * card; `request` our request was wrong (configuration), retry later without penalty; `duplicate`
 * the provider already has a successful payment for this reference (query it, never charge again).
 */
export type DeclineClass = 'soft' | 'hard' | 'request' | 'duplicate';

/** The outcome of a charge, from its synchronous answer, a notice, or a query. */
export type ChargeOutcome =
  | { kind: 'approved'; paymentId: string; code?: string; details?: string; quickpayId?: string }
  | { kind: 'declined'; declineClass: DeclineClass; code: string; details: string; retryLimit?: number; paymentId?: string }
  /** The customer must act (3-D Secure): `payUrl` is where the provider wants them. */
  | { kind: 'action_required'; payUrl: string; paymentId?: string; code?: string; details?: string }
  /** `scanCode`: what the customer scans to pay at a counter (an in-person QR order), when there is one. */
  | { kind: 'pending'; paymentId?: string; code?: string; details?: string; scanCode?: string }
  | { kind: 'unknown'; reason: string; code?: string; paymentId?: string };

/** One payment the provider holds for a reference, as a query reports it. */
export interface QueriedPayment {
  readonly paymentId: string;
  /** Null when the provider's amount could not be read as money in the expected currency. */
  readonly money: Money | null;
  readonly outcome: ChargeOutcome;
  /** The provider reports a chargeback (or fraud return) on this payment. */
  readonly chargedBack: boolean;
  /** The provider reports a completed refund of (part of) this payment; absent when it does not say. */
  readonly refunded?: boolean;
}

export type ChargeQueryResult =
  /** The provider's payments for the reference, newest first. */
  | { kind: 'found'; payments: QueriedPayment[] }
  /** The provider has no payment for the reference: the request never reached it. */
  | { kind: 'not_found' }
  | { kind: 'error'; reason: string };

export type RefundRequestOutcome =
  /** Taken; the money moves later (a query or a confirmed notice says when). */
  | { kind: 'accepted'; refundId: string }
  /** Done at once (Glocash answers REQ_CODE 200 only once the money is given back). */
  | { kind: 'refunded'; refundId: string }
  /** Refused at once: nothing will be refunded for this request. */
  | { kind: 'refused'; code: string; message: string }
  /** No believable answer: query by our refund reference before asking again. */
  | { kind: 'unknown'; reason: string };

export type RefundQueryResult =
  | { kind: 'refunded'; refundId: string }
  | { kind: 'pending'; refundId: string }
  | { kind: 'failed'; refundId: string; message: string }
  | { kind: 'not_found' }
  | { kind: 'error'; reason: string };

/** A provider's decline text as a customer may read it: without a leading code ("80022:Not sufficient funds" → "Not sufficient funds"). */
export function declineMessage(details: string): string {
  const text = details.trim();
  const match = /^[A-Za-z0-9]{1,10}:\s*(.*)$/s.exec(text);
  return match ? match[1]!.trim() || text : text;
}
