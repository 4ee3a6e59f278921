/** `rebill refund`: gives back all or part of a payment, through the provider that took it. */
import { refundPayment } from '../billing/subscriber-actions.ts';
import { operatorActor } from '../deps.ts';
import { formatAmount } from '../lib/money.ts';
import { EXIT_FAILURE, EXIT_OK, optional, printJson, required, withEngine, type Command } from './command.ts';
import { moneyBackJson } from './present.ts';

export const refundCommand: Command = {
  name: 'refund',
  summary: 'Refund a payment, in full or in part',
  help: `Usage: rebill refund ORDER_NUMBER [--amount 4.00] --reason TEXT [--json]

Refunds the payment with that order number (as \`rebill show\` lists it) through the provider
that took it: all that is left of it, or --amount of it. Never more than what is left unrefunded
(refunds still in progress count); several partial refunds are allowed.

A refund is asynchronous: it is "pending" once the provider accepts it, and "succeeded" or
"failed" when the provider says so (the worker asks on a backoff, for up to 30 days, and reads the
provider's refund notices). The customer is e-mailed when the money is on its way back.

Options:
  --amount A      part of the payment, as a decimal in its currency (default: all that is left)
  --reason TEXT   why; sent to the provider and kept in the event log (required)
  --json          print JSON

Examples:
  rebill refund 7ae42a56976f47b98c97d9e6763c044d-3-1 --reason "customer asked by e-mail"
  rebill refund 7ae42a56976f47b98c97d9e6763c044d-3-1 --amount 4.00 --reason "partial: service outage"
`,
  options: { amount: { type: 'string' }, reason: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const orderNumber = args.positionals[0]!;
    const reason = required(args, 'reason');
    const amountText = optional(args, 'amount');
    const result = await withEngine(ctx, async (engine) => {
      const sent = await refundPayment(engine, { orderNumber, amount: amountText, reason, actor: operatorActor() });
      const subscription = await engine.db.selectFrom('subscriptions').select('timezone').where('id', '=', sent.charge.subscription_id).executeTakeFirstOrThrow();
      return { ...sent, zone: subscription.timezone };
    });
    const { refund, outcome, charge, zone } = result;
    if (args.json) {
      printJson(ctx.stdout, { refund: moneyBackJson(refund, charge, zone), provider_answer: outcome.kind });
      return outcome.kind === 'refused' ? EXIT_FAILURE : EXIT_OK;
    }
    const money = `${refund.currency} ${formatAmount({ amountMinor: refund.amount_minor, currency: refund.currency })}`;
    const said =
      outcome.kind === 'accepted' ? `accepted by ${refund.provider} (refund id ${outcome.refundId}); it is pending until the money is sent back`
      : outcome.kind === 'refunded' ? `refunded by ${refund.provider} (${outcome.refundId})`
      : outcome.kind === 'refused' ? `refused by ${refund.provider}: ${outcome.message} (${outcome.code})`
      : `sent, but ${refund.provider}'s answer is unknown (${outcome.reason}); the worker asks it about refund ${refund.reference}`;
    ctx.stdout.write(`Refund ${refund.reference} of ${money} for order ${charge.reference}: ${said}.\nStatus: ${refund.status}\n`);
    return outcome.kind === 'refused' ? EXIT_FAILURE : EXIT_OK;
  },
};
