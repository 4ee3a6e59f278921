/**
 * Reads CSV (RFC 4180) records from a byte stream, a chunk at a time, so a file of any length is
 * read in bounded memory. Each record carries the physical line it starts on, for error reports.
 *
 * Accepted: quoted fields with commas, doubled quotes and line breaks inside; CRLF, LF or CR line
 * ends; a UTF-8 byte order mark. Blank lines are skipped. A stray quote is kept as text but
 * reported as the record's problem, since it usually means a badly exported file.
 */

export interface CsvRecord {
  /** Physical line (1-based) the record starts on. */
  line: number;
  fields: string[];
  /** Why the record is malformed, when it is. */
  problem?: string;
}

/** The file cannot be read as CSV from this line on (not UTF-8, or a runaway record). */
export class CsvFileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'CsvFileError';
  }
}

/** A real record is a few hundred characters; anything near this is an unclosed quote swallowing the file. */
export const MAX_RECORD_CHARS = 1 << 20;

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: a doubled quote, or the field's end. */
  QuoteInQuoted,
}

/** An incremental parser: feed it text with `push`, then call `end`. */
export class CsvRecordReader {
  private state = State.FieldStart;
  private fields: string[] = [];
  /** The current field's text from earlier chunks and finished segments of this one. */
  private field = '';
  private line = 1;
  private recordLine = 1;
  private recordChars = 0;
  private afterCR = false;
  private problem: string | undefined;

  /** The physical line the reader has reached. */
  get currentLine(): number {
    return this.line;
  }

  push(text: string): CsvRecord[] {
    const records: CsvRecord[] = [];
    // Start of the current field's text in `text` not yet copied into `this.field`.
    let segment = 0;
    let recordStart = 0;
    const endField = (end: number) => {
      this.fields.push(this.field + text.slice(segment, end));
      this.field = '';
    };
    const endRecord = (end: number) => {
      if (this.state === State.FieldStart && this.fields.length === 0 && this.field === '') {
        // A blank line: nothing to report.
      } else {
        endField(end);
        records.push(this.problem ? { line: this.recordLine, fields: this.fields, problem: this.problem } : { line: this.recordLine, fields: this.fields });
      }
      this.fields = [];
      this.problem = undefined;
      this.state = State.FieldStart;
      this.recordLine = this.line;
      this.recordChars = 0;
      recordStart = end + 1;
    };

    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const wasCR = this.afterCR;
      this.afterCR = c === CR;
      switch (this.state) {
        case State.Quoted:
          if (c === QUOTE) {
            this.field += text.slice(segment, i);
            segment = i + 1;
            this.state = State.QuoteInQuoted;
          } else if (c === CR || (c === LF && !wasCR)) {
            this.line++;
          }
          break;
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            // A doubled quote is one quote character; it starts the next segment.
            segment = i;
            this.state = State.Quoted;
          } else if (c === COMMA) {
            endField(i);
            segment = i + 1;
            this.state = State.FieldStart;
          } else if (c === CR || c === LF) {
            this.line++;
            endRecord(i);
            segment = i + 1;
          } else {
            this.problem ??= `text after a closing quote in field ${this.fields.length + 1}: a quote inside a field must be doubled ("")`;
            segment = i;
            this.state = State.Unquoted;
          }
          break;
        default:
          if (c === COMMA) {
            endField(i);
            segment = i + 1;
            this.state = State.FieldStart;
          } else if (c === LF && wasCR) {
            // The second half of a CRLF that already ended the record.
            segment = i + 1;
            recordStart = i + 1;
          } else if (c === CR || c === LF) {
            this.line++;
            endRecord(i);
            segment = i + 1;
          } else if (c === QUOTE && this.state === State.FieldStart) {
            segment = i + 1;
            this.state = State.Quoted;
          } else {
            if (c === QUOTE) {
              this.problem ??= `a quote inside unquoted field ${this.fields.length + 1}: quote the whole field and double the quote ("")`;
            }
            this.state = State.Unquoted;
          }
      }
    }
    this.field += text.slice(segment);
    this.recordChars += text.length - recordStart;
    if (this.recordChars > MAX_RECORD_CHARS) {
      throw new CsvFileError(this.recordLine, `the record starting here is longer than ${MAX_RECORD_CHARS} characters: is a quote left open?`);
    }
    return records;
  }

  /** Finishes the last record (a file need not end with a line break). */
  end(): CsvRecord[] {
    if (this.state === State.Quoted) {
      this.fields.push(this.field);
      const record = { line: this.recordLine, fields: this.fields, problem: `the quote opened in field ${this.fields.length} is never closed` };
      this.fields = [];
      this.field = '';
      this.state = State.FieldStart;
      return [record];
    }
    this.afterCR = false;
    return this.push('\n');
  }
}

/** How far through the file a reader is, for progress reports. */
export interface ReadProgress {
  bytes: number;
}

/**
 * Decodes a byte stream as UTF-8 (refusing anything else, so names are never silently garbled)
 * and yields its records in batches, one batch per chunk read.
 */
export async function* csvRecordBatches(source: AsyncIterable<Uint8Array>, progress?: ReadProgress): AsyncGenerator<CsvRecord[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const reader = new CsvRecordReader();
  const decode = (bytes?: Uint8Array): string => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch {
      // Decoded leniently only to find the line of the first bad byte (shown as U+FFFD).
      const lenient = bytes ? new TextDecoder('utf-8').decode(bytes) : '';
      const before = lenient.slice(0, Math.max(0, lenient.indexOf('\uFFFD')));
      const line = reader.currentLine + (before.match(/\r\n|\r|\n/g)?.length ?? 0);
      throw new CsvFileError(line, 'the file is not UTF-8 text (a byte on this line is not): save it as "CSV UTF-8" and try again');
    }
  };
  for await (const chunk of source) {
    const records = reader.push(decode(chunk));
    if (progress) progress.bytes += chunk.byteLength;
    if (records.length) yield records;
  }
  const tail = reader.push(decode());
  const last = [...tail, ...reader.end()];
  if (last.length) yield last;
}
