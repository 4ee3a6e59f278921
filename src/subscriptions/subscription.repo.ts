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
    select s.id, s.status, s.customer_email as email, s.quickpay_id as "quickpayId", s.interval,
           s.amount_minor as "amountMinor", s.currency
    from subscriptions s
    join (select distinct * from unnest(
      ${column((t) => t.email.toLowerCase())}::text[],
      ${column((t) => t.quickpayId)}::text[],
      ${column((t) => t.interval)}::text[],
      ${column((t) => t.amountMinor)}::bigint[],
      ${column((t) => t.currency)}::text[]
    ) as k(email, quickpay_id, interval, amount_minor, currency)) k
      on lower(s.customer_email) = k.email and s.quickpay_id = k.quickpay_id and s.interval = k.interval
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
  quickpayId?: string;
}

/** Writes new states for many subscriptions in one statement. */
export async function saveSubscriptionStates(tx: Tx, changes: readonly SubscriptionChange[]): Promise<void> {
  if (!changes.length) return;
  const column = <T>(pick: (c: SubscriptionChange) => T) => changes.map(pick);
  await sql`
    update subscriptions s set
      status = v.status,
      next_period = v.next_period,
      next_renewal_at = v.next_renewal_at,
      next_attempt_at = v.next_attempt_at,
      renewals_paid = v.renewals_paid,
      past_due_since = v.past_due_since,
      retries_used = v.retries_used,
      cancel_at_period_end = v.cancel_at_period_end,
      canceled_at = v.canceled_at,
      quickpay_id = coalesce(v.quickpay_id, s.quickpay_id),
      enqueued_at = case when v.release_lease then null else s.enqueued_at end,
      updated_at = now()
    from unnest(
      ${column((c) => c.id)}::uuid[],
      ${column((c) => c.state.status)}::text[],
      ${column((c) => c.state.nextPeriod)}::int[],
      ${column((c) => c.state.nextRenewalAt)}::timestamptz[],
      ${column((c) => c.state.nextAttemptAt)}::timestamptz[],
      ${column((c) => c.state.renewalsPaid)}::int[],
      ${column((c) => c.state.pastDueSince)}::timestamptz[],
      ${column((c) => c.state.retriesUsed)}::int[],
      ${column((c) => c.state.cancelAtPeriodEnd)}::boolean[],
      ${column((c) => c.state.canceledAt)}::timestamptz[],
      ${column((c) => c.quickpayId ?? null)}::text[],
      ${column((c) => c.releaseQueueLease ?? false)}::boolean[]
    ) as v(id, status, next_period, next_renewal_at, next_attempt_at, renewals_paid, past_due_since,
           retries_used, cancel_at_period_end, canceled_at, quickpay_id, release_lease)
    where s.id = v.id`.execute(tx);
}

export interface ListFilter {
  status?: SubscriptionStatus;
  dueBefore?: Date;
  limit: number;
}

export async function listSubscriptions(db: DbOrTx, filter: ListFilter): Promise<Subscription[]> {
  let query = db.selectFrom('subscriptions').selectAll();
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.dueBefore) query = query.where('next_renewal_at', '<', filter.dueBefore);
  return query.orderBy('next_renewal_at', (ob) => ob.asc().nullsLast()).orderBy('created_at').limit(filter.limit).execute();
}
