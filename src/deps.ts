/**
 * The composition root: turns configuration into the live parts a command or the worker needs
 * (logger, clock, database). Everything else receives these as arguments.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { connectDatabase, type DatabaseHandle } from './db/connect.ts';
import { acquireEmbeddedPostgres, type EmbeddedLease } from './db/embedded.ts';
import { pendingMigrations } from './db/migrate.ts';
import { prepareDatabase } from './jobs/prepare-database.ts';
import { queueUpgradePending } from './jobs/queue-upgrade.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import type { Logger } from './lib/logger.ts';
import type { DunningPolicy } from './subscriptions/subscription-machine.ts';
import type { PaymentProviders } from './payments/provider.ts';
import { createPaymentProviders } from './payment-providers.ts';
import type { BillingEngine, BillingPolicy } from './billing/engine.ts';
import type { OperatorContext } from './billing/operator-actions.ts';
import { createMetrics, type Metrics } from './lib/metrics.ts';
import type { Db } from './db/connect.ts';
import type { PgBoss } from 'pg-boss';
import { customerNotifications, type NotificationSettings } from './email/customer-notifications.ts';
import { emlFileTransport, smtpTransport, type MailTransport } from './email/transport.ts';
import type { UpcomingNoticeSettings } from './email/upcoming-notices.ts';
import { allFollowUps, type FollowUps } from './billing/commit.ts';
import { webhookOutbox } from './webhooks/outbox.ts';

export interface OpenedDatabase extends DatabaseHandle {
  readonly url: string;
  readonly embedded: boolean;
}

/**
 * Connects to DATABASE_URL, or to the embedded server (starting it if no other rebill process
 * has). `migrate: 'auto'` brings an embedded database up to date and refuses an outdated external one.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  options: { migrate: 'always' | 'auto' | 'never'; applicationName?: string } = { migrate: 'auto' },
): Promise<OpenedDatabase> {
  let lease: EmbeddedLease | null = null;
  let url = config.database.url;
  if (!url) {
    const dir = join(config.dataDir, 'pg');
    lease = await acquireEmbeddedPostgres({ dir });
    url = lease.url;
    logger.debug({ dir, port: lease.port }, 'using the embedded PostgreSQL');
  }
  const handle = connectDatabase(url, { poolSize: config.database.poolSize, applicationName: options.applicationName ?? 'rebill' });
  const close = async () => {
    await handle.close();
    await lease?.release();
  };
  try {
    if (options.migrate === 'always' || (options.migrate === 'auto' && lease)) {
      const report = await prepareDatabase(handle);
      if (report.applied.length) logger.info({ applied: report.applied }, 'database migrated');
      if (report.queueUpgrade) logger.info({ moved: report.queueUpgrade }, 'job queue upgraded from pg-boss 10; waiting jobs and schedules kept');
    } else if (options.migrate === 'auto') {
      const pending = await pendingMigrations(handle.db);
      if (await queueUpgradePending(handle.db)) pending.push('the job queue upgrade from pg-boss 10');
      if (pending.length) {
        throw new Error(`the database schema is not up to date (${pending.join(', ')} pending): run \`rebill migrate\` first`);
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { ...handle, url, embedded: lease !== null, close };
}

export function clockFrom(config: Config): Clock {
  return systemClock(config.clockOffsetMs);
}

export function dunningPolicy(config: Config): DunningPolicy {
  return { retryScheduleMs: config.renewals.retryScheduleMs, requestErrorRetryMs: config.renewals.requestErrorRetryMs };
}

/** Who an operator's change is recorded as in the event log. */
export function operatorActor(): string {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `operator:${process.env.REBILL_OPERATOR?.trim() || name}`;
}

export function billingPolicy(config: Config): BillingPolicy {
  return { doublePayment: config.billing.doublePayment, stopOnDispute: config.billing.stopOnDispute };
}

/** The billing engine over a database and the payment providers; the worker and operator commands share it. */
export function createEngine(
  config: Config,
  parts: { db: Db; providers: PaymentProviders; logger: Logger; clock: Clock; metrics?: Metrics; followUps: FollowUps },
): BillingEngine {
  return {
    db: parts.db,
    providers: parts.providers,
    clock: parts.clock,
    logger: parts.logger,
    metrics: parts.metrics ?? createMetrics(async () => ({})),
    followUps: parts.followUps,
    policy: dunningPolicy(config),
    billing: billingPolicy(config),
    querySchedule: config.renewals.queryScheduleMs,
    maxCatchupPeriods: config.renewals.maxCatchupPeriods,
    timeoutMs: config.gateway.timeoutMs,
    publicUrl: config.http.publicUrl,
  };
}

/**
 * The payment providers, for commands run beside the worker. Without an Oceanpayment account that
 * is the worker's built-in sandbox on REBILL_SANDBOX_PORT, reachable while the worker runs.
 */
export function paymentProviders(config: Config): PaymentProviders {
  return createPaymentProviders(config);
}

/** What an operator's change needs: who, when, why, and the follow-ups every change runs. */
export function operatorContext(config: Config, boss: PgBoss, now: Date, reason: string | null): OperatorContext {
  return { now, actor: operatorActor(), reason, policy: dunningPolicy(config), billing: billingPolicy(config), followUps: followUpsFor(config, boss) };
}

/** What customers are told, and how their e-mails leave: shared by the worker and operator commands. */
export function notificationSettings(config: Config): NotificationSettings {
  return {
    merchant: config.merchant,
    operatorEmail: config.merchant.operatorEmail,
    publicUrl: config.http.publicUrl,
    authLinkTtlMs: config.email.authLinkTtlMs,
    cardUpdates: true,
    cardLinkTtlMs: config.email.cardLinkTtlMs,
    authReminderMs: config.email.authReminderMs,
    sendReceipts: config.email.sendReceipts,
    portalLinks: { ttlMs: config.email.portalLinkTtlMs },
  };
}

/** The notices the janitor sends ahead of time: renewal reminders and card-expiry warnings. */
export function upcomingNoticeSettings(config: Config): NotificationSettings & UpcomingNoticeSettings {
  return { ...notificationSettings(config), renewalReminder: config.email.renewalReminder, cardExpiryWarningDays: config.email.cardExpiryWarningDays };
}

export function mailTransport(config: Config): MailTransport {
  return config.email.smtpUrl ? smtpTransport(config.email.smtpUrl) : emlFileTransport(config.email.outboxDir);
}

/** Every follow-up a change runs (customer and operator e-mails, payment links, webhooks), the same for every writer. */
export function followUpsFor(config: Config, boss: PgBoss): FollowUps {
  return allFollowUps(customerNotifications(notificationSettings(config), boss), webhookOutbox(boss));
}
