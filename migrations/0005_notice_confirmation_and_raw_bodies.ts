// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * Notices that would move money in the customer's favour wait for a signed query ('confirming');
 * a body that cannot be stored as text (a NUL byte, bytes that are not UTF-8) keeps its exact bytes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table gateway_notices drop constraint gateway_notices_result_check`.execute(db);
  await sql`alter table gateway_notices add constraint gateway_notices_result_check
    check (result in ('applied', 'no_change', 'confirming', 'rejected', 'unmatched', 'not_verifiable', 'malformed'))`.execute(db);
  await sql`alter table gateway_notices add column raw_body bytea`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table gateway_notices drop column raw_body`.execute(db);
  await sql`delete from gateway_notices where result = 'confirming'`.execute(db);
  await sql`alter table gateway_notices drop constraint gateway_notices_result_check`.execute(db);
  await sql`alter table gateway_notices add constraint gateway_notices_result_check
    check (result in ('applied', 'no_change', 'rejected', 'unmatched', 'not_verifiable', 'malformed'))`.execute(db);
}
