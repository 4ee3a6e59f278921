/**
 * Enrolling a subscriber. Validation collects every problem before anything is written, so bad
 * input changes nothing; the CLI and the bulk import share it.
 *
 * The same customer must never be charged twice for one purchase: an enrolment that repeats one
 * already made (the same external id) returns the existing subscription, and a second live
 * subscription with the same e-mail, card token and plan is refused unless asked for.
 */
import { randomUUID } from 'node:crypto';
import type { Db, DbOrTx, Tx } from '../db/connect.ts';
import { COLLECTION_METHODS, type CollectionMethod, type NewSubscription, type Subscription } from '../db/database.ts';
import { emailAddressProblem } from '../lib/email-address.ts';
import { ValidationError } from '../lib/errors.ts';
import { currencyProblem, formatAmount, parseMoney } from '../lib/money.ts';
import { controlCharacterProblem } from '../lib/printable.ts';
import {
  INTERVALS,
  isInterval,
  isTimeZone,
  latestDuePeriod,
  parseInstant,
  renewalAt,
  type Interval,
} from '../plans/billing-calendar.ts';
import { insertEvents, type NewEvent } from '../events/events.repo.ts';
import { insertMethods } from '../payments/methods/payment-method.repo.ts';
import {
  findLiveSubscriptionsWithTerms,
  findSubscriptionsByExternalId,
  insertSubscriptions,
  isExternalIdTaken,
  lockEnrolments,
  lockEnrolmentsOfEmail,
  activeTokenOf,
  usePaymentMethods,
  type EnrolmentTerms,
  type LiveSubscriptionWithTerms,
} from './subscription.repo.ts';

export interface EnrolInput {
  email: string;
  firstName: string;
  lastName: string;
  country: string;
  interval: string;
  amount: string;
  currency: string;
  /** The card token; only for `card_token` collection (the default). */
  quickpayId?: string | undefined;
  /** How each period is collected: `card_token` (default), `payment_link` or `in_person`. */
  collection?: string | undefined;
  timezone?: string | undefined;
  product?: string | undefined;
  firstPaidAt?: string | undefined;
  renewalsPaid?: string | undefined;
  /** The merchant's own reference: a repeated enrolment with it returns the existing subscription. */
  externalId?: string | undefined;
}

export type EnrolField = keyof EnrolInput;

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

/** Letters, digits and a few separators shop references use; nothing a terminal or CSV file mangles. */
const EXTERNAL_ID = /^[A-Za-z0-9._:/#@+-]{1,100}$/;
export const EXTERNAL_ID_RULE = '1 to 100 characters: letters A-Z and a-z, digits and . _ - : / # @ + (no spaces)';

/** How the two options that refer to each other are called where the input came from. */
export interface EnrolFieldNames {
  firstPaidAt: string;
  renewalsPaid: string;
}
const CLI_NAMES: EnrolFieldNames = { firstPaidAt: 'first-paid-at', renewalsPaid: 'renewals-paid' };

/** How each field is named in messages (the two cross-referenced ones come from EnrolFieldNames). */
function fieldLabel(field: EnrolField, names: EnrolFieldNames): string {
  switch (field) {
    case 'email': return 'e-mail';
    case 'firstName': return 'first name';
    case 'lastName': return 'last name';
    case 'quickpayId': return 'quickpay id';
    case 'timezone': return 'time zone';
    case 'product': return 'product name';
    case 'externalId': return 'external id';
    case 'collection': return 'collection method';
    case 'firstPaidAt': return names.firstPaidAt;
    case 'renewalsPaid': return names.renewalsPaid;
    default: return field;
  }
}

/** One problem with an enrolment; `field` is null when it concerns the enrolment as a whole. */
export interface EnrolIssue {
  field: EnrolField | null;
  message: string;
}

/** A valid enrolment: the subscription row, and the card token its payment method will hold (none when collected otherwise). */
export type EnrolmentRow = Omit<NewSubscription, 'payment_method_id' | 'collection_method'> & { card_token: string | null; collection_method: CollectionMethod };

/** Collection methods enrolment accepts. */
export const ENROLLABLE_COLLECTIONS: readonly CollectionMethod[] = COLLECTION_METHODS;

export type EnrolValidation = { ok: true; row: EnrolmentRow } | { ok: false; problems: string[]; issues: EnrolIssue[] };

/**
 * How the card is given: `token` the merchant already holds one (quickpay id); `checkout` the
 * customer pays the first purchase on the provider's hosted page, which creates it.
 */
export type EnrolMode = 'token' | 'checkout';

/** Checks one enrolment; returns the row to insert or every problem found. */
export function validateEnrolment(input: EnrolInput, now: Date, names: EnrolFieldNames = CLI_NAMES, mode: EnrolMode = 'token'): EnrolValidation {
  const issues: EnrolIssue[] = [];
  const problem = (field: EnrolField | null, message: string) => issues.push({ field, message });

  // A control character (a NUL, an escape sequence) in any field is refused before anything else
  // looks at it; the field's other checks would only repeat the value.
  const unreadable = new Set<EnrolField>();
  for (const [field, value] of Object.entries(input) as [EnrolField, string | undefined][]) {
    const found = value === undefined ? null : controlCharacterProblem(fieldLabel(field, names), value);
    if (found) {
      unreadable.add(field);
      problem(field, found);
    }
  }
  const readable = (field: EnrolField) => !unreadable.has(field);

  const email = input.email.trim();
  if (readable('email')) {
    const addressProblem = emailAddressProblem(email) ?? (UNSIGNABLE.test(email) ? `it contains " ' < or >, which the gateway does not accept` : null);
    if (addressProblem) problem('email', `e-mail "${input.email}" is not a valid address such as name@example.com: ${addressProblem}`);
    else if (email.length > GATEWAY_FIELD_MAX) problem('email', `e-mail "${email}" is longer than the gateway's ${GATEWAY_FIELD_MAX} characters`);
  }
  for (const field of ['firstName', 'lastName'] as const) {
    if (!readable(field)) continue;
    const value = input[field];
    const label = fieldLabel(field, names);
    const trimmed = value.trim();
    if (!trimmed) problem(field, `${label} is empty`);
    else if (UNSIGNABLE.test(trimmed)) problem(field, `${label} "${value}" contains " ' < or >, which the gateway does not accept`);
    else if (trimmed.length > GATEWAY_FIELD_MAX) problem(field, `${label} is longer than the gateway's ${GATEWAY_FIELD_MAX} characters`);
  }
  const country = input.country.trim().toUpperCase();
  if (!readable('country')) {
    // reported above
  } else if (country === 'UK') {
    problem('country', 'country "UK" is not an ISO 3166 code: the United Kingdom is GB');
  } else if (!/^[A-Z]{2}$/.test(country) || !regionNames.of(country) || regionNames.of(country) === 'Unknown Region') {
    problem('country', `country "${input.country}" is not an ISO 3166 two-letter code such as US or DE`);
  }
  if (readable('interval') && !isInterval(input.interval)) {
    problem('interval', `interval "${input.interval}" is not one of ${INTERVALS.join(', ')}`);
  }
  let money: { amountMinor: number; currency: string } | null = null;
  if (readable('amount') && readable('currency')) {
    const currencyIssue = currencyProblem(input.currency.trim());
    if (currencyIssue) {
      problem('currency', currencyIssue);
    } else {
      try {
        money = parseMoney(input.amount, input.currency.trim());
      } catch (error) {
        for (const message of error instanceof ValidationError ? error.problems : [String(error)]) problem('amount', message);
      }
    }
  }
  const collection = (input.collection?.trim() || 'card_token') as CollectionMethod;
  if (readable('collection') && !ENROLLABLE_COLLECTIONS.includes(collection)) {
    problem('collection', `collection method "${input.collection}" is not one of ${ENROLLABLE_COLLECTIONS.join(', ')}`);
  }
  const quickpayId = input.quickpayId?.trim() ?? '';
  if (mode === 'checkout') {
    // The checkout stores the card that renews the subscription: collection by card token.
    if (collection !== 'card_token') problem('collection', `a checkout stores a card for renewals: collection method "${collection}" cannot be used with it`);
    if (quickpayId) problem('quickpayId', 'a checkout creates the card token: give either a quickpay id or a checkout, not both');
    if (input.firstPaidAt !== undefined) problem('firstPaidAt', `${names.firstPaidAt} cannot be given with a checkout: the first purchase is the checkout`);
  } else if (collection === 'card_token') {
    if (readable('quickpayId') && (!quickpayId || /\s/.test(quickpayId) || quickpayId.length > 100)) {
      problem('quickpayId', `quickpay id "${input.quickpayId ?? ''}" must be the gateway's card token: 1 to 100 characters without spaces`);
    }
  } else if (input.quickpayId !== undefined && quickpayId !== '') {
    problem('quickpayId', `a ${collection} subscription stores no card token: leave out the quickpay id "${quickpayId}"`);
  }
  const timezone = input.timezone?.trim() || 'UTC';
  if (readable('timezone') && !isTimeZone(timezone)) problem('timezone', `time zone "${timezone}" is not an IANA zone such as Europe/Paris`);
  const product = input.product?.trim() || (isInterval(input.interval) ? PRODUCT_NAMES[input.interval] : '');
  if (readable('product') && product.length > 100) problem('product', 'product name is longer than 100 characters');
  const externalId = input.externalId?.trim();
  if (externalId !== undefined && readable('externalId') && !EXTERNAL_ID.test(externalId)) {
    problem('externalId', `external id "${input.externalId}" must be ${EXTERNAL_ID_RULE}`);
  }

  let firstPaidAt: Date | null = null;
  if (input.firstPaidAt !== undefined && readable('firstPaidAt')) {
    firstPaidAt = parseInstant(input.firstPaidAt, isTimeZone(timezone) ? timezone : 'UTC');
    if (!firstPaidAt) problem('firstPaidAt', `${names.firstPaidAt} "${input.firstPaidAt}" is not an ISO 8601 date-time such as 2026-01-31T09:00:00`);
    else if (firstPaidAt > now) problem('firstPaidAt', `${names.firstPaidAt} ${input.firstPaidAt} is in the future`);
  }
  let renewalsPaid = 0;
  if (input.renewalsPaid !== undefined && readable('renewalsPaid')) {
    if (!/^\d+$/.test(input.renewalsPaid.trim())) problem('renewalsPaid', `${names.renewalsPaid} "${input.renewalsPaid}" must be a whole number >= 0`);
    else if (input.firstPaidAt === undefined) problem('renewalsPaid', `${names.renewalsPaid} needs ${names.firstPaidAt} (renewals follow a first purchase)`);
    else renewalsPaid = Number(input.renewalsPaid);
  }
  const refused = (): EnrolValidation => ({ ok: false, problems: issues.map((i) => i.message), issues });
  if (issues.length || !money || !isInterval(input.interval)) return refused();

  const interval = input.interval;
  const base = {
    id: randomUUID(),
    customer_email: email,
    customer_first_name: input.firstName.trim(),
    customer_last_name: input.lastName.trim(),
    customer_country: country,
    card_token: collection === 'card_token' ? quickpayId : null,
    collection_method: collection,
    product_name: product,
    interval,
    amount_minor: money.amountMinor,
    currency: money.currency,
    timezone,
    renewals_paid: renewalsPaid,
    past_due_since: null,
    canceled_at: null,
    enqueued_at: null,
    external_id: externalId ?? null,
  } satisfies Partial<EnrolmentRow>;

  if (mode === 'checkout') {
    // Nothing is charged until the customer pays at the checkout; its payment anchors the calendar.
    return { ok: true, row: { ...base, anchor_at: now, status: 'incomplete', next_period: 0, next_renewal_at: now, next_attempt_at: null } };
  }
  if (!firstPaidAt) {
    // The first purchase (X1) is still to be charged, now; renewals follow from this anchor.
    return { ok: true, row: { ...base, anchor_at: now, status: 'incomplete', next_period: 0, next_renewal_at: now, next_attempt_at: now } };
  }
  const plan = { interval, anchorAt: firstPaidAt, timezone };
  if (renewalsPaid > 0) {
    const due = latestDuePeriod(plan, 1, now) ?? 0;
    if (renewalsPaid > due) {
      problem('renewalsPaid', `${names.renewalsPaid} ${renewalsPaid} is more than the ${due} renewal(s) that have fallen due since ${names.firstPaidAt}`);
      return refused();
    }
  }
  const next = renewalAt(plan, renewalsPaid + 1);
  return {
    ok: true,
    row: { ...base, anchor_at: firstPaidAt, status: 'active', next_period: renewalsPaid + 1, next_renewal_at: next, next_attempt_at: next },
  };
}

/** The `enrolled` event written with each new subscription. */
export function enrolledEvent(row: EnrolmentRow, ctx: { now: Date; actor: string; reason?: string | null }): NewEvent {
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
      ...(row.external_id ? { external_id: row.external_id } : {}),
      ...(row.card_token === '' ? { checkout: true } : {}),
    },
  };
}

/** The terms the duplicate rule compares. */
export function termsOf(row: Pick<EnrolmentRow, 'customer_email' | 'card_token' | 'interval' | 'amount_minor' | 'currency'>): EnrolmentTerms {
  // A subscription collected by link holds no token: its terms compare as the empty one.
  return { email: row.customer_email, quickpayId: row.card_token ?? '', interval: row.interval, amountMinor: row.amount_minor, currency: row.currency };
}

/** One string per set of terms; equal exactly when the duplicate rule calls two enrolments the same. */
export function termsKey(terms: EnrolmentTerms): string {
  // Control characters are refused in every field, so NUL cannot occur inside a value.
  return [terms.email.toLowerCase(), terms.quickpayId, terms.interval, terms.amountMinor, terms.currency].join('\u0000');
}

/** e.g. `9.99 GBP every month`. */
export function describePlan(terms: Pick<EnrolmentTerms, 'interval' | 'amountMinor' | 'currency'>): string {
  return `${formatAmount({ amountMinor: terms.amountMinor, currency: terms.currency })} ${terms.currency} every ${terms.interval}`;
}

export const ALLOW_DUPLICATE_HINT = 'pass --allow-duplicate if another subscription is really wanted';

export interface EnrolContext {
  now: Date;
  actor: string;
  reason?: string | null;
  /** Runs in the enrolment's transaction (e.g. to queue the first charge at once). */
  /** The provider that holds the card tokens (the payment methods' provider). */
  provider: string;
  afterInsert?: (tx: Tx, enrolled: readonly EnrolmentRow[]) => Promise<void>;
}

/**
 * Writes enrolments already validated (and checked for duplicates by the caller, if wanted), with
 * their events, in one transaction: all or none.
 */
export async function enrolMany(db: Db, rows: EnrolmentRow[], ctx: EnrolContext): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await insertRows(tx, rows, ctx);
  });
}

export async function insertRows(tx: Tx, rows: EnrolmentRow[], ctx: EnrolContext): Promise<void> {
  await insertSubscriptions(tx, rows.map(({ card_token: _token, ...row }) => ({ ...row, payment_method_id: null })));
  // A checkout's subscription has no card yet: the customer's payment brings it.
  const withCard = rows.filter((row) => row.card_token !== '');
  const methodIds = await insertMethods(tx, withCard.map((row) => ({ subscriptionId: row.id, provider: ctx.provider, token: row.card_token, createdAt: ctx.now })));
  await usePaymentMethods(tx, withCard.map((row, i) => ({ subscriptionId: row.id, paymentMethodId: methodIds[i]! })));
  await insertEvents(tx, rows.map((row) => enrolledEvent(row, ctx)));
  if (ctx.afterInsert) await ctx.afterInsert(tx, rows);
}

export interface EnrolOptions extends EnrolContext {
  /** How the input names its fields, for messages (the CLI's option names by default). */
  fieldNames?: EnrolFieldNames;
  mode?: EnrolMode;
  /** Enrol even when a live subscription has the same e-mail, card token and plan. */
  allowDuplicate?: boolean;
}

export type EnrolResult =
  | { status: 'enrolled'; subscription: Subscription }
  /** The external id was enrolled before with the same terms: nothing was written. */
  | { status: 'already_enrolled'; subscription: Subscription }
  /** Nothing was written; `message` says why and what to do. */
  | { status: 'refused'; reason: 'different_terms' | 'duplicate'; message: string; existingIds: string[] };

/**
 * Enrols one subscriber, unless the enrolment repeats one already made. Bad input throws a
 * ValidationError; a repeat or a duplicate is an answer, not an error.
 */
export async function enrol(db: Db, input: EnrolInput, options: EnrolOptions): Promise<EnrolResult> {
  const result = validateEnrolment(input, options.now, options.fieldNames, options.mode);
  if (!result.ok) throw new ValidationError(result.problems);
  const row = result.row;
  try {
    return await db.transaction().execute(async (tx): Promise<EnrolResult> => {
      // Enrolments of one address wait for each other, so two at once cannot both pass the checks.
      await lockEnrolments(tx, 'shared');
      await lockEnrolmentsOfEmail(tx, row.customer_email);
      if (row.external_id) {
        const [existing] = await findSubscriptionsByExternalId(tx, [row.external_id]);
        if (existing) return repeatOf(tx, existing, row, input);
      }
      // The merchant's own key says which subscription this is; without one, the terms must.
      if (!options.allowDuplicate && !row.external_id) {
        const duplicates = await findLiveSubscriptionsWithTerms(tx, [termsOf(row)]);
        if (duplicates.length) {
          return { status: 'refused', reason: 'duplicate', existingIds: duplicates.map((d) => d.id), message: duplicateMessage(row, duplicates) };
        }
      }
      await insertRows(tx, [row], options);
      const subscription = await tx.selectFrom('subscriptions').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      return { status: 'enrolled', subscription };
    });
  } catch (error) {
    // Another enrolment with this external id (for another e-mail) committed first: it is the one.
    if (row.external_id && isExternalIdTaken(error)) {
      const [winner] = await findSubscriptionsByExternalId(db, [row.external_id]);
      if (winner) return repeatOf(db, winner, row, input);
    }
    throw error;
  }
}

function duplicateMessage(row: EnrolmentRow, existing: readonly LiveSubscriptionWithTerms[]): string {
  const ids = existing.map((s) => `${s.id} (${s.status})`).join(', ');
  return (
    `${row.customer_email} already has ${existing.length === 1 ? 'subscription' : 'subscriptions'} ${ids} with the same card token and plan ` +
    `(${describePlan(termsOf(row))}); nothing was enrolled: ${ALLOW_DUPLICATE_HINT}, or give each subscription its own external id`
  );
}

/** The existing subscription when the repeat asks for the same thing; a refusal naming every difference otherwise. */
async function repeatOf(db: DbOrTx, existing: Subscription, row: EnrolmentRow, input: EnrolInput): Promise<EnrolResult> {
  const differences = termDifferences(existing, await activeTokenOf(db, existing), row, input);
  if (!differences.length) return { status: 'already_enrolled', subscription: existing };
  return {
    status: 'refused',
    reason: 'different_terms',
    existingIds: [existing.id],
    message:
      `external id "${row.external_id}" is already subscription ${existing.id}, enrolled with other terms: ${differences.join('; ')}. ` +
      'Nothing was changed: enrol another subscription under its own external id, or change this one (e.g. rebill update-token)',
  };
}

/** What the repeat asks for that the existing subscription does not have. */
export function termDifferences(existing: Subscription, existingToken: string | null, row: EnrolmentRow, input: Pick<EnrolInput, 'firstPaidAt'>): string[] {
  const differences: string[] = [];
  const compare = (label: string, there: string, here: string) => {
    if (there !== here) differences.push(`${label} "${there}" on the subscription, "${here}" given`);
  };
  compare('e-mail', existing.customer_email.toLowerCase(), row.customer_email.toLowerCase());
  compare('first name', existing.customer_first_name, row.customer_first_name);
  compare('last name', existing.customer_last_name, row.customer_last_name);
  compare('country', existing.customer_country, row.customer_country);
  compare('interval', existing.interval, row.interval);
  compare('currency', existing.currency, row.currency);
  compare(
    'amount',
    formatAmount({ amountMinor: existing.amount_minor, currency: existing.currency }),
    formatAmount({ amountMinor: row.amount_minor, currency: row.currency }),
  );
  // A checkout enrolment names no token: the one its customer gave at the checkout is not a difference.
  if (row.card_token !== '') compare('quickpay id', existingToken ?? '', row.card_token ?? '');
  compare('collection method', existing.collection_method, row.collection_method);
  compare('product name', existing.product_name, row.product_name);
  compare('time zone', existing.timezone, row.timezone);
  // Without a first purchase time the repeat asks for "the first purchase is charged by rebill",
  // which the existing subscription has already arranged (or done); only a given time can differ.
  if (input.firstPaidAt !== undefined) compare('first purchase', existing.anchor_at.toISOString(), (row.anchor_at as Date).toISOString());
  return differences;
}
