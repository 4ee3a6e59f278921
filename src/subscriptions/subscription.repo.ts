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
