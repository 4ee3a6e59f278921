/** Queries on the subscriptions table. */
import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/connect.ts';
import type { NewSubscription, Subscription, SubscriptionStatus } from '../db/database.ts';
import type { SubscriptionState } from './subscription-machine.ts';

export async function insertSubscriptions(tx: DbOrTx, rows: NewSubscription[]): Promise<void> {
  if (rows.length) await tx.insertInto('subscriptions').values(rows).execute();
}

export async function findSubscription(db: DbOrTx, id: string): Promise<Subscription | undefined> {
  return db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findSubscriptionsByExternalId(db: DbOrTx, externalIds: readonly string[]): Promise<Subscription[]> {
  if (!externalIds.length) return [];
  return db.selectFrom('subscriptions').selectAll().where('external_id', 'in', [...new Set(externalIds)]).execute();
}

/** What makes two subscriptions the same purchase: one mailbox (any case), one card token, one plan. */
export interface EnrolmentTerms {
  email: string;
  quickpayId: string;
  interval: string;
  amountMinor: number;
  currency: string;
}

export interface LiveSubscriptionWithTerms extends EnrolmentTerms {
  id: string;
  status: SubscriptionStatus;
}

/** Subscriptions not canceled that have any of these terms (e-mail compared without case). */
export async function findLiveSubscriptionsWithTerms(db: DbOrTx, terms: readonly EnrolmentTerms[]): Promise<LiveSubscriptionWithTerms[]> {
  if (!terms.length) return [];
  const column = <T>(pick: (t: EnrolmentTerms) => T) => terms.map(pick);
  const { rows } = await sql<LiveSubscriptionWithTerms>`
    select s.id, s.status, s.customer_email as email, m.token as "quickpayId", s.interval,
           s.amount_minor as "amountMinor", s.currency
    from subscriptions s
    join payment_methods m on m.id = s.payment_method_id
    join (select distinct * from unnest(
      ${column((t) => t.email.toLowerCase())}::text[],
      ${column((t) => t.quickpayId)}::text[],
      ${column((t) => t.interval)}::text[],
      ${column((t) => t.amountMinor)}::bigint[],
      ${column((t) => t.currency)}::text[]
    ) as k(email, quickpay_id, interval, amount_minor, currency)) k
      on lower(s.customer_email) = k.email and coalesce(m.token, '') = k.quickpay_id and s.interval = k.interval
         and s.amount_minor = k.amount_minor and s.currency = k.currency
    where s.status <> 'canceled'
    order by s.created_at, s.id`.execute(db);
  return rows;
}

/** Advisory locks of enrolment (the two-key form, so they share no key with other advisory locks). */
const ENROLMENT_LOCK_SPACE = 0x72656200; // "reb\0"
const ENROLMENT_EMAIL_LOCK_SPACE = ENROLMENT_LOCK_SPACE + 1;

/**
 * Taken for the transaction: shared by single enrolments, exclusive by a bulk import, which then
 * checks and writes its rows with no enrolment in between (one lock, not one per row).
 */
export async function lockEnrolments(tx: Tx, mode: 'shared' | 'exclusive'): Promise<void> {
  if (mode === 'shared') await sql`select pg_advisory_xact_lock_shared(${ENROLMENT_LOCK_SPACE}::int, 0)`.execute(tx);
  else await sql`select pg_advisory_xact_lock(${ENROLMENT_LOCK_SPACE}::int, 0)`.execute(tx);
}

/** Serialises enrolments for one e-mail address (any case) until the transaction ends. */
export async function lockEnrolmentsOfEmail(tx: Tx, email: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${ENROLMENT_EMAIL_LOCK_SPACE}::int, hashtext(lower(${email}::text)))`.execute(tx);
}

/** The error PostgreSQL raises when an external id is taken by another transaction's subscription. */
export function isExternalIdTaken(error: unknown): boolean {
  const pgError = error as { code?: string; constraint?: string };
  return pgError?.code === '23505' && pgError.constraint === 'subscriptions_external_id';
}

/**
 * Locks subscriptions for a state change, in id order so concurrent batches cannot deadlock.
 * `no key update` leaves foreign-key checks from other transactions (events, attempts) unblocked.
 */
export async function lockSubscriptions(tx: Tx, ids: readonly string[]): Promise<Subscription[]> {
  if (!ids.length) return [];
  return tx
    .selectFrom('subscriptions')
    .selectAll()
    .where('id', 'in', [...new Set(ids)])
    .orderBy('id')
    .forNoKeyUpdate()
    .execute();
}

export function stateOf(row: Subscription): SubscriptionState {
  return {
    plan: { interval: row.interval, anchorAt: row.anchor_at, timezone: row.timezone },
    status: row.status,
    nextPeriod: row.next_period,
    nextRenewalAt: row.next_renewal_at,
    nextAttemptAt: row.next_attempt_at,
    renewalsPaid: row.renewals_paid,
    pastDueSince: row.past_due_since,
    retriesUsed: row.retries_used,
    cancelAtPeriodEnd: row.cancel_at_period_end,
    canceledAt: row.canceled_at,
  };
}

export interface SubscriptionChange {
  id: string;
  state: SubscriptionState;
  /** The charge job for it has run, so the scheduler may queue it again. */
  releaseQueueLease?: boolean;
  /** A new active payment method (the old one is marked replaced by the caller). */
  paymentMethodId?: number;
}

/** Writes new states for many subscriptions in one statement. */
export async function saveSubscriptionStates(tx: Tx, changes: readonly SubscriptionChange[]): Promise<void> {
  if (!changes.length) return;
  const column = <T>(pick: (c: SubscriptionChange) => T) => changes.map(pick);
  await sql`
    update subscriptions s set
      status = v.status,
      anchor_at = v.anchor_at,
      next_period = v.next_period,
      next_renewal_at = v.next_renewal_at,
      next_attempt_at = v.next_attempt_at,
      renewals_paid = v.renewals_paid,
      past_due_since = v.past_due_since,
      retries_used = v.retries_used,
      cancel_at_period_end = v.cancel_at_period_end,
      canceled_at = v.canceled_at,
      payment_method_id = coalesce(v.payment_method_id, s.payment_method_id),
      enqueued_at = case when v.release_lease then null else s.enqueued_at end,
      updated_at = now()
    from unnest(
      ${column((c) => c.id)}::uuid[],
      ${column((c) => c.state.status)}::text[],
      ${column((c) => c.state.plan.anchorAt)}::timestamptz[],
      ${column((c) => c.state.nextPeriod)}::int[],
      ${column((c) => c.state.nextRenewalAt)}::timestamptz[],
      ${column((c) => c.state.nextAttemptAt)}::timestamptz[],
      ${column((c) => c.state.renewalsPaid)}::int[],
      ${column((c) => c.state.pastDueSince)}::timestamptz[],
      ${column((c) => c.state.retriesUsed)}::int[],
      ${column((c) => c.state.cancelAtPeriodEnd)}::boolean[],
      ${column((c) => c.state.canceledAt)}::timestamptz[],
      ${column((c) => c.paymentMethodId ?? null)}::bigint[],
      ${column((c) => c.releaseQueueLease ?? false)}::boolean[]
    ) as v(id, status, anchor_at, next_period, next_renewal_at, next_attempt_at, renewals_paid, past_due_since,
           retries_used, cancel_at_period_end, canceled_at, payment_method_id, release_lease)
    where s.id = v.id`.execute(tx);
}

/** Invoice statuses `rebill list` filters on: subscriptions with money given back. */
export const MONEY_BACK_STATUSES = ['refunded', 'partially_refunded', 'charged_back'] as const;

export interface ListFilter {
  status?: SubscriptionStatus;
  /** Subscriptions with at least one invoice in this status. */
  invoiceStatus?: (typeof MONEY_BACK_STATUSES)[number];
  dueBefore?: Date;
  limit: number;
}

export async function listSubscriptions(db: DbOrTx, filter: ListFilter): Promise<Subscription[]> {
  let query = db.selectFrom('subscriptions').selectAll();
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.invoiceStatus) {
    const wanted = filter.invoiceStatus;
    query = query.where(({ exists, selectFrom }) =>
      exists(selectFrom('invoices').select('invoices.id').whereRef('invoices.subscription_id', '=', 'subscriptions.id').where('invoices.status', '=', wanted)),
    );
  }
  if (filter.dueBefore) query = query.where('next_renewal_at', '<', filter.dueBefore);
  return query.orderBy('next_renewal_at', (ob) => ob.asc().nullsLast()).orderBy('created_at').limit(filter.limit).execute();
}

/** Points subscriptions at their (new) active payment method. */
export async function usePaymentMethods(tx: DbOrTx, uses: readonly { subscriptionId: string; paymentMethodId: number }[]): Promise<void> {
  if (!uses.length) return;
  await sql`
    update subscriptions s set payment_method_id = v.payment_method_id
    from unnest(${uses.map((u) => u.subscriptionId)}::uuid[], ${uses.map((u) => u.paymentMethodId)}::bigint[]) as v(id, payment_method_id)
    where s.id = v.id`.execute(tx);
}

/** The card token of the subscription's active payment method, or null when it has none. */
export async function activeTokenOf(db: DbOrTx, subscription: Pick<Subscription, 'payment_method_id'>): Promise<string | null> {
  if (subscription.payment_method_id === null) return null;
  const row = await db.selectFrom('payment_methods').select('token').where('id', '=', subscription.payment_method_id).executeTakeFirst();
  return row?.token ?? null;
}
