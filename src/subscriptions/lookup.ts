import type { DbOrTx, Tx } from '../db/connect.ts';
import type { PaymentMethod, Subscription } from '../db/database.ts';
import { methodsByIds } from '../payments/methods/payment-method.repo.ts';
import { NotFoundError } from '../lib/errors.ts';
import { findSubscription, findSubscriptionsByExternalId, lockSubscriptions } from './subscription.repo.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function notFound(id: string): NotFoundError {
  return UUID.test(id)
    ? new NotFoundError(`no subscription with id ${id}`)
    : new NotFoundError(`"${id}" is not a subscription id (ids look like 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d)`);
}

export function isSubscriptionId(text: string): boolean {
  return UUID.test(text);
}

export async function getSubscriptionByExternalId(db: DbOrTx, externalId: string): Promise<Subscription> {
  const [row] = await findSubscriptionsByExternalId(db, [externalId]);
  if (!row) throw new NotFoundError(`no subscription with external id "${externalId}"`);
  return row;
}

export async function getSubscription(db: DbOrTx, id: string): Promise<Subscription> {
  const row = UUID.test(id) ? await findSubscription(db, id) : undefined;
  if (!row) throw notFound(id);
  return row;
}

export async function lockSubscription(tx: Tx, id: string): Promise<Subscription> {
  const [row] = UUID.test(id) ? await lockSubscriptions(tx, [id]) : [];
  if (!row) throw notFound(id);
  return row;
}

/** A subscription as people see it: with its active payment method. */
export type SubscriptionView = Subscription & { payment_method: PaymentMethod | null };

export async function viewsOf(db: DbOrTx, rows: readonly Subscription[]): Promise<SubscriptionView[]> {
  const methods = await methodsByIds(db, rows.flatMap((r) => (r.payment_method_id === null ? [] : [r.payment_method_id])));
  return rows.map((row) => ({ ...row, payment_method: row.payment_method_id === null ? null : (methods.get(row.payment_method_id) ?? null) }));
}

export async function viewOf(db: DbOrTx, row: Subscription): Promise<SubscriptionView> {
  return (await viewsOf(db, [row]))[0]!;
}
