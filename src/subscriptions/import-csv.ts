/**
 * Bulk enrolment from a CSV file (`rebill import`), under exactly the rules of `rebill enrol`.
 *
 * Two streaming passes keep memory bounded whatever the file's size: the first checks every row
 * (its values, and whether it repeats another row or a subscription in the database) and keeps
 * only counts and the first problems; the second, run only when every row is valid, writes the
 * rows in multi-row chunks inside ONE transaction, so a file is imported whole or not at all,
 * whatever fails on the way. That transaction holds the enrolment lock and checks each chunk
 * against the database again, so an enrolment made between the passes cannot be duplicated.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Db, DbOrTx, Tx } from '../db/connect.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { insertRows, validateEnrolment, type EnrolField, type EnrolInput, type EnrolmentRow } from './enrol.ts';
import { CsvFileError, csvRecordBatches, type CsvRecord, type ReadProgress } from './import-csv-records.ts';
import { DuplicatesInFile, duplicatesInDatabase, type ImportCandidate } from './import-duplicates.ts';
import { isExternalIdTaken, lockEnrolments } from './subscription.repo.ts';

/** The header names a file may use, and the `rebill enrol` option each one stands for. */
export const IMPORT_COLUMNS = {
  email: 'email',
  first_name: 'firstName',
  last_name: 'lastName',
  country: 'country',
  interval: 'interval',
  amount: 'amount',
  currency: 'currency',
  quickpay_id: 'quickpayId',
  timezone: 'timezone',
  product: 'product',
  first_paid_at: 'firstPaidAt',
  renewals_paid: 'renewalsPaid',
  external_id: 'externalId',
} as const satisfies Record<string, EnrolField>;

export type ImportColumn = keyof typeof IMPORT_COLUMNS;

export const REQUIRED_COLUMNS: readonly ImportColumn[] = ['email', 'first_name', 'last_name', 'country', 'interval', 'amount', 'currency', 'quickpay_id'];
export const OPTIONAL_COLUMNS: readonly ImportColumn[] = ['timezone', 'product', 'first_paid_at', 'renewals_paid', 'external_id'];

const COLUMN_OF = Object.fromEntries(Object.entries(IMPORT_COLUMNS).map(([column, field]) => [field, column])) as Record<EnrolField, ImportColumn>;

/** Rows per INSERT: 21 columns each stays well under PostgreSQL's 65,535 bind parameters. */
export const DEFAULT_CHUNK_ROWS = 1000;

export interface RowProblem {
  /** The column the problem is in, or null when it is about the row (or the file) as a whole. */
  column: ImportColumn | null;
  message: string;
}

export interface RowError {
  /** Physical line the record starts on; 1 is the header. */
  line: number;
  problems: RowProblem[];
}

const wholeRow = (message: string): RowProblem => ({ column: null, message });

export interface ImportProgress {
  phase: 'check' | 'write';
  rows: number;
  /** Known in the write phase (the check counted them). */
  totalRows: number | null;
  bytes: number;
  totalBytes: number;
}

export type ProgressListener = (progress: ImportProgress) => void;

export interface ImportCheck {
  /** Data rows read (blank lines are not rows). */
  rows: number;
  /** Rows that would be enrolled `incomplete` (first purchase still to charge) or `active`. */
  incomplete: number;
  active: number;
  /** Rows with bad values, or that repeat another row or an existing subscription. */
  invalidRows: number;
  /** The first problems found, in file order; a bad header or unreadable file is reported here too. */
  errors: RowError[];
  /** Bad rows found after the detailed list was full. */
  errorsNotShown: number;
  /** False when the file could not be read to its end (bad header, not UTF-8, a runaway quote). */
  readToEnd: boolean;
  /** The version of the file that was checked. */
  file: FileVersion;
}

export interface FileVersion {
  bytes: number;
  modifiedMs: number;
}

/** Size and modification time of a readable regular file; a clear error otherwise. */
async function fileVersion(path: string): Promise<FileVersion> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`no such file: ${path}`);
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  return { bytes: info.size, modifiedMs: info.mtimeMs };
}

interface Header {
  columns: { key: EnrolField; index: number; required: boolean }[];
  width: number;
}

function isImportColumn(name: string): name is ImportColumn {
  return Object.hasOwn(IMPORT_COLUMNS, name);
}

function emptyFileProblem(): string {
  return `the file is empty: its first line must name the columns (${Object.keys(IMPORT_COLUMNS).join(', ')})`;
}

/** Maps header names to columns; names are compared without case or surrounding spaces. */
function readHeader(record: CsvRecord | undefined): { ok: true; header: Header } | { ok: false; problems: string[] } {
  if (!record) return { ok: false, problems: [emptyFileProblem()] };
  if (record.problem) return { ok: false, problems: [`the header is malformed: ${record.problem}`] };
  const problems: string[] = [];
  const seen = new Map<ImportColumn, number>();
  const unknown: string[] = [];
  record.fields.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    if (!name) problems.push(`column ${index + 1} has no name`);
    else if (!isImportColumn(name)) unknown.push(`"${raw}"`);
    else if (seen.has(name)) problems.push(`column "${name}" appears twice (columns ${seen.get(name)! + 1} and ${index + 1})`);
    else seen.set(name, index);
  });
  if (unknown.length) problems.unshift(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: the columns are ${Object.keys(IMPORT_COLUMNS).join(', ')}`);
  const missing = REQUIRED_COLUMNS.filter((name) => !seen.has(name));
  if (missing.length) problems.push(`missing required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`);
  if (problems.length) return { ok: false, problems };
  const columns = [...seen].map(([name, index]) => ({ key: IMPORT_COLUMNS[name], index, required: REQUIRED_COLUMNS.includes(name) }));
  return { ok: true, header: { columns, width: record.fields.length } };
}

/** One record as `rebill enrol` options: an empty optional cell means "not given". */
function enrolInputOf(record: CsvRecord, header: Header): EnrolInput {
  const input: Partial<Record<EnrolField, string>> = {};
  for (const { key, index, required } of header.columns) {
    const value = record.fields[index]!;
    if (required || value.trim() !== '') input[key] = value;
  }
  return input as EnrolInput;
}

type CheckedRecord = { ok: true; row: EnrolmentRow } | { ok: false; problems: RowProblem[] };

function checkRecord(record: CsvRecord, header: Header, now: Date): CheckedRecord {
  if (record.problem) return { ok: false, problems: [wholeRow(record.problem)] };
  if (record.fields.length !== header.width) {
    return { ok: false, problems: [wholeRow(`has ${record.fields.length} field${record.fields.length === 1 ? '' : 's'}, the header has ${header.width}`)] };
  }
  const result = validateEnrolment(enrolInputOf(record, header), now, { firstPaidAt: 'first_paid_at', renewalsPaid: 'renewals_paid' });
  if (result.ok) return result;
  return { ok: false, problems: result.issues.map((issue) => ({ column: issue.field && COLUMN_OF[issue.field], message: issue.message })) };
}

type HeaderProblems = { headerProblems: string[]; line: number };

/** The file's data records in batches, each with the header they are read against; or what is wrong with the header. */
async function* dataRecords(path: string, read: ReadProgress): AsyncGenerator<{ header: Header; records: CsvRecord[] } | HeaderProblems> {
  let header: Header | null = null;
  try {
    for await (const batch of csvRecordBatches(createReadStream(path, { highWaterMark: 64 * 1024 }), read)) {
      let records = batch;
      if (!header) {
        const result = readHeader(records[0]);
        if (!result.ok) {
          yield { headerProblems: result.problems, line: records[0]?.line ?? 1 };
          return;
        }
        header = result.header;
        records = records.slice(1);
      }
      yield { header, records };
    }
  } catch (error) {
    if (error instanceof CsvFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new Error(`cannot read ${path}: ${(error as Error).message}`);
    throw error;
  }
  if (!header) yield { headerProblems: [emptyFileProblem()], line: 1 };
}

export interface CheckOptions {
  /** Bad rows kept in detail; the rest are only counted. */
  maxErrors?: number;
  onProgress?: ProgressListener;
  /** Rows may repeat the e-mail, card token and plan of another row or of a live subscription. */
  allowDuplicate?: boolean;
}

/**
 * Pass 1: checks every row without writing anything, including against the subscriptions in the
 * database; keeps counts and the first problems only.
 */
export async function checkImportFile(db: DbOrTx, path: string, now: Date, options: CheckOptions = {}): Promise<ImportCheck> {
  const allowDuplicate = options.allowDuplicate ?? false;
  const inFile = new DuplicatesInFile(allowDuplicate);
  const maxErrors = options.maxErrors ?? 100;
  const file = await fileVersion(path);
  const totalBytes = file.bytes;
  const read: ReadProgress = { bytes: 0 };
  const check: ImportCheck = { rows: 0, incomplete: 0, active: 0, invalidRows: 0, errors: [], errorsNotShown: 0, readToEnd: true, file };
  try {
    for await (const item of dataRecords(path, read)) {
      if ('headerProblems' in item) {
        check.errors.push({ line: item.line, problems: item.headerProblems.map(wholeRow) });
        check.readToEnd = false;
        break;
      }
      // Problems by line for this batch; the database is asked about its valid rows together.
      const problems = new Map<number, RowProblem[]>();
      const add = (line: number, found: readonly RowProblem[]) => {
        const plain = found.map(({ column, message }) => ({ column, message }));
        if (plain.length) problems.set(line, [...(problems.get(line) ?? []), ...plain]);
      };
      const candidates: ImportCandidate[] = [];
      for (const record of item.records) {
        const result = checkRecord(record, item.header, now);
        if (!result.ok) {
          add(record.line, result.problems);
          continue;
        }
        const candidate = { line: record.line, row: result.row };
        add(record.line, inFile.check(candidate));
        candidates.push(candidate);
      }
      for (const duplicate of await duplicatesInDatabase(db, candidates, allowDuplicate)) add(duplicate.line, [duplicate]);
      const statusOf = new Map(candidates.map((c) => [c.line, c.row.status]));
      for (const record of item.records) {
        check.rows++;
        const found = problems.get(record.line);
        if (!found) {
          if (statusOf.get(record.line) === 'incomplete') check.incomplete++;
          else check.active++;
        } else {
          check.invalidRows++;
          if (check.errors.length < maxErrors) check.errors.push({ line: record.line, problems: found });
          else check.errorsNotShown++;
        }
      }
      options.onProgress?.({ phase: 'check', rows: check.rows, totalRows: null, bytes: read.bytes, totalBytes });
    }
  } catch (error) {
    if (!(error instanceof CsvFileError)) throw error;
    check.errors.push({ line: error.line, problems: [wholeRow(error.message)] });
    check.readToEnd = false;
  }
  if (check.readToEnd && check.rows === 0 && !check.errors.length) {
    check.errors.push({ line: 1, problems: [wholeRow('there are no rows after the header: nothing to import')] });
  }
  return check;
}

export interface WriteContext {
  now: Date;
  actor: string;
  reason?: string | null;
  /** The provider that holds the card tokens. */
  provider: string;
  /** What the check pass found: the file must not have changed since. */
  checked: Pick<ImportCheck, 'rows' | 'file'>;
  /** As in the check: rows may repeat the e-mail, card token and plan of another. */
  allowDuplicate?: boolean;
  chunkRows?: number;
  onProgress?: ProgressListener;
}

export interface ImportResult {
  imported: number;
  incomplete: number;
  active: number;
}

async function writeChunk(tx: Tx, chunk: ImportCandidate[], ctx: WriteContext): Promise<void> {
  // Under the enrolment lock, so what this finds cannot change before the insert.
  const [duplicate] = await duplicatesInDatabase(tx, chunk, ctx.allowDuplicate ?? false);
  if (duplicate) {
    throw new ConflictError(`line ${duplicate.line}: ${duplicate.message}, enrolled after the file was checked; nothing was imported`);
  }
  // Incomplete rows are due now: the scheduler queues them through its short queue (within a
  // second on a running worker) instead of hundreds of thousands of jobs at once.
  await insertRows(tx, chunk.map((c) => c.row), ctx);
}

/** The file no longer matches what pass 1 checked. */
function changedFile(path: string, detail: string): Error {
  return new Error(`${path} changed while it was being imported (${detail}); nothing was imported`);
}

/** The records again for pass 2, where an unreadable file can only mean it changed since pass 1. */
async function* rereadRecords(path: string, read: ReadProgress): ReturnType<typeof dataRecords> {
  try {
    yield* dataRecords(path, read);
  } catch (error) {
    if (error instanceof CsvFileError) throw changedFile(path, `line ${error.line}: ${error.message}`);
    throw error;
  }
}

/**
 * Pass 2: reads the checked file again and writes every row, in chunks, in one transaction.
 * Rows are validated again as they are built; a row that now fails means the file changed, and
 * the whole import is rolled back. The transaction holds the enrolment lock exclusively: single
 * enrolments wait for it, and each chunk is checked against the database before it is written.
 */
export async function writeImportFile(db: Db, path: string, ctx: WriteContext): Promise<ImportResult> {
  const chunkRows = ctx.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const file = await fileVersion(path);
  if (file.bytes !== ctx.checked.file.bytes || file.modifiedMs !== ctx.checked.file.modifiedMs) {
    throw changedFile(path, 'it was modified after it was checked');
  }
  const totalBytes = file.bytes;
  const expectedRows = ctx.checked.rows;
  const read: ReadProgress = { bytes: 0 };
  const result: ImportResult = { imported: 0, incomplete: 0, active: 0 };
  const inFile = new DuplicatesInFile(ctx.allowDuplicate ?? false);
  await db.transaction().execute(async (tx) => {
    await lockEnrolments(tx, 'exclusive');
    // One chunk is written while the next is parsed and validated; at most two are in memory.
    let writing: Promise<void> | null = null;
    const submit = async (rows: ImportCandidate[]) => {
      if (writing) await writing;
      writing = writeChunk(tx, rows, ctx);
      writing.catch(() => undefined); // awaited before the next chunk or at the end
    };
    let chunk: ImportCandidate[] = [];
    for await (const item of rereadRecords(path, read)) {
      if ('headerProblems' in item) throw changedFile(path, 'its header is no longer valid');
      for (const record of item.records) {
        const checked = checkRecord(record, item.header, ctx.now);
        if (!checked.ok) throw changedFile(path, `line ${record.line} is no longer valid: ${checked.problems.map((p) => p.message).join('; ')}`);
        const row = checked.row;
        const [repeated] = inFile.check({ line: record.line, row });
        if (repeated) throw changedFile(path, `line ${record.line}: ${repeated.message}`);
        if (row.status === 'incomplete') {
          result.incomplete++;
        } else {
          result.active++;
        }
        result.imported++;
        chunk.push({ line: record.line, row });
        if (chunk.length >= chunkRows) {
          await submit(chunk);
          chunk = [];
          ctx.onProgress?.({ phase: 'write', rows: result.imported, totalRows: expectedRows, bytes: read.bytes, totalBytes });
        }
      }
    }
    if (chunk.length) await submit(chunk);
    if (writing) await writing;
    if (result.imported !== expectedRows) {
      throw changedFile(path, `it now has ${result.imported} rows, ${expectedRows} were checked`);
    }
    ctx.onProgress?.({ phase: 'write', rows: result.imported, totalRows: expectedRows, bytes: read.bytes, totalBytes });
  }).catch((error: unknown) => {
    // Only a writer that skips the enrolment lock can get here; the answer is the same.
    if (isExternalIdTaken(error)) throw new ConflictError('an external id in the file was enrolled meanwhile by another process; nothing was imported');
    throw error;
  });
  return result;
}
