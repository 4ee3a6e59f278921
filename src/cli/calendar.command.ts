import { INTERVALS, formatInZone, isInterval, isTimeZone, parseInstant, upcomingRenewals } from '../plans/billing-calendar.ts';
import { serviceModeFor } from '../payments/providers/oceanpayment/service-mode.ts';
import { EXIT_OK, UsageError, optional, printJson, required, wholeNumber, type Command } from './command.ts';

export const calendarCommand: Command = {
  name: 'calendar',
  summary: 'Print the renewal dates a plan will have',
  help: `Usage: rebill calendar --interval I --anchor ISO [--timezone Z] [--count N] [--json]

Prints the next N renewal instants after the anchor (the first purchase), in ISO 8601 with the
UTC offset in force on each date: the answer to "when will I be charged?". Needs no database.

Options:
  --interval I    ${INTERVALS.join(' | ')}
  --anchor T      first purchase, ISO 8601 (no offset: local time in --timezone)
  --timezone Z    IANA time zone (default UTC)
  --count N       how many renewals (default 12, at most 1000)
  --json          print a JSON array of {renewal, at, service_mode}
Example:
  rebill calendar --interval month --anchor 2027-01-31T09:00:00 --timezone America/New_York --count 4
`,
  options: { interval: { type: 'string' }, anchor: { type: 'string' }, timezone: { type: 'string' }, count: { type: 'string' } },
  async run(args, ctx) {
    const interval = required(args, 'interval');
    if (!isInterval(interval)) throw new UsageError(`--interval must be one of ${INTERVALS.join(', ')}, got "${interval}"`);
    const timezone = optional(args, 'timezone') ?? 'UTC';
    if (!isTimeZone(timezone)) throw new UsageError(`--timezone "${timezone}" is not an IANA time zone such as Europe/Paris`);
    const anchorText = required(args, 'anchor');
    const anchorAt = parseInstant(anchorText, timezone);
    if (!anchorAt) throw new UsageError(`--anchor "${anchorText}" is not an ISO 8601 date-time such as 2027-01-31T09:00:00`);
    const count = wholeNumber(args, 'count', 12, 1, 1000);
    const renewals = upcomingRenewals({ interval, anchorAt, timezone }, count).map((at, i) => ({
      renewal: i + 1,
      at: formatInZone(at, timezone),
      service_mode: serviceModeFor(interval, i + 1),
    }));
    if (args.json) printJson(ctx.stdout, renewals);
    else {
      ctx.stdout.write(`Anchor ${formatInZone(anchorAt, timezone)} (${timezone}), every ${interval}:\n`);
      for (const r of renewals) ctx.stdout.write(`  ${String(r.renewal).padStart(3)}  ${r.at}  ${r.service_mode}\n`);
    }
    return EXIT_OK;
  },
};
