/** Queries on invoices: one per subscription period. */
import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/connect.ts';
import type { Invoice } from '../../db/database.ts';
import { invoiceStatus, type InvoiceState } from './invoice-machine.ts';

export interface InvoiceToOpen {
  subscriptionId: string;
  period: number;
  amountDueMinor: number;
  currency: string;
  dueAt: Date;
}

/**
 * The invoices of these subscription periods, opened if they do not exist yet (the first charge
 * of a period opens it; retries find it).
 */
export async function openInvoices(tx: Tx, wanted: readonly InvoiceToOpen[]): Promise<Map<string, Invoice>> {
  const byKey = new Map<string, Invoice>();
  if (!wanted.length) return byKey;
  const column = <T>(pick: (w: InvoiceToOpen) => T) => wanted.map(pick);
  await sql`
    insert into invoices (subscription_id, period, currency, amount_due_minor, status, due_at)
    select v.subscription_id, v.period, v.currency, v.amount_due_minor, 'open', v.due_at
    from unnest(
      ${column((w) => w.subscriptionId)}::uuid[],
      ${column((w) => w.period)}::int[],
      ${column((w) => w.currency)}::text[],
      ${column((w) => w.amountDueMinor)}::bigint[],
      ${column((w) => w.dueAt)}::timestamptz[]
    ) as v(subscription_id, period, currency, amount_due_minor, due_at)
    on conflict (subscription_id, period) do nothing`.execute(tx);
  const rows = await tx
    .selectFrom('invoices')
    .selectAll()
    .where(({ eb, refTuple, tuple }) =>
      eb(refTuple('subscription_id', 'period'), 'in', wanted.map((w) => tuple(w.subscriptionId, w.period))),
    )
    .execute();
  for (const row of rows) byKey.set(invoiceKey(row.subscription_id, row.period), row);
  return byKey;
}

export const invoiceKey = (subscriptionId: string, period: number) => `${subscriptionId}:${period}`;

export async function lockInvoices(tx: Tx, ids: readonly number[]): Promise<Invoice[]> {
  if (!ids.length) return [];
  return tx.selectFrom('invoices').selectAll().where('id', 'in', [...new Set(ids)]).orderBy('id').forUpdate().execute();
}

export async function invoicesOf(db: DbOrTx, subscriptionId: string): Promise<Invoice[]> {
  return db.selectFrom('invoices').selectAll().where('subscription_id', '=', subscriptionId).orderBy('period').execute();
}

export function invoiceStateOf(row: Invoice): InvoiceState {
  return {
    amountDueMinor: row.amount_due_minor,
    amountPaidMinor: row.amount_paid_minor,
    amountRefundedMinor: row.amount_refunded_minor,
    amountChargedBackMinor: row.amount_charged_back_minor,
    closedAs: row.closed_as,
  };
}

export interface InvoiceUpdate {
  id: number;
  state: InvoiceState;
  /** Set the first time it is paid. */
  paidAt: Date | null;
}

/** Writes many invoices in one statement; the status is always the one the amounts give. */
export async function saveInvoices(tx: Tx, updates: readonly InvoiceUpdate[]): Promise<void> {
  if (!updates.length) return;
  const column = <T>(pick: (u: InvoiceUpdate) => T) => updates.map(pick);
  await sql`
    update invoices i set
      amount_paid_minor = v.paid,
      amount_refunded_minor = v.refunded,
      amount_charged_back_minor = v.charged_back,
      closed_as = v.closed_as,
      status = v.status,
      paid_at = coalesce(i.paid_at, v.paid_at),
      updated_at = now()
    from unnest(
      ${column((u) => u.id)}::bigint[],
      ${column((u) => u.state.amountPaidMinor)}::bigint[],
      ${column((u) => u.state.amountRefundedMinor)}::bigint[],
      ${column((u) => u.state.amountChargedBackMinor)}::bigint[],
      ${column((u) => u.state.closedAs)}::text[],
      ${column((u) => invoiceStatus(u.state))}::text[],
      ${column((u) => u.paidAt)}::timestamptz[]
    ) as v(id, paid, refunded, charged_back, closed_as, status, paid_at)
    where i.id = v.id`.execute(tx);
}

/** Open invoices of subscriptions (unpaid periods), e.g. to close them when the subscription ends. */
export async function openInvoicesOf(tx: DbOrTx, subscriptionIds: readonly string[]): Promise<Invoice[]> {
  if (!subscriptionIds.length) return [];
  return tx.selectFrom('invoices').selectAll().where('subscription_id', 'in', [...subscriptionIds]).where('status', '=', 'open').orderBy('id').execute();
}
