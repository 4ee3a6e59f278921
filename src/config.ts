/**
 * Configuration comes from environment variables only. Every variable is declared once below
 * (name, default, meaning); loadConfig checks them all and reports every problem at once,
 * each with how to fix it. The README's configuration table is checked against this list.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseDuration, parseDurationList } from './lib/durations.ts';
import { INTERVALS, isInterval, type Interval } from './plans/billing-calendar.ts';
import { emailAddressProblem } from './lib/email-address.ts';
import { controlCharacterProblem } from './lib/printable.ts';
import { credentialsIn, scrubSecrets, withoutCredentials } from './lib/secrets.ts';
import { SANDBOX_DEFAULT_ACCOUNT, SANDBOX_DEFAULT_SECURE_CODE, SANDBOX_DEFAULT_TERMINAL } from './payments/providers/oceanpayment/sandbox/options.ts';
import { GLOCASH_SANDBOX_EMAIL, GLOCASH_SANDBOX_SECRET_KEY } from './payments/providers/glocash/sandbox/defaults.ts';

export interface EnvVarSpec {
  readonly name: string;
  /** The default as a person would write it, or undefined when unset means "not used". */
  readonly default: string | undefined;
  readonly doc: string;
  /**
   * How a bad value is quoted in a configuration error: `never` for secrets (secure codes, API
   * keys), `without-credentials` for URLs that may carry a user and password. Unset: verbatim.
   */
  readonly shown?: 'never' | 'without-credentials';
}

export const ENV_VARS = [
  { name: 'DATABASE_URL', default: undefined, doc: 'PostgreSQL connection string. Unset: an embedded PostgreSQL under `REBILL_DATA_DIR/pg`. Its password is never shown.', shown: 'without-credentials' },
  { name: 'REBILL_DATA_DIR', default: '.rebill', doc: 'Where local state lives: the embedded database and the e-mail files.' },
  { name: 'REBILL_DB_POOL_SIZE', default: '10', doc: 'Database connections per process.' },
  { name: 'OCEANPAYMENT_ACCOUNT', default: undefined, doc: 'Merchant account. Unset (outside production): the built-in sandbox gateway is started and used.' },
  { name: 'OCEANPAYMENT_TERMINAL', default: undefined, doc: 'Terminal charges are sent with.' },
  { name: 'OCEANPAYMENT_SECURE_CODE', default: undefined, doc: "The terminal's secure code (signs requests, verifies answers). Never logged or shown.", shown: 'never' },
  { name: 'OCEANPAYMENT_EXTRA_TERMINALS', default: undefined, doc: 'Other terminals whose messages must verify, as `terminal:secureCode` pairs separated by commas (e.g. a 3-D Secure terminal). Never logged or shown.', shown: 'never' },
  { name: 'OCEANPAYMENT_GATEWAY_URL', default: 'https://test-secure.oceanpayment.com', doc: 'Base of `/gateway/direct/pay`. Live: `https://secure.oceanpayment.com`. Without an account, setting it points rebill at a sandbox run with `rebill sandbox` instead of the built-in one.', shown: 'without-credentials' },
  { name: 'OCEANPAYMENT_QUERY_URL', default: 'https://test-query.oceanpayment.com', doc: 'Base of `/service/check/normal`. Live: `https://query.oceanpayment.com`. Without an account: the gateway URL.', shown: 'without-credentials' },
  { name: 'OCEANPAYMENT_QUICKPAY_URL', default: 'https://checkout-s.oceanpayment.com', doc: 'Base of the QuickPay API (`/pg/quickPay/query`, `/pg/quickPay/cancel`) that confirms a customer\'s new card and disables the old one. Live: `https://checkout.oceanpayment.com` (inferred). Without an account: the gateway URL.', shown: 'without-credentials' },
  { name: 'OCEANPAYMENT_TIMEOUT_MS', default: '60000', doc: 'How long a charge or query may take before its outcome counts as unknown (then resolved by query).' },
  { name: 'OCEANPAYMENT_UTC_OFFSET_MINUTES', default: '480', doc: "The gateway's time zone, in minutes east of UTC (UTC+8 per its documentation): the order lists' times, and which instants a day passed to `rebill reconcile` covers." },
  { name: 'OCEANPAYMENT_METHODS', default: 'Credit Card', doc: 'The `methods` field sent with charges.' },
  { name: 'REBILL_SANDBOX_PORT', default: '8081', doc: 'Port of the built-in sandbox the worker starts when no account is configured (CLI commands such as `resolve` reach it there; 0: any free port).' },
  { name: 'GLOCASH_EMAIL', default: undefined, doc: 'The Glocash merchant account\'s e-mail (`REQ_EMAIL`), for subscriptions collected by payment link. Unset (outside production): a Glocash sandbox is used, the one at `GLOCASH_API_URL` or else the worker\'s built-in one when it also runs the built-in Oceanpayment sandbox; otherwise Glocash is not offered.' },
  { name: 'GLOCASH_SECRET_KEY', default: undefined, doc: 'The account\'s secret key (signs requests, verifies notices). Never logged or shown.', shown: 'never' },
  { name: 'GLOCASH_API_URL', default: 'https://sandbox.glocash.com', doc: 'Base of `/gateway/payment/index`, `/gateway/transaction/index` and `/gateway/transaction/refund`. Live: `https://pay.glocash.com` (Glocash\'s SDKs name `https://pay.glocashpayment.com`; use the host your account was given). Without an account, setting it points rebill at a Glocash sandbox run elsewhere.', shown: 'without-credentials' },
  { name: 'GLOCASH_TIMEOUT_MS', default: '60000', doc: 'How long a Glocash call may take before its outcome counts as unknown (then resolved by query).' },
  { name: 'REBILL_GLOCASH_SANDBOX_PORT', default: '8082', doc: 'Port of the built-in Glocash sandbox (its payment page included) the worker starts when no Glocash account is configured (0: any free port).' },
  { name: 'REBILL_PUBLIC_URL', default: 'http://localhost:8080', doc: 'How the gateway and customers reach this worker: `noticeUrl`, `backUrl` and e-mailed links are built from it. Must be `https://` in production.', shown: 'without-credentials' },
  { name: 'REBILL_HOST', default: '127.0.0.1', doc: 'Address the worker (and its built-in sandbox) listens on: `127.0.0.1` answers this machine only; `0.0.0.0` every interface (in a container, or behind a proxy on another host).' },
  { name: 'REBILL_PORT', default: '8080', doc: 'Port the worker listens on (health, metrics, notices, return page, payment links).' },
  { name: 'REBILL_API_RATE_LIMIT', default: '600', doc: 'Requests each API key may make per minute on each worker (bursts up to as many); more get `429` with `Retry-After`.' },
  { name: 'REBILL_WEBHOOK_TIMEOUT', default: '10s', doc: 'How long a webhook receiver may take to answer before the delivery counts as failed.' },
  { name: 'REBILL_WEBHOOK_RETRY_FOR', default: '3d', doc: 'How long a failed webhook delivery is tried again (30 s, doubling up to 6 h between tries) before it is given up; the events behind it then go.' },
  { name: 'REBILL_MERCHANT_NAME', default: 'rebill', doc: 'Your business name, shown to customers on pages and in e-mails, and the name their e-mails come from.' },
  { name: 'REBILL_SUPPORT_EMAIL', default: 'support@example.com', doc: 'Where customers are told to write for help (pages and e-mails); a plain address such as help@shop.example.' },
  { name: 'SMTP_URL', default: undefined, doc: 'Send customer e-mails over SMTP, e.g. `smtp://user:pass@mail.example.com:587` (`smtps://` for implicit TLS); its password is never shown. Unset: each message is written as an `.eml` file (refused in production).', shown: 'without-credentials' },
  { name: 'REBILL_OUTBOX_DIR', default: undefined, doc: 'Where `.eml` files go when `SMTP_URL` is unset (default: `outbox` in `REBILL_DATA_DIR`, i.e. `.rebill/outbox`).' },
  { name: 'REBILL_MAIL_FROM', default: undefined, doc: 'Address customer e-mails come from, a plain address such as billing@shop.example (default: `REBILL_SUPPORT_EMAIL`); the sender name is `REBILL_MERCHANT_NAME`.' },
  { name: 'REBILL_AUTH_LINK_TTL_HOURS', default: '72', doc: 'How long an e-mailed 3-D Secure link works; then the attempt expires and dunning continues.' },
  { name: 'REBILL_CHECKOUT_TTL_HOURS', default: '48', doc: 'How long a sign-up (hosted checkout) link works; a subscription whose checkout was not paid by then ends `incomplete_expired`.' },
  { name: 'REBILL_CARD_LINK_TTL_HOURS', default: '168', doc: 'How long a card-update link works (in decline and suspension e-mails, and from `rebill card-link`).' },
  { name: 'REBILL_PORTAL_LINK_TTL_MINUTES', default: '60', doc: 'How long a self-service page link (from `rebill portal-link` and e-mails) works before it is opened; opened once, it becomes a session of at most as long.' },
  { name: 'REBILL_AUTH_REMINDER_HOURS', default: '24', doc: 'When to remind a customer who has not completed 3-D Secure yet.' },
  { name: 'REBILL_SEND_RECEIPTS', default: 'true', doc: "E-mail a receipt for every successful charge: amount, period, order number, the card's last four where known, and the self-service link to change the card or cancel." },
  { name: 'REBILL_RENEWAL_REMINDER_DAYS', default: '7', doc: 'How many days before a renewal the customer is reminded of it (amount, date, how to cancel), once per period; `0`: never.' },
  { name: 'REBILL_RENEWAL_REMINDER_INTERVALS', default: 'year', doc: 'Which plans get the renewal reminder: a comma-separated list of `week`, `month`, `quarter`, `half-year`, `year` (Mastercard requires it for annual billing), or `off`.' },
  { name: 'REBILL_CARD_EXPIRY_WARNING_DAYS', default: '30', doc: "How many days before the card on file expires (its expiry month's end, known from the QuickPay query) the customer is asked for a new card, once per card; `0`: never." },
  { name: 'REBILL_OPERATOR_EMAIL', default: undefined, doc: 'Where rebill tells your team what needs a person: confirmed chargebacks and fraud returns, refunds that failed (default: `REBILL_SUPPORT_EMAIL`).' },
  { name: 'REBILL_DOUBLE_PAYMENT', default: 'refund', doc: 'A period paid twice, or a payment after the subscription ended: `refund` the extra payment automatically (and tell the customer), or only `flag` it in the event log.' },
  { name: 'REBILL_STOP_ON_DISPUTE', default: 'true', doc: 'A confirmed chargeback or fraud return ends the subscription (no more renewals); `false` keeps renewing.' },
  { name: 'REBILL_RECONCILE_CRON', default: '0 1 * * *', doc: "When the worker reconciles the provider's previous day (cron, UTC; the default is 09:00 at UTC+8, once the gateway's day is over). `off`: never by itself (`rebill reconcile` still works)." },
  { name: 'REBILL_RETRY_SCHEDULE', default: '1d,3d,5d,7d', doc: 'Dunning: retries after a failed renewal, counted from the first failure; after the last the subscription is `unpaid`.' },
  { name: 'REBILL_CHARGE_CONCURRENCY', default: '64', doc: 'Charges in flight at once per worker.' },
  { name: 'REBILL_CHARGE_BATCH_SIZE', default: '32', doc: 'Charge jobs a worker claims and records together in one transaction.' },
  { name: 'REBILL_SCHEDULER_BATCH_SIZE', default: '500', doc: 'Due subscriptions the scheduler queues per statement.' },
  { name: 'REBILL_MAX_CATCHUP_PERIODS', default: '2', doc: 'A subscription more periods behind than this is charged for the latest period only; the skipped ones are recorded as events.' },
  { name: 'REBILL_REQUEST_ERROR_RETRY', default: '15m', doc: 'Wait before retrying a charge the gateway refused as malformed or badly signed (our configuration, not the customer).' },
  { name: 'REBILL_QUERY_SCHEDULE', default: '1m,5m,30m,2h,12h', doc: 'When unresolved attempts are queried; the last interval repeats.' },
  { name: 'REBILL_JANITOR_INTERVAL', default: '30s', doc: 'How often the janitor looks for attempts to query and dunning that has run out.' },
  { name: 'REBILL_SHUTDOWN_GRACE_MS', default: '65000', doc: 'On SIGTERM, how long in-flight charges may take to finish.' },
  { name: 'REBILL_ALLOW_EMBEDDED_DB', default: 'false', doc: 'With `NODE_ENV=production`, allow the embedded database anyway.' },
  { name: 'REBILL_ALLOW_SANDBOX', default: 'false', doc: 'With `NODE_ENV=production`, allow the sandbox gateway anyway.' },
  { name: 'REBILL_CLOCK_OFFSET_MS', default: '0', doc: "Shifts this process's clock (for testing clock skew between workers)." },
  { name: 'REBILL_ADMIN_KEY', default: undefined, doc: 'The operator key that opens the read-only console at `/admin` on the worker (at least 24 characters; e.g. `openssl rand -base64 32`). Unset: the console is off. Never logged or shown.', shown: 'never' },
  { name: 'REBILL_OPERATOR', default: undefined, doc: 'Name recorded as the actor of CLI changes in the event log (default: the OS user name).' },
  { name: 'LOG_LEVEL', default: 'info', doc: 'pino log level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.' },
  { name: 'NODE_ENV', default: undefined, doc: '`production` refuses unsafe defaults: the embedded database and the sandbox (unless allowed above), no `SMTP_URL`, an unset or `http://` `REBILL_PUBLIC_URL`, the default `REBILL_MERCHANT_NAME` and `REBILL_SUPPORT_EMAIL`, and, with an account, Oceanpayment\'s test hosts.' },
] as const satisfies readonly EnvVarSpec[];

type EnvName = (typeof ENV_VARS)[number]['name'];
export type Env = Readonly<Record<string, string | undefined>>;

export interface GatewayCredentials {
  account: string;
  terminal: string;
  secureCode: string;
  /** terminal -> secure code, for messages naming another terminal of the merchant. */
  extraTerminals: Record<string, string>;
}

export interface Config {
  production: boolean;
  dataDir: string;
  database: { url: string | null; poolSize: number };
  gateway: {
    /** `sandbox`: no merchant account is configured, so the sandbox's sample account is used. */
    mode: 'oceanpayment' | 'sandbox';
    /** The worker starts the sandbox itself (sandbox mode without OCEANPAYMENT_GATEWAY_URL). */
    builtinSandbox: boolean;
    credentials: GatewayCredentials;
    gatewayUrl: string;
    queryUrl: string;
    quickPayUrl: string;
    timeoutMs: number;
    methods: string;
    sandboxPort: number;
    /** The gateway's zone, minutes east of UTC. */
    utcOffsetMinutes: number;
  };
  glocash: {
    /** `off`: production without an account, so Glocash is not offered. */
    mode: 'glocash' | 'sandbox' | 'off';
    /** The worker starts the Glocash sandbox itself (sandbox mode without GLOCASH_API_URL). */
    builtinSandbox: boolean;
    credentials: { email: string; secretKey: string };
    apiUrl: string;
    timeoutMs: number;
    sandboxPort: number;
  };
  http: { publicUrl: string; host: string; port: number };
  /** The operator console's key, or null when the console is off. */
  adminKey: string | null;
  /** The HTTP API: requests per minute per key, on each worker. */
  api: { ratePerMinute: number };
  webhooks: { timeoutMs: number; retryForMs: number };
  merchant: { name: string; supportEmail: string; operatorEmail: string };
  billing: { doublePayment: 'refund' | 'flag'; stopOnDispute: boolean };
  email: {
    /** null: write `.eml` files to `outboxDir`. */
    smtpUrl: string | null;
    outboxDir: string;
    from: string;
    authLinkTtlMs: number;
    checkoutTtlMs: number;
    cardLinkTtlMs: number;
    portalLinkTtlMs: number;
    authReminderMs: number;
    sendReceipts: boolean;
    renewalReminder: { days: number; intervals: Interval[] } | null;
    cardExpiryWarningDays: number | null;
  };
  renewals: {
    retryScheduleMs: number[];
    chargeConcurrency: number;
    chargeBatchSize: number;
    schedulerBatchSize: number;
    maxCatchupPeriods: number;
    requestErrorRetryMs: number;
    queryScheduleMs: number[];
    janitorIntervalMs: number;
    shutdownGraceMs: number;
  };
  /** The daily reconciliation job's cron (UTC), or null when it is off. */
  reconcileCron: string | null;
  clockOffsetMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`rebill cannot start; fix the configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Oceanpayment's test hosts, where no real money moves, and the live address to use instead. */
const TEST_GATEWAY_HOSTS = {
  OCEANPAYMENT_GATEWAY_URL: { host: 'test-secure.oceanpayment.com', live: 'https://secure.oceanpayment.com' },
  OCEANPAYMENT_QUERY_URL: { host: 'test-query.oceanpayment.com', live: 'https://query.oceanpayment.com' },
} as const;

/** Domains reserved for documentation (RFC 2606, RFC 6761): no customer's mail reaches them. */
const PLACEHOLDER_MAIL_DOMAIN = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/i;

const specOf = (name: EnvName): EnvVarSpec => ENV_VARS.find((v) => v.name === name)!;

/** Reads and checks the environment; throws a ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const raw = (name: EnvName): string | undefined => {
    const value = env[name]?.trim();
    if (value) return value;
    return specOf(name).default;
  };
  const isSet = (name: EnvName) => Boolean(env[name]?.trim());
  /** A bad value as a problem quotes it: secrets never, URLs without their user and password. */
  const shown = (name: EnvName, text: string): string => {
    const how = specOf(name).shown;
    if (how === 'never') return '(not shown: it holds a secret)';
    return `"${how === 'without-credentials' ? withoutCredentials(text) : text}"`;
  };

  const integer = (name: EnvName, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const text = raw(name) ?? '';
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      problems.push(`${name} must be a whole number between ${min} and ${max}, got ${shown(name, text)}`);
      return min;
    }
    return value;
  };
  const duration = (name: EnvName, minMs: number): number => {
    const text = raw(name) ?? '';
    const value = parseDuration(text);
    if (value === null || value < minMs) {
      problems.push(`${name} must be a duration of at least ${minMs} ms such as 30s, 15m or 2h, got ${shown(name, text)}`);
      return minMs;
    }
    return value;
  };
  const durationList = (name: EnvName): number[] => {
    const text = raw(name) ?? '';
    const values = parseDurationList(text);
    if (!values || values.some((v) => v <= 0)) {
      problems.push(`${name} must be a comma-separated list of positive durations such as 1d,3d,5d,7d, got ${shown(name, text)}`);
      return [60_000];
    }
    return values;
  };
  const boolean = (name: EnvName): boolean => {
    const text = (raw(name) ?? 'false').toLowerCase();
    if (['1', 'true', 'yes'].includes(text)) return true;
    if (['0', 'false', 'no'].includes(text)) return false;
    problems.push(`${name} must be true or false, got ${shown(name, text)}`);
    return false;
  };
  const httpUrl = (name: EnvName): string => {
    const text = raw(name) ?? '';
    try {
      const url = new URL(text);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      return text.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL such as https://billing.example.com, got ${shown(name, text)}`);
      return 'http://invalid';
    }
  };

  const emailAddress = (name: EnvName): string => {
    const text = raw(name) ?? '';
    const problem = emailAddressProblem(text);
    if (problem) problems.push(`${name} must be one plain e-mail address such as support@shop.example, got ${shown(name, text)}: ${problem}`);
    return text;
  };

  const hours = (name: EnvName): number => {
    const text = raw(name) ?? '';
    const value = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || value <= 0) {
      problems.push(`${name} must be a positive number of hours such as 24 (decimals allowed), got ${shown(name, text)}`);
      return 1;
    }
    return Math.round(value * 3_600_000);
  };

  const minutes = (name: EnvName): number => {
    const text = raw(name) ?? '';
    const value = Number(text);
    if (!/^\d+$/.test(text) || value <= 0 || value > 7 * 24 * 60) {
      problems.push(`${name} must be a whole number of minutes from 1 to 10080 (a week) such as 60, got ${shown(name, text)}`);
      return 60_000;
    }
    return value * 60_000;
  };

  const production = env.NODE_ENV === 'production';
  const databaseUrl = env.DATABASE_URL?.trim() || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(
      `DATABASE_URL must start with postgres:// or postgresql://, e.g. postgres://rebill:secret@db.internal:5432/rebill, got ${shown('DATABASE_URL', databaseUrl)}`,
    );
  }
  if (production && !databaseUrl && !boolean('REBILL_ALLOW_EMBEDDED_DB')) {
    problems.push('NODE_ENV=production but DATABASE_URL is not set: set DATABASE_URL to your PostgreSQL, or REBILL_ALLOW_EMBEDDED_DB=true to use the embedded one');
  }

  const credentialNames = ['OCEANPAYMENT_ACCOUNT', 'OCEANPAYMENT_TERMINAL', 'OCEANPAYMENT_SECURE_CODE'] as const;
  const setCredentials = credentialNames.filter(isSet);
  let credentials: GatewayCredentials | null = null;
  if (setCredentials.length > 0 && setCredentials.length < credentialNames.length) {
    const missing = credentialNames.filter((n) => !isSet(n));
    problems.push(`${missing.join(' and ')} must be set together with ${setCredentials.join(' and ')} (or unset all three to use the sandbox)`);
  } else if (setCredentials.length === credentialNames.length) {
    credentials = {
      account: raw('OCEANPAYMENT_ACCOUNT')!,
      terminal: raw('OCEANPAYMENT_TERMINAL')!,
      secureCode: raw('OCEANPAYMENT_SECURE_CODE')!,
      extraTerminals: parseExtraTerminals(raw('OCEANPAYMENT_EXTRA_TERMINALS'), problems),
    };
    if (!/^\d{6}$/.test(credentials.account)) problems.push(`OCEANPAYMENT_ACCOUNT must be the 6-digit account number, got ${shown('OCEANPAYMENT_ACCOUNT', credentials.account)}`);
    if (!/^\d{8,12}$/.test(credentials.terminal)) problems.push(`OCEANPAYMENT_TERMINAL must be the 8-12 digit terminal number, got ${shown('OCEANPAYMENT_TERMINAL', credentials.terminal)}`);
  } else if (production && !boolean('REBILL_ALLOW_SANDBOX')) {
    problems.push('NODE_ENV=production but no Oceanpayment account is configured: set OCEANPAYMENT_ACCOUNT, OCEANPAYMENT_TERMINAL and OCEANPAYMENT_SECURE_CODE, or REBILL_ALLOW_SANDBOX=true to use the sandbox');
  }

  if (production && !isSet('REBILL_PUBLIC_URL')) {
    problems.push('NODE_ENV=production requires REBILL_PUBLIC_URL: the public https address the gateway and customers reach this worker at');
  }
  const logLevel = raw('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${shown('LOG_LEVEL', logLevel)}`);

  const mode = credentials ? 'oceanpayment' : 'sandbox';
  const builtinSandbox = !credentials && !isSet('OCEANPAYMENT_GATEWAY_URL');
  const sandboxPort = integer('REBILL_SANDBOX_PORT', 0, 65535);
  const builtinUrl = `http://127.0.0.1:${sandboxPort}`;
  const gatewayUrl = builtinSandbox ? builtinUrl : httpUrl('OCEANPAYMENT_GATEWAY_URL');
  const queryUrl = builtinSandbox ? builtinUrl : !credentials && !isSet('OCEANPAYMENT_QUERY_URL') ? gatewayUrl : httpUrl('OCEANPAYMENT_QUERY_URL');
  const quickPayUrl = builtinSandbox ? builtinUrl : !credentials && !isSet('OCEANPAYMENT_QUICKPAY_URL') ? gatewayUrl : httpUrl('OCEANPAYMENT_QUICKPAY_URL');
  if (production && mode === 'oceanpayment') {
    for (const [name, url] of [['OCEANPAYMENT_GATEWAY_URL', gatewayUrl], ['OCEANPAYMENT_QUERY_URL', queryUrl]] as const) {
      const test = TEST_GATEWAY_HOSTS[name];
      if (hostOf(url) === test.host) {
        problems.push(
          `NODE_ENV=production but ${name} is Oceanpayment's test host ${test.host}${isSet(name) ? '' : ' (the default)'}, where no real payment happens: set ${name}=${test.live}`,
        );
      }
    }
  }

  const glocashNames = ['GLOCASH_EMAIL', 'GLOCASH_SECRET_KEY'] as const;
  const glocashSet = glocashNames.filter(isSet);
  if (glocashSet.length === 1) problems.push(`${glocashNames.find((n) => !isSet(n))} must be set together with ${glocashSet[0]} (or unset both to use the Glocash sandbox)`);
  const glocashEmail = glocashSet.length === 2 ? emailAddress('GLOCASH_EMAIL') : GLOCASH_SANDBOX_EMAIL;
  // Without an account Glocash is a sandbox: one run elsewhere (GLOCASH_API_URL), or the worker's
  // own beside its built-in Oceanpayment sandbox; otherwise it is not offered.
  const glocashMode = glocashSet.length === 2 ? 'glocash'
    : (production && !boolean('REBILL_ALLOW_SANDBOX')) || (!isSet('GLOCASH_API_URL') && !builtinSandbox) ? 'off'
    : 'sandbox';
  const glocashBuiltin = glocashMode === 'sandbox' && !isSet('GLOCASH_API_URL');
  const glocashSandboxPort = integer('REBILL_GLOCASH_SANDBOX_PORT', 0, 65535);
  const glocashApiUrl = glocashBuiltin ? `http://127.0.0.1:${glocashSandboxPort}` : httpUrl('GLOCASH_API_URL');
  if (production && glocashMode === 'glocash' && hostOf(glocashApiUrl) === 'sandbox.glocash.com') {
    problems.push(`NODE_ENV=production but GLOCASH_API_URL is Glocash's test host sandbox.glocash.com${isSet('GLOCASH_API_URL') ? '' : ' (the default)'}, where no real payment happens: set GLOCASH_API_URL=https://pay.glocash.com`);
  }

  const host = raw('REBILL_HOST') ?? '127.0.0.1';
  if (!isIP(host) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) {
    problems.push(
      `REBILL_HOST must be an IP address or host name to listen on, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface, e.g. in a container), got ${shown('REBILL_HOST', host)}`,
    );
  }
  const publicUrl = httpUrl('REBILL_PUBLIC_URL');
  if (production && isSet('REBILL_PUBLIC_URL') && publicUrl.startsWith('http://')) {
    problems.push(
      `NODE_ENV=production but REBILL_PUBLIC_URL is not https, got ${shown('REBILL_PUBLIC_URL', publicUrl)}: customers open payment links built from it and the gateway posts notices to it, so set it to your https:// address, e.g. https://billing.example.com`,
    );
  }

  const dataDir = resolve(raw('REBILL_DATA_DIR') ?? '.rebill');
  const outboxDir = resolve(raw('REBILL_OUTBOX_DIR') ?? resolve(dataDir, 'outbox'));
  const smtpUrl = env.SMTP_URL?.trim() || null;
  if (smtpUrl && !/^smtps?:\/\/[^/]+/.test(smtpUrl)) problems.push(`SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465, got ${shown('SMTP_URL', smtpUrl)}`);
  if (production && !smtpUrl) {
    problems.push(
      `NODE_ENV=production but SMTP_URL is not set: customer e-mails, 3-D Secure links included, would only be written as files to ${outboxDir}, where no customer sees them; set SMTP_URL to your mail server, e.g. smtp://user:password@mail.example.com:587`,
    );
  }
  const merchantName = raw('REBILL_MERCHANT_NAME') ?? 'rebill';
  const controlCharacter = controlCharacterProblem('REBILL_MERCHANT_NAME', merchantName);
  if (controlCharacter) problems.push(`${controlCharacter}: it must be one line of plain text (customers see it in e-mail headers and pages)`);
  if (production && merchantName === specOf('REBILL_MERCHANT_NAME').default) {
    problems.push(`NODE_ENV=production but REBILL_MERCHANT_NAME is the default "${merchantName}": set it to your business name, which customers see on pages and in e-mails`);
  }
  const supportEmail = emailAddress('REBILL_SUPPORT_EMAIL');
  if (production && PLACEHOLDER_MAIL_DOMAIN.test(supportEmail.slice(supportEmail.lastIndexOf('@') + 1))) {
    problems.push(
      `NODE_ENV=production but REBILL_SUPPORT_EMAIL is ${isSet('REBILL_SUPPORT_EMAIL') ? '' : 'the default '}"${supportEmail}", a placeholder address no customer's mail reaches: set it to the address where your customers get help`,
    );
  }
  const mailFrom = isSet('REBILL_MAIL_FROM') ? emailAddress('REBILL_MAIL_FROM') : supportEmail;
  const operatorEmail = isSet('REBILL_OPERATOR_EMAIL') ? emailAddress('REBILL_OPERATOR_EMAIL') : supportEmail;
  const doublePayment = raw('REBILL_DOUBLE_PAYMENT') ?? 'refund';
  if (doublePayment !== 'refund' && doublePayment !== 'flag') problems.push(`REBILL_DOUBLE_PAYMENT must be refund or flag, got "${doublePayment}"`);
  const authLinkTtlMs = hours('REBILL_AUTH_LINK_TTL_HOURS');
  const authReminderMs = hours('REBILL_AUTH_REMINDER_HOURS');
  if (authReminderMs >= authLinkTtlMs) problems.push('REBILL_AUTH_REMINDER_HOURS must be less than REBILL_AUTH_LINK_TTL_HOURS (a reminder after the link expired is no use)');

  const config: Config = {
    production,
    dataDir,
    database: { url: databaseUrl, poolSize: integer('REBILL_DB_POOL_SIZE', 2, 500) },
    gateway: {
      mode,
      builtinSandbox,
      credentials: credentials ?? {
        account: SANDBOX_DEFAULT_ACCOUNT,
        terminal: SANDBOX_DEFAULT_TERMINAL,
        secureCode: SANDBOX_DEFAULT_SECURE_CODE,
        extraTerminals: {},
      },
      gatewayUrl,
      queryUrl,
      quickPayUrl,
      timeoutMs: integer('OCEANPAYMENT_TIMEOUT_MS', 100, 600_000),
      methods: raw('OCEANPAYMENT_METHODS') ?? 'Credit Card',
      sandboxPort,
      utcOffsetMinutes: integer('OCEANPAYMENT_UTC_OFFSET_MINUTES', -840, 840),
    },
    glocash: {
      mode: glocashMode,
      builtinSandbox: glocashBuiltin,
      credentials: glocashMode === 'glocash' ? { email: glocashEmail, secretKey: raw('GLOCASH_SECRET_KEY')! } : { email: GLOCASH_SANDBOX_EMAIL, secretKey: GLOCASH_SANDBOX_SECRET_KEY },
      apiUrl: glocashApiUrl,
      timeoutMs: integer('GLOCASH_TIMEOUT_MS', 100, 600_000),
      sandboxPort: glocashSandboxPort,
    },
    http: { publicUrl, host, port: integer('REBILL_PORT', 0, 65535) },
    api: { ratePerMinute: integer('REBILL_API_RATE_LIMIT', 1, 1_000_000) },
    webhooks: { timeoutMs: duration('REBILL_WEBHOOK_TIMEOUT', 1000), retryForMs: duration('REBILL_WEBHOOK_RETRY_FOR', 60_000) },
    merchant: { name: merchantName, supportEmail, operatorEmail },
    billing: { doublePayment: doublePayment === 'flag' ? 'flag' : 'refund', stopOnDispute: boolean('REBILL_STOP_ON_DISPUTE') },
    email: {
      smtpUrl,
      outboxDir,
      // The name is quoted in the header: quotes and backslashes would end or escape the quoting.
      from: `"${merchantName.replace(/["\\]/g, '')}" <${mailFrom}>`,
      authLinkTtlMs,
      checkoutTtlMs: hours('REBILL_CHECKOUT_TTL_HOURS'),
      cardLinkTtlMs: hours('REBILL_CARD_LINK_TTL_HOURS'),
      portalLinkTtlMs: minutes('REBILL_PORTAL_LINK_TTL_MINUTES'),
      authReminderMs,
      sendReceipts: boolean('REBILL_SEND_RECEIPTS'),
      renewalReminder: renewalReminderSetting(integer('REBILL_RENEWAL_REMINDER_DAYS', 0, 60), raw('REBILL_RENEWAL_REMINDER_INTERVALS') ?? 'year', problems),
      cardExpiryWarningDays: integer('REBILL_CARD_EXPIRY_WARNING_DAYS', 0, 120) || null,
    },
    renewals: {
      retryScheduleMs: durationList('REBILL_RETRY_SCHEDULE'),
      chargeConcurrency: integer('REBILL_CHARGE_CONCURRENCY', 1, 10_000),
      chargeBatchSize: integer('REBILL_CHARGE_BATCH_SIZE', 1, 1000),
      schedulerBatchSize: integer('REBILL_SCHEDULER_BATCH_SIZE', 1, 100_000),
      maxCatchupPeriods: integer('REBILL_MAX_CATCHUP_PERIODS', 1, 1000),
      requestErrorRetryMs: duration('REBILL_REQUEST_ERROR_RETRY', 1000),
      queryScheduleMs: durationList('REBILL_QUERY_SCHEDULE'),
      janitorIntervalMs: duration('REBILL_JANITOR_INTERVAL', 100),
      shutdownGraceMs: integer('REBILL_SHUTDOWN_GRACE_MS', 0, 3_600_000),
    },
    adminKey: adminKeySetting(env.REBILL_ADMIN_KEY, problems),
    reconcileCron: cronSetting(raw('REBILL_RECONCILE_CRON') ?? 'off', problems),
    clockOffsetMs: integer('REBILL_CLOCK_OFFSET_MS', -86_400_000, 86_400_000),
    logLevel,
  };
  // Every message above already hides secrets; this catches one typed into the wrong variable.
  if (problems.length) throw new ConfigError(problems.map((p) => scrubSecrets(p, secretsIn(env))));
  return config;
}

/** The secret values in the environment, for scrubbing them from any message. */
function secretsIn(env: Env): string[] {
  return ENV_VARS.flatMap((spec: EnvVarSpec) => {
    const value = env[spec.name]?.trim();
    if (!value || !spec.shown) return [];
    if (spec.shown === 'without-credentials') return credentialsIn(value);
    // The value, each comma-separated entry, and what follows a `terminal:` (or `terminal=`) in it.
    const entries = value.split(',').map((entry) => entry.trim());
    return [value, ...entries, ...entries.map((entry) => entry.replace(/^[^:=]*[:=]/, '').trim())];
  });
}

/** The console's key: long enough not to be guessed, one line. Never quoted in a problem. */
function adminKeySetting(value: string | undefined, problems: string[]): string | null {
  const key = value?.trim();
  if (!key) return null;
  if (key.length < 24 || /[\u0000-\u001f\u007f]/.test(key)) {
    problems.push('REBILL_ADMIN_KEY must be at least 24 characters without control characters, e.g. the output of `openssl rand -base64 32` (not shown: it is a secret)');
    return null;
  }
  return key;
}

/** The reminder's days and the plan intervals it is sent for; null when either turns it off. */
function renewalReminderSetting(days: number, text: string, problems: string[]): { days: number; intervals: Interval[] } | null {
  if (text.toLowerCase() === 'off') return null;
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isInterval(name));
  if (!names.length || unknown.length) {
    problems.push(`REBILL_RENEWAL_REMINDER_INTERVALS must be a comma-separated list of ${INTERVALS.join(', ')} (e.g. year or month,year), or off, got "${text.slice(0, 60)}"`);
    return null;
  }
  return days > 0 ? { days, intervals: names as Interval[] } : null;
}

/** Five cron fields of digits, `*`, `/`, `,` and `-`, or `off`. */
function cronSetting(text: string, problems: string[]): string | null {
  if (text.toLowerCase() === 'off') return null;
  const fields = text.split(/\s+/);
  if (fields.length !== 5 || fields.some((f) => !/^[\d*/,-]+$/.test(f))) {
    problems.push(`REBILL_RECONCILE_CRON must be a five-field cron expression in UTC such as "0 1 * * *" (01:00 every day), or off, got "${text.slice(0, 60)}"`);
    return null;
  }
  return text;
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * `terminal:secureCode` pairs. A bad entry is named by its position only: its text holds a
 * secure code (or is one, when the separator is missing).
 */
function parseExtraTerminals(text: string | undefined, problems: string[]): Record<string, string> {
  if (!text) return {};
  const result: Record<string, string> = {};
  const entries = text.split(',').map((p) => p.trim()).filter(Boolean);
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const terminal = colon < 0 ? '' : entry.slice(0, colon).trim();
    const secureCode = colon < 0 ? '' : entry.slice(colon + 1).trim();
    const fault =
      colon < 0
        ? entry.includes('=')
          ? 'separates the terminal and its secure code with "=" instead of ":"'
          : 'has no ":" between the terminal and its secure code'
        : !/^\d{8,12}$/.test(terminal)
          ? 'does not start with an 8-12 digit terminal number'
          : !secureCode
            ? 'has an empty secure code'
            : null;
    if (fault) {
      const which = entries.length > 1 ? `entry ${index + 1} of ${entries.length}` : 'the entry';
      problems.push(
        `OCEANPAYMENT_EXTRA_TERMINALS must be terminal:secureCode pairs separated by commas, such as 99514902:yourSecureCode; ${which} ${fault} (not shown: it holds a secure code)`,
      );
      return;
    }
    result[terminal] = secureCode;
  });
  return result;
}
