/**
 * The Oceanpayment client rebill uses: charge a stored card token, query an order, refund and
 * query a refund, and page through the order lists. Every method returns a value, never throws for
 * anything the network or the gateway does; only a bad request built by the caller (order number,
 * amount, dates) throws.
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { ValidationError } from '../../../lib/errors.ts';
import { buildChargeForm, orderNumberProblem } from './charge-request.ts';
import type { ChargeRequest } from './charge-request.ts';
import { readChargeResponse } from './charge-response.ts';
import { buildHostedCheckoutForm, readHostedCheckoutResponse } from './hosted-checkout.ts';
import type { HostedCheckoutRequest, HostedCheckoutStart } from './hosted-checkout.ts';
import { GATEWAY_UTC_OFFSET_MINUTES, utcOffsetProblem } from './gateway-time.ts';
import { postForm, postJson } from '../form-post.ts';
import { buildTokeniseForm, readQuickPayAnswer, type QuickPayAnswer, type TokeniseRequest } from './quickpay.ts';
import { buildOrderListForm, MAX_LIST_RESPONSE_BYTES, readBusinessOrderRow, readOrderListAnswer, readSuccessOrderRow } from './order-lists.ts';
import type {
  BusinessOrderListRequest, BusinessOrderRow, OrderListPage, OrderListRequest, RowReader, SuccessOrderRow,
} from './order-lists.ts';
import type { ChargeOutcome } from './outcome.ts';
import { readQueryResponse } from './query-response.ts';
import type { QueryResult } from './query-response.ts';
import { buildRefundQueryForm, readRefundQueryAnswer } from './refund-query.ts';
import type { RefundQuery, RefundQueryResult } from './refund-query.ts';
import { buildRefundForm, readRefundAnswer } from './refund.ts';
import type { RefundOutcome, RefundRequest } from './refund.ts';
import { OFFLINE_VOID_REQUEST_FIELDS, ORDER_QUERY_REQUEST_FIELDS, sign } from './sign.ts';
import type { MerchantCredentials, SignatureFields } from './sign.ts';
import { DEFAULT_MAX_XML_BYTES } from './xml.ts';

export type { ChargeRequest } from './charge-request.ts';
export type { QueryEntry, QueryResult } from './query-response.ts';
export type { RefundOutcome, RefundRequest } from './refund.ts';
export type { RefundQuery, RefundQueryResult } from './refund-query.ts';
export type {
  BusinessDateType, BusinessOrderListRequest, BusinessOrderRow, OrderListPage, OrderListPageSize, OrderListRequest, SuccessOrderRow,
} from './order-lists.ts';

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_METHODS = 'Credit Card';
const CONNECT_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_MS = 30_000;

export interface OceanpaymentClientOptions {
  /** Payments host, e.g. `https://test-secure.oceanpayment.com`; charges go to `{gatewayUrl}/gateway/direct/pay`. */
  readonly gatewayUrl: string;
  /** Order-management host, e.g. `https://test-query.oceanpayment.com`; queries go to `{queryUrl}/service/check/normal`. */
  readonly queryUrl: string;
  readonly credentials: MerchantCredentials;
  /** QuickPay JSON API host (§3.5), e.g. `https://checkout-s.oceanpayment.com`; the gateway URL when absent (the sandbox). */
  readonly quickPayUrl?: string;
  /** Whole-request limit for a charge or a query (bank authorisation can be slow). */
  readonly timeoutMs?: number;
  readonly methods?: string;
  /** Shared pool, or a MockAgent in unit tests; the client then does not close it. */
  readonly dispatcher?: Dispatcher;
  /**
   * The direct/pay request signature fields. Defaults to QUICKPAY_CHARGE_REQUEST_FIELDS, which is
   * inferred (§1.3); overridable so a corrected list can be tried without a code change.
   */
  readonly chargeSignatureFields?: SignatureFields;
  readonly maxResponseBytes?: number;
  /** The gateway's zone for the order lists' dates, in minutes east of UTC; UTC+8 (480) by default. */
  readonly gatewayUtcOffsetMinutes?: number;
}

export class OceanpaymentClient {
  readonly #chargeUrl: string;
  readonly #checkoutUrl: string;
  readonly #gatewayHost: string;
  readonly #tokeniseUrl: string;
  readonly #quickPayHost: string;
  readonly #queryUrl: string;
  readonly #credentials: MerchantCredentials;
  readonly #timeoutMs: number;
  readonly #methods: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #chargeSignatureFields: SignatureFields | undefined;
  readonly #maxResponseBytes: number;
  readonly #queryHost: string;
  readonly #gatewayUtcOffsetMinutes: number;

  constructor(options: OceanpaymentClientOptions) {
    this.#chargeUrl = joinUrl(options.gatewayUrl, '/gateway/direct/pay');
    this.#checkoutUrl = joinUrl(options.gatewayUrl, '/gateway/service/sendTrade');
    this.#gatewayHost = options.gatewayUrl;
    this.#tokeniseUrl = joinUrl(options.gatewayUrl, '/gateway/service/create');
    this.#quickPayHost = options.quickPayUrl ?? options.gatewayUrl;
    this.#queryUrl = joinUrl(options.queryUrl, '/service/check/normal');
    this.#queryHost = options.queryUrl;
    this.#gatewayUtcOffsetMinutes = options.gatewayUtcOffsetMinutes ?? GATEWAY_UTC_OFFSET_MINUTES;
    const offsetProblem = utcOffsetProblem(this.#gatewayUtcOffsetMinutes);
    if (offsetProblem) throw new ValidationError(offsetProblem);
    this.#credentials = options.credentials;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#methods = options.methods ?? DEFAULT_METHODS;
    this.#chargeSignatureFields = options.chargeSignatureFields;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_XML_BYTES;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({
      connect: { timeout: Math.min(CONNECT_TIMEOUT_MS, this.#timeoutMs) },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      keepAliveTimeout: KEEP_ALIVE_MS,
      // undici 8 would speak HTTP/2 when the server offers it; the gateway's integration is
      // specified and tested over HTTP/1.1, so stay there.
      allowH2: false,
    });
  }

  /**
   * Charges a stored card token. Any answer that is missing, late, unreadable, unsigned or about
   * another charge gives `{ kind: 'unknown' }`: query the order before charging that period again.
   */
  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    return this.#pay(this.#chargeUrl, request, this.#methods);
  }

  /**
   * A face-to-face WeChat Pay or Alipay order (`/gateway/directservice/pay`, seed 001): with
   * `payAccountNumber` it charges the code the customer showed; with `methods` WeChatPay_Offline or
   * Alipay_Offline it answers pending with the code for the customer to scan (`scanCode`).
   */
  async collectInPerson(request: ChargeRequest, methods: '' | 'WeChatPay_Offline' | 'Alipay_Offline'): Promise<ChargeOutcome> {
    return this.#pay(joinUrl(this.#gatewayHost, '/gateway/directservice/pay'), request, methods);
  }

  /**
   * Voids an unpaid face-to-face order (`/gateway/service/auth`, payment_authType 3, §3.3). Its
   * answer's fields are not documented, so only whether it was delivered is reported: the order
   * query then says what the order is.
   */
  async voidInPerson(orderNumber: string): Promise<{ kind: 'sent'; status: number } | { kind: 'unknown'; reason: string }> {
    const problem = orderNumberProblem(orderNumber);
    if (problem) throw new ValidationError(problem);
    const values = { account: this.#credentials.account, terminal: this.#credentials.terminal, order_number: orderNumber, payment_authType: '3' };
    const fields: Array<readonly [string, string]> = [...Object.entries(values), ['signValue', sign(OFFLINE_VOID_REQUEST_FIELDS, values, this.#credentials.secureCode)]];
    const posted = await postForm(joinUrl(this.#gatewayHost, '/gateway/service/auth'), fields, this.#postOptions());
    return posted.ok ? { kind: 'sent', status: posted.status } : { kind: 'unknown', reason: posted.reason };
  }

  async #pay(url: string, request: ChargeRequest, methods: string): Promise<ChargeOutcome> {
    const form = buildChargeForm(request, this.#credentials, {
      methods,
      ...(this.#chargeSignatureFields ? { signatureFields: this.#chargeSignatureFields } : {}),
    });
    const posted = await postForm(url, form.fields, this.#postOptions());
    if (!posted.ok) {
      return {
        kind: 'unknown',
        reason: posted.reachedGateway
          ? `${posted.reason}; the charge may or may not have been made`
          : `${posted.reason}; nothing reached the gateway, so the charge was almost certainly not made (query to be sure)`,
      };
    }
    if (posted.status < 200 || posted.status > 299) {
      return { kind: 'unknown', reason: `the gateway answered HTTP ${posted.status}; the charge may or may not have been made` };
    }
    return readChargeResponse(
      posted.body,
      { orderNumber: request.orderNumber, money: { amountMinor: request.amountMinor, currency: request.currency } },
      this.#credentials,
      this.#maxResponseBytes,
    );
  }

  /**
   * Opens the gateway's hosted payment page for a first purchase (`/gateway/service/sendTrade`).
   * Only a verified answer about this order is believed; anything else is `unknown`.
   */
  async hostedCheckout(request: HostedCheckoutRequest): Promise<HostedCheckoutStart> {
    const form = buildHostedCheckoutForm(request, this.#credentials, { methods: this.#methods });
    const posted = await postForm(this.#checkoutUrl, form, this.#postOptions());
    if (!posted.ok) return { kind: 'unknown', reason: `checkout request failed: ${posted.reason}` };
    if (posted.status < 200 || posted.status > 299) return { kind: 'unknown', reason: `the gateway answered HTTP ${posted.status} to the checkout request` };
    const sent = { orderNumber: request.orderNumber, orderNotes: request.orderNotes, money: { amountMinor: request.amountMinor, currency: request.currency } };
    return readHostedCheckoutResponse(posted.body, sent, this.#credentials, this.#maxResponseBytes);
  }

  /** Where the customer's browser posts to save a new card, and the signed form it posts (§1.2). */
  tokenisePage(request: TokeniseRequest): { action: string; fields: Array<readonly [string, string]> } {
    return { action: this.#tokeniseUrl, fields: buildTokeniseForm(request, this.#credentials, this.#methods) };
  }

  /** The QuickPay ID the gateway holds for a customer id, or for a token (§3.5). */
  async quickPayQuery(by: { customerId: string } | { quickpayId: string }): Promise<QuickPayAnswer> {
    const body = 'customerId' in by ? { customer: { id: by.customerId } } : { quickpay: { id: by.quickpayId } };
    return this.#quickPay('/pg/quickPay/query', body);
  }

  /** Disables a QuickPay ID so it can pay no more (§3.5); the gateway keeps its records. */
  async quickPayCancel(quickpayId: string): Promise<QuickPayAnswer> {
    return this.#quickPay('/pg/quickPay/cancel', { quickpay: { id: quickpayId } });
  }

  async #quickPay(path: string, body: unknown): Promise<QuickPayAnswer> {
    // The QuickPay API takes the terminal's credentials as headers and has no signValue (§3.5).
    const { account, terminal, secureCode } = this.#credentials;
    const posted = await postJson(joinUrl(this.#quickPayHost, path), body, { account, terminal, secureCode }, this.#postOptions());
    if (!posted.ok) return { kind: 'error', reason: `QuickPay API request failed: ${posted.reason}` };
    if (posted.status < 200 || posted.status > 299) return { kind: 'error', reason: `the QuickPay API answered HTTP ${posted.status}` };
    return readQuickPayAnswer(posted.body);
  }

  /** Every payment attempt recorded for an order number, newest first, as the gateway orders them. */
  async query(orderNumber: string): Promise<QueryResult> {
    // A comma would turn this into a multi-order query (§3.1); a bad number is the caller's bug.
    const problem = orderNumberProblem(orderNumber);
    if (problem) throw new ValidationError(problem);
    const values = { account: this.#credentials.account, terminal: this.#credentials.terminal, order_number: orderNumber };
    const fields: Array<readonly [string, string]> = [
      ['account', values.account],
      ['terminal', values.terminal],
      ['order_number', orderNumber],
      ['signValue', sign(ORDER_QUERY_REQUEST_FIELDS, values, this.#credentials.secureCode)],
    ];
    const posted = await postForm(this.#queryUrl, fields, this.#postOptions());
    if (!posted.ok) return { kind: 'error', reason: `order query failed: ${posted.reason}` };
    if (posted.status < 200 || posted.status > 299) {
      return { kind: 'error', reason: `order query answered HTTP ${posted.status}` };
    }
    return readQueryResponse(posted.body, orderNumber, this.#credentials, this.#maxResponseBytes);
  }

  /**
   * Asks the gateway to refund all or part of a payment (`/service/applyRefund`). `accepted`
   * means pending, not refunded: follow it with `queryRefund`. After `unknown`, query by refund
   * number before asking again.
   */
  async applyRefund(request: RefundRequest): Promise<RefundOutcome> {
    const form = buildRefundForm(request, this.#credentials);
    const posted = await postForm(joinUrl(this.#queryHost, '/service/applyRefund'), form, this.#postOptions());
    return readRefundAnswer(posted, request, this.#credentials, this.#maxResponseBytes);
  }

  /** Where a refund stands (`/service/queryRefund`), by its refund id or, failing that, our refund number. */
  async queryRefund(query: RefundQuery): Promise<RefundQueryResult> {
    const form = buildRefundQueryForm(query, this.#credentials);
    const posted = await postForm(joinUrl(this.#queryHost, '/service/queryRefund'), form, this.#postOptions());
    return readRefundQueryAnswer(posted, query, this.#credentials, this.#maxResponseBytes);
  }

  /** One page of the successful payments in a window (`/service/QueryOrdersList`). */
  async successOrders(request: OrderListRequest): Promise<OrderListPage<SuccessOrderRow>> {
    return this.#orderList('success', '/service/QueryOrdersList', request, readSuccessOrderRow);
  }

  /** One page of the refunds, chargebacks and other business orders in a window (`/service/BusinessOrdersList`). */
  async businessOrders(request: BusinessOrderListRequest): Promise<OrderListPage<BusinessOrderRow>> {
    return this.#orderList('business', '/service/BusinessOrdersList', request, readBusinessOrderRow);
  }

  async #orderList<Row>(
    list: 'success' | 'business',
    path: string,
    request: BusinessOrderListRequest,
    readRow: RowReader<Row>,
  ): Promise<OrderListPage<Row>> {
    if (!Number.isInteger(request.page) || request.page < 1) throw new ValidationError(`page ${request.page} must be a whole number from 1`);
    const form = buildOrderListForm(list, request, this.#credentials, this.#gatewayUtcOffsetMinutes);
    const maxBytes = Math.max(this.#maxResponseBytes, MAX_LIST_RESPONSE_BYTES);
    const posted = await postForm(joinUrl(this.#queryHost, path), form, { ...this.#postOptions(), maxResponseBytes: maxBytes });
    return readOrderListAnswer(posted, readRow, request.page, this.#credentials, this.#gatewayUtcOffsetMinutes, maxBytes);
  }

  /** Closes the connection pool the client created (not a dispatcher passed in). */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  #postOptions() {
    return { dispatcher: this.#dispatcher, timeoutMs: this.#timeoutMs, maxResponseBytes: this.#maxResponseBytes };
  }
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}
