import type { DbOrTx, Tx } from '../db/connect.ts';
import type { PaymentMethod, Subscription } from '../db/database.ts';
import { methodsByIds } from '../payments/methods/payment-method.repo.ts';
import { NotFoundError } from '../lib/errors.ts';
import { findSubscription, findSubscriptionsByExternalId, lockSubscriptions } from './subscription.repo.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Marks an external id in place of a subscription id: UUID-shaped external ids stay unambiguous. */
export const EXTERNAL_ID_PREFIX = 'ext:';

export function notFound(id: string): NotFoundError {
  return UUID.test(id)
    ? new NotFoundError(`no subscription with id ${id}`)
    : new NotFoundError(
        `"${id}" is not a subscription id (ids look like 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d) nor an order number rebill has sent; ` +
          `to find a subscription by its external id, write ${EXTERNAL_ID_PREFIX}${id}`,
      );
}

/** The subscription an order number (or refund number) belongs to, as customers quote them. */
async function subscriptionIdOfReference(db: DbOrTx, reference: string): Promise<string | undefined> {
  if (!reference || reference.length > 100) return undefined;
  const row = await db.selectFrom('payment_transactions').select('subscription_id').where('reference', '=', reference).executeTakeFirst();
  return row?.subscription_id;
}

/**
 * The subscription id a person typed: the id itself, `ext:` and an external id, or an order
 * number (customers quote those). Throws a NotFoundError naming what was typed.
 */
export async function subscriptionIdFor(db: DbOrTx, typed: string): Promise<string> {
  if (UUID.test(typed)) return typed;
  if (typed.startsWith(EXTERNAL_ID_PREFIX)) return (await getSubscriptionByExternalId(db, typed.slice(EXTERNAL_ID_PREFIX.length))).id;
  const id = await subscriptionIdOfReference(db, typed);
  if (!id) throw notFound(typed);
  return id;
}

export function isSubscriptionId(text: string): boolean {
  return UUID.test(text);
}

export async function getSubscriptionByExternalId(db: DbOrTx, externalId: string): Promise<Subscription> {
  const [row] = await findSubscriptionsByExternalId(db, [externalId]);
  if (!row) throw new NotFoundError(`no subscription with external id "${externalId}"`);
  return row;
}

/** A subscription by its id or by one of its order numbers. */
export async function getSubscription(db: DbOrTx, id: string): Promise<Subscription> {
  const byId = UUID.test(id) ? id : await subscriptionIdOfReference(db, id);
  const row = byId ? await findSubscription(db, byId) : undefined;
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
