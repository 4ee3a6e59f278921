import { EXIT_OK, printJson, type Command } from './command.ts';
import { prepareDatabase } from '../jobs/prepare-database.ts';
import type { QueueUpgradeReport } from '../jobs/queue-upgrade.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Bring the database schema up to date',
  help: `Usage: rebill migrate [--json]

Applies pending migrations to DATABASE_URL (or the embedded database). Safe to run while
workers start: migrations take a PostgreSQL advisory lock. The worker also migrates at start.
A database last used by a release on pg-boss 10 has its job queue upgraded in place: waiting
jobs and schedules are kept (stop that release's workers first).
`,
  options: {},
  async run(args, ctx) {
    const report = await ctx.withDatabase((handle) => prepareDatabase(handle, ctx.clock().now()), { migrate: 'never' });
    if (args.json) {
      printJson(ctx.stdout, { applied: report.applied, ...(report.queueUpgrade ? { job_queue_upgrade: report.queueUpgrade } : {}) });
      return EXIT_OK;
    }
    if (report.applied.length) ctx.stdout.write(`Applied: ${report.applied.join(', ')}\n`);
    if (report.queueUpgrade) ctx.stdout.write(`${describeQueueUpgrade(report.queueUpgrade)}\n`);
    if (!report.applied.length && !report.queueUpgrade) ctx.stdout.write('The database is up to date.\n');
    return EXIT_OK;
  },
};

export function describeQueueUpgrade(upgrade: QueueUpgradeReport): string {
  const jobs = Object.entries(upgrade.jobs);
  const total = jobs.reduce((sum, [, n]) => sum + n, 0);
  const detail = jobs.length ? ` (${jobs.map(([queue, n]) => `${n} ${queue}`).join(', ')})` : '';
  return `Upgraded the job queue from pg-boss 10: kept ${total} waiting job${total === 1 ? '' : 's'}${detail} and ${upgrade.schedules} schedule${upgrade.schedules === 1 ? '' : 's'}.`;
}
