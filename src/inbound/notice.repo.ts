/** Queries on stored provider notices (and browser returns). */
import { sql, type Insertable } from 'kysely';
import type { DbOrTx } from '../db/connect.ts';
import type { NoticeResult, ProviderNotice, ProviderNoticesTable } from '../db/database.ts';

export async function insertNotices(tx: DbOrTx, rows: readonly Insertable<ProviderNoticesTable>[]): Promise<void> {
  if (rows.length) await tx.insertInto('provider_notices').values([...rows]).execute();
}

/** Takes notices due to be confirmed with their provider, moving their next check past `lease` first. */
export async function claimNoticesToCheck(db: DbOrTx, now: Date, lease: Date, limit: number): Promise<ProviderNotice[]> {
  const { rows } = await sql<ProviderNotice>`
    update provider_notices n set next_check_at = ${lease}
    from (
      select id from provider_notices where next_check_at <= ${now}
      order by next_check_at limit ${limit} for update skip locked
    ) due
    where n.id = due.id
    returning n.*`.execute(db);
  return rows;
}

export interface NoticeCheck {
  id: number;
  result: NoticeResult;
  problem: string | null;
  transactionId: number | null;
  /** Null: nothing more to ask. */
  nextCheckAt: Date | null;
}

/** Records what confirming a notice found (the verdict of an unverifiable notice can only be reached later). */
export async function saveNoticeChecks(db: DbOrTx, checks: readonly NoticeCheck[]): Promise<void> {
  for (const check of checks) {
    await db
      .updateTable('provider_notices')
      .set((eb) => ({
        result: check.result,
        problem: check.problem,
        transaction_id: check.transactionId,
        next_check_at: check.nextCheckAt,
        check_count: eb('check_count', '+', 1),
      }))
      .where('id', '=', check.id)
      .execute();
  }
}
