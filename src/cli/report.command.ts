/** `rebill report`: the business at a glance for a date range. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DAY_MS } from '../lib/clock.ts';
import { computeReport } from '../reports/report.ts';
import { reportCsv, reportText } from '../reports/report-format.ts';
import { loadReportInput } from '../reports/report.repo.ts';
import { EXIT_OK, UsageError, optional, printJson, required, type Command } from './command.ts';

export const reportCommand: Command = {
  name: 'report',
  summary: 'MRR, new and churned subscribers, renewals, 3-D Secure, refunds and past-due ageing for a date range',
  help: `Usage: rebill report --from YYYY-MM-DD --to YYYY-MM-DD [--csv FILE] [--json]

Computed from the event log and the payment records, exact in minor units. Days are UTC and both
are included (--to 2026-11-30 runs to the end of that day). Figures "at the end" (MRR, active by
plan, past-due ageing) are as of the end of --to.

  MRR               subscriptions active or past due, each price as a month (a week x 52/12,
                    a quarter / 3, a half-year / 6, a year / 12), by currency
  new, churned      enrolled; canceled (voluntary) or unpaid after dunning or by a dispute (involuntary)
  renewals          periods after the first purchase with a charge sent in the range: succeeded,
                    and recovered by dunning (succeeded on a retry)
  3-D Secure        charges that asked the customer to authenticate, and how many succeeded
  refunds, chargebacks   those that went through in the range, by currency
  past-due ageing   subscriptions past due at the end, by days since they became so

Options:
  --from DAY    first day (required)
  --to DAY      last day, included (required)
  --csv FILE    also write the figures to FILE as CSV (figure, detail, currency, value)
  --json        print JSON

Examples:
  rebill report --from 2026-11-01 --to 2026-11-30
  rebill report --from 2026-11-01 --to 2026-11-30 --json --csv november.csv
`,
  options: { from: { type: 'string' }, to: { type: 'string' }, csv: { type: 'string' } },
  async run(args, ctx) {
    const from = day(required(args, 'from'), 'from');
    const to = new Date(day(required(args, 'to'), 'to').getTime() + DAY_MS);
    if (from >= to) throw new UsageError(`--from (${optional(args, 'from')}) must not be after --to (${optional(args, 'to')})`);
    const csvPath = optional(args, 'csv');
    if (csvPath !== undefined && !csvPath.trim()) throw new UsageError('--csv needs a file name, e.g. --csv november.csv');
    const report = await ctx.withDatabase(async ({ db }) => computeReport(await loadReportInput(db, from, to)));
    if (csvPath) writeFileSync(resolve(csvPath), reportCsv(report));
    if (args.json) printJson(ctx.stdout, report);
    else ctx.stdout.write(reportText(report));
    return EXIT_OK;
  },
};

function day(text: string, name: string): Date {
  const trimmed = text.trim();
  const at = new Date(`${trimmed}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(trimmed) || Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== trimmed) {
    throw new UsageError(`--${name} must be a day written YYYY-MM-DD, e.g. 2026-11-01, got "${trimmed.slice(0, 40)}"`);
  }
  return at;
}
