/** Queries on charge attempts. */
import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/connect.ts';
import { OPEN_ATTEMPT_STATUSES, type AttemptStatus, type ChargeAttempt, type NewChargeAttempt, type SubscriptionStatus } from '../../db/database.ts';

export async function attemptsOf(db: DbOrTx, subscriptionId: string): Promise<ChargeAttempt[]> {
  return db.selectFrom('charge_attempts').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}

export async function findAttemptByOrderNumber(db: DbOrTx, orderNumber: string): Promise<ChargeAttempt | undefined> {
  return db.selectFrom('charge_attempts').selectAll().where('order_number', '=', orderNumber).executeTakeFirst();
}

export async function openAttemptOf(db: DbOrTx, subscriptionId: string): Promise<ChargeAttempt | undefined> {
  return db
    .selectFrom('charge_attempts')
    .selectAll()
    .where('subscription_id', '=', subscriptionId)
    .where('status', 'in', OPEN_ATTEMPT_STATUSES)
    .executeTakeFirst();
}

export interface AttemptHistory {
  subscription_id: string;
  period: number;
  attempts: number;
  open: boolean;
}

/** Per subscription and period: how many attempts exist and whether one is still open. */
export async function attemptHistory(tx: DbOrTx, subscriptionIds: readonly string[]): Promise<AttemptHistory[]> {
  if (!subscriptionIds.length) return [];
  return tx
    .selectFrom('charge_attempts')
    .select((eb) => [
      'subscription_id',
      'period',
      eb.fn.countAll<number>().as('attempts'),
      sql<boolean>`bool_or(status in ('sending', 'pending', 'action_required', 'unknown'))`.as('open'),
    ])
    .where('subscription_id', 'in', subscriptionIds)
    .groupBy(['subscription_id', 'period'])
    .execute();
}

export async function insertAttempts(tx: Tx, rows: NewChargeAttempt[]): Promise<ChargeAttempt[]> {
  if (!rows.length) return [];
  return tx.insertInto('charge_attempts').values(rows).returningAll().execute();
}

export interface AttemptGlance {
  status: AttemptStatus;
  subscription_id: string;
  subscription_status: SubscriptionStatus;
}

/** Status and subscription of attempts, read without locks (to decide what needs locking). */
export async function glanceAtAttempts(tx: Tx, attemptIds: readonly number[]): Promise<Map<number, AttemptGlance>> {
  if (!attemptIds.length) return new Map();
  const rows = await tx
    .selectFrom('charge_attempts as a')
    .innerJoin('subscriptions as s', 's.id', 'a.subscription_id')
    .select(['a.id', 'a.status', 'a.subscription_id', 's.status as subscription_status'])
    .where('a.id', 'in', [...new Set(attemptIds)])
    .execute();
  return new Map(rows.map(({ id, ...rest }) => [id, rest]));
}

export async function lockAttempts(tx: Tx, attemptIds: readonly number[]): Promise<ChargeAttempt[]> {
  if (!attemptIds.length) return [];
  return tx.selectFrom('charge_attempts').selectAll().where('id', 'in', attemptIds).orderBy('id').forUpdate().execute();
}

export interface AttemptUpdate {
  id: number;
  status: AttemptStatus;
  declineClass: string | null;
  gatewayCode: string | null;
  gatewayDetails: string | null;
  paymentId: string | null;
  payUrl: string | null;
  failureReason: string | null;
  queryCount: number;
  nextQueryAt: Date | null;
  resolvedAt: Date | null;
}

/** Writes many attempts in one statement. */
export async function saveAttempts(tx: Tx, updates: readonly AttemptUpdate[]): Promise<void> {
  if (!updates.length) return;
  const column = <T>(pick: (u: AttemptUpdate) => T) => updates.map(pick);
  await sql`
    update charge_attempts a set
      status = v.status,
      decline_class = v.decline_class,
      gateway_code = v.gateway_code,
      gateway_details = v.gateway_details,
      payment_id = v.payment_id,
      pay_url = v.pay_url,
      failure_reason = v.failure_reason,
      query_count = v.query_count,
      next_query_at = v.next_query_at,
      resolved_at = v.resolved_at,
      updated_at = now()
    from unnest(
      ${column((u) => u.id)}::bigint[],
      ${column((u) => u.status)}::text[],
      ${column((u) => u.declineClass)}::text[],
      ${column((u) => u.gatewayCode)}::text[],
      ${column((u) => u.gatewayDetails)}::text[],
      ${column((u) => u.paymentId)}::text[],
      ${column((u) => u.payUrl)}::text[],
      ${column((u) => u.failureReason)}::text[],
      ${column((u) => u.queryCount)}::int[],
      ${column((u) => u.nextQueryAt)}::timestamptz[],
      ${column((u) => u.resolvedAt)}::timestamptz[]
    ) as v(id, status, decline_class, gateway_code, gateway_details, payment_id, pay_url, failure_reason,
           query_count, next_query_at, resolved_at)
    where a.id = v.id`.execute(tx);
}

/** Open attempts whose query time has come, oldest first. */
export async function attemptsToQuery(db: DbOrTx, now: Date, limit: number): Promise<ChargeAttempt[]> {
  return db
    .selectFrom('charge_attempts')
    .selectAll()
    .where('next_query_at', '<=', now)
    .orderBy('next_query_at')
    .limit(limit)
    .execute();
}

/** Asks for an attempt to be queried at once (operator `resolve`, the return page, 20061). */
export async function queryAttemptSoon(db: DbOrTx, attemptId: number, now: Date): Promise<void> {
  await db
    .updateTable('charge_attempts')
    .set({ next_query_at: now, updated_at: new Date() })
    .where('id', '=', attemptId)
    .where('status', 'in', OPEN_ATTEMPT_STATUSES)
    .execute();
}

/**
 * Asks for settled attempts to be queried at once: a notice claimed something in the customer's
 * favour, and only the gateway's own record may settle it.
 */
export async function requestConfirmationQueries(tx: DbOrTx, attemptIds: readonly number[], now: Date): Promise<void> {
  if (!attemptIds.length) return;
  await tx.updateTable('charge_attempts').set({ next_query_at: now, updated_at: new Date() }).where('id', 'in', [...attemptIds]).execute();
}

export function toUpdate(attempt: ChargeAttempt): AttemptUpdate {
  return {
    id: attempt.id,
    status: attempt.status,
    declineClass: attempt.decline_class,
    gatewayCode: attempt.gateway_code,
    gatewayDetails: attempt.gateway_details,
    paymentId: attempt.payment_id,
    payUrl: attempt.pay_url,
    failureReason: attempt.failure_reason,
    queryCount: attempt.query_count,
    nextQueryAt: attempt.next_query_at,
    resolvedAt: attempt.resolved_at,
  };
}
