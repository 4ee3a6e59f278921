import { INTERVALS } from '../plans/billing-calendar.ts';
import { viewOf } from '../subscriptions/lookup.ts';
import { ConflictError, ValidationError } from '../lib/errors.ts';
import { operatorActor } from '../deps.ts';
import { collectionProblem, defaultProviderFor } from '../payment-providers.ts';
import { ENROLLABLE_COLLECTIONS } from '../subscriptions/enrol.ts';
import type { CollectionMethod } from '../db/database.ts';
import { createBoss } from '../jobs/queue.ts';
import { enrolSubscriber } from '../billing/subscriber-actions.ts';
import { enrolByCheckout } from '../checkout/enrol-by-checkout.ts';
import { EXIT_OK, optional, printJson, required, UsageError, type Command, type CommandContext, type Parsed } from './command.ts';
import { subscriptionJson, subscriptionText } from './present.ts';

export const enrolCommand: Command = {
  name: 'enrol',
  summary: 'Create a subscription',
  help: `Usage: rebill enrol --email E --first-name F --last-name L --country CC --interval I
                    --amount 9.99 --currency USD (--quickpay-id ID | --checkout [--send] | --collection payment_link|in_person) [options]

Creates a subscription and prints it.

How each period is collected (--collection): card_token (the default) charges the stored card
token given with --quickpay-id; payment_link e-mails the customer a link for each period, paid on
the provider's page (Glocash by default), with reminders, expiry and a new link on each retry.
in_person is collected at a counter with \`rebill collect\` (WeChat Pay or Alipay through
Oceanpayment's face-to-face payments); the worker never charges it by itself.

With --checkout the customer signs up on Oceanpayment's hosted payment page: the subscription is
"incomplete" with no card, and a checkout link is printed (checkout_url with --json; e-mailed to
the customer with --send). Opening it takes the customer to the payment page for the first
purchase; once the gateway's verified notice says it is paid, the card token it created is stored,
the subscription is "active" and renewals follow from that moment. A link not paid within
REBILL_CHECKOUT_TTL_HOURS ends the subscription "incomplete_expired" (nothing charged).

Without --first-paid-at the first purchase (${'X1'}) is still to be charged: the subscription is
"incomplete" and due now. With --first-paid-at T the first purchase already happened at T
(through your own checkout): T is the anchor, the subscription is "active", and the next charge
is renewal --renewals-paid + 1 at its calendar instant (which may already be due).

With --external-id (your own customer or subscription reference) a repeated enrolment is safe:
it prints the subscription already enrolled under that id ("already enrolled", exit 0), or is
refused (exit 1) naming every term that differs. Without one, a second subscription for the same
e-mail, card token and plan as a live (not canceled) one is refused unless --allow-duplicate.

Options:
  --email E              customer e-mail (at most 50 characters)
  --first-name F         customer first name
  --last-name L          customer last name
  --country CC           ISO 3166 two-letter country code, e.g. US
  --interval I           ${INTERVALS.join(' | ')}
  --amount A             price per period as a decimal, e.g. 9.99 (1000 for JPY)
  --currency C           ISO 4217 code with at most 2 decimals, e.g. USD, EUR, JPY
  --quickpay-id ID       the card token (QuickPay ID) from Oceanpayment (card_token only)
  --collection M         ${ENROLLABLE_COLLECTIONS.join(' | ')} (default card_token)
  --provider NAME        the payment provider (default: glocash for payment_link, oceanpayment otherwise)
  --checkout             no token: the customer pays the first purchase on Oceanpayment's hosted page
  --send                 with --checkout: e-mail the checkout link to the customer
  --timezone Z           IANA time zone renewals follow (default UTC)
  --product NAME         product name sent to the gateway (default from the interval)
  --first-paid-at T      ISO 8601 time of the first purchase (no offset: in --timezone)
  --renewals-paid N      renewals already paid since then (default 0; needs --first-paid-at)
  --external-id REF      your reference for this subscription, unique: 1-100 of A-Z a-z 0-9 . _ - : / # @ +
  --allow-duplicate      enrol even if the e-mail already has a live subscription with this token and plan
  --reason TEXT          why, for the event log
  --json                 print JSON
Example:
  rebill enrol --email ada@example.com --first-name Ada --last-name Lovelace --country GB \\
    --interval month --amount 9.99 --currency GBP --quickpay-id 9ead3654-8f84-4d02-acab-6ac9dd10531f \\
    --timezone Europe/London
  rebill enrol --email lin@example.com --first-name Lin --last-name Ho --country SG \\
    --interval month --amount 12.00 --currency SGD --collection payment_link --provider glocash
  rebill enrol --email ada@example.com --first-name Ada --last-name Lovelace --country GB \\
    --interval year --amount 90 --currency GBP --checkout --send --json
`,
  options: {
    email: { type: 'string' },
    'first-name': { type: 'string' },
    'last-name': { type: 'string' },
    country: { type: 'string' },
    interval: { type: 'string' },
    amount: { type: 'string' },
    currency: { type: 'string' },
    'quickpay-id': { type: 'string' },
    collection: { type: 'string' },
    provider: { type: 'string' },
    timezone: { type: 'string' },
    product: { type: 'string' },
    'first-paid-at': { type: 'string' },
    'renewals-paid': { type: 'string' },
    'external-id': { type: 'string' },
    'allow-duplicate': { type: 'boolean' },
    checkout: { type: 'boolean' },
    send: { type: 'boolean' },
    reason: { type: 'string' },
  },
  async run(args, ctx) {
    if (args.values.checkout === true) return enrolWithCheckout(args, ctx);
    if (args.values.send === true) throw new UsageError('--send e-mails a checkout link: it needs --checkout');
    const input = {
      ...customerAndPlan(args),
      quickpayId: optional(args, 'quickpay-id'),
      collection: optional(args, 'collection'),
      firstPaidAt: optional(args, 'first-paid-at'),
      renewalsPaid: optional(args, 'renewals-paid'),
    };
    const collection = (input.collection ?? 'card_token') as CollectionMethod;
    if (collection === 'card_token' && input.quickpayId === undefined) throw new UsageError('--quickpay-id is required (or --collection payment_link)');
    const provider = optional(args, 'provider') ?? defaultProviderFor(collection);
    // Only a known method is checked against the provider; enrol names an unknown one.
    const unable = ENROLLABLE_COLLECTIONS.includes(collection) ? await collectionProblem(ctx.config(), provider, collection) : null;
    if (unable) throw new ValidationError([`--provider: ${unable}`]);
    const now = ctx.clock().now();
    const result = await ctx.withDatabase(async ({ db, pool }) => {
      const boss = createBoss(pool, { background: false });
      const enrolled = await enrolSubscriber(db, boss, input, {
        provider,
        now,
        actor: operatorActor(),
        reason: optional(args, 'reason') ?? null,
        allowDuplicate: args.values['allow-duplicate'] === true,
      });
      return enrolled.status === 'refused' ? enrolled : { ...enrolled, subscription: await viewOf(db, enrolled.subscription) };
    });
    if (result.status === 'refused') throw new ConflictError(result.message);
    return printEnrolled(ctx, args, result.subscription, result.status === 'already_enrolled', null);
  },
};

function customerAndPlan(args: Parsed) {
  return {
    email: required(args, 'email'),
    firstName: required(args, 'first-name'),
    lastName: required(args, 'last-name'),
    country: required(args, 'country'),
    interval: required(args, 'interval'),
    amount: required(args, 'amount'),
    currency: required(args, 'currency'),
    timezone: optional(args, 'timezone'),
    product: optional(args, 'product'),
    externalId: optional(args, 'external-id'),
  };
}

/** `--checkout`: no token; the customer pays the first purchase on the hosted page the printed link opens. */
async function enrolWithCheckout(args: Parsed, ctx: CommandContext): Promise<number> {
  for (const name of ['quickpay-id', 'first-paid-at', 'renewals-paid', 'collection', 'provider'] as const) {
    if (args.values[name] !== undefined) throw new UsageError(`--${name} cannot be used with --checkout: the customer's payment on Oceanpayment's page is the first purchase and creates the card token`);
  }
  const config = ctx.config();
  const now = ctx.clock().now();
  const result = await ctx.withDatabase(async ({ db, pool }) => {
    const boss = createBoss(pool, { background: false });
    const enrolled = await enrolByCheckout(db, { ...customerAndPlan(args), quickpayId: '' }, {
      provider: defaultProviderFor('card_token'),
      now,
      actor: operatorActor(),
      reason: optional(args, 'reason') ?? null,
      allowDuplicate: args.values['allow-duplicate'] === true,
      links: { publicUrl: config.http.publicUrl, ttlMs: config.email.checkoutTtlMs },
      ...(args.values.send === true ? { send: { boss, settings: { merchant: config.merchant } } } : {}),
    });
    return enrolled.status === 'refused' ? enrolled : { ...enrolled, subscription: await viewOf(db, enrolled.subscription) };
  });
  if (result.status === 'refused') throw new ConflictError(result.message);
  return printEnrolled(ctx, args, result.subscription, result.status === 'already_enrolled', result.checkout);
}

function printEnrolled(
  ctx: CommandContext,
  args: Parsed,
  subscription: Awaited<ReturnType<typeof viewOf>>,
  alreadyEnrolled: boolean,
  checkout: { url: string; expiresAt: Date } | null,
): number {
  const link = checkout ? { checkout_url: checkout.url, checkout_expires_at: checkout.expiresAt.toISOString(), checkout_sent: args.values.send === true } : {};
  if (args.json) {
    printJson(ctx.stdout, { ...subscriptionJson(subscription), already_enrolled: alreadyEnrolled, ...link });
    return EXIT_OK;
  }
  const already = checkout ? 'Already enrolled: a new checkout link replaces the earlier one.' : 'Already enrolled: nothing was changed.';
  ctx.stdout.write(alreadyEnrolled ? `${already}\n${subscriptionText(subscription)}` : `Enrolled.\n${subscriptionText(subscription)}`);
  if (checkout) {
    ctx.stdout.write(`Checkout link (works until ${checkout.expiresAt.toISOString()}${args.values.send === true ? ', e-mailed to the customer' : ''}):\n  ${checkout.url}\n`);
  }
  return EXIT_OK;
}
