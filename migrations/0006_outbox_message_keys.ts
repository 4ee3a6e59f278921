// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * A random key per e-mail, unique for ever: outbox ids start again at 1 when a database is
 * recreated, so names built from them (`.eml` files, Message-ID) could repeat an old message's.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table email_outbox add column message_key uuid not null default gen_random_uuid()`.execute(db);
  await sql`create unique index email_outbox_message_key on email_outbox (message_key)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index email_outbox_message_key`.execute(db);
  await sql`alter table email_outbox drop column message_key`.execute(db);
}
