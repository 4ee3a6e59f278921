import { operatorContext } from '../deps.ts';
import { createBoss } from '../jobs/queue.ts';
import { cancelSubscription } from '../billing/operator-actions.ts';
import { subscriptionIdFor, viewOf } from '../subscriptions/lookup.ts';
import { EXIT_OK, optional, printJson, type Command } from './command.ts';
import { subscriptionJson, subscriptionText } from './present.ts';

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'Cancel a subscription now, or at the end of its period',
  help: `Usage: rebill cancel ID [--at-period-end] [--reason TEXT] [--json]
ID is the subscription's id, ext:EXTERNAL_ID, or any of its order numbers.

Cancels now: no further charge is made (a charge already in flight is still recorded, and a
success after the cancel is flagged in the events for a refund decision).
With --at-period-end the subscription stays active until its next renewal instant and then ends
instead of renewing.

Example:
  rebill cancel 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --reason "customer asked by e-mail"
`,
  options: { 'at-period-end': { type: 'boolean' }, reason: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const id = args.positionals[0]!;
    const atPeriodEnd = Boolean(args.values['at-period-end']);
    const subscription = await ctx.withDatabase(async ({ db, pool }) =>
      // The customer is told, in the same transaction (delivered by the worker).
      viewOf(db, await cancelSubscription(db, await subscriptionIdFor(db, id), atPeriodEnd, operatorContext(ctx.config(), createBoss(pool, { background: false }), ctx.clock().now(), optional(args, 'reason') ?? null))),
    );
    if (args.json) printJson(ctx.stdout, subscriptionJson(subscription));
    else ctx.stdout.write(`${atPeriodEnd ? 'Will end at the period end.' : 'Canceled.'}\n${subscriptionText(subscription)}`);
    return EXIT_OK;
  },
};
