/** Commands that act on one subscription's charging: retry, resolve, update-token. */
import type { PgBoss } from 'pg-boss';
import { operatorContext as contextFrom } from '../deps.ts';
import { ConflictError } from '../lib/errors.ts';
import { escapeControlCharacters } from '../lib/printable.ts';
import { openChargeOf } from '../payments/transactions/transaction.repo.ts';
import { queryCharges } from '../billing/janitor.ts';
import { createBoss } from '../jobs/queue.ts';
import { retryNow } from '../billing/subscriber-actions.ts';
import { getSubscription, subscriptionIdFor, viewOf } from '../subscriptions/lookup.ts';
import { updateToken, type OperatorContext } from '../billing/operator-actions.ts';
import { EXIT_OK, optional, printJson, required, withEngine, type Command, type CommandContext, type Parsed } from './command.ts';
import { attemptJson, subscriptionJson, subscriptionText } from './present.ts';

function operatorContext(args: Parsed, ctx: CommandContext, boss: PgBoss): OperatorContext {
  return contextFrom(ctx.config(), boss, ctx.clock().now(), optional(args, 'reason') ?? null);
}

export const retryCommand: Command = {
  name: 'retry',
  summary: 'Charge a due or past-due subscription now',
  help: `Usage: rebill retry ID [--reason TEXT] [--json]
ID is the subscription's id, ext:EXTERNAL_ID, or any of its order numbers.

Queues a charge for the subscription's current period at once (the running worker picks it up
within a second or two), e.g. after the customer says they have topped up their card. Works for
incomplete, past_due and unpaid subscriptions, and active ones whose renewal is due. Refused while
an attempt is still awaiting its outcome (use \`rebill resolve\`) and for canceled subscriptions.

Example:
  rebill retry 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --reason "customer topped up"
`,
  options: { reason: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const id = args.positionals[0]!;
    const subscription = await ctx.withDatabase(async ({ db, pool }) => {
      const boss = createBoss(pool, { background: false });
      return viewOf(db, await retryNow(db, boss, await subscriptionIdFor(db, id), operatorContext(args, ctx, boss)));
    });
    if (args.json) printJson(ctx.stdout, subscriptionJson(subscription));
    else ctx.stdout.write(`Charge queued; the worker will send it shortly.\n${subscriptionText(subscription)}`);
    return EXIT_OK;
  },
};

export const updateTokenCommand: Command = {
  name: 'update-token',
  summary: "Replace a subscription's card token (QuickPay ID)",
  help: `Usage: rebill update-token ID --quickpay-id NEW [--reason TEXT] [--json]
ID is the subscription's id, ext:EXTERNAL_ID, or any of its order numbers.

Replaces the card token charged for the subscription, e.g. after the customer gave a new card
on your checkout. A subscription stopped by a hard decline (lost card, …) is charged again with
the new token on the next scheduler tick.

Example:
  rebill update-token 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --quickpay-id 5d0c1f0e-2b1a-4c7e-9f3e-0a1b2c3d4e5f
`,
  options: { 'quickpay-id': { type: 'string' }, reason: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const id = args.positionals[0]!;
    const token = required(args, 'quickpay-id');
    const subscription = await ctx.withDatabase(async ({ db, pool }) =>
      viewOf(db, await updateToken(db, await subscriptionIdFor(db, id), token, operatorContext(args, ctx, createBoss(pool, { background: false })))),
    );
    if (args.json) printJson(ctx.stdout, subscriptionJson(subscription));
    else ctx.stdout.write(`Card token replaced.\n${subscriptionText(subscription)}`);
    return EXIT_OK;
  },
};

export const resolveCommand: Command = {
  name: 'resolve',
  summary: "Query the gateway now about a subscription's unresolved charge",
  help: `Usage: rebill resolve ID [--json]
ID is the subscription's id, ext:EXTERNAL_ID, or any of its order numbers.

Asks the gateway (/service/check/normal) about the subscription's attempt that is still awaiting
its outcome (sending, unknown, pending or waiting for 3-D Secure) and records what it says,
exactly as the janitor would. Without an Oceanpayment account this reaches the worker's built-in
sandbox, so the worker must be running.

Example:
  rebill resolve 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d
`,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const typed = args.positionals[0]!;
    const result = await withEngine(ctx, async (engine) => {
      const { db } = engine;
      const id = await subscriptionIdFor(db, typed);
      await getSubscription(db, id);
      const attempt = await openChargeOf(db, id);
      if (!attempt) throw new ConflictError(`subscription ${id} has no charge awaiting an outcome; nothing to resolve`);
      // The same follow-ups as the worker: the customer hears of what this records.
      const [recorded] = await queryCharges(engine, [attempt], 1);
      const after = await db.selectFrom('payment_transactions').selectAll().where('id', '=', attempt.id).executeTakeFirstOrThrow();
      return { recorded, after, subscription: await viewOf(db, await getSubscription(db, id)) };
    });
    const zone = result.subscription.timezone;
    if (args.json) {
      printJson(ctx.stdout, {
        changed: result.recorded?.changed ?? false,
        note: result.recorded?.why ?? null,
        attempt: attemptJson(result.after, zone),
        subscription: subscriptionJson(result.subscription),
      });
    } else {
      ctx.stdout.write(
        result.recorded?.changed
          ? `Attempt ${result.after.reference} is now ${result.after.status}.\n`
          : // The note may quote the gateway's own words.
            `Attempt ${result.after.reference} is still ${result.after.status}: ${escapeControlCharacters(result.recorded?.why ?? 'no news')}.\n`,
      );
      ctx.stdout.write(subscriptionText(result.subscription));
    }
    return EXIT_OK;
  },
};
