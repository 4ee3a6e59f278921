/** Active subscriptions whose first renewal is due now (or spread around now), for tests and scripts. */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/connect.ts';
import type { EnrolmentRow } from '../../src/subscriptions/enrol.ts';
import { renewalAt } from '../../src/plans/billing-calendar.ts';
import { enrolMany } from '../../src/subscriptions/enrol.ts';

export interface SeedOptions {
  /** Due times spread evenly over this window centred on now (0: all due a few seconds ago). */
  spreadMs?: number;
  /** Card token of subscriber i; the sandbox chooses its behaviour by the token's start. */
  token?: (i: number) => string;
}

export async function seedDueSubscriptions(db: Db, count: number, options: SeedOptions = {}): Promise<string[]> {
  const now = Date.now();
  const spread = options.spreadMs ?? 0;
  const token = options.token ?? ((i: number) => `approve-${i}`);
  const rows: EnrolmentRow[] = Array.from({ length: count }, (_, i) => {
    const due = new Date(now - 5_000 + (spread ? (i / count) * spread - spread / 2 : 0));
    // A weekly plan first paid a week before the due instant: renewal 1 is due then.
    const anchor = new Date(due.getTime() - 7 * 86_400_000);
    const next = renewalAt({ interval: 'week', anchorAt: anchor, timezone: 'UTC' }, 1);
    return {
      id: randomUUID(),
      customer_email: `customer${i}@example.com`,
      customer_first_name: 'Test',
      customer_last_name: `Customer${i}`,
      customer_country: 'US',
      card_token: token(i),
      collection_method: 'card_token',
      product_name: 'Weekly plan',
      interval: 'week',
      amount_minor: 500 + i,
      currency: 'USD',
      timezone: 'UTC',
      anchor_at: anchor,
      status: 'active',
      renewals_paid: 0,
      next_period: 1,
      next_renewal_at: next,
      next_attempt_at: next,
      enqueued_at: null,
      past_due_since: null,
      canceled_at: null,
    };
  });
  for (let i = 0; i < rows.length; i += 1000) await enrolMany(db, rows.slice(i, i + 1000), { now: new Date(), actor: 'seed', provider: 'oceanpayment' });
  return rows.map((r) => r.id);
}
