/**
 * An invoice is what one subscription period owes. Its status follows from its amounts (due, paid,
 * refunded, charged back) and from how it was closed without payment (void when the subscription
 * ended first, uncollectible when dunning ran out), so it can never disagree with the money.
 *
 * "A period is never kept paid twice": a payment beyond what is due, or for a void invoice, is
 * reported as an excess for the caller to refund.
 */
export const INVOICE_STATUSES = ['open', 'paid', 'partially_refunded', 'refunded', 'charged_back', 'void', 'uncollectible'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export interface InvoiceState {
  readonly amountDueMinor: number;
  readonly amountPaidMinor: number;
  readonly amountRefundedMinor: number;
  readonly amountChargedBackMinor: number;
  /** Closed without payment: the subscription ended first (void), or dunning ran out (uncollectible). */
  readonly closedAs: 'void' | 'uncollectible' | null;
}

export type InvoiceEvent =
  | { type: 'payment_received'; amountMinor: number }
  | { type: 'refund_completed'; amountMinor: number }
  | { type: 'chargeback_confirmed'; amountMinor: number }
  | { type: 'chargeback_reversed'; amountMinor: number }
  | { type: 'voided' }
  | { type: 'marked_uncollectible' };

export type InvoiceResult =
  | { ok: true; state: InvoiceState; status: InvoiceStatus; excessMinor: number }
  | { ok: false; refusal: string };

/** What the merchant keeps of the invoice: paid, less refunds and chargebacks. */
export function netPaidMinor(state: InvoiceState): number {
  return state.amountPaidMinor - state.amountRefundedMinor - state.amountChargedBackMinor;
}

export function invoiceStatus(state: InvoiceState): InvoiceStatus {
  if (state.amountChargedBackMinor > 0) return 'charged_back';
  if (state.amountPaidMinor === 0) return state.closedAs ?? 'open';
  const net = netPaidMinor(state);
  if (net >= state.amountDueMinor) return 'paid';
  if (net <= 0) return 'refunded';
  return 'partially_refunded';
}

export function applyToInvoice(state: InvoiceState, event: InvoiceEvent): InvoiceResult {
  const done = (next: InvoiceState, excessMinor = 0): InvoiceResult => ({ ok: true, state: next, status: invoiceStatus(next), excessMinor });
  const amount = 'amountMinor' in event ? event.amountMinor : 0;
  if ('amountMinor' in event && !(Number.isSafeInteger(amount) && amount > 0)) {
    return { ok: false, refusal: `amount must be a positive whole number of minor units, got ${amount}` };
  }
  switch (event.type) {
    case 'payment_received': {
      // Nothing is due on a void invoice; on any other, only what tops the net paid up to what is due.
      const room = state.closedAs === 'void' ? 0 : Math.max(0, state.amountDueMinor - netPaidMinor(state));
      const closedAs = state.closedAs === 'uncollectible' ? null : state.closedAs;
      return done({ ...state, closedAs, amountPaidMinor: state.amountPaidMinor + amount }, Math.max(0, amount - room));
    }
    case 'refund_completed': {
      const refundable = state.amountPaidMinor - state.amountRefundedMinor - state.amountChargedBackMinor;
      if (amount > refundable) return { ok: false, refusal: `a refund of ${amount} is more than the ${refundable} left to refund` };
      return done({ ...state, amountRefundedMinor: state.amountRefundedMinor + amount });
    }
    case 'chargeback_confirmed':
      return done({ ...state, amountChargedBackMinor: state.amountChargedBackMinor + amount });
    case 'chargeback_reversed': {
      if (amount > state.amountChargedBackMinor) {
        return { ok: false, refusal: `a reversal of ${amount} is more than the ${state.amountChargedBackMinor} charged back` };
      }
      return done({ ...state, amountChargedBackMinor: state.amountChargedBackMinor - amount });
    }
    case 'voided':
    case 'marked_uncollectible': {
      if (state.amountPaidMinor > 0) return { ok: false, refusal: 'a paid invoice is not closed without payment' };
      return done({ ...state, closedAs: event.type === 'voided' ? 'void' : 'uncollectible' });
    }
  }
}
