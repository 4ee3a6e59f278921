/**
 * Starts the Oceanpayment sandbox: a plain node:http server speaking enough of the gateway's
 * protocol for rebill's charges, queries, refunds, order lists, 3-D Secure and notices, with
 * faults on demand.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '../../../../lib/errors.ts';
import type { SandboxContext } from './context.ts';
import { faultsFromOptions, mergeFaults } from './faults.ts';
import type { FaultSettings } from './faults.ts';
import { Ledger } from './ledger.ts';
import { NoticeDispatcher } from './notice-dispatcher.ts';
import {
  DEFAULT_NOTICE_RETRY_DELAYS_MS, DEFAULT_NOTICE_TIMEOUT_MS, DEFAULT_PENDING_NOTICE_DELAY_MS,
  DEFAULT_REFUND_DELAY_MS, DEFAULT_TIMEOUT_HOLD_MS, MAX_NOTICE_ATTEMPTS,
} from './options.ts';
import type { SandboxOptions } from './options.ts';
import { seededRandom } from './random.ts';
import { SANDBOX_BUSINESS_NOTICE_SIGN_FIELDS } from './business-notices.ts';
import { createRouter } from './router.ts';
import { Timers } from './timers.ts';

export interface Sandbox {
  /** Base URL, e.g. `http://127.0.0.1:41234`: use it as both gatewayUrl and queryUrl. */
  readonly url: string;
  readonly ledger: Ledger;
  /** The fault settings in force. */
  readonly faults: FaultSettings;
  /** Changes some fault settings; throws a ValidationError for unknown names or bad values. */
  setFaults(update: Partial<FaultSettings>): FaultSettings;
  /** Resolves once every notice dispatched so far is delivered or given up. */
  noticesIdle(): Promise<void>;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const problems = optionProblems(options);
  if (problems.length > 0) throw new ValidationError(problems);
  const timers = new Timers();
  const ledger = new Ledger();
  const notices = new NoticeDispatcher({
    ledger,
    timers,
    retryDelaysMs: options.noticeRetryDelaysMs ?? DEFAULT_NOTICE_RETRY_DELAYS_MS,
    attemptTimeoutMs: options.noticeTimeoutMs ?? DEFAULT_NOTICE_TIMEOUT_MS,
    logger: options.logger,
  });
  const context: SandboxContext = {
    baseUrl: '',
    faults: faultsFromOptions(options),
    accounts: options.accounts.map((entry) => ({ ...entry })),
    ledger,
    timers,
    random: seededRandom(options.seed),
    notices,
    logger: options.logger,
    timeoutHoldMs: options.timeoutHoldMs ?? DEFAULT_TIMEOUT_HOLD_MS,
    pendingNoticeDelayMs: options.pendingNoticeDelayMs ?? DEFAULT_PENDING_NOTICE_DELAY_MS,
    refundDelayMs: options.refundDelayMs ?? DEFAULT_REFUND_DELAY_MS,
    businessNoticeSignatureFields: options.businessNoticeSignatureFields ?? SANDBOX_BUSINESS_NOTICE_SIGN_FIELDS,
    payIdKey: randomBytes(32),
    callbacks: new Map(),
    checkouts: new Map(),
    tokeniseSessions: new Map(),
    quickpayTokens: new Map(),
  };

  const server = createServer(createRouter(context));
  server.keepAliveTimeout = 5_000;
  // A held ("timeout") request must be able to outlive Node's default request limit.
  server.requestTimeout = Math.max(context.timeoutHoldMs + 10_000, 300_000);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // Listening on every interface (in a container) is no address to send a browser to: links
  // then name the loopback, which a published port maps to the same port.
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  context.baseUrl = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  options.logger?.info({ url: context.baseUrl, accounts: context.accounts.map(({ account, terminal }) => ({ account, terminal })) }, 'sandbox listening');

  let closing: Promise<void> | undefined;
  return {
    url: context.baseUrl,
    ledger,
    get faults() {
      return context.faults;
    },
    setFaults(update) {
      context.faults = mergeFaults(context.faults, update);
      return context.faults;
    },
    noticesIdle: () => notices.idle(),
    close() {
      closing ??= (async () => {
        timers.closeAll();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await notices.close();
        await stopped;
      })();
      return closing;
    },
  };
}

function optionProblems(options: SandboxOptions): string[] {
  const problems: string[] = [];
  if (options.accounts.length === 0) problems.push('the sandbox needs at least one account');
  for (const { account, terminal, secureCode } of options.accounts) {
    if (!account || !terminal || !secureCode) problems.push('every account needs account, terminal and secureCode');
  }
  const delays = options.noticeRetryDelaysMs;
  if (delays && (delays.length === 0 || delays.length > MAX_NOTICE_ATTEMPTS || delays.some((ms) => !(ms >= 0)))) {
    problems.push(`noticeRetryDelaysMs must hold 1 to ${MAX_NOTICE_ATTEMPTS} delays >= 0 (the gateway tries at most ${MAX_NOTICE_ATTEMPTS} times)`);
  }
  for (const name of ['timeoutHoldMs', 'pendingNoticeDelayMs', 'refundDelayMs', 'noticeTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(value >= 0 && Number.isFinite(value))) problems.push(`${name} must be a number of milliseconds >= 0`);
  }
  return problems;
}
