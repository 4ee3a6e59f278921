import type { DbOrTx } from '../db/connect.ts';
import type { Insertable } from 'kysely';
import type { GatewayNoticesTable } from '../db/database.ts';

export async function insertNotice(tx: DbOrTx, row: Insertable<GatewayNoticesTable>): Promise<number> {
  const { id } = await tx.insertInto('gateway_notices').values(row).returning('id').executeTakeFirstOrThrow();
  return id;
}
