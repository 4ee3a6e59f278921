/**
 * XML in and out of the gateway. Parsing is deliberately strict and dumb: values stay strings
 * exactly as received (`000123`, `0.10`), only the five predefined entities and character
 * references are decoded, documents with a DOCTYPE (the only way to declare entities) are
 * refused, and the size is capped before anything is parsed.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const DEFAULT_MAX_XML_BYTES = 64 * 1024;

/** A parsed element: a string leaf, or children by name (repeated children become arrays). */
export type XmlNode = string | XmlElement | XmlNode[];
export interface XmlElement {
  [name: string]: XmlNode;
}

export type XmlResult<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface ParseXmlOptions {
  /** Root element names accepted, e.g. `['response']`. */
  readonly roots: readonly string[];
  readonly maxBytes?: number;
  /** Elements that are always read as lists, even when they appear once (e.g. `paymentInfo`). */
  readonly lists?: readonly string[];
}

export interface XmlDocument {
  readonly root: string;
  /** The root's content: an element, or '' for an empty root. */
  readonly content: XmlElement | string;
}

const TEXT = '#text';
const CDATA = '#cdata';

// Every charge answer and notice is parsed: build each parser configuration once.
const parsers = new Map<string, XMLParser>();
function parserFor(listNames: readonly string[]): XMLParser {
  const key = listNames.join(',');
  let parser = parsers.get(key);
  if (!parser) {
    const lists = new Set(listNames);
    parser = new XMLParser({
      ignoreAttributes: true,
      parseTagValue: false,
      parseAttributeValue: false,
      processEntities: false,
      htmlEntities: false,
      trimValues: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
      cdataPropName: CDATA,
      maxNestedTags: 32,
      isArray: (name) => lists.has(name),
    });
    parsers.set(key, parser);
  }
  return parser;
}

/** Parses a gateway document, returning a problem a person can act on instead of throwing. */
export function parseXmlDocument(body: string | Uint8Array, options: ParseXmlOptions): XmlResult<XmlDocument> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (size > maxBytes) return { ok: false, problem: `XML body is ${size} bytes, more than the ${maxBytes}-byte limit` };
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.trim() === '') return { ok: false, problem: 'body is empty, expected an XML document' };
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    return { ok: false, problem: 'XML with a DOCTYPE or ENTITY declaration is refused (entities are never expanded)' };
  }
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    return { ok: false, problem: `body is not well-formed XML (line ${line}, column ${col}): ${msg}` };
  }
  let parsed: unknown;
  try {
    parsed = parserFor(options.lists ?? []).parse(text);
  } catch (error) {
    return { ok: false, problem: `XML could not be read: ${error instanceof Error ? error.message : String(error)}` };
  }
  const top = parsed as Record<string, unknown>;
  const rootNames = Object.keys(top).filter((name) => name !== TEXT);
  const [root] = rootNames;
  if (rootNames.length !== 1 || root === undefined) {
    return { ok: false, problem: `expected one root element <${options.roots.join('> or <')}>, found ${rootNames.length}` };
  }
  if (!options.roots.includes(root)) {
    return { ok: false, problem: `root element is <${root}>, expected <${options.roots.join('> or <')}>` };
  }
  const content = top[root];
  return { ok: true, value: { root, content: typeof content === 'string' ? '' : (content as XmlElement) } };
}

/**
 * The string leaves of an element, by name. Nested elements are flattened with dotted names
 * (`networkToken.create_status`); a name that repeats is reported, since a message carrying two
 * `payment_status` elements cannot be trusted.
 */
export function leafFields(content: XmlElement | string, prefix = ''): XmlResult<Record<string, string>> {
  const fields: Record<string, string> = {};
  if (typeof content === 'string') return { ok: true, value: fields };
  for (const [name, node] of Object.entries(content)) {
    if (name === TEXT || name === CDATA) continue;
    const key = prefix + name;
    if (Array.isArray(node)) return { ok: false, problem: `element <${key}> appears ${node.length} times` };
    const leaf = leafText(node);
    if (leaf !== undefined) {
      fields[key] = leaf;
      continue;
    }
    const nested = leafFields(node as XmlElement, `${key}.`);
    if (!nested.ok) return nested;
    Object.assign(fields, nested.value);
  }
  return { ok: true, value: fields };
}

/** The text of a leaf element (plain text, CDATA or both), or undefined for an element with children. */
function leafText(node: XmlNode): string | undefined {
  if (typeof node === 'string') return decodeXmlText(node);
  if (Array.isArray(node)) return undefined;
  const names = Object.keys(node);
  if (!names.every((name) => name === TEXT || name === CDATA)) return undefined;
  const text = typeof node[TEXT] === 'string' ? decodeXmlText(node[TEXT]) : '';
  const cdata = typeof node[CDATA] === 'string' ? node[CDATA] : '';
  return text + cdata;
}

export interface FlatMessage {
  readonly root: string;
  readonly fields: Record<string, string>;
}

export interface ParseFlatOptions {
  readonly roots: readonly string[];
  /** Elements that must be present (they may be empty). */
  readonly required?: readonly string[];
  readonly maxBytes?: number;
}

/** Parses a flat `<response>`/`<respon>` message into its fields, naming any required field that is missing. */
export function parseFlatXml(body: string | Uint8Array, options: ParseFlatOptions): XmlResult<FlatMessage> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  let parsed: XmlResult<FlatMessage> | null =
    size <= maxBytes ? readSimpleFlatDocument(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) : null;
  if (parsed === null) {
    const document = parseXmlDocument(body, { roots: options.roots, maxBytes });
    if (!document.ok) return document;
    const fields = leafFields(document.value.content);
    if (!fields.ok) return fields;
    parsed = { ok: true, value: { root: document.value.root, fields: fields.value } };
  }
  if (!parsed.ok) return parsed;
  const { root, fields } = parsed.value;
  if (!options.roots.includes(root)) return { ok: false, problem: `root element is <${root}>, expected <${options.roots.join('> or <')}>` };
  const missing = (options.required ?? []).filter((name) => !Object.hasOwn(fields, name));
  if (missing.length > 0) {
    return { ok: false, problem: `<${root}> is missing required field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}` };
  }
  return parsed;
}

const SIMPLE_NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const DECLARATION = /<\?xml[^?]*\?>/y;
const WHITESPACE = /[ \t\r\n]*/y;
const PLAIN_TEXT = /[^<]*/y;
/** `&` only as one of the references decodeXmlText understands; anything else goes to the full parser (which refuses it). */
const SAFE_AMPERSANDS = /^(?:[^&]|&(?:lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9A-Fa-f]{1,6});)*$/;

/**
 * Every charge answer and notice is a root holding leaf elements only. This reads exactly that
 * shape, strictly, in one pass; it returns null for anything else (nesting, attributes, comments,
 * CDATA, processing instructions, unusual names or references), which the full parser handles.
 */
function readSimpleFlatDocument(text: string): { ok: true; value: FlatMessage } | null {
  let at = 0;
  const match = (pattern: RegExp): string | null => {
    pattern.lastIndex = at;
    const found = pattern.exec(text);
    if (!found) return null;
    at = pattern.lastIndex;
    return found[0];
  };
  const literal = (value: string): boolean => {
    if (!text.startsWith(value, at)) return false;
    at += value.length;
    return true;
  };
  match(WHITESPACE);
  if (text.startsWith('<?', at) && !match(DECLARATION)) return null;
  match(WHITESPACE);
  if (!literal('<')) return null;
  const root = match(SIMPLE_NAME);
  if (!root || !literal('>')) return null;
  const fields: Record<string, string> = {};
  for (;;) {
    match(WHITESPACE);
    if (literal(`</${root}>`)) break;
    if (!literal('<')) return null;
    const name = match(SIMPLE_NAME);
    // Names that could reach Object.prototype, and repeats, are judged by the full parser.
    if (!name || name === '__proto__' || name === 'constructor' || Object.hasOwn(fields, name)) return null;
    let value = '';
    if (!literal('/>')) {
      if (!literal('>')) return null;
      const raw = match(PLAIN_TEXT) ?? '';
      if (!literal(`</${name}>`) || !SAFE_AMPERSANDS.test(raw)) return null;
      value = decodeXmlText(raw);
    }
    fields[name] = value;
  }
  match(WHITESPACE);
  return at === text.length ? { ok: true, value: { root, fields } } : null;
}

const ENTITY = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references in one pass; anything else stays literal. */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (match, decimal?: string, hex?: string, name?: string) => {
    if (name !== undefined) return NAMED[name] ?? match;
    const codePoint = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex ?? '', 16);
    const allowed = codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff) && codePoint !== 0;
    return allowed ? String.fromCodePoint(codePoint) : match;
  });
}

/** Characters XML 1.0 cannot carry at all; replaced rather than producing a document nobody can parse. */
const NOT_XML_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

const NEEDS_ESCAPING = /[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

export function escapeXml(value: string): string {
  // Most values (amounts, ids, codes) need nothing: skip the five replacements.
  if (!NEEDS_ESCAPING.test(value)) return value;
  return value
    .replace(NOT_XML_CHARACTER, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Children of an element to build: a string leaf or nested children, in order. */
export type XmlChildren = ReadonlyArray<readonly [name: string, value: string | XmlChildren]>;

const TAG_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A document like the gateway's: XML declaration, one element per line, values escaped. */
export function buildXml(root: string, children: XmlChildren): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${buildElement(root, children)}\n`;
}

/** A flat `<response>` or `<respon>` message from fields in order. */
export function buildFlatXml(root: 'response' | 'respon', fields: Iterable<readonly [string, string]>): string {
  return buildXml(root, [...fields]);
}

function buildElement(name: string, value: string | XmlChildren): string {
  if (!TAG_NAME.test(name)) throw new RangeError(`"${name}" is not a valid XML element name`);
  if (typeof value === 'string') return `<${name}>${escapeXml(value)}</${name}>`;
  const inner = value.map(([child, childValue]) => buildElement(child, childValue)).join('\n');
  return `<${name}>\n${inner}\n</${name}>`;
}
