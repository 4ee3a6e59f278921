/**
 * Glocash's merchant calls (seed 003 §4–§10): create a payment (the link), query a transaction by
 * TNS_GCID, refund it in full or part. Every answer that cannot be believed becomes "unknown",
 * for a query to settle; nothing here decides what an outcome means for a subscription.
 */
import { Agent } from 'undici';
import { formatAmount, type Money } from '../../../lib/money.ts';
import type { ChargeOutcome, RefundRequestOutcome } from '../../outcomes.ts';
import { postForm, type PostResult } from '../form-post.ts';
import { fieldProblems } from './fields.ts';
import { readRecord, type GlocashRecord } from './messages.ts';
import { glocashSign } from './sign.ts';

export interface GlocashCredentials {
  /** The merchant account's e-mail (REQ_EMAIL). */
  readonly email: string;
  readonly secretKey: string;
}

export interface GlocashClientOptions {
  /** Base URL, e.g. `https://sandbox.glocash.com` (`/gateway/...` is appended). */
  readonly apiUrl: string;
  readonly credentials: GlocashCredentials;
  readonly timeoutMs: number;
  /** Unix seconds for REQ_TIMES (tests pin it). */
  readonly now?: () => number;
}

export interface PaymentLinkAsk {
  readonly invoice: string;
  readonly customerEmail: string;
  readonly money: Money;
  readonly urls: { readonly notify: string; readonly back: string };
}

export type QueryAnswer =
  | { kind: 'found'; record: GlocashRecord }
  | { kind: 'not_found' }
  | { kind: 'error'; reason: string };

const MAX_ANSWER_BYTES = 64 * 1024;

export class GlocashClient {
  readonly #agent = new Agent({ keepAliveTimeout: 10_000 });

  constructor(private readonly options: GlocashClientOptions) {}

  #times(): string {
    return String(this.options.now?.() ?? Math.floor(Date.now() / 1000));
  }

  async #post(path: string, fields: Record<string, string>): Promise<PostResult> {
    return postForm(`${this.options.apiUrl.replace(/\/+$/, '')}${path}`, Object.entries(fields), {
      dispatcher: this.#agent,
      timeoutMs: this.options.timeoutMs,
      maxResponseBytes: MAX_ANSWER_BYTES,
      accept: 'application/json',
    });
  }

  /** Creates the payment; `action_required` carries URL_PAYMENT and TNS_GCID. */
  async createPaymentLink(ask: PaymentLinkAsk): Promise<ChargeOutcome> {
    const { email, secretKey } = this.options.credentials;
    const fields: Record<string, string> = {
      REQ_TIMES: this.#times(),
      REQ_EMAIL: email,
      REQ_INVOICE: ask.invoice,
      CUS_EMAIL: ask.customerEmail,
      BIL_METHOD: '',
      BIL_PRICE: formatAmount(ask.money),
      BIL_CURRENCY: ask.money.currency,
      URL_SUCCESS: ask.urls.back,
      URL_PENDING: ask.urls.back,
      URL_FAILED: ask.urls.back,
      URL_NOTIFY: ask.urls.notify,
    };
    const problems = fieldProblems(fields, ['REQ_INVOICE', 'CUS_EMAIL', 'BIL_PRICE', 'BIL_CURRENCY']);
    if (problems.length) return { kind: 'declined', declineClass: 'request', code: 'invalid_request', details: problems.join('; ') };
    fields.REQ_SIGN = glocashSign('payment', fields, secretKey);
    const answer = await this.#post('/gateway/payment/index', fields);
    if (!answer.ok) return { kind: 'unknown', reason: answer.reason };
    const json = parseJson(answer.body);
    if (json && typeof json.REQ_ERROR === 'string') {
      return { kind: 'declined', declineClass: 'request', code: 'REQ_ERROR', details: `Glocash refused the field ${json.REQ_ERROR.slice(0, 64)}` };
    }
    const gcid = typeof json?.TNS_GCID === 'string' ? json.TNS_GCID : '';
    const url = typeof json?.URL_PAYMENT === 'string' ? json.URL_PAYMENT : '';
    if (answer.status !== 200 || fieldProblems({ TNS_GCID: gcid }, ['TNS_GCID']).length || !isHttpUrl(url)) {
      return { kind: 'unknown', reason: `Glocash answered HTTP ${answer.status} without a usable TNS_GCID and URL_PAYMENT`, ...(gcid ? { paymentId: gcid } : {}) };
    }
    return { kind: 'action_required', payUrl: url, paymentId: gcid, details: 'payment link created' };
  }

  /** The transaction's record, verified; `not_found` only on Glocash's HTTP 404. */
  async query(gcid: string): Promise<QueryAnswer> {
    const { email, secretKey } = this.options.credentials;
    const fields: Record<string, string> = { REQ_TIMES: this.#times(), REQ_EMAIL: email, TNS_GCID: gcid };
    fields.REQ_SIGN = glocashSign('query', fields, secretKey);
    const answer = await this.#post('/gateway/transaction/index', fields);
    if (!answer.ok) return { kind: 'error', reason: answer.reason };
    if (answer.status === 404) return { kind: 'not_found' };
    const entry = parseJson(answer.body)?.[gcid];
    if (answer.status !== 200 || typeof entry !== 'object' || entry === null) return { kind: 'error', reason: `Glocash answered the query with HTTP ${answer.status} and no record of ${gcid}` };
    // Numbers in the JSON (REQ_TIMES, TNS_UTIMES) are signed as their decimal text.
    const record = readRecord(Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])), secretKey);
    if (!record.ok) return { kind: 'error', reason: `the query's record is not believable: ${record.problem}` };
    if (record.record.gcid !== gcid || record.record.merchantEmail.toLowerCase() !== email.toLowerCase()) return { kind: 'error', reason: 'the query answered about another transaction or account' };
    return { kind: 'found', record: record.record };
  }

  /** Refunds `money` of the transaction; only REQ_CODE 200 is a success. */
  async refund(gcid: string, money: Money): Promise<RefundRequestOutcome> {
    const { email, secretKey } = this.options.credentials;
    const fields: Record<string, string> = { REQ_TIMES: this.#times(), REQ_EMAIL: email, TNS_GCID: gcid, PGW_PRICE: formatAmount(money) };
    const problems = fieldProblems(fields, ['TNS_GCID', 'PGW_PRICE']);
    if (problems.length) return { kind: 'refused', code: 'invalid_request', message: problems.join('; ') };
    fields.REQ_SIGN = glocashSign('refund', fields, secretKey);
    const answer = await this.#post('/gateway/transaction/refund', fields);
    if (!answer.ok) return { kind: 'unknown', reason: answer.reason };
    const json = parseJson(answer.body);
    const code = json?.REQ_CODE;
    const message = typeof json?.REQ_ERROR === 'string' ? json.REQ_ERROR.slice(0, 200) : '';
    if (code === 200 || code === '200') return { kind: 'refunded', refundId: gcid };
    if (json && code !== undefined) return { kind: 'refused', code: String(code).slice(0, 20), message: message || 'Glocash refused the refund' };
    return { kind: 'unknown', reason: `Glocash answered the refund with HTTP ${answer.status} and no REQ_CODE` };
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

function parseJson(body: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
