/** What the console reads: subscribers by search, and the report's figures day by day. */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connect.ts';
import { SUBSCRIPTION_STATUSES, type Subscription, type SubscriptionStatus } from '../db/database.ts';
import { DAY_MS } from '../lib/clock.ts';
import { computeReport, type Report } from '../reports/report.ts';
import { loadReportInput } from '../reports/report.repo.ts';

export interface SubscriberSearch {
  /** An e-mail (or part of one), an external id, an order number, or a subscription id. */
  q: string;
  status: SubscriptionStatus | null;
  limit: number;
}

export function statusOrNull(text: string | null): SubscriptionStatus | null {
  return (SUBSCRIPTION_STATUSES as readonly string[]).includes(text ?? '') ? (text as SubscriptionStatus) : null;
}

export async function searchSubscribers(db: DbOrTx, search: SubscriberSearch): Promise<Subscription[]> {
  const q = search.q.trim().slice(0, 200);
  let query = db.selectFrom('subscriptions').selectAll();
  if (search.status) query = query.where('status', '=', search.status);
  if (q) {
    const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([
        eb('customer_email', 'ilike', pattern),
        eb('external_id', '=', q),
        sql<boolean>`${eb.ref('id')}::text = ${q.toLowerCase()}`,
        eb('id', 'in', eb.selectFrom('payment_transactions').select('subscription_id').where('reference', '=', q)),
      ]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id').limit(search.limit).execute();
}

export interface Dashboard {
  /** The last `days` days together. */
  period: Report;
  /** One report per day, oldest first: MRR at its end, renewals by outcome during it. */
  daily: { day: string; report: Report }[];
}

export async function dashboard(db: DbOrTx, now: Date, days = 30): Promise<Dashboard> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const to = new Date(today + DAY_MS);
  const input = await loadReportInput(db, from, to);
  const daily = [];
  for (let start = from.getTime(); start < to.getTime(); start += DAY_MS) {
    daily.push({ day: new Date(start).toISOString().slice(0, 10), report: computeReport({ ...input, from: new Date(start), to: new Date(start + DAY_MS) }) });
  }
  return { period: computeReport(input), daily };
}
