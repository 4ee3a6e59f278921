/**
 * When renewals fall due. Every renewal instant is computed from the anchor (the first
 * purchase), never from the previous renewal, so month-end clamping does not drift:
 * an anchor on Jan 31 renews on Feb 28/29, Mar 31, Apr 30.
 *
 * Renewals keep the anchor's wall-clock time in the subscriber's IANA time zone; across a
 * DST change the UTC instant moves. A local time that falls in a spring-forward gap moves
 * forward by the length of the gap (luxon's rule).
 */
import { DateTime, IANAZone } from 'luxon';

export const INTERVALS = ['week', 'month', 'quarter', 'half-year', 'year'] as const;
export type Interval = (typeof INTERVALS)[number];

const STEP: Record<Interval, { weeks?: number; months?: number }> = {
  week: { weeks: 1 },
  month: { months: 1 },
  quarter: { months: 3 },
  'half-year': { months: 6 },
  year: { months: 12 },
};

export function isInterval(value: string): value is Interval {
  return (INTERVALS as readonly string[]).includes(value);
}

const zoneValidity = new Map<string, boolean>();

/** Whether a name is an IANA zone. Cached: each check builds an Intl.DateTimeFormat, which is slow and holds native memory. */
export function isTimeZone(zone: string): boolean {
  let valid = zoneValidity.get(zone);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(zone);
    if (zoneValidity.size < 10_000) zoneValidity.set(zone, valid);
  }
  return valid;
}

export interface BillingPlan {
  readonly interval: Interval;
  readonly anchorAt: Date;
  readonly timezone: string;
}

/** The instant of renewal number `n` (n = 0 is the anchor itself, the first purchase). */
export function renewalAt(plan: BillingPlan, n: number): Date {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`renewal number must be a whole number >= 0, got ${n}`);
  const anchor = DateTime.fromJSDate(plan.anchorAt, { zone: plan.timezone });
  if (!anchor.isValid) throw new RangeError(`invalid anchor or time zone: ${anchor.invalidExplanation ?? plan.timezone}`);
  const step = STEP[plan.interval];
  const shifted = anchor.plus({ weeks: (step.weeks ?? 0) * n, months: (step.months ?? 0) * n });
  return shifted.toJSDate();
}

/** The first `count` renewal instants after the anchor (renewals 1..count). */
export function upcomingRenewals(plan: BillingPlan, count: number): Date[] {
  return Array.from({ length: count }, (_, i) => renewalAt(plan, i + 1));
}

/**
 * The highest renewal number at or after `from` whose instant is <= now, or null when
 * renewal `from` is not yet due. Used to tell how far behind a subscription is.
 */
export function latestDuePeriod(plan: BillingPlan, from: number, now: Date): number | null {
  if (renewalAt(plan, from) > now) return null;
  // Jump close to the answer by elapsed calendar time, then settle it exactly with renewalAt.
  const anchor = DateTime.fromJSDate(plan.anchorAt, { zone: plan.timezone });
  const step = STEP[plan.interval];
  const elapsed = DateTime.fromJSDate(now, { zone: plan.timezone }).diff(anchor, step.weeks ? 'weeks' : 'months');
  const estimate = Math.floor(step.weeks ? elapsed.weeks / step.weeks : elapsed.months / step.months!);
  let n = Math.max(from, estimate - 1);
  while (n > from && renewalAt(plan, n) > now) n -= 1;
  while (renewalAt(plan, n + 1) <= now) n += 1;
  return n;
}

/** ISO 8601 with the subscriber's local offset, e.g. 2027-03-31T09:00:00.000-04:00. */
export function formatInZone(instant: Date, timezone: string): string {
  return DateTime.fromJSDate(instant, { zone: timezone }).toISO() ?? instant.toISOString();
}

/**
 * Parses an instant typed by a person. A value without an offset is read as wall-clock time
 * in `timezone`. Returns null when it is not ISO 8601.
 */
export function parseInstant(text: string, timezone: string): Date | null {
  const parsed = DateTime.fromISO(text.trim(), { zone: timezone });
  return parsed.isValid ? parsed.toJSDate() : null;
}
