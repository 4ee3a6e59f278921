/** One pg pool per process, shared by Kysely and pg-boss. */
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Functions that only read or write take either; functions that lock rows take a Tx. */
export type DbOrTx = Db | Tx;

const INT8_OID = 20;

// Amounts are at most 10 digits and ids are sequences, so int8 fits a JS number exactly.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export interface DatabaseHandle {
  readonly db: Db;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export function connectDatabase(url: string, options: { poolSize?: number; applicationName?: string } = {}): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'rebill',
    types,
    connectionTimeoutMillis: 10_000,
  });
  // A client losing its server (a database restart) must not crash the process: the pool only
  // listens on idle clients, so a client checked out mid-transaction gets its own listener. Its
  // query fails with a clear error, and the next one gets a fresh connection.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    db,
    pool,
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}
