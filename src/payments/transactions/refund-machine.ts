/**
 * How a refund's status may move. Refunds are asynchronous: the provider accepts the request (or
 * refuses it at once), and the money moves later, which a query or a confirmed notice reports.
 *
 *   sending ──accepted──▶ pending ──refunded──▶ succeeded
 *      │ └──refused──▶ failed          └──failed──▶ failed
 *      └──no answer──▶ unknown ──(query)──▶ pending | succeeded | failed
 *
 * A refund that the provider says it never received (queried while `sending` or `unknown`) failed
 * without moving money, so it may be asked for again. Succeeded and failed are final.
 */
export const REFUND_STATUSES = ['sending', 'pending', 'unknown', 'succeeded', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Everything a provider, a query or a notice can say about a refund, in neutral words. */
export type RefundResolution =
  | { kind: 'accepted'; providerReference: string }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'unknown'; reason: string }
  | { kind: 'pending'; providerReference?: string }
  | { kind: 'refunded'; providerReference?: string }
  | { kind: 'failed'; message: string }
  /** The provider has no such refund. */
  | { kind: 'not_found'; reason: string }
  /** A query that could not be answered (network, unreadable): only the next query moves. */
  | { kind: 'still_unresolved'; reason: string };

export type RefundEventType = 'refund_accepted' | 'refund_succeeded' | 'refund_failed' | 'refund_outcome_unknown';

export interface RefundChange {
  status: RefundStatus;
  providerReference?: string;
  code?: string;
  message?: string;
  /** `next`: keep querying on the backoff; `none`: nothing more to ask. */
  query: 'next' | 'none';
  event: RefundEventType;
}

export type RefundStep = { changed: true; change: RefundChange } | { changed: false; why: string };

const OPEN: readonly RefundStatus[] = ['sending', 'pending', 'unknown'];

export const isRefundFinal = (status: RefundStatus): boolean => !OPEN.includes(status);

export function nextRefundStep(refund: { status: RefundStatus }, resolution: RefundResolution): RefundStep {
  const current = refund.status;
  if (isRefundFinal(current)) return { changed: false, why: `the refund is already ${current}; that is final` };
  const unsent = current === 'sending' || current === 'unknown';
  const move = (change: RefundChange): RefundStep => ({ changed: true, change });
  switch (resolution.kind) {
    case 'accepted':
      if (!unsent) return { changed: false, why: `the refund is already ${current}` };
      return move({ status: 'pending', providerReference: resolution.providerReference, query: 'next', event: 'refund_accepted' });
    case 'refused':
      if (!unsent) return { changed: false, why: `the refund is already ${current}; a refusal only answers a request` };
      return move({ status: 'failed', code: resolution.code, message: resolution.message, query: 'none', event: 'refund_failed' });
    case 'unknown':
      if (current !== 'sending') return { changed: false, why: `the refund is already ${current}` };
      return move({ status: 'unknown', message: resolution.reason, query: 'next', event: 'refund_outcome_unknown' });
    case 'pending':
      if (!unsent) return { changed: false, why: 'the refund is still pending' };
      return move({ status: 'pending', ...(resolution.providerReference ? { providerReference: resolution.providerReference } : {}), query: 'next', event: 'refund_accepted' });
    case 'refunded':
      return move({ status: 'succeeded', ...(resolution.providerReference ? { providerReference: resolution.providerReference } : {}), query: 'none', event: 'refund_succeeded' });
    case 'failed':
      return move({ status: 'failed', message: resolution.message, query: 'none', event: 'refund_failed' });
    case 'not_found':
      // Accepted once, so the provider has it: an answer to the contrary is not believed; ask again.
      if (!unsent) return { changed: false, why: `the provider accepted this refund before; ${resolution.reason}` };
      return move({ status: 'failed', message: `never reached the provider: ${resolution.reason}`, query: 'none', event: 'refund_failed' });
    case 'still_unresolved':
      return { changed: false, why: resolution.reason };
  }
}
