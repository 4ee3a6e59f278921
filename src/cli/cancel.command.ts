import { operatorContext } from '../deps.ts';
import { createBoss } from '../jobs/queue.ts';
import { cancelSubscription, undoCancel } from '../billing/operator-actions.ts';
import { subscriptionIdFor, viewOf } from '../subscriptions/lookup.ts';
import { EXIT_OK, optional, printJson, UsageError, type Command } from './command.ts';
import { subscriptionJson, subscriptionText } from './present.ts';

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'Cancel a subscription now, or at the end of its period',
  help: `Usage: rebill cancel ID [--at-period-end | --undo] [--reason TEXT] [--json]
ID is the subscription's id, ext:EXTERNAL_ID, or any of its order numbers.

Cancels now: no further charge is made (a charge already in flight is still recorded, and a
success after the cancel is flagged in the events for a refund decision).
With --at-period-end the subscription stays active until its next renewal instant and then ends
instead of renewing. With --undo a cancel at the period end is taken back before the period ends
(the customer can do the same on the self-service page).

Example:
  rebill cancel 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --reason "customer asked by e-mail"
`,
  options: { 'at-period-end': { type: 'boolean' }, undo: { type: 'boolean' }, reason: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const id = args.positionals[0]!;
    const atPeriodEnd = Boolean(args.values['at-period-end']);
    const undo = args.values.undo === true;
    if (undo && atPeriodEnd) throw new UsageError('--undo takes back a cancel at the period end: use it without --at-period-end');
    const subscription = await ctx.withDatabase(async ({ db, pool }) => {
      const operator = operatorContext(ctx.config(), createBoss(pool, { background: false }), ctx.clock().now(), optional(args, 'reason') ?? null);
      const subscriptionId = await subscriptionIdFor(db, id);
      // The customer is told, in the same transaction (delivered by the worker).
      return viewOf(db, undo ? await undoCancel(db, subscriptionId, operator) : await cancelSubscription(db, subscriptionId, atPeriodEnd, operator));
    });
    if (args.json) printJson(ctx.stdout, subscriptionJson(subscription));
    else ctx.stdout.write(`${undo ? 'Cancel taken back: renews as before.' : atPeriodEnd ? 'Will end at the period end.' : 'Canceled.'}\n${subscriptionText(subscription)}`);
    return EXIT_OK;
  },
};
