/**
 * `npm run demo`: the whole engine in about a minute, on a fresh clone, with nothing to set up.
 *
 * Starts an embedded PostgreSQL in `.rebill/demo` (wiped first, so every run starts fresh), the
 * worker with its built-in sandbox gateway, enrols a handful of subscribers whose card tokens make
 * the sandbox behave in different ways, plays the customer who has to confirm a payment with 3-D
 * Secure, the one who pays a Glocash payment link, the one who signs up by hosted checkout, the one
 * who saves a new card after a decline and a counter taking WeChat Pay by QR code, waits until everyone has settled, and prints what happened
 * to each of them.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DateTime, type DurationLikeObject } from 'luxon';
import { loadConfig, type Config } from '../src/config.ts';
import type { Db } from '../src/db/connect.ts';
import type { PaymentTransaction, EventRow, Subscription } from '../src/db/database.ts';
import { acquireEmbeddedPostgres } from '../src/db/embedded.ts';
import { dunningPolicy } from '../src/deps.ts';
import { parseDetails } from '../src/payments/providers/oceanpayment/codes.ts';
import { isProcessAlive } from '../src/lib/lock-file.ts';
import { createLogger } from '../src/lib/logger.ts';
import { displayMoney } from '../src/lib/money.ts';
import { enrolMany, validateEnrolment, type EnrolInput } from '../src/subscriptions/enrol.ts';
import { enrolByCheckout } from '../src/checkout/enrol-by-checkout.ts';
import { cancelSubscription } from '../src/billing/operator-actions.ts';
import { settleInPersonCollection, startInPersonCollection } from '../src/billing/collect-in-person.ts';
import { startWorker, type RunningWorker } from '../src/worker/worker.ts';
import { freePort } from '../src/lib/ports.ts';
import { readEml } from './lib/eml.ts';

const DATA_DIR = '.rebill/demo';
const SETTLE_TIMEOUT_MS = 90_000;
const OPERATOR = 'operator:demo';
const MERCHANT_NAME = 'Northwind Coffee Club';
const SUPPORT_EMAIL = 'help@northwind.example';

interface CastMember {
  key: string;
  firstName: string;
  lastName: string;
  /** The card token's behaviour in the sandbox (or how the periods are collected), in plain words. */
  card: string;
  /** Whose sandbox collects the periods: Oceanpayment's unless said. */
  provider?: 'glocash';
  /** Signs up on Oceanpayment's hosted checkout (no card token given): rebill e-mails the link. */
  checkout?: boolean;
  /** What the demo expects to happen. */
  story: string;
  plan: Omit<EnrolInput, 'email' | 'firstName' | 'lastName' | 'firstPaidAt' | 'renewalsPaid'> & { timezone: string };
  /** How long ago the first purchase was made through the merchant's checkout; absent for a new subscriber. */
  firstPaidAgo?: DurationLikeObject;
  settled: (sub: Subscription, attempts: PaymentTransaction[]) => boolean;
  expected: string;
}

const CAST: CastMember[] = [
  {
    key: 'ada',
    firstName: 'Ada',
    lastName: 'Lovelace',
    card: 'a good card: the bank approves every charge',
    story: 'first purchase a month ago; her first renewal (M2) is due now and goes through',
    plan: { country: 'GB', interval: 'month', amount: '9.99', currency: 'GBP', quickpayId: randomUUID(), timezone: 'Europe/London', product: 'Coffee of the month' },
    firstPaidAgo: { months: 1 },
    settled: (s) => s.status === 'active' && s.renewals_paid === 1,
    expected: 'active with 1 renewal paid',
  },
  {
    key: 'grace',
    firstName: 'Grace',
    lastName: 'Hopper',
    card: 'her bank asks her to confirm every payment with 3-D Secure',
    story: 'her first renewal (M2) needs 3-D Secure: she gets an e-mail with a link, follows it and presses "Authenticate"',
    plan: { country: 'US', interval: 'month', amount: '12.50', currency: 'USD', quickpayId: '3ds-grace', timezone: 'America/New_York', product: 'Coffee of the month' },
    firstPaidAgo: { months: 1 },
    settled: (s) => s.status === 'active' && s.renewals_paid === 1,
    expected: 'active with 1 renewal paid',
  },
  {
    key: 'alan',
    firstName: 'Alan',
    lastName: 'Turing',
    card: 'the first charge is declined for lack of funds (80022, a soft decline); later ones are approved',
    story: 'his weekly renewal (W2) is declined, retried 5 seconds later on the dunning schedule, and paid',
    plan: { country: 'GB', interval: 'week', amount: '4.99', currency: 'EUR', quickpayId: 'decline-once-alan', timezone: 'Europe/London', product: 'Espresso beans, weekly' },
    firstPaidAgo: { weeks: 1 },
    settled: (s, a) => s.status === 'active' && s.renewals_paid === 1 && a.length === 2,
    expected: 'active with 1 renewal paid, after one retry',
  },
  {
    key: 'edsger',
    firstName: 'Edsger',
    lastName: 'Dijkstra',
    card: 'reported lost or stolen: every charge is declined 80040 (a hard decline)',
    story: 'his renewal (M2) is declined; a lost card is never retried, so he is past_due until the retry schedule would have ended, then unpaid',
    plan: { country: 'NL', interval: 'month', amount: '19.00', currency: 'EUR', quickpayId: 'hard-decline-edsger', timezone: 'Europe/Amsterdam', product: 'Barista course' },
    firstPaidAgo: { months: 1 },
    settled: (s) => s.status === 'unpaid',
    expected: 'unpaid',
  },
  {
    key: 'margaret',
    firstName: 'Margaret',
    lastName: 'Hamilton',
    card: 'reported lost or stolen (80040, a hard decline); she saves a new card herself from the link in the decline e-mail',
    story: 'her renewal (M2) is declined for good; the e-mail carries a card-update link, she saves a new card on the gateway\'s card page, rebill confirms the new token with the gateway, disables the old one and charges the period again at once',
    plan: { country: 'US', interval: 'month', amount: '12.50', currency: 'USD', quickpayId: 'hard-decline-margaret', timezone: 'America/Denver', product: 'Coffee of the month' },
    firstPaidAgo: { months: 1 },
    settled: (s) => s.status === 'active' && s.renewals_paid === 1,
    expected: 'active with 1 renewal paid, on her new card',
  },
  {
    key: 'barbara',
    firstName: 'Barbara',
    lastName: 'Liskov',
    card: 'a good card',
    story: 'paid ten days ago; an operator cancels her subscription at her request, and she is told it has ended',
    plan: { country: 'US', interval: 'month', amount: '12.50', currency: 'USD', quickpayId: randomUUID(), timezone: 'America/Los_Angeles', product: 'Coffee of the month' },
    firstPaidAgo: { days: 10 },
    settled: (s) => s.status === 'canceled',
    expected: 'canceled',
  },
  {
    key: 'linus',
    firstName: 'Linus',
    lastName: 'Torvalds',
    card: 'a good card',
    story: 'a brand-new subscriber: his first purchase (M1) is charged by the worker straight away',
    plan: { country: 'FI', interval: 'month', amount: '7.00', currency: 'EUR', quickpayId: randomUUID(), timezone: 'Europe/Helsinki', product: 'Tea of the month' },
    settled: (s) => s.status === 'active' && s.next_period === 1,
    expected: 'active, first purchase paid',
  },
  {
    key: 'katherine',
    firstName: 'Katherine',
    lastName: 'Johnson',
    card: 'no card yet: she signs up on Oceanpayment\'s hosted checkout with the sandbox card 4111 1111 1111 1111',
    story: 'a new subscriber by hosted checkout: rebill e-mails her the sign-up link, she pays the first month on the gateway\'s page, and the verified notice stores the card token it created and activates her subscription from that moment',
    plan: { country: 'US', interval: 'month', amount: '12.50', currency: 'USD', quickpayId: '', timezone: 'America/Chicago', product: 'Coffee of the month' },
    checkout: true,
    settled: (s) => s.status === 'active' && s.next_period === 1 && s.payment_method_id !== null,
    expected: 'active, first month paid at the checkout, card stored',
  },
  {
    key: 'mei',
    firstName: 'Mei',
    lastName: 'Chen',
    card: 'no card on file: each period is a Glocash payment link, e-mailed to her',
    story: 'a new subscriber collected by payment link: rebill creates the payment at Glocash and e-mails her the link; she pays on Glocash\'s page with a test card, and Glocash\'s signed notice pays the period',
    plan: { country: 'SG', interval: 'month', amount: '15.00', currency: 'SGD', collection: 'payment_link', timezone: 'Asia/Singapore', product: 'Tea of the month' },
    provider: 'glocash',
    settled: (s) => s.status === 'active' && s.next_period === 1,
    expected: 'active, first period paid by link',
  },
  {
    key: 'wei',
    firstName: 'Wei',
    lastName: 'Zhang',
    card: 'pays in person at the counter with WeChat Pay',
    story: 'collected in person: at the counter `rebill collect --qr` shows a QR code, his WeChat Pay (the sandbox\'s wallet page) pays it, and the gateway\'s notice settles it',
    plan: { country: 'CN', interval: 'month', amount: '88.00', currency: 'USD', collection: 'in_person', timezone: 'Asia/Shanghai', product: 'Coffee of the month' },
    settled: (s) => s.status === 'active' && s.next_period === 1,
    expected: 'active, first period paid at the counter',
  },
];

/** Set on Ctrl-C: the signal handler stops everything and exits; nothing else should report. */
let interrupted = false;

const out = (line = '') => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${ms < 0 ? '-' : '+'}${(Math.abs(ms) / 1000).toFixed(1)}s`;

async function main(): Promise<number> {
  const started = Date.now();
  out('rebill demo');
  out('===========');
  out('This starts a real PostgreSQL (embedded, in .rebill/demo), the rebill worker and its built-in');
  out(`Oceanpayment sandbox, then enrols ${CAST.length} subscribers whose card tokens make the sandbox approve,`);
  out('decline or ask for 3-D Secure. Renewals fall due at once, dunning retries come after 5 and 10');
  out('seconds instead of days, and e-mails are written as .eml files. The demo plays the customer who');
  out('must confirm a payment with her bank, the one who pays a Glocash payment link, the one who signs');
  out('up on the gateway\'s hosted checkout, and a counter taking WeChat Pay by QR code, waits until');
  out('everyone has settled, and shows what happened.');
  out();

  const dataDir = resolve(DATA_DIR);
  await wipeDemoData(dataDir);
  const [port, sandboxPort, glocashSandboxPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const config = loadConfig({
    REBILL_DATA_DIR: dataDir,
    REBILL_PORT: String(port),
    REBILL_SANDBOX_PORT: String(sandboxPort),
    REBILL_GLOCASH_SANDBOX_PORT: String(glocashSandboxPort),
    REBILL_PUBLIC_URL: `http://127.0.0.1:${port}`,
    REBILL_MERCHANT_NAME: MERCHANT_NAME,
    REBILL_SUPPORT_EMAIL: SUPPORT_EMAIL,
    REBILL_RETRY_SCHEDULE: '5s,10s',
    REBILL_JANITOR_INTERVAL: '1s',
    REBILL_QUERY_SCHEDULE: '2s',
    OCEANPAYMENT_TIMEOUT_MS: '5000',
    REBILL_SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'warn',
  });
  out(`Starting PostgreSQL, the worker and the sandbox gateway…`);
  // Warnings and errors only, on stderr, so the story below stays readable.
  const worker = await startWorker(config, createLogger({ level: config.logLevel, name: 'rebill-demo', toStderr: true }));
  const stop = onceOnly(() => worker.stop('demo finished'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      out(`\nInterrupted (${signal}): stopping the worker, the sandbox and PostgreSQL…`);
      void stop().finally(() => process.exit(130));
    });
  }
  out(`  ready in ${((Date.now() - started) / 1000).toFixed(1)}s: worker on ${config.http.publicUrl}, sandbox gateway on ${config.gateway.gatewayUrl}`);
  out();

  let outcome: Awaited<ReturnType<typeof run>>;
  try {
    outcome = await run(config, worker);
  } finally {
    if (!interrupted) {
      out();
      out('Stopping the worker, the sandbox and PostgreSQL…');
    }
    await stop();
    if (!interrupted) out(`  stopped; the whole demo took ${((Date.now() - started) / 1000).toFixed(1)}s.`);
  }
  if (!outcome.settled) {
    out();
    out(`The demo did not settle within ${SETTLE_TIMEOUT_MS / 1000}s (see above for who and how far they got).`);
    out(`Its data is kept in ${DATA_DIR}: REBILL_DATA_DIR=${DATA_DIR} npx rebill list`);
    return 1;
  }
  printNextSteps(outcome.ids);
  return 0;
}

async function run(config: Config, worker: RunningWorker): Promise<{ settled: boolean; ids: Map<string, string> }> {
  const { db } = worker.engine;
  const t0 = new Date();
  const at = (d: Date) => seconds(d.getTime() - t0.getTime()).padStart(6);
  const ids = new Map<string, string>();
  const rows = CAST.filter((member) => !member.checkout).map((member) => {
    // A minute more than a whole period ago, so the renewal is due now whatever the month lengths.
    const firstPaidAt = member.firstPaidAgo
      ? DateTime.fromJSDate(t0, { zone: member.plan.timezone }).minus(member.firstPaidAgo).minus({ minutes: 1 }).toISO({ includeOffset: false })!
      : undefined;
    const result = validateEnrolment(
      { ...member.plan, firstPaidAt, email: `${member.key}@example.com`, firstName: member.firstName, lastName: member.lastName },
      t0,
    );
    if (!result.ok) throw new Error(`cannot enrol ${member.firstName}: ${result.problems.join('; ')}`);
    ids.set(member.key, result.row.id);
    return result.row;
  });
  const byToken = CAST.filter((member) => !member.checkout);
  for (const provider of ['oceanpayment', 'glocash'] as const) {
    const theirs = rows.filter((_, i) => (byToken[i]!.provider ?? 'oceanpayment') === provider);
    await enrolMany(db, theirs, { now: t0, actor: OPERATOR, reason: 'demo', provider });
  }
  for (const member of CAST.filter((m) => m.checkout)) {
    // As `rebill enrol --checkout --send`: no card token; the e-mailed link opens the gateway's page.
    const enrolled = await enrolByCheckout(db, { ...member.plan, email: `${member.key}@example.com`, firstName: member.firstName, lastName: member.lastName }, {
      provider: 'oceanpayment', now: t0, actor: OPERATOR, reason: 'demo',
      links: { publicUrl: config.http.publicUrl, ttlMs: config.email.checkoutTtlMs },
      send: { boss: worker.boss, settings: { merchant: config.merchant } },
    });
    if (enrolled.status === 'refused') throw new Error(`cannot enrol ${member.firstName}: ${enrolled.message}`);
    ids.set(member.key, enrolled.subscription.id);
  }
  out(`${at(new Date())}  Enrolled ${CAST.length} subscribers; asking the scheduler to queue whatever is due.`);
  await worker.scheduleNow();

  await cancelSubscription(db, ids.get('barbara')!, false, {
    now: new Date(),
    actor: OPERATOR,
    reason: 'customer asked by e-mail',
    policy: dunningPolicy(config),
    billing: worker.engine.billing,
    followUps: worker.engine.followUps,
  });
  out(`${at(new Date())}  Operator canceled Barbara's subscription ("customer asked by e-mail").`);

  await playTheThreeDSecureCustomer(config, 'grace@example.com', (line) => out(`${at(new Date())}  ${line}`));
  await playTheLinkCustomer(config, 'mei@example.com', (line) => out(`${at(new Date())}  ${line}`));
  await playTheCheckoutCustomer(config, 'katherine@example.com', (line) => out(`${at(new Date())}  ${line}`));
  await playTheNewCardCustomer(config, 'margaret@example.com', (line) => out(`${at(new Date())}  ${line}`));
  await playTheCounter(worker, ids.get('wei')!, (line) => out(`${at(new Date())}  ${line}`));

  out(`${at(new Date())}  Waiting for everyone to settle (the last step is Edsger's dunning running out, about 10s after his decline)…`);
  const settledAt = await waitUntilSettled(db, ids);
  if (settledAt) out(`${at(settledAt)}  Everyone has settled.`);
  out();

  await printTimelines(db, ids, t0);
  await printEmails(config);

  if (!settledAt) {
    out();
    out(`Not settled after ${SETTLE_TIMEOUT_MS / 1000}s:`);
    for (const member of CAST) {
      const sub = await subscription(db, ids.get(member.key)!);
      const attempts = await attemptsOf(db, sub.id);
      if (!member.settled(sub, attempts)) {
        out(`  - ${member.firstName} ${member.lastName}: expected ${member.expected}, but is ${sub.status} (attempts: ${attempts.map((a) => a.status).join(', ') || 'none'})`);
      }
    }
    const unsent = await db.selectFrom('email_outbox').select(['id', 'kind', 'status']).where('status', 'in', ['queued', 'sending']).execute();
    for (const m of unsent) out(`  - e-mail ${m.id} (${m.kind}) is still ${m.status}`);
  }
  return { settled: settledAt !== null, ids };
}

/**
 * The customer's side of 3-D Secure, with plain HTTP instead of a browser: read the e-mail, follow
 * the link (rebill answers 303 to the bank's page), submit "Authenticate" as the page's form would,
 * and post the self-submitting form the bank answers with to rebill's return page.
 */
async function playTheThreeDSecureCustomer(config: Config, email: string, say: (line: string) => void): Promise<void> {
  const { file, link } = await waitForActionRequiredEmail(config.email.outboxDir, email);
  say(`Grace's bank wants 3-D Secure: rebill e-mailed her a link (${relative(process.cwd(), file)}).`);

  const redirect = await fetch(link, { redirect: 'manual' });
  const bankUrl = redirect.headers.get('location');
  if (redirect.status !== 303 || !bankUrl) throw new Error(`the e-mailed link ${link} answered ${redirect.status}, not a redirect to the bank`);
  say(`She opens ${shorten(link)}: rebill answers ${redirect.status} and sends her to the bank's page ${shorten(bankUrl)}.`);

  const challenge = await fetch(bankUrl);
  const challengeHtml = await challenge.text();
  const details = [...challengeHtml.matchAll(/<dt>([^<]*)<\/dt><dd>([^<]*)<\/dd>/g)].map((m) => `${unescapeHtml(m[1]!)} ${unescapeHtml(m[2]!)}`);
  const challengeForm = formIn(challengeHtml);
  say(`The bank's page shows ${details.join(', ')}; she presses "Authenticate".`);

  const answer = await fetch(challengeForm.action, {
    method: 'POST',
    body: new URLSearchParams({ ...challengeForm.fields, result: 'authenticate' }),
  });
  // The bank's answer is a form that a browser submits by itself to rebill's backUrl.
  const back = formIn(await answer.text(), 'return');
  const returned = await fetch(back.action, { method: 'POST', body: new URLSearchParams(back.fields) });
  const heading = /<h1>([^<]*)<\/h1>/.exec(await returned.text())?.[1] ?? '(no heading)';
  say(`Her browser carries the signed result back to ${shorten(back.action)}, which says: "${unescapeHtml(heading)}".`);
}

/**
 * The customer's side of a Glocash payment link: read the e-mail, follow the link (rebill answers
 * 303 to Glocash's page), and pay there with a test card as the page's form would.
 */
async function playTheLinkCustomer(config: Config, email: string, say: (line: string) => void): Promise<void> {
  const { file, link } = await waitForActionRequiredEmail(config.email.outboxDir, email, 'payment_due');
  say(`Mei's first period is collected by link: rebill created the payment at Glocash and e-mailed her the link (${relative(process.cwd(), file)}).`);
  const redirect = await fetch(link, { redirect: 'manual' });
  const pageUrl = redirect.headers.get('location');
  if (redirect.status !== 303 || !pageUrl) throw new Error(`the e-mailed link ${link} answered ${redirect.status}, not a redirect to Glocash`);
  say(`She opens ${shorten(link)}: rebill answers ${redirect.status} and sends her to Glocash's page ${shorten(pageUrl)}.`);
  const form = formIn(await (await fetch(pageUrl)).text());
  const paid = await fetch(new URL(form.action, pageUrl), { method: 'POST', body: new URLSearchParams({ ...form.fields, choice: 'pay' }), redirect: 'manual' });
  say(`She pays with the test card ${form.fields.card} and Glocash sends her back to ${shorten(paid.headers.get('location') ?? '(nowhere)')}; its signed notice decides.`);
}

/**
 * The customer's side of a hosted checkout: read the sign-up e-mail, follow the link (rebill opens
 * the order at the gateway and answers 303 to its page), type the sandbox card into the page's form
 * and post the self-submitting form it answers with to rebill's return page.
 */
async function playTheCheckoutCustomer(config: Config, email: string, say: (line: string) => void): Promise<void> {
  const { file, link } = await waitForActionRequiredEmail(config.email.outboxDir, email, 'checkout');
  say(`Katherine signs up by checkout: rebill e-mailed her the sign-up link (${relative(process.cwd(), file)}).`);
  const redirect = await fetch(link, { redirect: 'manual' });
  const pageUrl = redirect.headers.get('location');
  if (redirect.status !== 303 || !pageUrl) throw new Error(`the sign-up link ${link} answered ${redirect.status}, not a redirect to the gateway`);
  say(`She opens ${shorten(link)}: rebill posts the order to /gateway/service/sendTrade, checks the signed answer, and sends her to ${shorten(pageUrl)}.`);
  const form = formIn(await (await fetch(pageUrl)).text());
  const paid = await fetch(form.action, { method: 'POST', body: new URLSearchParams({ card_number: '4111111111111111', expiry: '12/30', cvv: '123', action: 'pay' }) });
  const back = formIn(await paid.text(), 'return');
  const returned = await fetch(back.action, { method: 'POST', body: new URLSearchParams(back.fields) });
  const heading = /<h1>([^<]*)<\/h1>/.exec(await returned.text())?.[1] ?? '(no heading)';
  say(`She pays with the sandbox card 4111 1111 1111 1111; her browser comes back to ${shorten(back.action)}, which says: "${unescapeHtml(heading)}". The gateway's notice brings her card token.`);
}

/**
 * The customer's side of a card update: read the decline e-mail, open its card-update link (a
 * rebill page), press its button (a signed form to the gateway's card page), save the new card
 * there, and post the self-submitting form the gateway answers with back to rebill.
 */
async function playTheNewCardCustomer(config: Config, email: string, say: (line: string) => void): Promise<void> {
  const { file, link } = await waitForActionRequiredEmail(config.email.outboxDir, email, 'payment_failed');
  say(`Margaret's card was reported lost: rebill e-mailed her a card-update link (${relative(process.cwd(), file)}).`);
  const rebillPage = formIn(await (await fetch(link)).text());
  const gatewayPage = await fetch(rebillPage.action, { method: 'POST', body: new URLSearchParams(rebillPage.fields) });
  say(`She opens ${shorten(link)} and presses its button: rebill posts a signed form to the gateway's card page ${shorten(rebillPage.action)}.`);
  const cardForm = formIn(await gatewayPage.text());
  const saved = await fetch(cardForm.action, { method: 'POST', body: new URLSearchParams({ ...cardForm.fields, card_number: '4111111111111111', expiry: '09/31', cvv: '123', action: 'save' }) });
  const back = formIn(await saved.text(), 'return');
  const returned = await fetch(back.action, { method: 'POST', body: new URLSearchParams(back.fields) });
  const heading = /<h1>([^<]*)<\/h1>/.exec(await returned.text())?.[1] ?? '(no heading)';
  say(`She saves the card 4111 1111 1111 1111; back at ${shorten(back.action)} rebill confirms the token with the gateway and says: "${unescapeHtml(heading)}".`);
}

/** The counter: a QR order for Wei's period, which his wallet (the sandbox's page) pays. */
async function playTheCounter(worker: RunningWorker, id: string, say: (line: string) => void): Promise<void> {
  const order = await startInPersonCollection(worker.engine, id, { kind: 'qr', wallet: 'wechat' }, OPERATOR);
  say(`Wei is at the counter: \`rebill collect --qr\` created order ${order.reference} and shows the QR code of ${shorten(order.action_url ?? '')}.`);
  await fetch(order.action_url!, { method: 'POST', body: new URLSearchParams({ result: 'authenticate' }) });
  const settled = await settleInPersonCollection(worker.engine, order, OPERATOR, { timeoutMs: 30_000, queryEveryMs: 3_000, sleep: (ms) => sleep(ms) });
  say(`He scans it with WeChat Pay and pays; the gateway's notice arrives and the order is ${settled.status}.`);
}

async function waitForActionRequiredEmail(outboxDir: string, email: string, kind = 'action_required'): Promise<{ file: string; link: string }> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const name of await readdir(outboxDir).catch(() => [] as string[])) {
      if (!name.endsWith(`-${kind}.eml`)) continue;
      const file = join(outboxDir, name);
      const parsed = readEml(await readFile(file));
      const to = parsed.to;
      const link = parsed.text.match(/https?:\/\/\S+\/(pay|checkout|card)\/[A-Za-z0-9_-]+/)?.[0];
      if (to.includes(email) && link) return { file, link };
    }
    await sleep(100);
  }
  throw new Error(`no ${kind} e-mail to ${email} appeared in ${outboxDir} within 30s`);
}

interface HtmlForm {
  action: string;
  fields: Record<string, string>;
}

/** The action and hidden fields of a form in a page we know the shape of (the sandbox's). */
function formIn(html: string, id?: string): HtmlForm {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = forms.find((f) => (id ? attribute(f[1]!, 'id') === id : true));
  const action = form && attribute(form[1]!, 'action');
  if (!form || !action) throw new Error(`no form${id ? ` "${id}"` : ''} in the page:\n${html.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input\b([^>]*)>/g)) {
    const name = attribute(input[1]!, 'name');
    if (name) fields[name] = attribute(input[1]!, 'value') ?? '';
  }
  return { action, fields };
}

function attribute(tag: string, name: string): string | undefined {
  const value = new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
  return value === undefined ? undefined : unescapeHtml(value);
}

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity]!);
}

function shorten(url: string): string {
  return url.length > 60 ? `${url.slice(0, 57)}…` : url;
}

/** Resolves with the moment everyone reached their expected state and every e-mail was written, or null on timeout. */
async function waitUntilSettled(db: Db, ids: Map<string, string>): Promise<Date | null> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    let settled = true;
    for (const member of CAST) {
      const sub = await subscription(db, ids.get(member.key)!);
      if (!member.settled(sub, await attemptsOf(db, sub.id))) settled = false;
    }
    const unsent = await db.selectFrom('email_outbox').select('id').where('status', 'in', ['queued', 'sending']).execute();
    if (settled && unsent.length === 0) return new Date();
    await sleep(250);
  }
  return null;
}

const subscription = (db: Db, id: string) => db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const attemptsOf = (db: Db, id: string) => db.selectFrom('payment_transactions').selectAll().where('subscription_id', '=', id).where('kind', '=', 'charge').orderBy('id').execute();

interface TimelineEntry {
  at: Date;
  order: number;
  text: string;
}

async function printTimelines(db: Db, ids: Map<string, string>, t0: Date): Promise<void> {
  out('What happened to each subscriber');
  out('--------------------------------');
  out('Times are relative to the enrolment; "by" says who did it (the worker, the gateway\'s synchronous');
  out('answer, its asynchronous notice, a query, the janitor, the customer or an operator).');
  for (const [index, member] of CAST.entries()) {
    const id = ids.get(member.key)!;
    const sub = await subscription(db, id);
    const attempts = await attemptsOf(db, id);
    const events = await db.selectFrom('events').selectAll().where('subscription_id', '=', id).orderBy('id').execute();
    const emails = await db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', id).orderBy('id').execute();
    const returns = await db
      .selectFrom('provider_notices')
      .selectAll()
      .where('channel', '=', 'browser_return')
      .where('transaction_id', 'in', attempts.length ? attempts.map((a) => a.id) : [-1])
      .execute();
    const money = displayMoney({ amountMinor: sub.amount_minor, currency: sub.currency });

    out();
    out(`${index + 1}. ${sub.customer_first_name} ${sub.customer_last_name} <${sub.customer_email}>, ${sub.interval}ly ${money}, ${sub.timezone}`);
    const token = await db.selectFrom('payment_methods').select('token').where('id', '=', sub.payment_method_id ?? -1).executeTakeFirst();
    out(sub.collection_method === 'card_token' ? `   Card token "${shorten(token?.token ?? '')}": ${member.card}.` : `   Collected ${sub.collection_method === 'in_person' ? 'in person' : 'by payment link'}: ${member.card}.`);
    out(`   Story: ${member.story}.`);
    out(`   Subscription ${sub.id}`);
    const entries: TimelineEntry[] = [
      ...events.map((e) => ({ at: e.occurred_at, order: e.id * 10, text: describeEvent(e, attempts, t0) })),
      ...emails.map((m) => ({
        at: m.sent_at ?? m.created_at,
        order: Number.MAX_SAFE_INTEGER,
        text: `e-mail "${m.subject}" ${m.status === 'sent' ? 'written' : m.status} (by worker)`,
      })),
      ...returns.map((n) => ({
        at: n.received_at,
        order: Number.MAX_SAFE_INTEGER - 1,
        text: `the customer's browser came back to the return page with the bank's signed result (payment_status ${n.status}): not proof of payment, so the order is queried at once`,
      })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime() || a.order - b.order);
    for (const entry of entries) out(`   ${seconds(entry.at.getTime() - t0.getTime()).padStart(7)}  ${entry.text}`);
    const after: Record<Subscription['status'], string> = {
      active: sub.next_renewal_at ? `next renewal ${when(sub.next_renewal_at, sub.timezone)}` : 'no renewal scheduled',
      incomplete: 'first purchase not paid yet',
      incomplete_expired: 'the checkout was abandoned; nothing was charged',
      past_due: 'renewal not paid yet',
      unpaid: 'no more automatic charges until an operator runs `rebill update-token` or `rebill retry`',
      canceled: 'nothing more is charged',
    };
    out(`   Final: ${sub.status.toUpperCase()}, renewals paid ${sub.renewals_paid}; ${after[sub.status]}.`);
  }
  out();
}

function describeEvent(event: EventRow, attempts: PaymentTransaction[], t0: Date): string {
  const data = event.data as Record<string, unknown>;
  const attempt = attempts.find((a) => a.id === event.transaction_id);
  const order = attempt ? `order ${attempt.reference}, ${attempt.details.service_mode ?? attempt.provider}` : '';
  const code = typeof data.gateway_code === 'string' ? data.gateway_code : null;
  const status = data.from_status && data.to_status && data.from_status !== data.to_status ? `; ${String(data.from_status)} -> ${String(data.to_status)}` : '';
  const nextAttempt = typeof data.next_attempt_at === 'string' ? `; next try ${seconds(Date.parse(data.next_attempt_at) - t0.getTime())}` : '';
  const by = ` (by ${event.actor})`;
  // The event's reason is the gateway's payment_details at the time, e.g. "80022:Not sufficient funds".
  const said = event.reason ? parseDetails(event.reason) : null;
  const gateway = code ? `, gateway code ${code}${said?.code === code && said.message ? ` "${said.message}"` : ''}` : '';
  switch (event.type) {
    case 'enrolled': {
      const due = relativeTo(new Date(String(data.next_renewal_at)), t0);
      if (data.checkout) return `enrolled (incomplete): no card yet, the first purchase is paid at the hosted checkout${by}`;
      return Number(data.next_period) === 0
        ? `enrolled (incomplete): the first purchase is to be charged ${due}${by}`
        : `enrolled (active): first purchase paid ${relativeTo(new Date(String(data.anchor_at)), t0)} at the merchant's checkout; renewal ${String(data.next_period)} due ${due}${by}`;
    }
    case 'charge_started': {
      const amount = displayMoney({ amountMinor: Number(data.amount_minor), currency: String(data.currency) });
      const collection = attempt?.details.collection;
      const what = collection === 'payment_link' ? 'payment created at Glocash for the link'
        : collection === 'in_person' ? 'QR order created at the counter'
        : attempt?.details.channel === 'hosted_checkout' ? 'checkout order sent to the gateway (sendTrade)'
        : 'charge sent to the gateway';
      return `${what}: ${order}, ${amount}${by}`;
    }
    case 'charge_pending':
      return attempt?.details.collection === 'in_person' ? `waiting for the customer to scan the QR code: ${order}${by}` : `pending: ${order}${event.reason ? ` (${event.reason})` : ''}${by}`;
    case 'payment_succeeded':
      return `paid: ${order}${gateway}${status}${by}`;
    case 'payment_failed':
      return `declined: ${order}${gateway}${status}${nextAttempt || '; no automatic retry'}${by}`;
    case 'action_required':
      return attempt?.details.collection === 'payment_link'
        ? `payment link ready: ${order}; waiting for the customer to pay it${status}${by}`
        : `the bank wants 3-D Secure: ${order}; waiting for the customer${status}${by}`;
    case 'customer_link_created':
      return `${String(data.purpose).replace('_', '-')} link created and e-mailed${by}`;
    case 'customer_link_opened':
      return `opened the ${String(data.purpose).replace('_', '-')} link (click ${String(data.clicks)}, link ${String(data.link_state)})${by}`;
    case 'checkout_started':
      return `the gateway's hosted page is ready: ${order}; waiting for the customer to pay${by}`;
    case 'payment_method_added':
      return `card token …${String(data.token_ends)} from the gateway's notice is now her payment method${by}`;
    case 'payment_link_opened':
      return `opened the e-mailed link (click ${String(data.clicks)}, link ${String(data.link_state)})${by}`;
    case 'dunning_started':
      return `dunning started: the period is unpaid${by}`;
    case 'unpaid':
      return `the retry schedule has run out: no more automatic charges${status}${by}`;
    case 'retries_exhausted':
      return `dunning retries exhausted${by}`;
    case 'canceled':
      return `canceled: "${event.reason ?? 'no reason given'}"${status}${by}`;
    default:
      return `${event.type}${order ? `: ${order}` : ''}${event.reason ? ` (${event.reason})` : ''}${status}${by}`;
  }
}

/** "now", "1 minute ago", "in 20 days", "1 month ago"… */
function relativeTo(instant: Date, base: Date): string {
  if (Math.abs(instant.getTime() - base.getTime()) < 60_000) return 'now';
  return DateTime.fromJSDate(instant).toRelative({ base: DateTime.fromJSDate(base) }) ?? instant.toISOString();
}

function when(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant, { zone }).toFormat('d LLL yyyy HH:mm ZZZZ');
}

async function printEmails(config: Config): Promise<void> {
  const dir = config.email.outboxDir;
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort();
  out(`E-mails to customers (${files.length}), written as .eml files in ${relative(process.cwd(), dir)}/`);
  out('-'.repeat(60));
  for (const name of files) {
    const parsed = readEml(await readFile(join(dir, name)));
    out(`  ${name.padEnd(34)} to ${parsed.to.padEnd(20)} "${parsed.subject}"`);
  }
  out('Open them in any mail client, or read them as text: they carry a plain-text and an HTML part.');
}

function printNextSteps(ids: Map<string, string>): void {
  out();
  out('Explore further');
  out('---------------');
  out('The demo has stopped its database, but kept the data in .rebill/demo until the next run. Plain');
  out('`npx rebill ...` looks at .rebill (what `npm start` uses), so point the CLI at the demo\'s data;');
  out('it starts the demo\'s PostgreSQL for the length of each command:');
  out();
  out('  REBILL_DATA_DIR=.rebill/demo npx rebill list');
  out(`  REBILL_DATA_DIR=.rebill/demo npx rebill show ${ids.get('grace')}`);
  out();
  out('Then `npm start` runs the worker for real (with the sandbox on port 8081), `npx rebill --help` lists');
  out('the operator commands, and `npm test` runs the tests. The README explains every status and setting.');
}

/** Removes the previous demo's data, first stopping its PostgreSQL if a crashed run left it running. */
async function wipeDemoData(dataDir: string): Promise<void> {
  if (dataDir === resolve('.rebill') || dataDir === resolve('.rebill/pg')) throw new Error(`refusing to wipe ${dataDir}: it is not the demo's own directory`);
  const pgDir = join(dataDir, 'pg');
  if (postgresRunningIn(pgDir)) {
    const lease = await acquireEmbeddedPostgres({ dir: pgDir });
    await lease.release(); // the last lease stops the server
    if (postgresRunningIn(pgDir)) {
      throw new Error(`the demo's PostgreSQL in ${pgDir} is in use by another rebill process (another demo, or a CLI command with REBILL_DATA_DIR=${DATA_DIR}); stop it first`);
    }
  }
  await rm(dataDir, { recursive: true, force: true });
}

function postgresRunningIn(pgDir: string): boolean {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  return Number.isFinite(pid) && isProcessAlive(pid);
}


function onceOnly(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= fn());
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (interrupted) return;
    console.error(`\nThe demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
