/**
 * `rebill worker`: the composition of everything that runs in the background. It migrates,
 * schedules due renewals (a pg-boss cron tick every minute, and at start), keeps charges flowing,
 * runs the janitor, serves the gateway's notices and customers' pages, and shuts down cleanly.
 */
import type { PgBoss } from 'pg-boss';
import { sql } from 'kysely';
import type { Config } from '../config.ts';
import { clockFrom, createEngine, followUpsFor, mailTransport, notificationSettings, openDatabase, upcomingNoticeSettings } from '../deps.ts';
import { deliverMessage, sweepOutbox, type EmailJob } from '../email/deliver-email.job.ts';
import { queueDueReminders } from '../email/customer-notifications.ts';
import { queueUpcomingNotices } from '../email/upcoming-notices.ts';
import { expireLinks } from '../payment-links/expire-links.ts';
import { paymentLinkRoutes } from '../payment-links/redirect.ts';
import { checkoutRoutes } from '../checkout/checkout-page.ts';
import { cardUpdateRoutes } from '../card-update/card-page.ts';
import { portalRoutes } from '../portal/portal-routes.ts';
import { expireCheckouts } from '../checkout/expire-checkouts.ts';
import { counterPageRoutes } from '../payment-links/counter-page.ts';
import { send, startHttpServer, type Route } from '../http/server.ts';
import { CoalescedTask, Periodic } from '../lib/background.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { withoutCredentials } from '../lib/secrets.ts';
import { inboundRoutes } from '../inbound/listener.ts';
import { confirmBusinessNotices } from '../inbound/confirm-business.ts';
import { ChargePump } from '../billing/charge-pump.ts';
import { chargeSubscriptions } from '../billing/charge-renewal.job.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { runJanitor } from '../billing/janitor.ts';
import { QUEUES, createBoss, createQueues, queuedChargeJobs } from '../jobs/queue.ts';
import { scheduleDueRenewals } from '../billing/schedule-renewals.job.ts';
import type { Db } from '../db/connect.ts';
import { setUpGateway } from './gateway-setup.ts';
import { apiRoutes } from '../api/router.ts';
import { forgetOldIdempotencyKeys } from '../api/idempotency.ts';
import { deliverDueWebhooks } from '../webhooks/deliver.ts';
import { createMetrics } from '../lib/metrics.ts';
import { reconcilePreviousDays } from '../reconciliation/reconcile.job.ts';
import { adminRoutes } from '../admin/routes.ts';

export interface RunningWorker {
  readonly port: number;
  readonly engine: BillingEngine;
  /** The job queue, for work queued in a transaction the caller runs (an e-mail with a new subscription). */
  readonly boss: PgBoss;
  /** Runs a scheduling pass now and waits for it (tests and the demo use it). */
  scheduleNow(): Promise<void>;
  janitorNow(): Promise<void>;
  stop(reason: string): Promise<void>;
}

export interface WorkerOptions {
  clock?: Clock;
}

export async function startWorker(config: Config, logger: Logger, options: WorkerOptions = {}): Promise<RunningWorker> {
  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  const closeAll = async () => {
    for (const { name, close } of closers.reverse()) {
      await close().catch((error: unknown) => logger.error({ err: error }, `could not close ${name}`));
    }
  };
  // The first line says which Node.js runs it: the project brings its own, the machine may have another.
  logger.info({ node: process.version, pid: process.pid }, `rebill worker starting on Node.js ${process.version}`);
  try {
    const gateway = await setUpGateway(config, logger);
    closers.push({ name: 'gateway', close: () => gateway.close() });
    logger.info({ gateway: withoutCredentials(gateway.gatewayUrl), mode: config.gateway.mode }, `rebill worker starting: ${gateway.description}`);

    const database = await openDatabase(config, logger, { migrate: 'always', applicationName: 'rebill-worker' });
    closers.push({ name: 'database', close: () => database.close() });
    const { db } = database;
    const clock = options.clock ?? clockFrom(config);

    const boss = createBoss(database.pool, { background: true, logger });
    await boss.start();
    closers.push({ name: 'job queue', close: () => boss.stop({ graceful: true, timeout: 10_000 }) });
    await createQueues(boss);

    const metrics = createMetrics(() => unresolvedByStatus(db));
    const followUps = followUpsFor(config, boss);
    const engine = createEngine(config, { db, providers: gateway.providers, logger, clock, metrics, followUps });
    const transport = mailTransport(config);
    closers.push({ name: 'mail transport', close: async () => transport.close() });
    logger.info({ email: transport.description }, 'customer e-mails go out as ' + transport.description);
    const mail = { db, boss, transport, from: config.email.from, clock, logger, metrics };

    let pump: ChargePump | null = null;
    const scheduler = new CoalescedTask(
      'scheduler',
      async () => {
        const pass = await scheduleDueRenewals(db, boss, clock.now(), {
          batchSize: config.renewals.schedulerBatchSize,
          maxQueued: Math.max(config.renewals.chargeConcurrency * 4, config.renewals.schedulerBatchSize),
        });
        if (pass.queued) {
          logger.info({ queued: pass.queued }, 'due renewals queued');
          pump?.notify();
        }
      },
      logger,
    );
    pump = new ChargePump(
      boss,
      { concurrency: config.renewals.chargeConcurrency, batchSize: config.renewals.chargeBatchSize, idlePollMs: 1000 },
      (ids) => chargeSubscriptions(engine, ids),
      () => scheduler.request(),
      logger,
    );
    const janitor = new Periodic(
      new CoalescedTask('janitor', async () => {
        const report = {
          ...(await runJanitor(engine)),
          expiredLinks: await expireLinks(engine),
          expiredCheckouts: await expireCheckouts(engine),
          businessNoticesConfirmed: await confirmBusinessNotices(engine),
          reminders: await db.transaction().execute((tx) => queueDueReminders(tx, notificationSettings(config), boss, clock.now())),
          upcomingNotices: await db.transaction().execute((tx) => queueUpcomingNotices(tx, upcomingNoticeSettings(config), boss, clock.now())),
          ...(await sweepOutbox(mail)),
          idempotencyKeysForgotten: await forgetOldIdempotencyKeys(db, clock.now()),
        };
        if (Object.values(report).some((n) => n > 0)) logger.info(report, 'janitor pass');
      }, logger),
      config.renewals.janitorIntervalMs,
    );

    // Webhooks: at once when a commit pokes the queue, and every janitor interval for retries.
    const webhooks = new Periodic(
      new CoalescedTask('webhooks', async () => {
        const delivered = await deliverDueWebhooks({ db, clock, logger, timeoutMs: config.webhooks.timeoutMs, retryForMs: config.webhooks.retryForMs });
        if (delivered) logger.info({ delivered }, 'webhooks delivered');
      }, logger),
      config.renewals.janitorIntervalMs,
    );
    await boss.work(QUEUES.webhooks, { batchSize: 10, pollingIntervalSeconds: 1 }, async () => webhooks.task.run());

    // The tick: pg-boss's cron creates one job per minute across all workers.
    await boss.schedule(QUEUES.schedule, '* * * * *');
    await boss.work(QUEUES.schedule, async () => scheduler.run());
    if (config.reconcileCron) {
      await boss.schedule(QUEUES.reconcile, config.reconcileCron);
      await boss.work(QUEUES.reconcile, async () => reconcilePreviousDays(engine, { ...notificationSettings(config), boss }));
    } else {
      await boss.unschedule(QUEUES.reconcile);
    }
    await boss.work<EmailJob>(QUEUES.email, { batchSize: 10, pollingIntervalSeconds: 1 }, async (jobs) => {
      for (const job of jobs) await deliverMessage(mail, job.data.messageId);
    });

    const http = await startHttpServer(
      [
        ...operationsRoutes(db, metrics.registry, logger),
        ...inboundRoutes(engine, { merchant: config.merchant, cardLinkTtlMs: config.email.cardLinkTtlMs, pokeJanitor: () => janitor.poke() }),
        ...paymentLinkRoutes({ db, clock, logger, providers: gateway.providers, merchant: config.merchant }),
        ...counterPageRoutes({ db, clock, merchant: config.merchant }),
        ...apiRoutes({ engine, boss, checkout: { ttlMs: config.email.checkoutTtlMs, merchant: config.merchant } }, { ratePerMinute: config.api.ratePerMinute }),
        ...checkoutRoutes(engine, { merchant: config.merchant }),
        ...cardUpdateRoutes(engine, { merchant: config.merchant }),
        ...portalRoutes(engine, { merchant: config.merchant, sessionTtlMs: config.email.portalLinkTtlMs, cardLinkTtlMs: config.email.cardLinkTtlMs, boss }),
        ...adminRoutes({ db, clock, logger, operatorKey: config.adminKey, secureCookies: config.http.publicUrl.startsWith('https://') }),
      ],
      config.http.port,
      logger,
      config.http.host,
    );
    closers.push({ name: 'http server', close: () => http.close() });

    pump.start();
    janitor.start();
    webhooks.start();
    webhooks.poke();
    scheduler.request();
    logger.info(
      { host: config.http.host, port: http.port, public_url: withoutCredentials(config.http.publicUrl), embedded_database: database.embedded, concurrency: config.renewals.chargeConcurrency },
      'worker started',
    );

    let stopping: Promise<void> | null = null;
    return {
      port: http.port,
      engine,
      boss,
      scheduleNow: () => scheduler.run(),
      janitorNow: () => janitor.task.run(),
      stop: (reason) =>
        (stopping ??= (async () => {
          logger.info({ reason, in_flight: pump.inFlight }, 'worker stopping');
          const drained = await pump.stop(config.renewals.shutdownGraceMs);
          if (!drained) logger.warn({ in_flight: pump.inFlight }, 'shutdown deadline passed with charges in flight; the janitor will resolve them by query');
          await boss.offWork(QUEUES.schedule);
          await boss.offWork(QUEUES.email);
          if (config.reconcileCron) await boss.offWork(QUEUES.reconcile);
          await boss.offWork(QUEUES.webhooks);
          await janitor.stop();
          await webhooks.stop();
          await scheduler.idle();
          await closeAll();
          logger.info('worker stopped');
        })()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function operationsRoutes(db: Db, registry: ReturnType<typeof createMetrics>['registry'], logger: Logger): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      // Anyone who can reach the port may ask: the answer is a status word, the reason goes to the log.
      handler: async (_req, res) => {
        try {
          await sql`select 1`.execute(db);
          await queuedChargeJobs(db);
          send(res, 200, JSON.stringify({ status: 'ok' }), 'application/json');
        } catch (error) {
          logger.error({ err: error }, 'health check failed: the database or the job queue does not answer');
          send(res, 503, JSON.stringify({ status: 'unavailable' }), 'application/json');
        }
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async (_req, res) => send(res, 200, await registry.metrics(), registry.contentType),
    },
  ];
}

async function unresolvedByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('payment_transactions')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('kind', '=', 'charge')
    .where('status', 'in', ['sending', 'pending', 'action_required', 'unknown'])
    .groupBy('status')
    .execute();
  return Object.fromEntries(['sending', 'pending', 'action_required', 'unknown'].map((s) => [s, Number(rows.find((r) => r.status === s)?.n ?? 0)]));
}
