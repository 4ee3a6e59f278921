/** `rebill <command>`: the admin CLI and the worker's entry point. */
import { systemClock } from '../lib/clock.ts';
import { escapeControlCharacters } from '../lib/printable.ts';
import { apiKeyCommand } from './api-key.command.ts';
import { calendarCommand } from './calendar.command.ts';
import { cardLinkCommand } from './card-link.command.ts';
import { portalLinkCommand } from './portal-link.command.ts';
import { cancelCommand } from './cancel.command.ts';
import { collectCommand } from './collect.command.ts';
import { EXIT_USAGE, UsageError, createContext, parseCommandArgs, reportError, type Command, type Output } from './command.ts';
import { enrolCommand } from './enrol.command.ts';
import { importCommand } from './import.command.ts';
import { listCommand } from './list.command.ts';
import { migrateCommand } from './migrate.command.ts';
import { resolveCommand, retryCommand, updateTokenCommand } from './operator-commands.ts';
import { reconcileCommand } from './reconcile.command.ts';
import { refundCommand } from './refund.command.ts';
import { reportCommand } from './report.command.ts';
import { sandboxCommand } from './sandbox.command.ts';
import { showCommand } from './show.command.ts';
import { webhooksCommand } from './webhooks.command.ts';
import { workerCommand } from './worker.command.ts';

export const COMMANDS: readonly Command[] = [
  enrolCommand,
  importCommand,
  cancelCommand,
  showCommand,
  listCommand,
  retryCommand,
  resolveCommand,
  updateTokenCommand,
  cardLinkCommand,
  portalLinkCommand,
  refundCommand,
  collectCommand,
  reconcileCommand,
  reportCommand,
  calendarCommand,
  apiKeyCommand,
  webhooksCommand,
  migrateCommand,
  workerCommand,
  sandboxCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `rebill: subscription billing for Oceanpayment

Usage: rebill <command> [options]    (rebill <command> --help for details)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}
`;
}

export async function main(
  argv: string[],
  io: { stdout: Output; stderr: Output; env: NodeJS.ProcessEnv } = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(overview());
    return name ? 0 : EXIT_USAGE;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`error: unknown command "${escapeControlCharacters(name)}"\n\n${overview()}`);
    return EXIT_USAGE;
  }
  const ctx = createContext(io.env, io.stdout, io.stderr, () => systemClock(Number(io.env.REBILL_CLOCK_OFFSET_MS ?? 0) || 0));
  try {
    const parsed = parseCommandArgs(command, rest);
    if (parsed === 'help') {
      io.stdout.write(command.help);
      return 0;
    }
    return await command.run(parsed, ctx);
  } catch (error) {
    const code = reportError(error, io.stderr);
    if (error instanceof UsageError) io.stderr.write(`(see \`rebill ${command.name} --help\`)\n`);
    return code;
  }
}
