/**
 * Reading the answer of `/service/check/normal` (§3.1). Its signValue formula is unknown (§1.6),
 * so entries are trusted through TLS and the signed request, and checked for naming our account,
 * one of our terminals and the order we asked about.
 */
import type { ChargeOutcome } from './outcome.ts';
import { outcomeFromQueryFields } from './outcome.ts';
import type { MerchantCredentials } from './sign.ts';
import { secureCodeForTerminal } from './sign.ts';
import type { XmlElement } from './xml.ts';
import { leafFields, parseXmlDocument } from './xml.ts';

export interface QueryEntry {
  readonly orderNumber: string;
  readonly paymentId: string;
  /** As received, e.g. "9.99". */
  readonly amount: string;
  readonly currency: string;
  readonly outcome: ChargeOutcome;
  readonly raw: Record<string, string>;
}

export type QueryResult =
  | { kind: 'found'; entries: QueryEntry[] }
  | { kind: 'not_found' }
  | { kind: 'error'; reason: string };

/** Elements that merely echo the request; their presence alone does not make an error. */
const ECHO_FIELDS = new Set(['account', 'terminal', 'order_number', 'signValue']);

export function readQueryResponse(
  body: string | Uint8Array,
  orderNumber: string,
  credentials: MerchantCredentials,
  maxBytes?: number,
): QueryResult {
  const document = parseXmlDocument(body, { roots: ['response'], lists: ['paymentInfo'], maxBytes });
  if (!document.ok) return { kind: 'error', reason: `the query answer could not be read: ${document.problem}` };
  const content: XmlElement = typeof document.value.content === 'string' ? {} : document.value.content;
  const infos = content.paymentInfo;
  const entries: QueryEntry[] = [];
  for (const [position, info] of (Array.isArray(infos) ? infos : []).entries()) {
    const fields = leafFields(typeof info === 'string' || Array.isArray(info) ? '' : info);
    if (!fields.ok) return { kind: 'error', reason: `paymentInfo #${position + 1}: ${fields.problem}` };
    const raw = fields.value;
    // INFERRED: how the gateway says "no such order" is not documented. An entry without an order
    // number is read as such a placeholder rather than as a payment.
    if ((raw.order_number ?? '') === '') continue;
    const problem = entryProblem(raw, orderNumber, credentials);
    if (problem) return { kind: 'error', reason: `paymentInfo #${position + 1} ${problem}` };
    entries.push({
      orderNumber: raw.order_number ?? '',
      paymentId: raw.payment_id ?? '',
      amount: raw.order_amount ?? '',
      currency: raw.order_currency ?? '',
      outcome: outcomeFromQueryFields(raw),
      raw,
    });
  }
  if (entries.length > 0) return { kind: 'found', entries };
  // INFERRED: a <response> without payment entries means the order is unknown, unless it carries
  // something besides the echo of our request (an error text, a result code): then it is an error,
  // because reading an error as "not found" could lead to charging twice.
  const others = leafFields(withoutPaymentInfo(content));
  if (!others.ok) return { kind: 'error', reason: `the query answer could not be read: ${others.problem}` };
  const unexplained = Object.entries(others.value).filter(([name, value]) => !ECHO_FIELDS.has(name) && value.trim() !== '');
  if (unexplained.length > 0) {
    const summary = unexplained.slice(0, 4).map(([name, value]) => `${name}=${value.slice(0, 100)}`).join(', ');
    return { kind: 'error', reason: `the query answer has no payment entries but says: ${summary}` };
  }
  return { kind: 'not_found' };
}

function entryProblem(raw: Record<string, string>, orderNumber: string, credentials: MerchantCredentials): string | null {
  const account = raw.account ?? '';
  const terminal = raw.terminal ?? '';
  if (account !== credentials.account) return `is for account "${account}", not ours (${credentials.account})`;
  if (secureCodeForTerminal(credentials, terminal) === undefined) return `names terminal "${terminal}", which is not ours`;
  if (raw.order_number !== orderNumber) return `is for order "${raw.order_number}", not the one asked about ("${orderNumber}")`;
  return null;
}

function withoutPaymentInfo(content: XmlElement): XmlElement {
  const rest: XmlElement = {};
  for (const [name, node] of Object.entries(content)) if (name !== 'paymentInfo') rest[name] = node;
  return rest;
}
