import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/connect.ts';
import { useTestDatabase } from '../support/database.ts';

const database = useTestDatabase('connection');

describe('the connection pool', () => {
  it('survives the server ending a connection in the middle of a transaction (a database restart)', async () => {
    const handle = connectDatabase(database.current.url, { poolSize: 2 });
    try {
      const failure = await handle.db
        .transaction()
        .execute(async (tx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
          // What a restart does to every backend, done to this one while the client is checked out.
          await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(database.current.db);
          await sleep(200); // the server's goodbye reaches the idle, checked-out client
          await sql`select 1`.execute(tx);
        })
        .then(() => null, (error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      // The process is still here, and the pool hands out a working connection.
      const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(handle.db);
      expect(rows[0]!.ok).toBe(1);
    } finally {
      await handle.close();
    }
  });
});
