import { EXIT_OK, printJson, type Command } from './command.ts';
import { prepareDatabase } from '../db/prepare.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Bring the database schema up to date',
  help: `Usage: rebill migrate [--json]

Applies pending migrations to DATABASE_URL (or the embedded database). Safe to run while
workers start: migrations take a PostgreSQL advisory lock. The worker also migrates at start.
`,
  options: {},
  async run(args, ctx) {
    const report = await ctx.withDatabase((handle) => prepareDatabase(handle), { migrate: 'never' });
    if (args.json) printJson(ctx.stdout, { applied: report.applied });
    else ctx.stdout.write(report.applied.length ? `Applied: ${report.applied.join(', ')}\n` : 'The database is up to date.\n');
    return EXIT_OK;
  },
};
