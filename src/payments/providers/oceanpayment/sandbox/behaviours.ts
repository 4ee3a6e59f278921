/**
 * What the sandbox does with a charge is chosen by the start of its card token (`quickpay_id`).
 * Real tokens are UUIDs, which never start with these words, so they are simply approved.
 * `3ds-alice-42` is a 3-D Secure charge, `soft-decline-7` a soft decline, and so on.
 */

export type Behaviour =
  | 'approve'
  | 'soft-decline'
  | 'hard-decline'
  | '3ds'
  | 'timeout'
  | 'pending'
  | 'duplicate-notice'
  | 'out-of-order'
  | 'decline-once'
  | 'lost-notice';

export interface BehaviourRow {
  readonly prefix: string;
  readonly behaviour: Behaviour;
  readonly description: string;
}

/** The table, longest prefixes first so the most specific one wins. Documented in the README. */
export const BEHAVIOURS: readonly BehaviourRow[] = [
  { prefix: 'duplicate-notice', behaviour: 'duplicate-notice', description: 'approved; the notice is sent twice' },
  { prefix: 'hard-decline', behaviour: 'hard-decline', description: 'declined 80040 (lost or stolen card): never retry' },
  { prefix: 'soft-decline', behaviour: 'soft-decline', description: 'declined 80022 (not sufficient funds): retry later' },
  { prefix: 'out-of-order', behaviour: 'out-of-order', description: 'approved; the approval notice, then a stale pending notice for the same payment' },
  { prefix: 'decline-once', behaviour: 'decline-once', description: 'declined 80022 on the first charge of this token, approved afterwards' },
  { prefix: 'timeout', behaviour: 'timeout', description: 'booked as approved, but no answer (held until the client gives up) and no notice: only a query reveals it' },
  { prefix: 'lost-notice', behaviour: 'lost-notice', description: 'payment_status -1 without pay_url; after pendingNoticeDelayMs it is approved, but its notice is lost: only a query or the day\'s order list reveals it' },
  { prefix: 'pending', behaviour: 'pending', description: 'payment_status -1 without pay_url; after pendingNoticeDelayMs it is approved and the notice sent' },
  { prefix: '3ds', behaviour: '3ds', description: 'payment_status -1 with a pay_url (80093 pending notice); the customer\'s choice on the page decides' },
];

/** Everything else: approved (80000). */
export const DEFAULT_BEHAVIOUR: Behaviour = 'approve';

/** Behaviours in a fixed order, so the ledger can store one small number per charge. */
export const BEHAVIOUR_CODES: readonly Behaviour[] = [DEFAULT_BEHAVIOUR, ...BEHAVIOURS.map((row) => row.behaviour)];

export function behaviourForToken(quickpayId: string): Behaviour {
  const token = quickpayId.trim().toLowerCase();
  return BEHAVIOURS.find((row) => token.startsWith(row.prefix))?.behaviour ?? DEFAULT_BEHAVIOUR;
}

/**
 * What the sandbox does with refunds of a payment, chosen the same way by the start of the
 * payment's card token (the payment itself is approved like any other). Documented in the README.
 */
export type RefundBehaviour = 'refund' | 'refund-pending' | 'refund-refused';

export const REFUND_BEHAVIOURS: ReadonlyArray<{ readonly prefix: string; readonly behaviour: RefundBehaviour; readonly description: string }> = [
  { prefix: 'refund-pending', behaviour: 'refund-pending', description: 'refunds are accepted and stay pending ("pending for days") until settled with POST /sandbox/refunds/{refund_id}' },
  { prefix: 'refund-refused', behaviour: 'refund-refused', description: 'refunds are refused for insufficient balance (sandbox code S06)' },
];

/** Everything else: accepted, then refunded after refundDelayMs, with a refund or partialRefund notice. */
export const DEFAULT_REFUND_BEHAVIOUR: RefundBehaviour = 'refund';

export function refundBehaviourForToken(quickpayId: string): RefundBehaviour {
  const token = quickpayId.trim().toLowerCase();
  return REFUND_BEHAVIOURS.find((row) => token.startsWith(row.prefix))?.behaviour ?? DEFAULT_REFUND_BEHAVIOUR;
}
