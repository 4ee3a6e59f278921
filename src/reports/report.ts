/**
 * The business report, computed from the event log and the payment records: pure, so a hand-made
 * fixture checks every figure. Money stays in integer minor units per currency; the only division
 * (a weekly price as a monthly one) is rounded once, per currency, at the end.
 *
 * Definitions (the README repeats them):
 * - a subscription's status at an instant is the `to_status` of its last change before it;
 * - MRR: subscriptions `active` or `past_due` at the end, each price as a month (week x 52/12,
 *   quarter / 3, half-year / 6, year / 12);
 * - new: enrolled in the range; churned: moved to `canceled` or `unpaid` in the range, voluntary when
 *   by a cancel (now or at the period end), involuntary when dunning ran out or by a dispute;
 * - renewals: periods after the first purchase with a charge sent in the range; succeeded when a
 *   charge of that period succeeded (by the end); recovered by dunning when that was not its first try;
 * - 3-D Secure: charges sent in the range that asked the customer to authenticate, and how many of
 *   those succeeded;
 * - refunds and chargebacks: those that succeeded in the range;
 * - past-due ageing: subscriptions `past_due` at the end, by whole days since they became so.
 */
import { DAY_MS } from '../lib/clock.ts';
import type { Interval } from '../plans/billing-calendar.ts';

export interface ReportSubscription {
  id: string;
  product_name: string;
  interval: Interval;
  amount_minor: number;
  currency: string;
}

/** An entry of the event log that changed a subscription's status (or enrolled it). */
export interface StatusChange {
  subscription_id: string;
  type: string;
  /** The status after it (`enrolled`: the status it was enrolled with). */
  to_status: string;
  occurred_at: Date;
}

export interface ReportCharge {
  subscription_id: string;
  invoice_id: number;
  period: number;
  status: string;
  /** It asked the customer to authenticate (3-D Secure). */
  action_required: boolean;
  requested_at: Date;
  resolved_at: Date | null;
}

export interface ReportMoneyBack {
  kind: 'refund' | 'chargeback';
  status: string;
  amount_minor: number;
  currency: string;
  resolved_at: Date | null;
}

export interface ReportInput {
  from: Date;
  /** Exclusive. */
  to: Date;
  subscriptions: readonly ReportSubscription[];
  /** Every status change up to `to`, oldest first. */
  changes: readonly StatusChange[];
  /** Every charge of every period that had a charge sent in the range. */
  charges: readonly ReportCharge[];
  moneyBack: readonly ReportMoneyBack[];
}

export interface MoneyTotal {
  currency: string;
  count: number;
  amount_minor: number;
}

export interface Report {
  from: string;
  to: string;
  mrr: { currency: string; mrr_minor: number; subscriptions: number }[];
  active_by_plan: { product: string; interval: Interval; currency: string; amount_minor: number; active: number; past_due: number }[];
  new_subscriptions: number;
  churned: { voluntary: number; involuntary: number };
  renewals: { attempted: number; succeeded: number; recovered_by_dunning: number };
  three_d_secure: { required: number; completed: number; completion_rate: number | null };
  refunds: MoneyTotal[];
  chargebacks: MoneyTotal[];
  past_due_ageing: { bucket: string; subscriptions: number }[];
}

/** A price's monthly share times 12, so that every interval is a whole number. */
const TWELFTHS: Record<Interval, number> = { week: 52, month: 12, quarter: 4, 'half-year': 2, year: 1 };
const VOLUNTARY = new Set(['canceled', 'period_ended']);
export const AGEING_BUCKETS: readonly { label: string; maxDays: number }[] = [
  { label: '0-7 days', maxDays: 7 },
  { label: '8-14 days', maxDays: 14 },
  { label: '15-30 days', maxDays: 30 },
  { label: '31-60 days', maxDays: 60 },
  { label: 'over 60 days', maxDays: Number.POSITIVE_INFINITY },
];

/** Integer division rounding halves up, for non-negative numbers. */
function roundedDivision(numerator: number, denominator: number): number {
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

const inRange = (at: Date | null, input: ReportInput) => at !== null && at >= input.from && at < input.to;

export function computeReport(input: ReportInput): Report {
  const byId = new Map(input.subscriptions.map((s) => [s.id, s]));
  // Status at the end, and since when past due.
  const status = new Map<string, string>();
  const pastDueSince = new Map<string, Date>();
  let newSubscriptions = 0;
  const churned = { voluntary: 0, involuntary: 0 };
  for (const change of input.changes) {
    if (change.occurred_at >= input.to) continue;
    const before = status.get(change.subscription_id);
    status.set(change.subscription_id, change.to_status);
    if (change.to_status === 'past_due' && before !== 'past_due') pastDueSince.set(change.subscription_id, change.occurred_at);
    if (change.occurred_at < input.from) continue;
    if (change.type === 'enrolled') newSubscriptions += 1;
    else if ((change.to_status === 'canceled' || change.to_status === 'unpaid') && before !== change.to_status && before !== 'canceled') {
      if (VOLUNTARY.has(change.type)) churned.voluntary += 1;
      else churned.involuntary += 1;
    }
  }

  const mrrTwelfths = new Map<string, { twelfths: number; subscriptions: number }>();
  const plans = new Map<string, Report['active_by_plan'][number]>();
  const ageing = AGEING_BUCKETS.map((b) => ({ bucket: b.label, subscriptions: 0 }));
  for (const [id, now] of status) {
    const sub = byId.get(id);
    if (!sub || (now !== 'active' && now !== 'past_due')) continue;
    const mrr = mrrTwelfths.get(sub.currency) ?? { twelfths: 0, subscriptions: 0 };
    mrr.twelfths += sub.amount_minor * TWELFTHS[sub.interval];
    mrr.subscriptions += 1;
    mrrTwelfths.set(sub.currency, mrr);
    const key = JSON.stringify([sub.product_name, sub.interval, sub.currency, sub.amount_minor]);
    const plan = plans.get(key) ?? { product: sub.product_name, interval: sub.interval, currency: sub.currency, amount_minor: sub.amount_minor, active: 0, past_due: 0 };
    if (now === 'active') plan.active += 1;
    else plan.past_due += 1;
    plans.set(key, plan);
    if (now === 'past_due') {
      const since = pastDueSince.get(id) ?? input.to;
      const days = Math.floor((input.to.getTime() - since.getTime()) / DAY_MS);
      const index = AGEING_BUCKETS.findIndex((b) => days <= b.maxDays);
      ageing[index]!.subscriptions += 1;
    }
  }

  return {
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    mrr: [...mrrTwelfths].sort(([a], [b]) => a.localeCompare(b)).map(([currency, m]) => ({ currency, mrr_minor: roundedDivision(m.twelfths, 12), subscriptions: m.subscriptions })),
    active_by_plan: [...plans.values()].sort((a, b) => a.product.localeCompare(b.product) || a.interval.localeCompare(b.interval) || a.currency.localeCompare(b.currency) || a.amount_minor - b.amount_minor),
    new_subscriptions: newSubscriptions,
    churned,
    renewals: renewals(input),
    three_d_secure: threeDSecure(input),
    refunds: moneyBack(input, 'refund'),
    chargebacks: moneyBack(input, 'chargeback'),
    past_due_ageing: ageing,
  };
}

function renewals(input: ReportInput): Report['renewals'] {
  const byInvoice = new Map<number, ReportCharge[]>();
  for (const charge of input.charges) {
    if (charge.period < 1 || charge.requested_at >= input.to) continue;
    byInvoice.set(charge.invoice_id, [...(byInvoice.get(charge.invoice_id) ?? []), charge]);
  }
  const result = { attempted: 0, succeeded: 0, recovered_by_dunning: 0 };
  for (const charges of byInvoice.values()) {
    if (!charges.some((c) => inRange(c.requested_at, input))) continue;
    result.attempted += 1;
    const tries = [...charges].sort((a, b) => a.requested_at.getTime() - b.requested_at.getTime());
    const success = tries.findIndex((c) => c.status === 'succeeded' && c.resolved_at !== null && c.resolved_at < input.to);
    if (success < 0) continue;
    result.succeeded += 1;
    if (success > 0) result.recovered_by_dunning += 1;
  }
  return result;
}

function threeDSecure(input: ReportInput): Report['three_d_secure'] {
  const asked = input.charges.filter((c) => c.action_required && inRange(c.requested_at, input));
  const completed = asked.filter((c) => c.status === 'succeeded' && c.resolved_at !== null && c.resolved_at < input.to).length;
  return { required: asked.length, completed, completion_rate: asked.length ? Math.round((completed / asked.length) * 10_000) / 10_000 : null };
}

function moneyBack(input: ReportInput, kind: 'refund' | 'chargeback'): MoneyTotal[] {
  const totals = new Map<string, MoneyTotal>();
  for (const row of input.moneyBack) {
    if (row.kind !== kind || row.status !== 'succeeded' || !inRange(row.resolved_at, input)) continue;
    const total = totals.get(row.currency) ?? { currency: row.currency, count: 0, amount_minor: 0 };
    total.count += 1;
    total.amount_minor += row.amount_minor;
    totals.set(row.currency, total);
  }
  return [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}
