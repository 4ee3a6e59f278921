/** Reads what the report is computed from: the event log's status changes and the payment records. */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connect.ts';
import type { Interval } from '../plans/billing-calendar.ts';
import type { ReportInput } from './report.ts';

export async function loadReportInput(db: DbOrTx, from: Date, to: Date): Promise<ReportInput> {
  const changes = await db
    .selectFrom('events')
    .select(['subscription_id', 'type', 'occurred_at', sql<string>`coalesce(data->>'to_status', data->>'status')`.as('to_status')])
    .where('occurred_at', '<', to)
    .where((eb) => eb.or([eb('type', '=', 'enrolled'), sql<boolean>`data ? 'to_status'`]))
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();
  const subscriptions = await db
    .selectFrom('subscriptions')
    .select(['id', 'product_name', 'interval', 'amount_minor', 'currency'])
    .execute();
  // Every try of each period that had a try in the range: whether a success was a recovery needs the earlier ones.
  const charges = await db
    .selectFrom('payment_transactions')
    .select(['subscription_id', 'invoice_id', 'period', 'status', 'requested_at', 'resolved_at', sql<boolean>`action_url is not null`.as('action_required')])
    .where('kind', '=', 'charge')
    .where('invoice_id', 'in', (eb) =>
      eb.selectFrom('payment_transactions').select('invoice_id').where('kind', '=', 'charge').where('requested_at', '>=', from).where('requested_at', '<', to),
    )
    .execute();
  const moneyBack = await db
    .selectFrom('payment_transactions')
    .select(['kind', 'status', 'amount_minor', 'currency', 'resolved_at'])
    .where('kind', 'in', ['refund', 'chargeback'])
    .where('resolved_at', '>=', from)
    .where('resolved_at', '<', to)
    .execute();
  return {
    from,
    to,
    subscriptions: subscriptions.map((s) => ({ ...s, interval: s.interval as Interval })),
    changes,
    charges,
    moneyBack: moneyBack.map((m) => ({ ...m, kind: m.kind as 'refund' | 'chargeback' })),
  };
}
