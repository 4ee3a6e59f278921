import { invoicesOf } from '../payments/invoices/invoice.repo.ts';
import { transactionsOf } from '../payments/transactions/transaction.repo.ts';
import { eventsOf } from '../events/events.repo.ts';
import { getSubscription, subscriptionIdFor, viewOf } from '../subscriptions/lookup.ts';
import { EXIT_OK, printJson, type Command } from './command.ts';
import { attemptJson, eventJson, invoiceJson, invoicesText, subscriptionJson, subscriptionText, table } from './present.ts';

export const showCommand: Command = {
  name: 'show',
  summary: 'Show a subscription, its charge attempts and its event log',
  help: `Usage: rebill show ID [--json]
       rebill show ext:EXTERNAL_ID [--json]
       rebill show ORDER_NUMBER [--json]

Prints the subscription, every charge attempt (order number, service_mode, amount, status,
payment id, time) and every event (what changed, why, by whom, when). Name it by its id, by
the external id it was enrolled with, written after "ext:", or by any of its order numbers (or
refund numbers), as customers quote them.

Examples:
  rebill show 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d --json
  rebill show ext:shop-cus-1042
  rebill show 0b6f3c1e8a574c3e9d3f2f1a6c0e9b7d-3-1
`,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const typed = args.positionals[0]!;
    const { subscription, transactions, invoices, events } = await ctx.withDatabase(async ({ db }) => {
      const row = await getSubscription(db, await subscriptionIdFor(db, typed));
      return {
        subscription: await viewOf(db, row),
        transactions: await transactionsOf(db, row.id),
        invoices: await invoicesOf(db, row.id),
        events: await eventsOf(db, row.id),
      };
    });
    const attempts = transactions.filter((t) => t.kind === 'charge');
    const zone = subscription.timezone;
    if (args.json) {
      printJson(ctx.stdout, {
        ...subscriptionJson(subscription),
        attempts: attempts.map((a) => attemptJson(a, zone)),
        invoices: invoices.map((i) => invoiceJson(i, transactions, zone)),
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
            return [json.order_number, a.period, json.service_mode, `${a.currency} ${json.amount}`, a.status, json.payment_id, json.gateway_code, json.requested_at];
          }),
        ),
      );
    }
    ctx.stdout.write(`\nInvoices (${invoices.length})\n`);
    if (invoices.length) ctx.stdout.write(invoicesText(invoices.map((i) => invoiceJson(i, transactions, zone))));
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
