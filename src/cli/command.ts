/**
 * What every admin command shares: option parsing (node:util parseArgs, strict), `--help`,
 * `--json`, and exit codes: 0 success, 1 failure, 2 usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config, type Env } from '../config.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { createEngine, followUpsFor, openDatabase, paymentProviders, type OpenedDatabase } from '../deps.ts';
import { createBoss } from '../jobs/queue.ts';
import type { Clock } from '../lib/clock.ts';
import { ConflictError, NotFoundError, ValidationError, errorMessage } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { escapeControlCharacters, escapeControlCharactersByLine, escapeJsonControlCharacters } from '../lib/printable.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad command-line input: unknown option, missing or malformed value. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Output {
  write(text: string): void;
}

export interface CommandContext {
  readonly env: Env;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Loaded on first use, so commands that need no configuration never fail on it. */
  config(): Config;
  clock(): Clock;
  logger(): Logger;
  /** Opens the database (the embedded one when DATABASE_URL is unset) for the command's duration. */
  withDatabase<T>(fn: (db: OpenedDatabase) => Promise<T>, options?: { migrate?: 'always' | 'auto' | 'never' }): Promise<T>;
}

export interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  json: boolean;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full help text: synopsis, options, examples. */
  readonly help: string;
  readonly options: OptionSpec;
  readonly positionals?: { min: number; max: number };
  run(args: Parsed, ctx: CommandContext): Promise<number>;
}

export function parseCommandArgs(command: Command, argv: string[]): Parsed | 'help' {
  const options: OptionSpec = { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(errorMessage(error).replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  if (parsed.values.help) return 'help';
  const { min = 0, max = 0 } = command.positionals ?? {};
  if (parsed.positionals.length < min) throw new UsageError(`missing argument: see \`rebill ${command.name} --help\``);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`);
  return { values: parsed.values, positionals: parsed.positionals, json: Boolean(parsed.values.json) };
}

/** A required string option; a usage error names it when it is missing or empty. */
export function required(args: Parsed, name: string): string {
  const value = args.values[name];
  if (typeof value !== 'string' || !value.trim()) throw new UsageError(`--${name} is required`);
  return value;
}

export function optional(args: Parsed, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function wholeNumber(args: Parsed, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = optional(args, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number between ${min} and ${max}, got "${value}"`);
  }
  return Number(value);
}

/** JSON on stdout; control characters (C1 too, which JSON.stringify leaves raw) are `\u` escapes. */
export function printJson(out: Output, value: unknown): void {
  out.write(`${escapeJsonControlCharacters(JSON.stringify(value, null, 2))}\n`);
}

/**
 * Maps an error to its exit code and prints it plainly (no stack for expected failures).
 * Messages quote what the operator typed or what is stored, so control characters in them are
 * escaped; only the line breaks of a list of problems stay.
 */
export function reportError(error: unknown, stderr: Output): number {
  const write = (text: string) => stderr.write(`error: ${text}\n`);
  if (error instanceof UsageError) {
    write(escapeControlCharacters(error.message));
    return EXIT_USAGE;
  }
  if (error instanceof ValidationError) {
    const problems = error.problems.map(escapeControlCharacters);
    write(problems.length > 1 ? `the input has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}` : (problems[0] ?? ''));
    return EXIT_USAGE;
  }
  if (error instanceof NotFoundError || error instanceof ConflictError) {
    write(escapeControlCharacters(error.message));
    return EXIT_FAILURE;
  }
  if (error instanceof ConfigError) {
    write(escapeControlCharactersByLine(error.message));
    return EXIT_FAILURE;
  }
  write(escapeControlCharactersByLine(errorMessage(error)));
  if (process.env.LOG_LEVEL === 'debug' && error instanceof Error && error.stack) stderr.write(`${escapeControlCharactersByLine(error.stack)}\n`);
  return EXIT_FAILURE;
}

export function createContext(env: Env, stdout: Output, stderr: Output, clock: () => Clock): CommandContext {
  let config: Config | undefined;
  let logger: Logger | undefined;
  const ctx: CommandContext = {
    env,
    stdout,
    stderr,
    config: () => (config ??= loadConfig(env)),
    clock,
    // Commands print results on stdout; their logs go to stderr and stay quiet unless asked.
    logger: () => (logger ??= createLogger({ level: env.LOG_LEVEL ?? 'warn', toStderr: true, name: 'rebill-cli' })),
    withDatabase: async (fn, options) => {
      const db = await openDatabase(ctx.config(), ctx.logger(), { migrate: options?.migrate ?? 'auto', applicationName: 'rebill-cli' });
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    },
  };
  return ctx;
}

/**
 * Runs `fn` with the billing engine the worker uses: the database, the payment providers (without
 * an account, the running worker's built-in sandbox) and the same follow-ups, so what a command
 * records tells the customer exactly as the worker would.
 */
export async function withEngine<T>(ctx: CommandContext, fn: (engine: BillingEngine) => Promise<T>): Promise<T> {
  return ctx.withDatabase(async ({ db, pool }) => {
    const config = ctx.config();
    const providers = paymentProviders(config);
    try {
      const engine = createEngine(config, { db, providers, logger: ctx.logger(), clock: ctx.clock(), followUps: followUpsFor(config, createBoss(pool, { background: false })) });
      return await fn(engine);
    } finally {
      await providers.close();
    }
  });
}
