/**
 * Enrolling a subscriber. Validation collects every problem before anything is written, so bad
 * input changes nothing; the CLI and the bulk import share it.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/connect.ts';
import type { NewSubscription, Subscription } from '../db/database.ts';
import { ValidationError } from '../lib/errors.ts';
import { parseMoney } from '../lib/money.ts';
import {
  INTERVALS,
  isInterval,
  isTimeZone,
  latestDuePeriod,
  parseInstant,
  renewalAt,
  type Interval,
} from '../plans/billing-calendar.ts';
import { insertEvents, type NewEvent } from './events.repo.ts';
import { insertSubscriptions } from './subscription.repo.ts';

export interface EnrolInput {
  email: string;
  firstName: string;
  lastName: string;
  country: string;
  interval: string;
  amount: string;
  currency: string;
  quickpayId: string;
  timezone?: string | undefined;
  product?: string | undefined;
  firstPaidAt?: string | undefined;
  renewalsPaid?: string | undefined;
}

const GATEWAY_FIELD_MAX = 50;
const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
const PRODUCT_NAMES: Record<Interval, string> = {
  week: 'Weekly subscription',
  month: 'Monthly subscription',
  quarter: 'Quarterly subscription',
  'half-year': 'Half-yearly subscription',
  year: 'Yearly subscription',
};

/** Characters the gateway's signing rule strips from names and e-mail (protocol §1.0). */
const UNSIGNABLE = /["'<>]/;

/** How the two options that refer to each other are called where the input came from. */
export interface EnrolFieldNames {
  firstPaidAt: string;
  renewalsPaid: string;
}
const CLI_NAMES: EnrolFieldNames = { firstPaidAt: 'first-paid-at', renewalsPaid: 'renewals-paid' };

/** Checks one enrolment; returns the row to insert or every problem found. */
export function validateEnrolment(
  input: EnrolInput,
  now: Date,
  names: EnrolFieldNames = CLI_NAMES,
): { ok: true; row: NewSubscription } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const email = input.email.trim();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || UNSIGNABLE.test(email)) {
    problems.push(`e-mail "${input.email}" is not a valid address such as name@example.com`);
  } else if (email.length > GATEWAY_FIELD_MAX) {
    problems.push(`e-mail "${email}" is longer than the gateway's ${GATEWAY_FIELD_MAX} characters`);
  }
  for (const [label, value] of [['first name', input.firstName], ['last name', input.lastName]] as const) {
    const trimmed = value.trim();
    if (!trimmed) problems.push(`${label} is empty`);
    else if (UNSIGNABLE.test(trimmed)) problems.push(`${label} "${value}" contains " ' < or >, which the gateway does not accept`);
    else if (trimmed.length > GATEWAY_FIELD_MAX) problems.push(`${label} is longer than the gateway's ${GATEWAY_FIELD_MAX} characters`);
  }
  const country = input.country.trim().toUpperCase();
  if (country === 'UK') {
    problems.push('country "UK" is not an ISO 3166 code: the United Kingdom is GB');
  } else if (!/^[A-Z]{2}$/.test(country) || !regionNames.of(country) || regionNames.of(country) === 'Unknown Region') {
    problems.push(`country "${input.country}" is not an ISO 3166 two-letter code such as US or DE`);
  }
  if (!isInterval(input.interval)) {
    problems.push(`interval "${input.interval}" is not one of ${INTERVALS.join(', ')}`);
  }
  let money: { amountMinor: number; currency: string } | null = null;
  try {
    money = parseMoney(input.amount, input.currency.trim());
  } catch (error) {
    problems.push(...(error instanceof ValidationError ? error.problems : [String(error)]));
  }
  const quickpayId = input.quickpayId.trim();
  if (!quickpayId || /\s/.test(quickpayId) || quickpayId.length > 100) {
    problems.push(`quickpay id "${input.quickpayId}" must be the gateway's card token: 1 to 100 characters without spaces`);
  }
  const timezone = input.timezone?.trim() || 'UTC';
  if (!isTimeZone(timezone)) problems.push(`time zone "${timezone}" is not an IANA zone such as Europe/Paris`);
  const product = input.product?.trim() || (isInterval(input.interval) ? PRODUCT_NAMES[input.interval] : '');
  if (product.length > 100) problems.push('product name is longer than 100 characters');

  let firstPaidAt: Date | null = null;
  if (input.firstPaidAt !== undefined) {
    firstPaidAt = parseInstant(input.firstPaidAt, isTimeZone(timezone) ? timezone : 'UTC');
    if (!firstPaidAt) problems.push(`${names.firstPaidAt} "${input.firstPaidAt}" is not an ISO 8601 date-time such as 2026-01-31T09:00:00`);
    else if (firstPaidAt > now) problems.push(`${names.firstPaidAt} ${input.firstPaidAt} is in the future`);
  }
  let renewalsPaid = 0;
  if (input.renewalsPaid !== undefined) {
    if (!/^\d+$/.test(input.renewalsPaid.trim())) problems.push(`${names.renewalsPaid} "${input.renewalsPaid}" must be a whole number >= 0`);
    else if (input.firstPaidAt === undefined) problems.push(`${names.renewalsPaid} needs ${names.firstPaidAt} (renewals follow a first purchase)`);
    else renewalsPaid = Number(input.renewalsPaid);
  }
  if (problems.length || !money || !isInterval(input.interval)) return { ok: false, problems };

  const interval = input.interval;
  const base = {
    id: randomUUID(),
    customer_email: email,
    customer_first_name: input.firstName.trim(),
    customer_last_name: input.lastName.trim(),
    customer_country: country,
    quickpay_id: quickpayId,
    product_name: product,
    interval,
    amount_minor: money.amountMinor,
    currency: money.currency,
    timezone,
    renewals_paid: renewalsPaid,
    past_due_since: null,
    canceled_at: null,
    enqueued_at: null,
  } satisfies Partial<NewSubscription>;

  if (!firstPaidAt) {
    // The first purchase (X1) is still to be charged, now; renewals follow from this anchor.
    return { ok: true, row: { ...base, anchor_at: now, status: 'incomplete', next_period: 0, next_renewal_at: now, next_attempt_at: now } };
  }
  const plan = { interval, anchorAt: firstPaidAt, timezone };
  if (renewalsPaid > 0) {
    const due = latestDuePeriod(plan, 1, now) ?? 0;
    if (renewalsPaid > due) {
      return {
        ok: false,
        problems: [`${names.renewalsPaid} ${renewalsPaid} is more than the ${due} renewal(s) that have fallen due since ${names.firstPaidAt}`],
      };
    }
  }
  const next = renewalAt(plan, renewalsPaid + 1);
  return {
    ok: true,
    row: { ...base, anchor_at: firstPaidAt, status: 'active', next_period: renewalsPaid + 1, next_renewal_at: next, next_attempt_at: next },
  };
}

/** The `enrolled` event written with each new subscription. */
export function enrolledEvent(row: NewSubscription, ctx: { now: Date; actor: string; reason?: string | null }): NewEvent {
  return {
    subscriptionId: row.id,
    type: 'enrolled',
    actor: ctx.actor,
    reason: ctx.reason ?? null,
    occurredAt: ctx.now,
    data: {
      status: row.status,
      interval: row.interval,
      amount_minor: row.amount_minor,
      currency: row.currency,
      anchor_at: (row.anchor_at as Date).toISOString(),
      next_period: row.next_period,
      next_renewal_at: (row.next_renewal_at as Date).toISOString(),
    },
  };
}

export interface EnrolContext {
  now: Date;
  actor: string;
  reason?: string | null;
  /** Runs in the enrolment's transaction (e.g. to queue the first charge at once). */
  afterInsert?: (tx: Tx, enrolled: readonly NewSubscription[]) => Promise<void>;
}

/** Validates and writes many enrolments in one transaction; nothing is written if any is bad. */
export async function enrolMany(db: Db, rows: NewSubscription[], ctx: EnrolContext): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await insertSubscriptions(tx, rows);
    await insertEvents(tx, rows.map((row) => enrolledEvent(row, ctx)));
    if (ctx.afterInsert) await ctx.afterInsert(tx, rows);
  });
}

export async function enrol(db: Db, input: EnrolInput, ctx: EnrolContext): Promise<Subscription> {
  const result = validateEnrolment(input, ctx.now);
  if (!result.ok) throw new ValidationError(result.problems);
  await enrolMany(db, [result.row], ctx);
  const saved = await db.selectFrom('subscriptions').selectAll().where('id', '=', result.row.id).executeTakeFirstOrThrow();
  return saved;
}
