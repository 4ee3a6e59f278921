/**
 * The renewal engine in-process, for integration tests: a real PostgreSQL database, the sandbox
 * over real HTTP, the notice listener on a real port, and a manual clock so periods can pass.
 * Jobs are driven directly (charge, janitor) instead of waiting for timers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import type { EventRow, PaymentTransaction, Subscription } from '../../src/db/database.ts';
import type { OceanpaymentClientOptions } from '../../src/payments/providers/oceanpayment/client.ts';
import { oceanpaymentProvider, type OceanpaymentProvider } from '../../src/payments/providers/oceanpayment/provider.ts';
import { PaymentProviders, type PaymentProvider } from '../../src/payments/provider.ts';
import { PAYMENT_RESULT_FIELDS, sign } from '../../src/payments/providers/oceanpayment/sign.ts';
import { buildFlatXml } from '../../src/payments/providers/oceanpayment/xml.ts';
import { startHttpServer, type RunningServer } from '../../src/http/server.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { inboundRoutes } from '../../src/inbound/listener.ts';
import { transactionsOf } from '../../src/payments/transactions/transaction.repo.ts';
import { chargeSubscriptions } from '../../src/billing/charge-renewal.job.ts';
import type { BillingEngine } from '../../src/billing/engine.ts';
import type { ClaimContext } from '../../src/billing/claim-charges.ts';
import type { OperatorContext } from '../../src/billing/operator-actions.ts';
import { runJanitor } from '../../src/billing/janitor.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { enrolMany, validateEnrolment, type EnrolInput } from '../../src/subscriptions/enrol.ts';
import { eventsOf } from '../../src/events/events.repo.ts';
import { activeTokenOf, findSubscription } from '../../src/subscriptions/subscription.repo.ts';
import { createMetrics } from '../../src/lib/metrics.ts';
import { DAY_MS } from '../../src/lib/clock.ts';
import { useTestDatabase, type TestDatabase } from './database.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgBoss } from 'pg-boss';
import { createBoss } from '../../src/jobs/queue.ts';
import { customerNotifications, queueDueReminders } from '../../src/email/customer-notifications.ts';
import { deliverMessage, type MailDeps } from '../../src/email/deliver-email.job.ts';
import { emlFileTransport } from '../../src/email/transport.ts';
import { paymentLinkRoutes } from '../../src/payment-links/redirect.ts';
import { expireLinks } from '../../src/payment-links/expire-links.ts';
import { checkoutRoutes } from '../../src/checkout/checkout-page.ts';
import { portalRoutes } from '../../src/portal/portal-routes.ts';
import { cardUpdateRoutes } from '../../src/card-update/card-page.ts';

/** A charge as rows were named before payments were provider-neutral, beside the neutral names. */
export type AttemptView = PaymentTransaction & {
  order_number: string;
  payment_id: string | null;
  gateway_code: string | null;
  gateway_details: string | null;
  pay_url: string | null;
  service_mode: string | null;
};

export function attemptView(charge: PaymentTransaction): AttemptView {
  return {
    ...charge,
    order_number: charge.reference,
    payment_id: charge.provider_reference,
    gateway_code: charge.provider_code,
    gateway_details: charge.provider_message,
    pay_url: charge.action_url,
    service_mode: charge.details.service_mode ?? null,
  };
}

export const MERCHANT = { account: '995149', terminal: '99514901', secureCode: 'test-secure-code-1' };

/**
 * How long the engine waits for the sandbox. Generous, so a loaded machine never turns an answer into
 * "unknown"; the sandbox's `timeout` behaviour still ends in about 2 s (it closes the connection).
 */
const ANSWER_TIMEOUT_MS = 20_000;

export const PUBLIC_SHOP = { name: 'Tea & <Biscuits> Ltd', supportEmail: 'help@shop.test' };

export interface HarnessOptions {
  /** Tell customers (outbox, payment links) as the worker does; e-mails are written as .eml files. */
  notifications?: { sendReceipts?: boolean; portalLinks?: { ttlMs: number } };
  sandbox?: Partial<SandboxOptions>;
  /** More payment providers beside Oceanpayment (a provider written for a test). */
  extraProviders?: () => PaymentProvider[];
  timeoutMs?: number;
  retryScheduleMs?: number[];
  /** The secure code the engine signs with (a wrong one makes every request a request error). */
  engineSecureCode?: string;
  start?: string;
  doublePayment?: 'refund' | 'flag';
  /** Tries per minute of one self-service link, and from one address. */
  portalLimits?: { perLink: number; perAddress: number };
}

export interface Harness {
  readonly db: TestDatabase;
  readonly sandbox: Sandbox;
  readonly engine: BillingEngine;
  readonly clock: ManualClock;
  readonly noticeUrl: string;
  enrol(overrides?: Partial<EnrolInput>): Promise<Subscription & { quickpay_id: string | null }>;
  /** Charges every subscription due at the clock's now, like the scheduler and a charge job would. */
  chargeDue(): Promise<number>;
  janitor(): Promise<Awaited<ReturnType<typeof runJanitor>>>;
  /** The subscription, with its active card token as `quickpay_id` (as `rebill show` prints it). */
  subscription(id: string): Promise<Subscription & { quickpay_id: string | null }>;
  /** The subscription's charges, with the names `rebill show` gives their provider fields too. */
  attempts(id: string): Promise<AttemptView[]>;
  events(id: string): Promise<EventRow[]>;
  /** Polls until `check` returns a truthy value (notices arrive asynchronously). */
  eventually<T>(check: () => Promise<T>, timeoutMs?: number): Promise<NonNullable<T>>;
  /** A notice exactly as the gateway would sign it, for crafting forged, stale or early ones. */
  signedNotice(fields: Record<string, string>, secureCode?: string): string;
  postNotice(xml: string): Promise<{ status: number; body: string }>;
  /** Swaps the engine's Oceanpayment provider for one built with these client options (a misconfigured one, a spy). */
  useOceanpayment(options: Partial<OceanpaymentClientOptions>): void;
  /** What a claim (transaction 1 of a renewal) needs, as the charge job gives it. */
  claimContext(): ClaimContext;
  /** What an operator's change needs, as the CLI gives it. */
  operator(): OperatorContext;
  /** The engine's Oceanpayment provider as the harness built it. */
  readonly oceanpayment: OceanpaymentProvider;
  /** Base URL of the listener (notices, return page, payment links). */
  readonly publicUrl: string;
  readonly outboxDir: string;
  /** Delivers every queued e-mail now, like the worker's delivery job. */
  deliverMail(): Promise<number>;
  /** The janitor's 3-D Secure part: reminders and expired links. */
  linkJanitor(): Promise<{ reminders: number; expired: number }>;
  boss(): PgBoss;
}

export function useHarness(label: string, options: HarnessOptions = {}): Harness {
  const database = useTestDatabase(label);
  const state = {} as { sandbox: Sandbox; listener: RunningServer; engine: BillingEngine; providers: Set<OceanpaymentProvider>; oceanpayment: OceanpaymentProvider; boss: PgBoss; mail: MailDeps; outboxDir: string };
  const clock = new ManualClock(options.start ?? '2027-01-31T09:00:00Z');

  beforeAll(async () => {
    state.sandbox = await startSandbox({
      accounts: [MERCHANT],
      noticeRetryDelaysMs: [0, 50, 100, 200, 400],
      pendingNoticeDelayMs: 100,
      timeoutHoldMs: 2_000,
      seed: label,
      ...options.sandbox,
    });
    state.oceanpayment = oceanpaymentProvider({
      gatewayUrl: state.sandbox.url,
      queryUrl: state.sandbox.url,
      credentials: { ...MERCHANT, secureCode: options.engineSecureCode ?? MERCHANT.secureCode },
      timeoutMs: options.timeoutMs ?? ANSWER_TIMEOUT_MS,
    });
    state.providers = new Set([state.oceanpayment]);
    state.boss = createBoss(database.current.pool, { background: false });
    await state.boss.start();
    state.outboxDir = mkdtempSync(join(tmpdir(), `rebill-outbox-${label}-`));
    const settings = {
      merchant: PUBLIC_SHOP,
      publicUrl: '',
      authLinkTtlMs: 72 * 3_600_000,
      authReminderMs: 24 * 3_600_000,
      sendReceipts: options.notifications?.sendReceipts ?? false,
      operatorEmail: 'team@shop.test',
      cardUpdates: true,
      portalLinks: options.notifications?.portalLinks ?? null,
    };
    state.engine = {
      followUps: customerNotifications(settings, state.boss),
      db: database.current.db,
      providers: new PaymentProviders([state.oceanpayment, ...(options.extraProviders?.() ?? [])], 'oceanpayment'),
      clock,
      logger: silentLogger,
      metrics: createMetrics(async () => ({})),
      policy: { retryScheduleMs: options.retryScheduleMs ?? [1, 3, 5, 7].map((d) => d * DAY_MS), requestErrorRetryMs: 15 * 60_000 },
      querySchedule: [60_000, 300_000],
      maxCatchupPeriods: 2,
      timeoutMs: options.timeoutMs ?? ANSWER_TIMEOUT_MS,
      billing: { doublePayment: options.doublePayment ?? 'refund', stopOnDispute: true },
      publicUrl: '',
    };
    state.listener = await startHttpServer(
      [
        ...inboundRoutes(state.engine, { merchant: PUBLIC_SHOP, cardLinkTtlMs: 7 * 24 * 3_600_000, pokeJanitor: () => {} }),
        ...paymentLinkRoutes({ db: database.current.db, clock, logger: silentLogger, providers: state.engine.providers, merchant: PUBLIC_SHOP }),
        ...checkoutRoutes(state.engine, { merchant: PUBLIC_SHOP }),
        ...cardUpdateRoutes(state.engine, { merchant: PUBLIC_SHOP }),
        ...portalRoutes(state.engine, { merchant: PUBLIC_SHOP, sessionTtlMs: 60 * 60_000, cardLinkTtlMs: 7 * 24 * 3_600_000, boss: state.boss, limits: options.portalLimits }),
      ],
      0,
      silentLogger,
      '127.0.0.1',
    );
    settings.publicUrl = `http://127.0.0.1:${state.listener.port}`;
    (state.engine as { publicUrl: string }).publicUrl = settings.publicUrl;
    state.mail = {
      db: database.current.db,
      boss: state.boss,
      transport: emlFileTransport(state.outboxDir),
      from: '"Tea Shop" <help@shop.test>',
      clock,
      logger: silentLogger,
      metrics: state.engine.metrics,
    };
  });

  afterAll(async () => {
    await state.boss?.stop({ graceful: false });
    if (state.outboxDir) rmSync(state.outboxDir, { recursive: true, force: true });
    await state.sandbox?.close();
    await state.listener?.close();
    for (const provider of state.providers ?? []) await provider.close();
  });

  const harness: Harness = {
    get db() {
      return database.current;
    },
    get sandbox() {
      return state.sandbox;
    },
    get engine() {
      return state.engine;
    },
    clock,
    get noticeUrl() {
      return `${state.engine.publicUrl}/payments/oceanpayment/notice`;
    },
    async enrol(overrides = {}) {
      const result = validateEnrolment(
        {
          email: 'ada@example.com',
          firstName: 'Ada',
          lastName: 'Lovelace',
          country: 'GB',
          interval: 'month',
          amount: '9.99',
          currency: 'USD',
          quickpayId: `approve-${Math.random().toString(36).slice(2)}`,
          ...overrides,
        },
        clock.now(),
      );
      if (!result.ok) throw new Error(result.problems.join('; '));
      await enrolMany(database.current.db, [result.row], { now: clock.now(), actor: 'test', provider: 'oceanpayment' });
      return harness.subscription(result.row.id);
    },
    async chargeDue() {
      const due = await database.current.db
        .selectFrom('subscriptions')
        .select('id')
        .where('next_attempt_at', '<=', clock.now())
        .execute();
      const recorded = await chargeSubscriptions(state.engine, due.map((d) => d.id));
      return recorded.length;
    },
    janitor: () => runJanitor(state.engine),
    subscription: async (id) => {
      const row = (await findSubscription(database.current.db, id))!;
      return { ...row, quickpay_id: await activeTokenOf(database.current.db, row) };
    },
    attempts: async (id) => (await transactionsOf(database.current.db, id, 'charge')).map(attemptView),
    events: (id) => eventsOf(database.current.db, id),
    async eventually(check, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value) return value as NonNullable<typeof value>;
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await sleep(25);
      }
    },
    signedNotice(fields, secureCode = MERCHANT.secureCode) {
      const values: Record<string, string> = {
        notice_type: 'transaction',
        response_type: '1',
        account: MERCHANT.account,
        terminal: MERCHANT.terminal,
        order_notes: '',
        card_number: '411111***1111',
        payment_authType: '0',
        payment_risk: '',
        ...fields,
      };
      const signValue = sign(PAYMENT_RESULT_FIELDS, values, secureCode).toUpperCase();
      return buildFlatXml('response', Object.entries({ ...values, signValue }));
    },
    async postNotice(xml) {
      const response = await fetch(harness.noticeUrl, { method: 'POST', body: xml, headers: { 'content-type': 'application/xml' } });
      return { status: response.status, body: await response.text() };
    },
    get publicUrl() {
      return `http://127.0.0.1:${state.listener.port}`;
    },
    get outboxDir() {
      return state.outboxDir;
    },
    async deliverMail() {
      const queued = await database.current.db.selectFrom('email_outbox').select('id').where('status', '=', 'queued').orderBy('id').execute();
      for (const { id } of queued) await deliverMessage(state.mail, id);
      return queued.length;
    },
    async linkJanitor() {
      const reminders = await database.current.db.transaction().execute((tx) =>
        queueDueReminders(tx, { merchant: PUBLIC_SHOP, operatorEmail: 'team@shop.test', publicUrl: harness.publicUrl, authLinkTtlMs: 72 * 3_600_000, authReminderMs: 24 * 3_600_000, sendReceipts: false }, state.boss, clock.now()),
      );
      return { reminders, expired: await expireLinks(state.engine) };
    },
    boss: () => state.boss,
    claimContext: () => ({ now: clock.now(), policy: state.engine.policy, maxCatchupPeriods: 2, providers: state.engine.providers, queryAfterMs: 90_000, followUps: state.engine.followUps }),
    operator: () => ({ now: clock.now(), actor: 'operator:test', policy: state.engine.policy, billing: state.engine.billing, followUps: state.engine.followUps }),
    useOceanpayment(overrides) {
      const provider = oceanpaymentProvider({ gatewayUrl: state.sandbox.url, queryUrl: state.sandbox.url, credentials: MERCHANT, timeoutMs: ANSWER_TIMEOUT_MS, ...overrides });
      state.providers.add(provider);
      const others = state.engine.providers.all().filter((p) => p.name !== 'oceanpayment');
      (state.engine as { providers: PaymentProviders }).providers = new PaymentProviders([provider, ...others], 'oceanpayment');
    },
    get oceanpayment() {
      return state.oceanpayment;    },
  };
  return harness;
}
