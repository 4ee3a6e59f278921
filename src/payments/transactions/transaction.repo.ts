/** Queries on payment transactions: charges, refunds and chargebacks. */
import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/connect.ts';
import {
  OPEN_CHARGE_STATUSES,
  type NewPaymentTransaction,
  type PaymentTransaction,
  type SubscriptionStatus,
  type TransactionKind,
  type TransactionStatus,
} from '../../db/database.ts';

export async function transactionsOf(db: DbOrTx, subscriptionId: string, kind?: TransactionKind): Promise<PaymentTransaction[]> {
  let query = db.selectFrom('payment_transactions').selectAll().where('subscription_id', '=', subscriptionId);
  if (kind) query = query.where('kind', '=', kind);
  return query.orderBy('id').execute();
}

export async function findTransactionByReference(db: DbOrTx, reference: string): Promise<PaymentTransaction | undefined> {
  return db.selectFrom('payment_transactions').selectAll().where('reference', '=', reference).executeTakeFirst();
}

export async function findTransactionsByReference(db: DbOrTx, references: readonly string[]): Promise<PaymentTransaction[]> {
  if (!references.length) return [];
  return db.selectFrom('payment_transactions').selectAll().where('reference', 'in', [...references]).execute();
}

/** A provider's transaction of a kind, by its own reference (its payment id, its refund id). */
export async function findByProviderReference(db: DbOrTx, provider: string, kind: TransactionKind, providerReference: string): Promise<PaymentTransaction | undefined> {
  return db
    .selectFrom('payment_transactions')
    .selectAll()
    .where('provider', '=', provider)
    .where('kind', '=', kind)
    .where('provider_reference', '=', providerReference)
    .orderBy('id')
    .executeTakeFirst();
}

export async function openChargeOf(db: DbOrTx, subscriptionId: string): Promise<PaymentTransaction | undefined> {
  return db
    .selectFrom('payment_transactions')
    .selectAll()
    .where('subscription_id', '=', subscriptionId)
    .where('kind', '=', 'charge')
    .where('status', 'in', OPEN_CHARGE_STATUSES)
    .executeTakeFirst();
}

export interface ChargeHistory {
  subscription_id: string;
  period: number;
  attempts: number;
  open: boolean;
}

/** Per subscription and period: how many charges were attempted and whether one is still open. */
export async function chargeHistory(tx: DbOrTx, subscriptionIds: readonly string[]): Promise<ChargeHistory[]> {
  if (!subscriptionIds.length) return [];
  return tx
    .selectFrom('payment_transactions')
    .select((eb) => [
      'subscription_id',
      'period',
      eb.fn.countAll<number>().as('attempts'),
      sql<boolean>`bool_or(status in ('sending', 'pending', 'action_required', 'unknown'))`.as('open'),
    ])
    .where('subscription_id', 'in', subscriptionIds)
    .where('kind', '=', 'charge')
    .groupBy(['subscription_id', 'period'])
    .execute();
}

export async function insertTransactions(tx: Tx, rows: NewPaymentTransaction[]): Promise<PaymentTransaction[]> {
  if (!rows.length) return [];
  return tx.insertInto('payment_transactions').values(rows).returningAll().execute();
}

/** What differs between a charge's refunds and chargebacks; the rest comes from the charge. */
export interface ChildFields {
  kind: 'refund' | 'chargeback';
  reference: string;
  amountMinor: number;
  currency: string;
  status: TransactionStatus;
  reason: string;
  details: Record<string, string>;
  requestedAt: Date;
  nextQueryAt: Date | null;
  resolvedAt: Date | null;
}

/** A refund or chargeback of `charge`, as a row to insert. */
export function childTransaction(charge: PaymentTransaction, fields: ChildFields): NewPaymentTransaction {
  return {
    kind: fields.kind,
    subscription_id: charge.subscription_id,
    invoice_id: charge.invoice_id,
    parent_id: charge.id,
    period: charge.period,
    provider: charge.provider,
    provider_account: charge.provider_account,
    reference: fields.reference,
    provider_reference: null,
    amount_minor: fields.amountMinor,
    currency: fields.currency,
    status: fields.status,
    decline_class: null,
    provider_code: null,
    provider_message: null,
    action_url: null,
    failure_reason: null,
    reason: fields.reason,
    details: JSON.stringify(fields.details),
    requested_at: fields.requestedAt,
    next_query_at: fields.nextQueryAt,
    resolved_at: fields.resolvedAt,
  };
}

export interface TransactionGlance {
  kind: TransactionKind;
  status: TransactionStatus;
  subscription_id: string;
  subscription_status: SubscriptionStatus;
}

/** Kind, status and subscription of transactions, read without locks (to decide what needs locking). */
export async function glanceAtTransactions(tx: Tx, ids: readonly number[]): Promise<Map<number, TransactionGlance>> {
  if (!ids.length) return new Map();
  const rows = await tx
    .selectFrom('payment_transactions as t')
    .innerJoin('subscriptions as s', 's.id', 't.subscription_id')
    .select(['t.id', 't.kind', 't.status', 't.subscription_id', 's.status as subscription_status'])
    .where('t.id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map(({ id, ...rest }) => [id, rest]));
}

export async function lockTransactions(tx: Tx, ids: readonly number[]): Promise<PaymentTransaction[]> {
  if (!ids.length) return [];
  return tx.selectFrom('payment_transactions').selectAll().where('id', 'in', [...new Set(ids)]).orderBy('id').forUpdate().execute();
}

/** The refunds and chargebacks of charges, for what is left to refund. */
export async function childrenOf(db: DbOrTx, chargeIds: readonly number[]): Promise<PaymentTransaction[]> {
  if (!chargeIds.length) return [];
  return db.selectFrom('payment_transactions').selectAll().where('parent_id', 'in', [...chargeIds]).orderBy('id').execute();
}

export interface TransactionUpdate {
  id: number;
  status: TransactionStatus;
  declineClass: string | null;
  providerCode: string | null;
  providerMessage: string | null;
  providerReference: string | null;
  actionUrl: string | null;
  failureReason: string | null;
  queryCount: number;
  nextQueryAt: Date | null;
  resolvedAt: Date | null;
}

/** Writes many transactions in one statement. */
export async function saveTransactions(tx: Tx, updates: readonly TransactionUpdate[]): Promise<void> {
  if (!updates.length) return;
  const column = <T>(pick: (u: TransactionUpdate) => T) => updates.map(pick);
  await sql`
    update payment_transactions t set
      status = v.status,
      decline_class = v.decline_class,
      provider_code = v.provider_code,
      provider_message = v.provider_message,
      provider_reference = v.provider_reference,
      action_url = v.action_url,
      failure_reason = v.failure_reason,
      query_count = v.query_count,
      next_query_at = v.next_query_at,
      resolved_at = v.resolved_at,
      updated_at = now()
    from unnest(
      ${column((u) => u.id)}::bigint[],
      ${column((u) => u.status)}::text[],
      ${column((u) => u.declineClass)}::text[],
      ${column((u) => u.providerCode)}::text[],
      ${column((u) => u.providerMessage)}::text[],
      ${column((u) => u.providerReference)}::text[],
      ${column((u) => u.actionUrl)}::text[],
      ${column((u) => u.failureReason)}::text[],
      ${column((u) => u.queryCount)}::int[],
      ${column((u) => u.nextQueryAt)}::timestamptz[],
      ${column((u) => u.resolvedAt)}::timestamptz[]
    ) as v(id, status, decline_class, provider_code, provider_message, provider_reference, action_url, failure_reason,
           query_count, next_query_at, resolved_at)
    where t.id = v.id`.execute(tx);
}

export function toUpdate(transaction: PaymentTransaction): TransactionUpdate {
  return {
    id: transaction.id,
    status: transaction.status,
    declineClass: transaction.decline_class,
    providerCode: transaction.provider_code,
    providerMessage: transaction.provider_message,
    providerReference: transaction.provider_reference,
    actionUrl: transaction.action_url,
    failureReason: transaction.failure_reason,
    queryCount: transaction.query_count,
    nextQueryAt: transaction.next_query_at,
    resolvedAt: transaction.resolved_at,
  };
}

/** Asks for an open charge to be queried at once (operator `resolve`, the return page, 20061). */
export async function queryChargeSoon(db: DbOrTx, id: number, now: Date): Promise<void> {
  await db
    .updateTable('payment_transactions')
    .set({ next_query_at: now, updated_at: new Date() })
    .where('id', '=', id)
    .where('kind', '=', 'charge')
    .where('status', 'in', OPEN_CHARGE_STATUSES)
    .execute();
}

/**
 * Asks for transactions to be queried at once even though they are settled: a notice claimed
 * something in the customer's favour (or a cancel ended a step the customer may have completed),
 * and only the provider's own record may settle it.
 */
export async function requestConfirmationQueries(tx: DbOrTx, ids: readonly number[], now: Date): Promise<void> {
  if (!ids.length) return;
  await tx.updateTable('payment_transactions').set({ next_query_at: now, updated_at: new Date() }).where('id', 'in', [...ids]).execute();
}

/**
 * Takes transactions due for a query. Their next query moves past `lease` first, so another
 * worker's janitor leaves them alone, and a janitor that dies mid-query tries again later.
 */
export async function claimTransactionsToQuery(db: DbOrTx, now: Date, lease: Date, limit: number): Promise<PaymentTransaction[]> {
  const { rows } = await sql<PaymentTransaction>`
    update payment_transactions t set next_query_at = ${lease}
    from (
      select id from payment_transactions where next_query_at <= ${now}
      order by next_query_at limit ${limit} for update skip locked
    ) due
    where t.id = due.id
    returning t.*`.execute(db);
  return rows;
}
