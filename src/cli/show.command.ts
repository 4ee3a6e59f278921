import { attemptsOf } from '../renewals/charge-attempt.repo.ts';
import { eventsOf } from '../subscriptions/events.repo.ts';
import { getSubscription } from '../subscriptions/lookup.ts';
import { EXIT_OK, printJson, type Command } from './command.ts';
import { attemptJson, eventJson, subscriptionJson, subscriptionText, table } from './present.ts';

export const showCommand: Command = {
  name: 'show',
  summary: 'Show a subscription, its charge attempts and its event log',
  help: `Usage: rebill show ID [--json]

Prints the subscription, every charge attempt (order number, service_mode, amount, status,
payment id, time) and every event (what changed, why, by whom, when).

Example:
  rebill show 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --json
`,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const id = args.positionals[0]!;
    const { subscription, attempts, events } = await ctx.withDatabase(async ({ db }) => {
      const subscription = await getSubscription(db, id);
      return { subscription, attempts: await attemptsOf(db, id), events: await eventsOf(db, id) };
    });
    const zone = subscription.timezone;
    if (args.json) {
      printJson(ctx.stdout, {
        ...subscriptionJson(subscription),
        attempts: attempts.map((a) => attemptJson(a, zone)),
        events: events.map((e) => eventJson(e, zone)),
      });
      return EXIT_OK;
    }
    ctx.stdout.write(subscriptionText(subscription));
    ctx.stdout.write(`\nCharge attempts (${attempts.length})\n`);
    if (attempts.length) {
      ctx.stdout.write(
        table(
          ['ORDER NUMBER', 'PERIOD', 'MODE', 'AMOUNT', 'STATUS', 'PAYMENT ID', 'CODE', 'REQUESTED'],
          attempts.map((a) => {
            const json = attemptJson(a, zone);
            return [a.order_number, a.period, a.service_mode, `${a.currency} ${json.amount}`, a.status, a.payment_id, a.gateway_code, json.requested_at];
          }),
        ),
      );
    }
    ctx.stdout.write(`\nEvents (${events.length})\n`);
    ctx.stdout.write(
      table(
        ['WHEN', 'EVENT', 'BY', 'DETAILS'],
        events.map((e) => {
          const json = eventJson(e, zone);
          const data = e.data as Record<string, unknown>;
          const change = data.from_status && data.from_status !== data.to_status ? `${data.from_status} -> ${data.to_status}` : '';
          const details = [change, e.reason ?? ''].filter(Boolean).join('; ');
          return [json.occurred_at, e.type, e.actor, details];
        }),
      ),
    );
    return EXIT_OK;
  },
};
