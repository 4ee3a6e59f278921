/**
 * Oceanpayment `signValue`: SHA-256 (hex) over the plain concatenation of some field values in a
 * fixed order followed by the terminal's secure code. No separators, no key names, no sorting.
 * Each formula below cites its section in docs/oceanpayment-protocol.md and how sure we are of it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Field names whose values are concatenated, in order, before the secure code. */
export type SignatureFields = readonly string[];

/**
 * Card payment on `/gateway/direct/pay` (with `card_data`) and on `/gateway/directservice/pay`
 * (§1.3, §1.4). CONFIRMED by the official one-page plugin. No backUrl.
 */
export const DIRECT_PAY_REQUEST_FIELDS: SignatureFields = [
  'account', 'terminal', 'order_number', 'order_currency', 'order_amount',
  'billing_firstName', 'billing_lastName', 'billing_email',
];

/**
 * Subscription charge on `/gateway/direct/pay` with `quickpay_id` (§1.3, seed 002).
 *
 * INFERRED, not confirmed: no source shows this formula, and the documentation's example signValue
 * is a placeholder (sha256("1")). We assume it is the card direct/pay formula, with `quickpay_id`
 * and `service_mode` left out of the signature. This is the ONE place to change when Oceanpayment
 * support confirms the real list; the client and the sandbox both sign with it.
 */
export const QUICKPAY_CHARGE_REQUEST_FIELDS: SignatureFields = DIRECT_PAY_REQUEST_FIELDS;

/**
 * Payment results (§1.5): the sync XML of direct/pay, the browser POST to backUrl and the
 * `notice_type=transaction` notice. CONFIRMED by every official plugin.
 */
export const PAYMENT_RESULT_FIELDS: SignatureFields = [
  'account', 'terminal', 'order_number', 'order_currency', 'order_amount', 'order_notes',
  'card_number', 'payment_id', 'payment_authType', 'payment_status', 'payment_details', 'payment_risk',
];

/** Hosted checkout request, `/gateway/service/sendTrade` and `/gateway/service/pay` (§1.1). CONFIRMED. */
export const HOSTED_CHECKOUT_REQUEST_FIELDS: SignatureFields = [
  'account', 'terminal', 'backUrl', 'order_number', 'order_currency', 'order_amount',
  'billing_firstName', 'billing_lastName', 'billing_email',
];

/**
 * The sendTrade `<respon>` that carries `pay_url` (§1.5). CONSISTENT (one third-party source that
 * cites the official sign matrix); official plugins never verify it.
 */
export const HOSTED_CHECKOUT_RESPONSE_FIELDS: SignatureFields = [
  'account', 'terminal', 'order_number', 'order_currency', 'order_amount', 'order_notes',
  'payment_id', 'pay_url', 'pay_results', 'pay_details',
];

/** Card tokenisation on the hosted page, `/gateway/service/create` (§1.2). CONFIRMED by recomputation. */
export const TOKENISE_REQUEST_FIELDS: SignatureFields = [
  'account', 'terminal', 'customer_id', 'backUrl', 'billing_firstName', 'billing_lastName', 'billing_email',
];

/**
 * Order status query, `/service/check/normal` (§1.6). CONFIRMED by recomputation. The response's
 * own signValue formula is UNKNOWN, so responses are never verified with it.
 */
export const ORDER_QUERY_REQUEST_FIELDS: SignatureFields = ['account', 'terminal', 'order_number'];

/** `/service/QueryOrdersList` (§1.6). CONFIRMED by recomputation. */
export const ORDERS_LIST_REQUEST_FIELDS: SignatureFields = ['account', 'terminal', 'order_beginDate', 'order_endDate'];

/** `/service/BusinessOrdersList` (§1.6). CONFIRMED by recomputation. */
export const BUSINESS_ORDERS_LIST_REQUEST_FIELDS: SignatureFields = [
  'account', 'terminal', 'order_beginDate', 'order_endDate', 'pages',
];

/**
 * `/service/applyRefund` (§1.6). CONFIRMED by recomputation without `refund_number`; the optional
 * `refund_number` slot is CONSISTENT. An empty refund_number hashes the same as leaving it out.
 */
export const REFUND_REQUEST_FIELDS: SignatureFields = [
  'account', 'terminal', 'payment_id', 'refund_number', 'refund_type', 'refund_amount', 'refund_description',
];

/**
 * `/service/queryRefund` (§1.6, §10). CONFIRMED by recomputation with refund_id alone; the
 * `refund_number` slot after it comes from Oceanpayment's own code (§10, medium confidence). An
 * empty refund_number hashes the same as leaving it out.
 */
export const REFUND_QUERY_REQUEST_FIELDS: SignatureFields = ['account', 'terminal', 'refund_id', 'refund_number'];

/** Pre-auth capture/void, `/gateway/service/auth` (§1.6, §3.3); order_amount optional. CONFIRMED by recomputation. */
export const PREAUTH_REQUEST_FIELDS: SignatureFields = [
  'account', 'terminal', 'payment_id', 'payment_authType', 'order_amount',
];

/** Offline WeChat/Alipay void on `/gateway/service/auth` (§1.6). CONFIRMED by recomputation. */
export const OFFLINE_VOID_REQUEST_FIELDS: SignatureFields = ['account', 'terminal', 'order_number', 'payment_authType'];

/** `/gateway/service/customsUpload` (§1.6). Matched by recomputation. */
export const CUSTOMS_UPLOAD_REQUEST_FIELDS: SignatureFields = [
  'account', 'terminal', 'payment_id', 'type', 'pay_userId', 'pay_userName',
];

/** Field values by name; a missing value hashes like an empty string (§1.0). */
export type FieldValues = Readonly<Record<string, string | undefined>>;

/** The exact string that is hashed, for tests and for debugging a mismatch with Oceanpayment support. */
export function signatureInput(fields: SignatureFields, values: FieldValues, secureCode: string): string {
  let text = '';
  for (const name of fields) text += valueOf(values, name);
  return text + secureCode;
}

/** Lowercase hex SHA-256 signValue over `fields` of `values` plus the secure code (UTF-8). */
export function sign(fields: SignatureFields, values: FieldValues, secureCode: string): string {
  return createHash('sha256').update(signatureInput(fields, values, secureCode), 'utf8').digest('hex');
}

const SIGN_VALUE_PATTERN = /^[0-9a-fA-F]{64}$/;

/**
 * Whether `signValue` is the signature of `values`. Case-insensitive (the gateway sends uppercase,
 * merchants send lowercase) and constant-time; anything that is not 64 hex digits fails.
 */
export function verify(fields: SignatureFields, values: FieldValues, secureCode: string, signValue: string): boolean {
  if (!SIGN_VALUE_PATTERN.test(signValue)) return false;
  const expected = Buffer.from(sign(fields, values, secureCode), 'latin1');
  const received = Buffer.from(signValue.toLowerCase(), 'latin1');
  return expected.length === received.length && timingSafeEqual(expected, received);
}

function valueOf(values: FieldValues, name: string): string {
  return Object.hasOwn(values, name) ? (values[name] ?? '') : '';
}

/** One terminal of a merchant account and its secret. */
export interface TerminalCredentials {
  readonly account: string;
  readonly terminal: string;
  /** Never logged and never sent; used only to compute signValue. */
  readonly secureCode: string;
}

/**
 * A merchant: the main terminal (used to send requests) plus other terminals of the same account
 * whose messages must also verify, e.g. a separate 3-D Secure terminal (§1.0).
 */
export interface MerchantCredentials extends TerminalCredentials {
  /** terminal -> secureCode for the account's other terminals. */
  readonly extraTerminals?: Readonly<Record<string, string>>;
}

/** The secure code for a terminal of this merchant, or undefined for a terminal we do not know. */
export function secureCodeForTerminal(credentials: MerchantCredentials, terminal: string): string | undefined {
  if (terminal === '') return undefined;
  if (terminal === credentials.terminal) return credentials.secureCode;
  const extra = credentials.extraTerminals;
  if (extra && Object.hasOwn(extra, terminal)) return extra[terminal];
  return undefined;
}

export type MessageVerification = { ok: true } | { ok: false; problem: string };

/**
 * Checks a signed message from the gateway: it names our account, a terminal we know, and its
 * signValue verifies with that terminal's secure code.
 */
export function verifyMessage(
  fields: SignatureFields,
  values: FieldValues,
  credentials: MerchantCredentials,
): MessageVerification {
  const account = valueOf(values, 'account');
  const terminal = valueOf(values, 'terminal');
  const signValue = valueOf(values, 'signValue');
  if (account !== credentials.account) {
    return { ok: false, problem: `message is for account "${account}", not ours (${credentials.account})` };
  }
  const secureCode = secureCodeForTerminal(credentials, terminal);
  if (secureCode === undefined) {
    return { ok: false, problem: `message names terminal "${terminal}", which is not one of this merchant's terminals` };
  }
  if (signValue === '') return { ok: false, problem: 'message has no signValue' };
  if (!verify(fields, values, secureCode, signValue)) {
    return { ok: false, problem: `signValue does not match the message (terminal ${terminal}); it may be forged or altered` };
  }
  return { ok: true };
}

/**
 * Billing name and e-mail as the documentation asks them to be signed (§1.0): surrounding spaces
 * removed, and double quotes, `<`, `>` and single quotes stripped. The request must carry exactly
 * this string, since it is the one that was hashed.
 */
export function sanitizeBillingField(value: string): string {
  return value.replace(/["<>']/g, '').trim();
}
