import type { Insertable } from 'kysely';
import type { DbOrTx } from '../db/connect.ts';
import type { GatewayNoticesTable } from '../db/database.ts';

export async function insertNotices(tx: DbOrTx, rows: readonly Insertable<GatewayNoticesTable>[]): Promise<void> {
  if (rows.length) await tx.insertInto('gateway_notices').values([...rows]).execute();
}
