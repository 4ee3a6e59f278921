/**
 * Sends waiting webhook deliveries. Per endpoint and subscription only the lowest sequence
 * number still pending may go (the head), so events arrive in order; a failed head waits with
 * backoff and holds the ones behind it. A delivery is claimed for a lease before it is sent, so
 * two workers never send it at once, and one whose worker died goes again when the lease ends:
 * at least once, with the event id to de-duplicate.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { WebhookDelivery } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { nextTryAfter } from './backoff.ts';
import { signatureHeader } from './signature.ts';

export interface WebhookSenderDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** How long a receiver may take to answer. */
  timeoutMs: number;
  /** How long failed deliveries are tried again. */
  retryForMs: number;
}

/** Deliveries sent in parallel per pass (different subscriptions or endpoints). */
const BATCH = 16;

type Claimed = WebhookDelivery & { url: string; secret: string };

/** Sends due heads until none is left; returns how many were delivered. */
export async function deliverDueWebhooks(deps: WebhookSenderDeps, maxRounds = 100): Promise<number> {
  let delivered = 0;
  for (let round = 0; round < maxRounds; round++) {
    const claimed = await claimDue(deps);
    if (!claimed.length) break;
    const results = await Promise.all(claimed.map((delivery) => send(deps, delivery)));
    delivered += results.filter(Boolean).length;
  }
  return delivered;
}

async function claimDue(deps: WebhookSenderDeps): Promise<Claimed[]> {
  const now = deps.clock.now();
  const leaseEnd = new Date(now.getTime() + deps.timeoutMs + 30_000);
  const { rows } = await sql<Claimed>`
    with heads as (
      select distinct on (endpoint_id, subscription_id) id
      from webhook_deliveries
      where status = 'pending'
      order by endpoint_id, subscription_id, sequence
    ), due as (
      select d.id from webhook_deliveries d
      join heads h on h.id = d.id
      join webhook_endpoints e on e.id = d.endpoint_id and e.removed_at is null
      where d.status = 'pending' and d.next_attempt_at <= ${now} and (d.claimed_until is null or d.claimed_until <= ${now})
      order by d.next_attempt_at, d.id
      limit ${BATCH}
      for update of d skip locked
    )
    update webhook_deliveries d set claimed_until = ${leaseEnd}
    from due, webhook_endpoints e
    where d.id = due.id and e.id = d.endpoint_id
    returning d.*, e.url, e.secret`.execute(deps.db);
  return rows.map((row) => ({ ...row, id: Number(row.id), endpoint_id: Number(row.endpoint_id), sequence: Number(row.sequence) }));
}

async function send(deps: WebhookSenderDeps, delivery: Claimed): Promise<boolean> {
  let status: number | null = null;
  let problem: string | null = null;
  try {
    const response = await fetch(delivery.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'rebill-webhooks',
        'rebill-event-id': delivery.event_id,
        'rebill-signature': signatureHeader(delivery.body, delivery.secret, new Date()),
      },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
    status = response.status;
    await response.body?.cancel();
    if (status < 200 || status >= 300) problem = `the receiver answered ${status}`;
  } catch (error) {
    problem = `no answer: ${errorMessage(error)}`;
  }
  const now = deps.clock.now();
  if (!problem) {
    await deps.db.updateTable('webhook_deliveries').set({ status: 'delivered', delivered_at: now, attempts: delivery.attempts + 1, last_status: status, last_error: null, claimed_until: null }).where('id', '=', delivery.id).execute();
    return true;
  }
  const attempts = delivery.attempts + 1;
  const wait = nextTryAfter(attempts, deps.retryForMs);
  await deps.db
    .updateTable('webhook_deliveries')
    .set({ status: wait === null ? 'failed' : 'pending', attempts, last_status: status, last_error: problem, claimed_until: null, ...(wait === null ? {} : { next_attempt_at: new Date(now.getTime() + wait) }) })
    .where('id', '=', delivery.id)
    .execute();
  // The URL may carry a path the merchant considers private; the endpoint id is enough to find it.
  deps.logger.warn({ delivery_id: delivery.id, endpoint_id: delivery.endpoint_id, event_id: delivery.event_id, attempts, error: problem }, wait === null ? 'webhook delivery given up' : 'webhook delivery failed; will retry');
  return false;
}

/** Sends a delivery again from the start (another 3 days of tries), e.g. after the receiver was fixed. */
export async function replayDelivery(db: Db, id: number, now: Date): Promise<WebhookDelivery | undefined> {
  return db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', attempts: 0, next_attempt_at: now, claimed_until: null, delivered_at: null })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
