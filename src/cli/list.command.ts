import { SUBSCRIPTION_STATUSES, type SubscriptionStatus } from '../db/database.ts';
import { MONEY_BACK_STATUSES, listSubscriptions } from '../subscriptions/subscription.repo.ts';
import { viewsOf } from '../subscriptions/lookup.ts';
import { parseInstant } from '../plans/billing-calendar.ts';
import { EXIT_OK, UsageError, optional, printJson, wholeNumber, type Command } from './command.ts';
import { subscriptionJson, table } from './present.ts';

export const listCommand: Command = {
  name: 'list',
  summary: 'List subscriptions, by status or next renewal',
  help: `Usage: rebill list [--status S] [--due-before ISO] [--limit N] [--json]

Lists subscriptions ordered by next renewal.

Options:
  --status S        ${SUBSCRIPTION_STATUSES.join(' | ')}, or a period's money given back:
                    ${MONEY_BACK_STATUSES.join(' | ')} (subscriptions with such an invoice)
  --due-before T    only those whose next renewal is before T (ISO 8601; no offset means UTC)
  --limit N         at most N rows (default 100)
  --json            print a JSON array (the same objects as \`rebill show --json\`, without attempts and events)
Example:
  rebill list --status past_due --due-before 2026-12-01
`,
  options: { status: { type: 'string' }, 'due-before': { type: 'string' }, limit: { type: 'string' } },
  async run(args, ctx) {
    const status = optional(args, 'status');
    const invoiceStatus = MONEY_BACK_STATUSES.find((s) => s === status);
    if (status !== undefined && !invoiceStatus && !SUBSCRIPTION_STATUSES.includes(status as SubscriptionStatus)) {
      throw new UsageError(`--status must be one of ${[...SUBSCRIPTION_STATUSES, ...MONEY_BACK_STATUSES].join(', ')}, got "${status}"`);
    }
    const dueText = optional(args, 'due-before');
    const dueBefore = dueText === undefined ? undefined : parseInstant(dueText, 'UTC');
    if (dueBefore === null) throw new UsageError(`--due-before "${dueText}" is not an ISO 8601 date-time`);
    const limit = wholeNumber(args, 'limit', 100, 1, 100_000);
    const rows = await ctx.withDatabase(async ({ db }) =>
      viewsOf(db, await listSubscriptions(db, invoiceStatus ? { invoiceStatus, dueBefore, limit } : { status: status as SubscriptionStatus | undefined, dueBefore, limit })),
    );
    if (args.json) {
      printJson(ctx.stdout, rows.map(subscriptionJson));
      return EXIT_OK;
    }
    if (!rows.length) {
      ctx.stdout.write('No subscriptions match.\n');
      return EXIT_OK;
    }
    ctx.stdout.write(
      table(
        ['ID', 'STATUS', 'INTERVAL', 'AMOUNT', 'NEXT RENEWAL', 'EMAIL'],
        rows.map((r) => {
          const json = subscriptionJson(r);
          return [r.id, r.status, r.interval, `${r.currency} ${json.amount}`, json.next_renewal_at, r.customer_email];
        }),
      ),
    );
    return EXIT_OK;
  },
};
