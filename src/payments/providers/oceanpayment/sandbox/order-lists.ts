/**
 * `POST /service/QueryOrdersList` (approved payments) and `POST /service/BusinessOrdersList`
 * (refunds and chargebacks) for a time window in the gateway's zone (UTC+8), paged: `pages`
 * 1..`totalpages`, `count` 10, 50 or 100 orders a page (10 by default). Answer shapes follow the
 * documentation's examples (§10); `count` in the answer is the number of orders in the whole
 * window, and a business row's status is 1 done, 0 failed or -1 pending (the sandbox's choice
 * for a refund still pending). `date_type` picks the business order's time: 0 review and 2
 * exception (the refund's or chargeback's own time), 1 transaction (the payment's).
 */
import type { ServerResponse } from 'node:http';
import { parseGatewayDateTime } from '../gateway-time.ts';
import { BUSINESS_ORDERS_LIST_REQUEST_FIELDS, ORDERS_LIST_REQUEST_FIELDS, sign, verify } from '../sign.ts';
import type { SignatureFields } from '../sign.ts';
import { buildXml } from '../xml.ts';
import type { XmlChildren } from '../xml.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { gatewayDateTime } from './gateway-messages.ts';
import { sendXml } from './http-util.ts';
import type { ChargeView } from './ledger.ts';

type Form = Readonly<Record<string, string>>;

const field = (form: Form, name: string): string => (Object.hasOwn(form, name) ? (form[name] ?? '') : '');

/** The sandbox's own signValue on list answers (the real formula is unknown): clients must not rely on it. */
export const SANDBOX_LIST_ANSWER_SIGN_FIELDS: SignatureFields = ['account', 'terminal', 'results', 'count', 'totalpages', 'pages'];

const PAGE_SIZES = ['10', '50', '100'];
const DATE_TYPES = ['0', '1', '2'];

interface ListRequest {
  readonly account: string;
  readonly terminal: string;
  readonly secureCode: string;
  /** The window in milliseconds, both ends inclusive to the second. */
  readonly from: number;
  readonly to: number;
  readonly page: number;
  readonly pageSize: number;
  readonly dateType: string;
}

type Parsed = { ok: true; request: ListRequest } | { ok: false; code: string; details: string };

export async function handleSuccessOrdersList(context: SandboxContext, form: Form, response: ServerResponse): Promise<void> {
  const parsed = parseRequest(context, form, ORDERS_LIST_REQUEST_FIELDS);
  await context.timers.sleep(context.faults.latencyMs);
  if (!parsed.ok) return sendXml(response, errorAnswer(form, parsed));
  const { request } = parsed;
  const rows = context.ledger.approvedBetween(request.from, request.to, request);
  sendXml(response, pageAnswer(request, rows, (index) => successChildren(context.ledger.get(index))));
}

function successChildren(charge: ChargeView): XmlChildren {
  return [
    ['account', charge.account],
    ['terminal', charge.terminal],
    ['payment_id', charge.paymentId],
    ['order_number', charge.orderNumber],
    ['order_currency', charge.currency],
    ['order_amount', charge.amount],
    ['methods', 'Credit Card'],
    ['payment_dateTime', gatewayDateTime(charge.updatedAt)],
  ];
}

interface BusinessRow {
  readonly at: number;
  readonly charge: ChargeView;
  readonly children: XmlChildren;
}

export async function handleBusinessOrdersList(context: SandboxContext, form: Form, response: ServerResponse): Promise<void> {
  const parsed = parseRequest(context, form, BUSINESS_ORDERS_LIST_REQUEST_FIELDS);
  await context.timers.sleep(context.faults.latencyMs);
  if (!parsed.ok) return sendXml(response, errorAnswer(form, parsed));
  const { request } = parsed;
  const { ledger } = context;
  const rows: BusinessRow[] = [];
  for (const event of ledger.business.events()) {
    const row = event.kind === 'refund' ? refundRow(context, event.row, request.dateType) : chargebackRow(context, event.row, request.dateType);
    const { charge, at } = row;
    if (charge.account !== request.account || charge.terminal !== request.terminal) continue;
    if (at >= request.from && at <= request.to) rows.push(row);
  }
  rows.sort((a, b) => a.at - b.at);
  sendXml(response, pageAnswer(request, rows, (row) => row.children));
}

function refundRow(context: SandboxContext, row: number, dateType: string): BusinessRow {
  const refund = context.ledger.business.refund(row);
  const charge = context.ledger.get(refund.charge);
  const status = refund.status === 'refunded' ? '1' : refund.status === 'failed' ? '0' : '-1';
  return {
    at: dateType === '1' ? charge.updatedAt : refund.createdAt,
    charge,
    children: businessChildren(charge, 'refund', {
      debitTime: refund.status === 'pending' ? '' : gatewayDateTime(refund.updatedAt),
      exceptionTime: '',
      amount: refund.amount,
      status,
      details: refund.description,
    }),
  };
}

function chargebackRow(context: SandboxContext, row: number, dateType: string): BusinessRow {
  const chargeback = context.ledger.business.chargeback(row);
  const charge = context.ledger.get(chargeback.charge);
  return {
    at: dateType === '1' ? charge.updatedAt : chargeback.createdAt,
    charge,
    children: businessChildren(charge, 'chargeback', {
      debitTime: gatewayDateTime(chargeback.createdAt),
      exceptionTime: gatewayDateTime(chargeback.createdAt),
      amount: chargeback.amount,
      status: '1',
      details: chargeback.reason,
    }),
  };
}

function businessChildren(
  charge: ChargeView,
  type: 'refund' | 'chargeback',
  row: { debitTime: string; exceptionTime: string; amount: string; status: string; details: string },
): XmlChildren {
  return [
    ['account', charge.account],
    ['terminal', charge.terminal],
    ['type', type],
    ['payment_id', charge.paymentId],
    ['order_number', charge.orderNumber],
    ['order_currency', charge.currency],
    ['order_amount', charge.amount],
    ['methods', 'Credit Card'],
    ['payment_dateTime', gatewayDateTime(charge.updatedAt)],
    ['payment_debitTime', row.debitTime],
    ['payment_cpdTime', row.exceptionTime],
    ['amount', row.amount],
    ['status', row.status],
    ['details', row.details],
  ];
}

function parseRequest(context: SandboxContext, form: Form, signatureFields: SignatureFields): Parsed {
  const account = field(form, 'account');
  const terminal = field(form, 'terminal');
  const secureCode = secureCodeFor(context, account, terminal);
  if (secureCode === undefined) return { ok: false, code: '20016', details: 'Terminal not match to interface (unknown account or terminal)' };
  if (!verify(signatureFields, form, secureCode, field(form, 'signValue'))) return { ok: false, code: '20013', details: 'Incorrect sign value' };
  const from = parseGatewayDateTime(field(form, 'order_beginDate'))?.getTime();
  const to = parseGatewayDateTime(field(form, 'order_endDate'))?.getTime();
  if (from === undefined || to === undefined) {
    return { ok: false, code: 'S01', details: 'order_beginDate and order_endDate must be yyyy-MM-dd HH:mm:ss' };
  }
  if (from > to) return { ok: false, code: 'S01', details: 'order_beginDate is after order_endDate' };
  const pages = field(form, 'pages');
  if (!/^\d{0,5}$/.test(pages)) return { ok: false, code: 'S01', details: 'pages must be a page number' };
  const count = field(form, 'count') || '10';
  if (!PAGE_SIZES.includes(count)) return { ok: false, code: 'S01', details: 'count must be 10, 50 or 100' };
  const dateType = field(form, 'date_type') || '0';
  if (!DATE_TYPES.includes(dateType)) return { ok: false, code: 'S01', details: 'date_type must be 0, 1 or 2' };
  return {
    ok: true,
    request: { account, terminal, secureCode, from, to: to + 999, page: Math.max(1, Number(pages)), pageSize: Number(count), dateType },
  };
}

function pageAnswer<Row>(request: ListRequest, rows: readonly Row[], children: (row: Row) => XmlChildren): string {
  const totalPages = Math.ceil(rows.length / request.pageSize);
  const start = (request.page - 1) * request.pageSize;
  const values = {
    account: request.account, terminal: request.terminal, results: '00',
    count: String(rows.length), totalpages: String(totalPages), pages: String(request.page),
  };
  return buildXml('response', [
    ['account', values.account],
    ['terminal', values.terminal],
    ['signValue', sign(SANDBOX_LIST_ANSWER_SIGN_FIELDS, values, request.secureCode).toUpperCase()],
    ['results', values.results],
    ['details', 'Success'],
    ['count', values.count],
    ['totalpages', values.totalpages],
    ['pages', values.pages],
    ...rows.slice(start, start + request.pageSize).map((row): readonly [string, XmlChildren] => ['orderInfo', children(row)]),
  ]);
}

/** The real error codes are undocumented: 20013 and 20016 as on the payments host, S01 the sandbox's own for a bad parameter. */
function errorAnswer(form: Form, error: { code: string; details: string }): string {
  return buildXml('response', [
    ['account', field(form, 'account').slice(0, 50)],
    ['terminal', field(form, 'terminal').slice(0, 50)],
    ['signValue', ''],
    ['results', error.code],
    ['details', error.details],
    ['count', '0'],
    ['totalpages', '0'],
    ['pages', field(form, 'pages').slice(0, 5)],
  ]);
}
