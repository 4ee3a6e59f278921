/**
 * The pure core of reconciliation: what one line of a provider's daily list means against
 * rebill's records. Nothing here reads or writes; the shell (reconcile.ts) looks records up,
 * asks the provider to confirm what would move money, and commits.
 */
import type { PaymentTransaction } from '../db/database.ts';
import { displayMoney, type Money } from '../lib/money.ts';
import type { ListedBusinessOrder, SettledPayment } from '../payments/provider.ts';

/** Kinds of item a run records, and whether each is fixed or flagged. */
export const ITEM_KINDS = {
  lost_success_recorded: 'fixed',
  refund_recorded: 'fixed',
  refund_settled: 'fixed',
  chargeback_recorded: 'fixed',
  unknown_payment: 'flagged',
  amount_mismatch: 'flagged',
  payment_id_mismatch: 'flagged',
  missing_at_provider: 'flagged',
  unresolved: 'flagged',
  unknown_business: 'flagged',
} as const;
export type ItemKind = keyof typeof ITEM_KINDS;

export type PaymentVerdict =
  | { kind: 'matched' }
  /** The provider took money for an order rebill never sent. */
  | { kind: 'flag'; item: 'unknown_payment' | 'amount_mismatch' | 'payment_id_mismatch'; detail: string }
  /** Paid at the provider, not (yet) in rebill: the notice was lost. A signed query settles it. */
  | { kind: 'confirm_success'; charge: PaymentTransaction };

const money = (amountMinor: number, currency: string): Money => ({ amountMinor, currency });

function listedMoney(row: { money: Money | null; amountText: string; currency: string }): string {
  return row.money ? displayMoney(row.money) : `"${row.amountText}" ${row.currency}`;
}

function sameMoney(listed: Money | null, charge: PaymentTransaction): boolean {
  return listed !== null && listed.currency === charge.currency && listed.amountMinor === charge.amount_minor;
}

/** A successful payment the provider lists, against rebill's charge with that order number (if any). */
export function comparePayment(row: SettledPayment, charge: PaymentTransaction | undefined, provider: string): PaymentVerdict {
  if (!charge || charge.kind !== 'charge' || charge.provider !== provider) {
    return { kind: 'flag', item: 'unknown_payment', detail: `${provider} took ${listedMoney(row)} for order ${row.reference}, which rebill never sent` };
  }
  if (!sameMoney(row.money, charge)) {
    return {
      kind: 'flag',
      item: 'amount_mismatch',
      detail: `${provider} lists ${listedMoney(row)} for order ${row.reference}; rebill charged ${displayMoney(money(charge.amount_minor, charge.currency))}`,
    };
  }
  if (charge.status === 'succeeded') {
    if (charge.provider_reference && charge.provider_reference !== row.paymentId) {
      return { kind: 'flag', item: 'payment_id_mismatch', detail: `${provider} lists payment ${row.paymentId} for order ${row.reference}; rebill recorded payment ${charge.provider_reference}` };
    }
    return { kind: 'matched' };
  }
  return { kind: 'confirm_success', charge };
}

export type BusinessVerdict =
  /** Known to rebill; `refundId` is the refund of rebill's it matched. */
  | { kind: 'matched'; refundId?: number }
  /** Nothing to do: a refund that failed or is still pending moved no money. */
  | { kind: 'ignored' }
  | { kind: 'flag'; item: 'unknown_business'; detail: string }
  /** rebill's own refund the provider lists as done, still open in rebill: a refund query settles it. */
  | { kind: 'settle_refund'; refund: PaymentTransaction }
  /** A refund or chargeback rebill does not know: recorded once a signed query confirms it. */
  | { kind: 'confirm_refund'; charge: PaymentTransaction; money: Money }
  | { kind: 'confirm_chargeback'; charge: PaymentTransaction; money: Money };

const OPEN_REFUND = ['sending', 'pending', 'unknown'];

/**
 * A refund or chargeback the provider lists, against the charge it is about and that charge's
 * refunds and chargebacks. `used` holds the ids of rebill's refunds already matched to other lines
 * of the same run, so two equal refunds at the provider need two in rebill.
 */
export function compareBusiness(
  row: ListedBusinessOrder,
  charge: PaymentTransaction | undefined,
  children: readonly PaymentTransaction[],
  used: ReadonlySet<number>,
  provider: string,
): BusinessVerdict {
  if (row.state === 'failed' || row.state === 'pending') return { kind: 'ignored' };
  if (row.category === 'other' || row.state === 'other') {
    return { kind: 'flag', item: 'unknown_business', detail: `${provider} lists a ${row.type} (status ${row.state}) of ${listedMoney(row)} on order ${row.reference}, which rebill does not handle` };
  }
  if (!charge || charge.kind !== 'charge' || charge.provider !== provider || charge.status !== 'succeeded') {
    return { kind: 'flag', item: 'unknown_business', detail: `${provider} lists a ${row.type} of ${listedMoney(row)} on order ${row.reference}, which is not a payment rebill recorded` };
  }
  if (!row.money || row.money.currency !== charge.currency) {
    return { kind: 'flag', item: 'unknown_business', detail: `${provider} lists a ${row.type} of ${listedMoney(row)} on order ${row.reference}, paid in ${charge.currency}` };
  }
  const listed = row.money;
  if (row.category === 'chargeback') {
    const known = children.some((c) => c.kind === 'chargeback' && c.status === 'succeeded');
    return known ? { kind: 'matched' } : { kind: 'confirm_chargeback', charge, money: listed };
  }
  const same = children.filter((c) => c.kind === 'refund' && c.amount_minor === listed.amountMinor && c.currency === listed.currency && !used.has(c.id));
  const done = same.find((c) => c.status === 'succeeded');
  if (done) return { kind: 'matched', refundId: done.id };
  const open = same.find((c) => OPEN_REFUND.includes(c.status));
  if (open) return { kind: 'settle_refund', refund: open };
  return { kind: 'confirm_refund', charge, money: listed };
}

/** The refund a verdict matched or settles, so the run does not match it twice. */
export function refundUsedBy(verdict: BusinessVerdict): number | null {
  if (verdict.kind === 'settle_refund') return verdict.refund.id;
  if (verdict.kind === 'matched') return verdict.refundId ?? null;
  return null;
}
