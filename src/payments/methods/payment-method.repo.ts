/** Queries on stored payment methods: the tokens a provider keeps for a subscription. */
import type { DbOrTx, Tx } from '../../db/connect.ts';
import type { PaymentMethod } from '../../db/database.ts';

export interface NewMethod {
  subscriptionId: string;
  provider: string;
  /** null for a method that stores no token (a payment link). */
  token: string | null;
  createdAt: Date;
  cardLast4?: string | null;
  cardExpiry?: string | null;
}

/** Inserts active methods, returning their ids in the same order. */
export async function insertMethods(tx: DbOrTx, methods: readonly NewMethod[]): Promise<number[]> {
  if (!methods.length) return [];
  const rows = await tx
    .insertInto('payment_methods')
    .values(
      methods.map((m) => ({
        subscription_id: m.subscriptionId,
        provider: m.provider,
        token: m.token,
        status: 'active' as const,
        replaced_by: null,
        card_last4: m.cardLast4 ?? null,
        card_expiry: m.cardExpiry ?? null,
        created_at: m.createdAt,
        disabled_at: null,
      })),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function methodsByIds(db: DbOrTx, ids: readonly number[]): Promise<Map<number, PaymentMethod>> {
  if (!ids.length) return new Map();
  const rows = await db.selectFrom('payment_methods').selectAll().where('id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export async function methodsOf(db: DbOrTx, subscriptionId: string): Promise<PaymentMethod[]> {
  return db.selectFrom('payment_methods').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}

/** A new active method in place of the old one, which is marked replaced by it. Returns the new id. */
export async function replaceMethod(tx: Tx, oldId: number, method: NewMethod): Promise<number> {
  // One active method per subscription: the old one stops being active before the new one is.
  await tx.updateTable('payment_methods').set({ status: 'replaced', disabled_at: method.createdAt, updated_at: method.createdAt }).where('id', '=', oldId).execute();
  const [newId] = await insertMethods(tx, [method]);
  await tx.updateTable('payment_methods').set({ replaced_by: newId! }).where('id', '=', oldId).execute();
  return newId!;
}
