/** `rebill import`: enrols many subscribers from a CSV file, all or nothing. */
import { operatorActor } from '../deps.ts';
import { defaultProviderFor } from '../payment-providers.ts';
import {
  OPTIONAL_COLUMNS,
  REQUIRED_COLUMNS,
  checkImportFile,
  writeImportFile,
  type ImportCheck,
  type ImportProgress,
  type ProgressListener,
  type RowError,
} from '../subscriptions/import-csv.ts';
import { escapeControlCharacters as printable } from '../lib/printable.ts';
import { EXIT_OK, EXIT_USAGE, optional, printJson, required, type Command, type Output } from './command.ts';

/** Bad rows printed in detail; the rest are counted. */
const MAX_REPORTED_ERRORS = 100;
/** Smaller files take about a second: plain progress lines would only be noise in a log. */
const PLAIN_PROGRESS_MIN_BYTES = 1 << 20;
const REDRAW_EVERY_MS = 100;

export const importCommand: Command = {
  name: 'import',
  summary: 'Enrol many subscribers from a CSV file (all or nothing)',
  help: `Usage: rebill import --csv FILE [--dry-run] [--allow-duplicate] [--reason TEXT] [--json]

Enrols every row of a CSV file as \`rebill enrol\` would, e.g. when moving subscribers from
another billing system. Every row is checked first: if any is bad, each bad row is reported with
its line number and column and nothing is written. Otherwise all rows are written in one
transaction, with an "enrolled" event each; incomplete subscriptions are due at once, and the
running worker charges their first purchase within a second or two.

Duplicates are bad rows too: an external_id used twice in the file or already enrolled, and
(unless --allow-duplicate) a row with the same e-mail, card token and plan as another row or as
a live subscription. So importing the same file twice is refused, naming each line.

The first line names the columns, in any order (UTF-8, comma-separated, RFC 4180 quoting):
  required  ${REQUIRED_COLUMNS.join(', ')}
  optional  ${OPTIONAL_COLUMNS.join(', ')}
Each means the \`rebill enrol\` option of the same name; an empty optional cell means not given.

Options:
  --csv FILE         the file to import
  --dry-run          check every row and report what would be enrolled; write nothing
  --allow-duplicate  enrol rows even if their e-mail already has a live subscription with the
                     same card token and plan (external ids must still be unique)
  --reason TEXT      why, for the event log
  --json             print JSON (and no progress)

Exit status: 0 imported (or, with --dry-run, all rows valid); 2 bad rows, header or options;
1 the file cannot be read or the database refused the import.

Example:
  rebill import --csv subscribers.csv --reason "migration from Chargebee" --dry-run
`,
  options: {
    csv: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'allow-duplicate': { type: 'boolean' },
    reason: { type: 'string' },
  },
  async run(args, ctx) {
    const path = required(args, 'csv');
    const dryRun = args.values['dry-run'] === true;
    const allowDuplicate = args.values['allow-duplicate'] === true;
    const now = ctx.clock().now();
    const started = performance.now();
    const progress = args.json ? null : progressReporter(ctx.stderr);

    return ctx.withDatabase(async ({ db }) => {
      const check = await checkImportFile(db, path, now, { maxErrors: MAX_REPORTED_ERRORS, onProgress: progress?.update, allowDuplicate }).finally(() =>
        progress?.finish(),
      );
      if (check.errors.length) {
        if (args.json) printJson(ctx.stdout, errorsJson(check));
        else ctx.stderr.write(errorsText(path, check));
        return EXIT_USAGE;
      }
      if (dryRun) {
        const seconds = elapsedSeconds(started);
        if (args.json) printJson(ctx.stdout, { imported: 0, rows: check.rows, incomplete: check.incomplete, active: check.active, dry_run: true, seconds });
        else ctx.stdout.write(dryRunText(path, check, seconds));
        return EXIT_OK;
      }

      const result = await writeImportFile(db, path, {
        now,
        provider: defaultProviderFor('card_token'),
        actor: operatorActor(),
        reason: optional(args, 'reason') ?? null,
        checked: check,
        allowDuplicate,
        onProgress: progress?.update,
      }).finally(() => progress?.finish());
      const seconds = elapsedSeconds(started);
      if (args.json) printJson(ctx.stdout, { ...result, rows: check.rows, dry_run: false, seconds });
      else ctx.stdout.write(importedText(path, result, seconds));
      return EXIT_OK;
    });
  },
};

function elapsedSeconds(startedMs: number): number {
  return Math.round(performance.now() - startedMs) / 1000;
}

const count = (n: number) => n.toLocaleString('en-US');
const rate = (rows: number, seconds: number) => count(Math.round(rows / Math.max(seconds, 0.001)));

function errorsJson(check: ImportCheck) {
  return {
    errors: check.errors,
    invalid_rows: check.invalidRows,
    rows: check.rows,
    errors_not_shown: check.errorsNotShown,
  };
}

/** One line per problem, naming the line and, where there is one, the column. */
function problemLines(error: RowError): string[] {
  return error.problems.map((p) => `  line ${error.line}${p.column ? `, column ${p.column}` : ''}: ${printable(p.message)}`);
}

function errorsText(path: string, check: ImportCheck): string {
  const heading = check.readToEnd
    ? `error: ${count(check.invalidRows)} of ${count(check.rows)} rows in ${printable(path)} ${check.invalidRows === 1 ? 'has' : 'have'} problems; nothing was imported:`
    : `error: ${printable(path)} cannot be imported; nothing was written:`;
  const lines = check.errors.flatMap(problemLines);
  const notShown = check.errorsNotShown;
  if (notShown) lines.push(`  ... and ${count(notShown)} more bad row${notShown === 1 ? '' : 's'} (the first ${check.errors.length} are shown)`);
  return `${heading}\n${lines.join('\n')}\n`;
}

function splitText(incomplete: number, active: number, dryRun: boolean): string {
  const width = Math.max(count(incomplete).length, count(active).length);
  return dryRun
    ? `  ${count(incomplete).padStart(width)} would be incomplete: their first purchase would be due at once\n` +
        `  ${count(active).padStart(width)} would be active: their first purchase was paid before; renewals would follow its calendar\n`
    : `  ${count(incomplete).padStart(width)} incomplete: their first purchase is due now; the worker charges it\n` +
        `  ${count(active).padStart(width)} active: their first purchase was paid before; renewals follow its calendar\n`;
}

function dryRunText(path: string, check: ImportCheck, seconds: number): string {
  return (
    `Dry run: all ${count(check.rows)} rows of ${printable(path)} are valid; nothing was written.\n` +
    splitText(check.incomplete, check.active, true) +
    `Checked in ${seconds.toFixed(1)} s (${rate(check.rows, seconds)} rows/s).\n`
  );
}

function importedText(path: string, result: { imported: number; incomplete: number; active: number }, seconds: number): string {
  return (
    `Imported ${count(result.imported)} subscriptions from ${printable(path)} in ${seconds.toFixed(1)} s (${rate(result.imported, seconds)} rows/s):\n` +
    splitText(result.incomplete, result.active, false)
  );
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal; otherwise (a log, a pipe) a line at
 * every tenth of the way, for files big enough to take a while.
 */
function progressReporter(stderr: Output): { update: ProgressListener; finish: () => void } {
  const tty = (stderr as { isTTY?: boolean }).isTTY === true;
  let phase: ImportProgress['phase'] | null = null;
  let phaseStarted = 0;
  let lastDraw = 0;
  let lastTenth = 0;
  let drawn = false;

  const update: ProgressListener = (p) => {
    const now = performance.now();
    if (p.phase !== phase) {
      phase = p.phase;
      phaseStarted = now;
      lastTenth = 0;
    }
    const seconds = (now - phaseStarted) / 1000;
    // The check pass only knows how far through the file it is; the write pass knows the row count.
    const fraction = p.totalRows ? p.rows / p.totalRows : p.totalBytes ? p.bytes / p.totalBytes : 1;
    // Rates and estimates settle after a moment; before that they would only flicker.
    const settled = seconds >= 0.5;
    const speed = settled ? `${count(Math.round(p.rows / seconds))} rows/s` : '… rows/s';
    const eta = settled && fraction > 0 ? duration((seconds / fraction) * (1 - fraction)) : '?';
    const verb = p.phase === 'check' ? 'checking' : 'importing';
    const rows = p.totalRows ? `${count(p.rows)}/${count(p.totalRows)} rows` : `${count(p.rows)} rows`;
    if (tty) {
      if (now - lastDraw < REDRAW_EVERY_MS && fraction < 1) return;
      lastDraw = now;
      const width = 24;
      const filled = Math.min(width, Math.round(fraction * width));
      const bar = `${'='.repeat(filled)}${' '.repeat(width - filled)}`;
      stderr.write(`\r${verb.padEnd(9)} [${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${rows}  ${speed}  ETA ${eta}\x1b[K`);
      drawn = true;
      return;
    }
    if (p.totalBytes < PLAIN_PROGRESS_MIN_BYTES) return;
    const tenth = Math.floor(fraction * 10);
    if (tenth <= lastTenth) return;
    lastTenth = tenth;
    stderr.write(`import: ${verb} ${tenth * 10}%, ${rows}, ${speed}${tenth < 10 ? `, ETA ${eta}` : ''}\n`);
  };
  const finish = () => {
    if (drawn) stderr.write('\r\x1b[K');
    drawn = false;
  };
  return { update, finish };
}
