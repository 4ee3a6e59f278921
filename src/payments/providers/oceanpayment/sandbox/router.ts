/**
 * Maps requests to handlers: the gateway endpoints rebill calls, the 3-D Secure page, and the
 * sandbox's own JSON endpoints (ledger, faults). Any failure inside a handler becomes a 500 for
 * that request only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { recordChargeback } from './chargebacks.ts';
import type { SandboxContext } from './context.ts';
import { handleDirectPay } from './direct-pay.ts';
import { faultProblems, mergeFaults } from './faults.ts';
import type { FaultSettings } from './faults.ts';
import { MAX_REQUEST_BYTES, parseForm, readBody, sendJson, sendText } from './http-util.ts';
import { handleBusinessOrdersList, handleSuccessOrdersList } from './order-lists.ts';
import { CHECKOUT_PAGE_PATH, completeCheckout, handleSendTrade, showCheckoutPage } from './hosted-checkout.ts';
import { handleOrderQuery } from './order-query.ts';
import { handleQuickPay, saveCard, startTokenise, TOKENISE_CARD_PATH, TOKENISE_PATH } from './tokenise.ts';
import { bookOutOfBandOrder } from './out-of-band-orders.ts';
import { handleFaceToFacePay, handleOfflineVoid } from './face-to-face.ts';
import { handleApplyRefund, handleRefundQuery, settleRefundByControl } from './refunds.ts';
import { completeChallenge, PAY_URL_PATH, showChallenge } from './three-d-secure.ts';
import { SandboxClosedError } from './timers.ts';

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

const INDEX_TEXT = `Oceanpayment sandbox
POST /gateway/direct/pay          charge a stored card token (form-urlencoded)
POST /gateway/service/sendTrade   open a hosted checkout for a first purchase (form-urlencoded)
POST /gateway/service/create      save a card without a payment: the browser's signed form, a card page, back to backUrl
POST /pg/quickPay/query, /pg/quickPay/cancel  QuickPay API (JSON; account, terminal, secureCode headers)
POST /service/check/normal        order query (form-urlencoded)
POST /service/applyRefund         refund a payment (form-urlencoded)
POST /service/queryRefund         refund status (form-urlencoded)
POST /service/QueryOrdersList     approved payments in a time window, paged (form-urlencoded)
POST /service/BusinessOrdersList  refunds and chargebacks in a time window, paged (form-urlencoded)
GET  ${PAY_URL_PATH}?pay_id=…  3-D Secure page (and a face-to-face QR order's wallet page)
POST /gateway/directservice/pay  face-to-face WeChat Pay / Alipay: a QR order, or a scanned code
POST /gateway/service/auth  void an unpaid face-to-face order (payment_authType 3)
GET  ${CHECKOUT_PAGE_PATH}?pay_id=…  hosted checkout page (card form)
GET  /sandbox/ledger?offset=&limit=&order_number=
GET  /sandbox/ledger/summary
GET  /sandbox/faults, POST /sandbox/faults (JSON)
POST /sandbox/refunds/{refund_id}  settle a pending refund: {"status": "refunded" | "failed"}
POST /sandbox/chargebacks          charge back an order: {"order_number": "…"}
POST /sandbox/orders               book an approved payment the merchant never sent: {"order_number", "amount", "currency"}`;

type Handler = (context: SandboxContext, request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void> | void;

const ROUTES: Record<string, Partial<Record<string, Handler>>> = {
  '/gateway/direct/pay': {
    POST: withForm((context, form, response) => handleDirectPay(context, form, response)),
  },
  '/gateway/directservice/pay': {
    POST: withForm((context, form, response) => handleFaceToFacePay(context, form, response)),
  },
  '/gateway/service/auth': { POST: withForm((context, form, response) => handleOfflineVoid(context, form, response)) },
  '/service/check/normal': {
    POST: withForm((context, form, response) => handleOrderQuery(context, form, response)),
  },
  '/service/applyRefund': { POST: withForm((context, form, response) => handleApplyRefund(context, form, response)) },
  '/service/queryRefund': { POST: withForm((context, form, response) => handleRefundQuery(context, form, response)) },
  '/service/QueryOrdersList': { POST: withForm((context, form, response) => handleSuccessOrdersList(context, form, response)) },
  '/service/BusinessOrdersList': { POST: withForm((context, form, response) => handleBusinessOrdersList(context, form, response)) },
  '/gateway/service/sendTrade': {
    POST: withForm((context, form, response) => handleSendTrade(context, form, response)),
  },
  [CHECKOUT_PAGE_PATH]: {
    GET: (context, _request, response, url) => showCheckoutPage(context, url.searchParams.get('pay_id') ?? '', response),
    POST: withForm((context, form, response, url) => completeCheckout(context, url.searchParams.get('pay_id') ?? '', form, response)),
  },
  [TOKENISE_PATH]: { POST: withForm((context, form, response) => startTokenise(context, form, response)) },
  [TOKENISE_CARD_PATH]: { POST: withForm((context, form, response, url) => saveCard(context, url.searchParams.get('session') ?? '', form, response)) },
  '/pg/quickPay/query': { POST: (context, request, response) => handleQuickPay(context, request, response, 'query') },
  '/pg/quickPay/cancel': { POST: (context, request, response) => handleQuickPay(context, request, response, 'cancel') },
  '/sandbox/chargebacks': { POST: recordChargeback },
  '/sandbox/orders': { POST: bookOutOfBandOrder },
  [PAY_URL_PATH]: {
    GET: (context, _request, response, url) => showChallenge(context, url.searchParams.get('pay_id') ?? '', response),
    POST: withForm((context, form, response, url) => completeChallenge(context, url.searchParams.get('pay_id') ?? '', form, response)),
  },
  '/sandbox/ledger': { GET: showLedger },
  '/sandbox/ledger/summary': { GET: (context, _request, response) => sendJson(response, 200, context.ledger.summary()) },
  '/sandbox/faults': {
    GET: (context, _request, response) => sendJson(response, 200, context.faults),
    POST: updateFaults,
  },
  '/': { GET: (_context, _request, response) => sendText(response, 200, INDEX_TEXT) },
};

/** Routes whose last path segment is an id, by the path before it. */
const ID_ROUTES: Record<string, Partial<Record<string, Handler>>> = {
  '/sandbox/refunds/': { POST: settleRefundByControl },
};

function routesFor(pathname: string): Partial<Record<string, Handler>> | undefined {
  if (Object.hasOwn(ROUTES, pathname)) return ROUTES[pathname];
  const prefix = pathname.slice(0, pathname.lastIndexOf('/') + 1);
  return Object.hasOwn(ID_ROUTES, prefix) && pathname.length > prefix.length ? ID_ROUTES[prefix] : undefined;
}

export function createRouter(context: SandboxContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://sandbox.invalid');
    const routes = routesFor(url.pathname);
    const method = request.method ?? 'GET';
    const handler = routes && Object.hasOwn(routes, method) ? routes[method] : undefined;
    if (!routes) return sendText(response, 404, `no such endpoint: ${url.pathname}`);
    if (!handler) {
      response.setHeader('allow', Object.keys(routes).join(', '));
      return sendText(response, 405, `${request.method} is not allowed on ${url.pathname}`);
    }
    Promise.resolve()
      .then(() => handler(context, request, response, url))
      .catch((error: unknown) => {
        if (error instanceof SandboxClosedError || context.timers.closed) {
          response.destroy();
          return;
        }
        context.logger?.error({ err: error, path: url.pathname }, 'sandbox handler failed');
        sendText(response, 500, 'sandbox internal error');
      });
  };
}

type FormHandler = (context: SandboxContext, form: Record<string, string>, response: ServerResponse, url: URL) => Promise<void> | void;

function withForm(handler: FormHandler): Handler {
  return async (context, request, response, url) => {
    const body = await readBody(request);
    if (!body.ok) {
      response.setHeader('connection', 'close');
      return sendText(response, 413, `request body is ${body.size} bytes; the limit is ${MAX_REQUEST_BYTES}`);
    }
    return handler(context, parseForm(body.body), response, url);
  };
}

function showLedger(context: SandboxContext, _request: IncomingMessage, response: ServerResponse, url: URL): void {
  const offset = nonNegativeInteger(url.searchParams.get('offset'), 0);
  const requestedLimit = nonNegativeInteger(url.searchParams.get('limit'), DEFAULT_PAGE_SIZE);
  if (offset === undefined || requestedLimit === undefined) {
    return sendJson(response, 400, { error: 'offset and limit must be whole numbers >= 0' });
  }
  const limit = Math.min(requestedLimit, MAX_PAGE_SIZE);
  const orderNumber = url.searchParams.get('order_number') ?? undefined;
  const page = context.ledger.entries(offset, limit, orderNumber === undefined ? undefined : { orderNumber });
  sendJson(response, 200, { total: page.total, offset, limit, entries: page.entries });
}

async function updateFaults(context: SandboxContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  if (!body.ok) return sendJson(response, 413, { error: `body larger than ${MAX_REQUEST_BYTES} bytes` });
  let update: unknown;
  try {
    update = JSON.parse(body.body.toString('utf8'));
  } catch {
    return sendJson(response, 400, { error: 'body must be a JSON object such as {"timeoutShare": 0.1}' });
  }
  const problems = faultProblems(update);
  if (problems.length > 0) return sendJson(response, 400, { error: 'invalid faults', problems });
  context.faults = mergeFaults(context.faults, update as Partial<FaultSettings>);
  context.logger?.info({ faults: context.faults }, 'faults changed');
  sendJson(response, 200, context.faults);
}

function nonNegativeInteger(text: string | null, fallback: number): number | undefined {
  if (text === null || text === '') return fallback;
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}
