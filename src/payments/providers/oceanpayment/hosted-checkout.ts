/**
 * Hosted checkout (seed 000): rebill posts the first purchase to `/gateway/service/sendTrade`
 * (server to server), and the gateway answers with a signed `<respon>` carrying the `pay_url` of
 * its own payment page, where the customer enters the card. The result then arrives like any
 * payment result (notice, browser return), with the new card token in `quickpay_id`.
 */
import { ValidationError } from '../../../lib/errors.ts';
import { gatewayAmount, sameGatewayAmount, type Money } from '../../../lib/money.ts';
import { customerAndProductFields, orderNumberProblem, signedForm, type ChargeRequest } from './charge-request.ts';
import { formatProblems, ORDER_FIELD_FORMATS, type FieldFormats } from './result-format.ts';
import type { ServiceMode } from './service-mode.ts';
import { HOSTED_CHECKOUT_REQUEST_FIELDS, HOSTED_CHECKOUT_RESPONSE_FIELDS, verifyMessage } from './sign.ts';
import type { MerchantCredentials, TerminalCredentials } from './sign.ts';
import { parseFlatXml } from './xml.ts';

export interface HostedCheckoutRequest extends Omit<ChargeRequest, 'quickpayId'> {
  /** The first purchase's mode (X1), so the token the page creates is for recurring use. */
  readonly serviceMode: ServiceMode;
}

/** What the sendTrade answer means. */
export type HostedCheckoutStart =
  /** The gateway's page is ready: send the customer to `payUrl`. */
  | { kind: 'redirect'; payUrl: string; paymentId: string }
  /** The gateway refused the request (pay_results not 1): nothing can be paid on it. */
  | { kind: 'refused'; code: string; message: string }
  /** No believable answer: the order may or may not exist at the gateway. */
  | { kind: 'unknown'; reason: string };

/** Builds and signs the sendTrade form (§1.1): the request carries exactly the strings hashed. */
export function buildHostedCheckoutForm(
  request: HostedCheckoutRequest,
  credentials: TerminalCredentials,
  options: { methods: string },
): Array<readonly [string, string]> {
  const problem = orderNumberProblem(request.orderNumber);
  if (problem) throw new ValidationError(problem);
  const orderAmount = gatewayAmount({ amountMinor: request.amountMinor, currency: request.currency });
  const unsigned: Array<[string, string]> = [
    ['account', credentials.account],
    ['terminal', credentials.terminal],
    ['backUrl', request.backUrl],
    ['noticeUrl', request.noticeUrl],
    ['methods', options.methods],
    ['service_mode', request.serviceMode],
    ['order_number', request.orderNumber],
    ['order_currency', request.currency],
    ['order_amount', orderAmount],
    ['order_notes', request.orderNotes],
    ...customerAndProductFields(request, orderAmount),
  ];
  return signedForm(unsigned, HOSTED_CHECKOUT_REQUEST_FIELDS, credentials.secureCode);
}

const REQUIRED = [
  'account', 'terminal', 'signValue', 'order_number', 'order_currency', 'order_amount', 'order_notes',
  'payment_id', 'pay_url', 'pay_results', 'pay_details',
] as const;

/**
 * Format before signature: the response signature joins its values with no separators, so every
 * signed field must have exactly its shape before the signature means anything (§10).
 */
const FORMATS: FieldFormats = [
  ...ORDER_FIELD_FORMATS,
  ['payment_id', /^\d{0,32}$/, 'digits, or empty'],
  ['pay_url', /^(https?:\/\/[^\s\u0000-\u001f"<>]{1,1000})?$/, 'an http(s) URL, or empty'],
  ['pay_results', /^[01]$/, '0 or 1'],
  ['pay_details', /^(\d{4,5}:[^\u0000-\u001f]*)?$/, 'a code, a colon and a text ("0000:Success"), or empty'],
];

export interface SentHostedCheckout {
  readonly orderNumber: string;
  readonly orderNotes: string;
  readonly money: Money;
}

/** Reads the sendTrade `<respon>`; only a verified answer about the order we sent is believed. */
export function readHostedCheckoutResponse(
  body: string | Uint8Array,
  sent: SentHostedCheckout,
  credentials: MerchantCredentials,
  maxBytes?: number,
): HostedCheckoutStart {
  const parsed = parseFlatXml(body, { roots: ['respon'], required: REQUIRED, maxBytes });
  if (!parsed.ok) return { kind: 'unknown', reason: `the gateway's checkout answer could not be read: ${parsed.problem}` };
  const { fields } = parsed.value;
  const problems = formatProblems(fields, FORMATS);
  if (problems.length) return { kind: 'unknown', reason: `the gateway's checkout answer has a malformed signed field: ${problems.join('; ')}` };
  const verification = verifyMessage(HOSTED_CHECKOUT_RESPONSE_FIELDS, fields, credentials);
  if (!verification.ok) return { kind: 'unknown', reason: `the gateway's checkout answer failed verification: ${verification.problem}` };
  const mismatch =
    fields.order_number !== sent.orderNumber ? `order_number is "${fields.order_number}", we sent "${sent.orderNumber}"`
    : fields.order_currency !== sent.money.currency ? `order_currency is "${fields.order_currency}", we sent "${sent.money.currency}"`
    : !sameGatewayAmount(fields.order_amount ?? '', sent.money) ? `order_amount is "${fields.order_amount}", not the amount we sent`
    : fields.order_notes !== sent.orderNotes ? 'order_notes is not what we sent'
    : null;
  if (mismatch) return { kind: 'unknown', reason: `the gateway's checkout answer is not about this order: ${mismatch}` };
  const details = fields.pay_details ?? '';
  const code = details.split(':', 1)[0] ?? '';
  if (fields.pay_results !== '1') return { kind: 'refused', code, message: details || 'the gateway refused the checkout' };
  if (!fields.pay_url) return { kind: 'unknown', reason: 'the gateway accepted the checkout but gave no pay_url' };
  return { kind: 'redirect', payUrl: fields.pay_url, paymentId: fields.payment_id ?? '' };
}
