/** Queries on charge attempts. */
import type { DbOrTx } from '../db/connect.ts';
import type { ChargeAttempt } from '../db/database.ts';

export async function attemptsOf(db: DbOrTx, subscriptionId: string): Promise<ChargeAttempt[]> {
  return db.selectFrom('charge_attempts').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}
