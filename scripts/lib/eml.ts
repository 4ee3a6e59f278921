/**
 * Reads the recipient, subject and plain text of an `.eml` file as rebill's outbox writes them
 * (MIME, quoted-printable or base64 parts, RFC 2047 encoded headers). Enough for the demo to
 * follow the e-mailed link without a mail-parsing dependency in a production install.
 */

export interface EmlSummary {
  to: string;
  subject: string;
  /** The first text/plain part, decoded, with LF line ends. */
  text: string;
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Splits headers from body and unfolds header lines; names are lower-cased. */
function splitPart(raw: string): Part {
  const normalised = raw.replace(/\r\n/g, '\n');
  const end = normalised.indexOf('\n\n');
  const head = end < 0 ? normalised : normalised.slice(0, end);
  const body = end < 0 ? '' : normalised.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function parameter(header: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header);
  return match ? (match[1] ?? match[2]) : undefined;
}

function decodeBytes(bytes: Uint8Array, charset = 'utf-8'): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function quotedPrintableBytes(text: string, underscoreIsSpace: boolean): Uint8Array {
  const bytes: number[] = [];
  const source = text.replace(/=\n/g, ''); // soft line breaks
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    const hex = source.slice(i + 1, i + 3);
    if (char === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (char === '_' && underscoreIsSpace) {
      bytes.push(0x20);
    } else {
      bytes.push(char.charCodeAt(0) & 0xff); // the message is read byte for byte (latin1)
    }
  }
  return Uint8Array.from(bytes);
}

/** RFC 2047 encoded words, e.g. =?UTF-8?Q?Action_required?=; adjacent words join without the space between. */
export function decodeHeader(value: string): string {
  return decodeBytes(Buffer.from(value, 'latin1'))
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, charset: string, encoding: string, text: string) =>
      decodeBytes(encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : quotedPrintableBytes(text, true), charset),
    );
}

function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const charset = parameter(part.headers.get('content-type') ?? '', 'charset');
  if (encoding === 'quoted-printable') return decodeBytes(quotedPrintableBytes(part.body, false), charset);
  if (encoding === 'base64') return decodeBytes(Buffer.from(part.body.replace(/\s+/g, ''), 'base64'), charset);
  return decodeBytes(Buffer.from(part.body, 'latin1'), charset);
}

function firstPlainText(part: Part): string | null {
  const type = part.headers.get('content-type') ?? 'text/plain';
  if (/^multipart\//i.test(type)) {
    const boundary = parameter(type, 'boundary');
    if (!boundary) return null;
    const sections = part.body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break; // the closing delimiter
      const text = firstPlainText(splitPart(section.replace(/^\n/, '')));
      if (text !== null) return text;
    }
    return null;
  }
  return /^text\/plain/i.test(type) ? decodeBody(part) : null;
}

/** `raw` is the file's bytes. */
export function readEml(raw: Uint8Array): EmlSummary {
  const message = splitPart(Buffer.from(raw).toString('latin1'));
  return {
    to: decodeHeader(message.headers.get('to') ?? ''),
    subject: decodeHeader(message.headers.get('subject') ?? ''),
    text: (firstPlainText(message) ?? '').replace(/\n$/, ''),
  };
}
