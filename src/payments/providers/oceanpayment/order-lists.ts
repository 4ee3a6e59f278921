/**
 * The order lists of the order-management host (§3.1, §10), paged with `pages` = 1..`totalpages`:
 * - `/service/QueryOrdersList`: the successful payments in a time window (last 6 months);
 * - `/service/BusinessOrdersList`: refunds, chargebacks and other business orders in a window.
 *
 * CONFIRMED (documentation examples): a `<response>` with account, terminal, signValue, results
 * ("00" when the query worked), details, count, totalpages and pages, then one `<orderInfo>` per
 * order. Success rows carry account, terminal, payment_id, order_number, order_currency,
 * order_amount, methods and payment_dateTime; business rows add type (refund, chargeback, …),
 * payment_debitTime, payment_cpdTime, amount, status and details. Request signatures are
 * CONFIRMED by recomputation (sign.ts); `count` (10, 50 or 100 per page) and `date_type` are
 * documented for the business list only, so sending `count` to the success list is INFERRED.
 * INFERRED: whether `count` is the number of orders in the page or in the whole window (the
 * example has one page); it is reported as received. UNKNOWN: the response signValue formula
 * (never relied on) and the codes of a failed query.
 *
 * Dates: the caller gives instants; they are written in the gateway's zone (gateway-time.ts) at
 * whole seconds, and `payment_dateTime` is read back the same way.
 */
import { ValidationError } from '../../../lib/errors.ts';
import { controlCharacterProblem } from '../../../lib/printable.ts';
import { foreignAccountProblem, shown } from './answer-checks.ts';
import { formatGatewayDateTime, parseGatewayDateTime } from './gateway-time.ts';
import type { PostResult } from '../form-post.ts';
import { BUSINESS_ORDERS_LIST_REQUEST_FIELDS, ORDERS_LIST_REQUEST_FIELDS, sign } from './sign.ts';
import type { MerchantCredentials, TerminalCredentials } from './sign.ts';
import type { XmlElement } from './xml.ts';
import { leafFields, parseXmlDocument } from './xml.ts';

export type OrderListPageSize = 10 | 50 | 100;

export interface OrderListRequest {
  /** Start of the window (inclusive); written in the gateway's zone, fractions of a second dropped. */
  readonly beginDate: Date;
  /** End of the window (inclusive, to the second). */
  readonly endDate: Date;
  /** 1-based. */
  readonly page: number;
  /** Orders per page (`count`); the gateway's default (10) when absent. */
  readonly pageSize?: OrderListPageSize;
}

/** `date_type`: which time of a business order the window is about (the gateway's default is review). */
export type BusinessDateType = 'review' | 'transaction' | 'exception';

export interface BusinessOrderListRequest extends OrderListRequest {
  readonly dateType?: BusinessDateType;
}

export interface SuccessOrderRow {
  readonly account: string;
  readonly terminal: string;
  readonly paymentId: string;
  readonly orderNumber: string;
  readonly currency: string;
  /** As received, e.g. "9.99". */
  readonly amount: string;
  readonly methods: string;
  /** `payment_dateTime` as received, and the instant it names (null when it is empty). */
  readonly paymentDateTime: string;
  readonly paidAt: Date | null;
  readonly raw: Record<string, string>;
}

export interface BusinessOrderRow {
  readonly account: string;
  readonly terminal: string;
  /** refund, chargeback, … as received. */
  readonly type: string;
  readonly paymentId: string;
  readonly orderNumber: string;
  readonly orderCurrency: string;
  /** The payment's amount, as received. */
  readonly orderAmount: string;
  /** The refund's or chargeback's amount, as received. */
  readonly amount: string;
  /** As received: "1" done, "0" failed (others undocumented). */
  readonly status: string;
  readonly details: string;
  readonly methods: string;
  /** Gateway times as received (payment, completion, exception), and the instants they name. */
  readonly paymentDateTime: string;
  readonly debitTime: string;
  readonly exceptionTime: string;
  readonly paidAt: Date | null;
  readonly debitedAt: Date | null;
  readonly exceptionAt: Date | null;
  readonly raw: Record<string, string>;
}

export type OrderListPage<Row> =
  | { kind: 'page'; page: number; totalPages: number; count: number; rows: Row[] }
  | { kind: 'error'; reason: string; code?: string };

const DATE_TYPES: Record<BusinessDateType, string> = { review: '0', transaction: '1', exception: '2' };
const PAGE_SIZES: readonly number[] = [10, 50, 100];
const COUNT = /^\d{1,9}$/;
const PAYMENT_ID = /^\d{1,32}$/;
const CURRENCY = /^[A-Z]{3}$/;
const AMOUNT = /^\d{1,10}(\.\d{1,2})?$/;
const MAX_PAGE = 99_999;

/** A list answer holds up to 100 orders: more room than a single-payment answer. */
export const MAX_LIST_RESPONSE_BYTES = 1024 * 1024;

function listRequestProblems(request: OrderListRequest, offsetMinutes: number): string[] {
  const problems: string[] = [];
  const begin = request.beginDate.getTime();
  const end = request.endDate.getTime();
  if (!Number.isFinite(begin)) problems.push('the list window needs a valid begin date');
  if (!Number.isFinite(end)) problems.push('the list window needs a valid end date');
  if (Number.isFinite(begin) && Number.isFinite(end) && begin > end) {
    problems.push(`the list window begins (${formatGatewayDateTime(request.beginDate, offsetMinutes)}) after it ends (${formatGatewayDateTime(request.endDate, offsetMinutes)})`);
  }
  if (!Number.isInteger(request.page) || request.page < 0 || request.page > MAX_PAGE) {
    problems.push(`page ${request.page} must be a whole number up to ${MAX_PAGE} (pages count from 1)`);
  }
  if (request.pageSize !== undefined && !PAGE_SIZES.includes(request.pageSize)) {
    problems.push(`page size ${request.pageSize} must be 10, 50 or 100`);
  }
  return problems;
}

/**
 * The signed form for `/service/QueryOrdersList` or `/service/BusinessOrdersList`. Page 0 is let
 * through because the documentation's own example sends it; callers count from 1.
 */
export function buildOrderListForm(
  list: 'success' | 'business',
  request: BusinessOrderListRequest,
  credentials: TerminalCredentials,
  offsetMinutes: number,
): Array<readonly [string, string]> {
  const problems = listRequestProblems(request, offsetMinutes);
  if (list === 'success' && request.dateType !== undefined) problems.push('date_type is only for the business order list');
  if (request.dateType !== undefined && !Object.hasOwn(DATE_TYPES, request.dateType)) {
    problems.push(`date type "${shown(String(request.dateType))}" must be review, transaction or exception`);
  }
  if (problems.length > 0) throw new ValidationError(problems);
  const values = {
    account: credentials.account,
    terminal: credentials.terminal,
    order_beginDate: formatGatewayDateTime(request.beginDate, offsetMinutes),
    order_endDate: formatGatewayDateTime(request.endDate, offsetMinutes),
    pages: String(request.page),
  };
  const fields = list === 'success' ? ORDERS_LIST_REQUEST_FIELDS : BUSINESS_ORDERS_LIST_REQUEST_FIELDS;
  return [
    ['account', values.account],
    ['terminal', values.terminal],
    ['order_beginDate', values.order_beginDate],
    ['order_endDate', values.order_endDate],
    ['pages', values.pages],
    ...(request.pageSize === undefined ? [] : [['count', String(request.pageSize)] as const]),
    ...(request.dateType === undefined ? [] : [['date_type', DATE_TYPES[request.dateType]] as const]),
    ['signValue', sign(fields, values, credentials.secureCode)],
  ];
}

/** What a list POST came to. */
export function readOrderListAnswer<Row>(
  posted: PostResult,
  readRow: RowReader<Row>,
  page: number,
  credentials: MerchantCredentials,
  offsetMinutes: number,
  maxBytes = MAX_LIST_RESPONSE_BYTES,
): OrderListPage<Row> {
  if (!posted.ok) return { kind: 'error', reason: `order list query failed: ${posted.reason}` };
  if (posted.status < 200 || posted.status > 299) return { kind: 'error', reason: `order list query answered HTTP ${posted.status}` };
  return readOrderListResponse(posted.body, readRow, page, credentials, offsetMinutes, maxBytes);
}

/** Reads one row's fields, or says what is wrong with them. */
export type RowReader<Row> = (fields: Record<string, string>, offsetMinutes: number) => { ok: true; row: Row } | { ok: false; problem: string };

export function readOrderListResponse<Row>(
  body: string | Uint8Array,
  readRow: RowReader<Row>,
  page: number,
  credentials: MerchantCredentials,
  offsetMinutes: number,
  maxBytes = MAX_LIST_RESPONSE_BYTES,
): OrderListPage<Row> {
  const document = parseXmlDocument(body, { roots: ['response'], lists: ['orderInfo'], maxBytes });
  if (!document.ok) return { kind: 'error', reason: `the order list could not be read: ${document.problem}` };
  const content: XmlElement = typeof document.value.content === 'string' ? {} : document.value.content;
  const { orderInfo, ...rest } = content;
  const head = leafFields(rest);
  if (!head.ok) return { kind: 'error', reason: `the order list could not be read: ${head.problem}` };
  const fields = head.value;
  const results = (fields.results ?? '').trim();
  if (results === '') return { kind: 'error', reason: 'the order list answer has no results code' };
  if (results !== '00') {
    const details = shown((fields.details ?? '').trim(), 300);
    return { kind: 'error', code: shown(results, 20), reason: `the gateway refused the list query (results "${shown(results, 20)}"${details ? `: ${details}` : ''})` };
  }
  const missing = ['account', 'terminal', 'count', 'totalpages', 'pages'].filter((name) => !Object.hasOwn(fields, name));
  if (missing.length > 0) return { kind: 'error', reason: `the order list answer is missing: ${missing.join(', ')}` };
  const foreign = foreignAccountProblem(fields, credentials);
  if (foreign) return { kind: 'error', reason: `the order list answer is not ours: ${foreign}` };
  for (const name of ['count', 'totalpages', 'pages'] as const) {
    if (!COUNT.test(fields[name] ?? '')) return { kind: 'error', reason: `the order list's ${name} "${shown(fields[name] ?? '')}" is not a whole number` };
  }
  const answeredPage = Number(fields.pages);
  if (answeredPage !== page) return { kind: 'error', reason: `the order list answered page ${answeredPage}, we asked for page ${page}` };
  const rows: Row[] = [];
  for (const [position, info] of (Array.isArray(orderInfo) ? orderInfo : []).entries()) {
    const rowFields = leafFields(typeof info === 'string' || Array.isArray(info) ? '' : info);
    if (!rowFields.ok) return { kind: 'error', reason: `orderInfo #${position + 1}: ${rowFields.problem}` };
    const foreignRow = foreignAccountProblem(rowFields.value, credentials, { anyTerminal: true });
    const read = foreignRow ? { ok: false as const, problem: foreignRow } : readRow(rowFields.value, offsetMinutes);
    if (!read.ok) return { kind: 'error', reason: `orderInfo #${position + 1} (order "${shown(rowFields.value.order_number ?? '', 50)}"): ${read.problem}` };
    rows.push(read.row);
  }
  return { kind: 'page', page: answeredPage, totalPages: Number(fields.totalpages), count: Number(fields.count), rows };
}

type Check = readonly [field: string, test: (value: string) => boolean, rule: string];

const ORDER_NUMBER_CHECK: Check = ['order_number', (v) => v !== '' && v.length <= 50 && controlCharacterProblem('', v) === null, '1-50 characters without control characters'];
const COMMON_CHECKS: readonly Check[] = [
  ['payment_id', (v) => PAYMENT_ID.test(v), 'digits'],
  ORDER_NUMBER_CHECK,
  ['order_currency', (v) => CURRENCY.test(v), 'an ISO 4217 code'],
  ['order_amount', (v) => AMOUNT.test(v), 'a decimal amount with at most 2 decimals'],
];

function rowProblem(fields: Readonly<Record<string, string>>, checks: readonly Check[]): string | null {
  for (const [field, test, rule] of checks) {
    const value = fields[field];
    if (value === undefined) return `${field} is missing`;
    if (!test(value)) return `${field} "${shown(value, 60)}" is not ${rule}`;
  }
  return null;
}

type GatewayTime = { readonly text: string; readonly at: Date | null };

/** Gateway times as received plus the instants they name; a non-empty time that cannot be read is a problem. */
function readTimes<Name extends string>(
  fields: Readonly<Record<string, string>>,
  names: readonly Name[],
  offsetMinutes: number,
): { ok: true; times: Record<Name, GatewayTime> } | { ok: false; problem: string } {
  const times = {} as Record<Name, GatewayTime>;
  for (const name of names) {
    const text = (fields[name] ?? '').trim();
    const at = text === '' ? null : parseGatewayDateTime(text, offsetMinutes);
    if (text !== '' && at === null) return { ok: false, problem: `${name} "${shown(text, 40)}" is not a yyyy-MM-dd HH:mm:ss time` };
    times[name] = { text, at };
  }
  return { ok: true, times };
}

export const readSuccessOrderRow: RowReader<SuccessOrderRow> = (fields, offsetMinutes) => {
  const problem = rowProblem(fields, COMMON_CHECKS);
  if (problem) return { ok: false, problem };
  const read = readTimes(fields, ['payment_dateTime'], offsetMinutes);
  if (!read.ok) return read;
  const paid = read.times.payment_dateTime;
  return {
    ok: true,
    row: {
      account: fields.account ?? '',
      terminal: fields.terminal ?? '',
      paymentId: fields.payment_id ?? '',
      orderNumber: fields.order_number ?? '',
      currency: fields.order_currency ?? '',
      amount: fields.order_amount ?? '',
      methods: shown(fields.methods ?? '', 50),
      paymentDateTime: paid.text,
      paidAt: paid.at,
      raw: fields,
    },
  };
};

const BUSINESS_CHECKS: readonly Check[] = [
  ['type', (v) => /^[A-Za-z-]{1,30}$/.test(v), 'a business order type such as refund or chargeback'],
  ...COMMON_CHECKS,
  ['amount', (v) => AMOUNT.test(v), 'a decimal amount with at most 2 decimals'],
  ['status', (v) => /^-?\d{1,2}$/.test(v), 'a status code'],
];

export const readBusinessOrderRow: RowReader<BusinessOrderRow> = (fields, offsetMinutes) => {
  const problem = rowProblem(fields, BUSINESS_CHECKS);
  if (problem) return { ok: false, problem };
  const read = readTimes(fields, ['payment_dateTime', 'payment_debitTime', 'payment_cpdTime'], offsetMinutes);
  if (!read.ok) return read;
  const { payment_dateTime: paid, payment_debitTime: debited, payment_cpdTime: exception } = read.times;
  return {
    ok: true,
    row: {
      account: fields.account ?? '',
      terminal: fields.terminal ?? '',
      type: fields.type ?? '',
      paymentId: fields.payment_id ?? '',
      orderNumber: fields.order_number ?? '',
      orderCurrency: fields.order_currency ?? '',
      orderAmount: fields.order_amount ?? '',
      amount: fields.amount ?? '',
      status: fields.status ?? '',
      details: shown(fields.details ?? '', 300),
      methods: shown(fields.methods ?? '', 50),
      paymentDateTime: paid.text,
      debitTime: debited.text,
      exceptionTime: exception.text,
      paidAt: paid.at,
      debitedAt: debited.at,
      exceptionAt: exception.at,
      raw: fields,
    },
  };
};
