/**
 * The payments core's migration moves existing data in place: a database as the previous release
 * left it (its charge attempts, notices, links, e-mails and events) comes out with payment
 * methods, invoices per period and neutral payment transactions, nothing lost.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createEmptyDatabase, dropTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
const ADA = '0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d';
const GRACE = '1c7f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7e';

beforeAll(async () => {
  database = await createEmptyDatabase('payments_migration');
  await migrateToLatest(database.db, '0006_outbox_message_keys');
  // What the previous release wrote, in its own columns.
  await sql`
    insert into subscriptions (id, customer_email, customer_first_name, customer_last_name, customer_country, quickpay_id, product_name,
      interval, amount_minor, currency, timezone, anchor_at, status, renewals_paid, next_period, next_renewal_at, next_attempt_at, created_at)
    values
      (${ADA}, 'ada@example.com', 'Ada', 'Lovelace', 'GB', 'tok-ada', 'Monthly subscription', 'month', 999, 'GBP', 'Europe/London',
       '2027-01-31T09:00:00Z', 'active', 1, 2, '2027-03-31T08:00:00Z', '2027-03-31T08:00:00Z', '2027-01-31T09:00:00Z'),
      (${GRACE}, 'grace@example.com', 'Grace', 'Hopper', 'US', '3ds-grace', 'Yearly subscription', 'year', 12000, 'USD', 'UTC',
       '2026-03-01T00:00:00Z', 'past_due', 0, 1, '2027-03-01T00:00:00Z', null, '2026-03-01T00:00:00Z')`.execute(database.db);
  await sql`
    insert into charge_attempts (subscription_id, period, order_number, service_mode, amount_minor, currency, account, terminal, status,
      decline_class, gateway_code, gateway_details, payment_id, pay_url, requested_at, resolved_at)
    values
      (${ADA}, 1, 'ada-1-1', 'M2', 999, 'GBP', '995149', '99514901', 'failed', 'soft', '80022', '80022:Not sufficient funds', '2611', null, '2027-02-28T09:00:00Z', '2027-02-28T09:00:01Z'),
      (${ADA}, 1, 'ada-1-2', 'M2', 999, 'GBP', '995149', '99514901', 'succeeded', null, '80000', '80000:Transaction Approved', '2612', null, '2027-03-01T09:00:00Z', '2027-03-01T09:00:01Z'),
      (${GRACE}, 1, 'grace-1-1', 'Y2', 12000, 'USD', '995149', '99514901', 'action_required', null, '80093', '80093:3D not completed', '2613', 'https://gw.example/pay?id=1', '2027-03-01T00:00:00Z', null)`.execute(database.db);
  const grace = await sql<{ id: number }>`select id from charge_attempts where order_number = 'grace-1-1'`.execute(database.db);
  const graceAttempt = grace.rows[0]!.id;
  await sql`insert into gateway_notices (channel, received_at, order_number, payment_id, payment_status, verified, result, attempt_id, body)
    values ('notice', now(), 'grace-1-1', '2613', '-1', true, 'applied', ${graceAttempt}, '<response/>')`.execute(database.db);
  await sql`insert into payment_links (attempt_id, subscription_id, created_at, expires_at) values (${graceAttempt}, ${GRACE}, now(), now() + interval '3 days')`.execute(database.db);
  await sql`insert into email_outbox (subscription_id, attempt_id, kind, to_address, subject, text_body, html_body, send_after, dedupe_key)
    values (${GRACE}, ${graceAttempt}, 'action_required', 'grace@example.com', 's', 't', 'h', now(), 'action_required:attempt:${sql.raw(String(graceAttempt))}')`.execute(database.db);
  await sql`insert into events (subscription_id, attempt_id, type, actor, data, occurred_at) values (${GRACE}, ${graceAttempt}, 'action_required', 'gateway:sync', '{}', now())`.execute(database.db);
  await migrateToLatest(database.db);
});

afterAll(async () => {
  await dropTestDatabase(database);
});

describe('migrating to the payments core', () => {
  it('gives each subscription an active payment method holding its card token', async () => {
    const rows = await sql<{ id: string; token: string; provider: string; status: string }>`
      select s.id, m.token, m.provider, m.status from subscriptions s join payment_methods m on m.id = s.payment_method_id order by s.id`.execute(database.db);
    expect(rows.rows).toEqual([
      { id: ADA, token: 'tok-ada', provider: 'oceanpayment', status: 'active' },
      { id: GRACE, token: '3ds-grace', provider: 'oceanpayment', status: 'active' },
    ]);
  });

  it('opens an invoice per attempted period, paid where an attempt succeeded', async () => {
    const invoices = await database.db.selectFrom('invoices').selectAll().orderBy('subscription_id').execute();
    expect(invoices).toEqual([
      expect.objectContaining({ subscription_id: ADA, period: 1, status: 'paid', amount_due_minor: 999, amount_paid_minor: 999, currency: 'GBP' }),
      expect.objectContaining({ subscription_id: GRACE, period: 1, status: 'open', amount_due_minor: 12000, amount_paid_minor: 0, currency: 'USD' }),
    ]);
  });

  it('turns each attempt into a charge with neutral columns, keeping what the gateway said', async () => {
    const charges = await database.db.selectFrom('payment_transactions').selectAll().orderBy('id').execute();
    expect(charges.map((c) => [c.kind, c.reference, c.status, c.provider, c.provider_account, c.provider_reference, c.provider_code, c.details.service_mode])).toEqual([
      ['charge', 'ada-1-1', 'failed', 'oceanpayment', '995149/99514901', '2611', '80022', 'M2'],
      ['charge', 'ada-1-2', 'succeeded', 'oceanpayment', '995149/99514901', '2612', '80000', 'M2'],
      ['charge', 'grace-1-1', 'action_required', 'oceanpayment', '995149/99514901', '2613', '80093', 'Y2'],
    ]);
    expect(charges[2]).toMatchObject({ action_url: 'https://gw.example/pay?id=1', provider_message: '80093:3D not completed', parent_id: null });
    const invoiceOf = new Set(charges.map((c) => c.invoice_id));
    expect(invoiceOf.size).toBe(2);
  });

  it('keeps notices, links, e-mails and events pointing at the same transaction', async () => {
    const [grace] = await database.db.selectFrom('payment_transactions').select('id').where('reference', '=', 'grace-1-1').execute();
    const id = grace!.id;
    expect(await database.db.selectFrom('provider_notices').select(['provider', 'reference', 'provider_reference', 'status', 'transaction_id']).execute()).toEqual([
      { provider: 'oceanpayment', reference: 'grace-1-1', provider_reference: '2613', status: '-1', transaction_id: id },
    ]);
    expect((await database.db.selectFrom('payment_links').select('transaction_id').execute())[0]).toEqual({ transaction_id: id });
    expect((await database.db.selectFrom('email_outbox').select('transaction_id').execute())[0]).toEqual({ transaction_id: id });
    expect((await database.db.selectFrom('events').select('transaction_id').execute())[0]).toEqual({ transaction_id: id });
  });

  it('still refuses a second open charge for a subscription', async () => {
    const [open] = await database.db.selectFrom('payment_transactions').selectAll().where('reference', '=', 'grace-1-1').execute();
    const { id: _id, ...copy } = open!;
    await expect(database.db.insertInto('payment_transactions').values({ ...copy, reference: 'grace-1-2', details: '{}' } as never).execute()).rejects.toThrow(/payment_transactions_one_open_charge/);
  });
});
