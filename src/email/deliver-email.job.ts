/**
 * Delivering one outbox message: claim it (so it can never go twice), send it, record where it
 * went. A failure before the message left is retried with backoff; anything else is not resent.
 */
import type { PgBoss } from 'pg-boss';
import type { Db, DbOrTx } from '../db/connect.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { QUEUES, transactionExecutor } from '../jobs/queue.ts';
import { claimMessage, markAbandonedUncertain, markRetry, markSent, markUncertain, overdueMessageIds } from './outbox.repo.ts';
import { RetryableDeliveryError, type MailTransport } from './transport.ts';

const EMAIL_QUEUE = QUEUES.email;
const MAX_TRIES = 8;

export interface MailDeps {
  db: Db;
  boss: PgBoss;
  transport: MailTransport;
  from: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

export interface EmailJob {
  messageId: number;
}

/** Queues the delivery jobs for messages just written, in the same transaction. */
export async function dispatchMessages(boss: PgBoss, tx: DbOrTx, messageIds: readonly number[], startAfter?: Date): Promise<void> {
  if (!messageIds.length) return;
  await boss.insert(
    EMAIL_QUEUE,
    messageIds.map((messageId) => ({ data: { messageId }, ...(startAfter ? { startAfter } : {}) })),
    { db: transactionExecutor(tx) },
  );
}

export function retryDelayMs(tries: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, tries - 1), 3_600_000);
}

export async function deliverMessage(deps: MailDeps, messageId: number): Promise<'sent' | 'skipped' | 'retrying' | 'failed' | 'uncertain'> {
  const now = deps.clock.now();
  const message = await claimMessage(deps.db, messageId, now);
  if (!message) return 'skipped'; // already sent, being sent, or given up
  const log = deps.logger.child({ email_id: message.id, message_key: message.message_key, kind: message.kind, subscription_id: message.subscription_id });
  try {
    const where = await deps.transport.deliver(message, deps.from);
    await markSent(deps.db, message.id, where, deps.clock.now());
    deps.metrics.emails.inc({ result: 'sent' });
    log.info({ delivered_to: where }, 'e-mail delivered');
    return 'sent';
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (error instanceof RetryableDeliveryError) {
      const giveUp = message.tries >= MAX_TRIES;
      const retryAt = new Date(now.getTime() + retryDelayMs(message.tries));
      await deps.db.transaction().execute(async (tx) => {
        await markRetry(tx, message.id, text, retryAt, giveUp);
        if (!giveUp) await dispatchMessages(deps.boss, tx, [message.id], retryAt);
      });
      deps.metrics.emails.inc({ result: giveUp ? 'failed' : 'retrying' });
      log.warn({ error: text, tries: message.tries, retry_at: giveUp ? null : retryAt }, giveUp ? 'e-mail given up' : 'e-mail delivery failed; will retry');
      return giveUp ? 'failed' : 'retrying';
    }
    // The server may have taken it: never risk a second copy.
    await markUncertain(deps.db, message.id, text);
    deps.metrics.emails.inc({ result: 'uncertain' });
    log.error({ error: text }, 'e-mail delivery failed after the message may have left; not resent');
    return 'uncertain';
  }
}

/** The janitor's part: re-dispatch messages whose job was lost, and settle deliveries cut short. */
export async function sweepOutbox(deps: Pick<MailDeps, 'db' | 'boss' | 'clock'>): Promise<{ redispatched: number; uncertain: number }> {
  const now = deps.clock.now();
  const overdue = await overdueMessageIds(deps.db, now, 60_000, 500);
  await dispatchMessages(deps.boss, deps.db, overdue);
  const uncertain = await markAbandonedUncertain(deps.db, new Date(now.getTime() - 10 * 60_000));
  return { redispatched: overdue.length, uncertain };
}
