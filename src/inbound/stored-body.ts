/**
 * What is stored of an inbound message. PostgreSQL text cannot hold a NUL character, and a body
 * that is not UTF-8 has no exact text form: such a body is stored as an escaped rendering for
 * people plus its exact bytes, so storing it never fails (and never fails the messages stored with it).
 */

export interface StoredBody {
  /** The body as text, with NUL characters shown as `\u0000`. */
  readonly text: string;
  /** The exact bytes, kept only when the text is not an exact copy. */
  readonly bytes: Buffer | null;
  /** Why the body cannot be a gateway message, when that is already clear from its bytes. */
  readonly problem: string | null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function storedBody(bytes: Buffer): StoredBody {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { text: storableText(bytes.toString('utf8')), bytes, problem: 'body is not UTF-8 text' };
  }
  if (text.includes('\u0000')) return { text: storableText(text), bytes, problem: 'body contains a NUL character, which no gateway message has' };
  return { text, bytes: null, problem: null };
}

/** A string PostgreSQL text can hold: NUL characters shown as `\u0000`. */
export function storableText(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\\u0000') : value;
}
