// Frozen in time: never import application code here, and never edit a migration once released.
import { sql, type Kysely } from 'kysely';

/**
 * Collection methods: a subscription's periods are collected by charging a stored card token
 * (`card_token`, every subscription so far), by a link e-mailed for each period that the customer
 * pays on the provider's page (`payment_link`), or at a counter (`in_person`). A payment link
 * stores no token, so a payment method's token may now be absent (never empty).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table subscriptions add column collection_method text not null default 'card_token'
      check (collection_method in ('card_token', 'payment_link', 'in_person'))`.execute(db);
  await sql`alter table payment_methods alter column token drop not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Subscriptions collected by link lose their method (and would be charged by card token no more).
  await sql`update subscriptions set payment_method_id = null where payment_method_id in (select id from payment_methods where token is null)`.execute(db);
  await sql`delete from payment_methods where token is null`.execute(db);
  await sql`alter table payment_methods alter column token set not null`.execute(db);
  await sql`alter table subscriptions drop column collection_method`.execute(db);
}
