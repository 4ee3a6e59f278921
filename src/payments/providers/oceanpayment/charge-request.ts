/**
 * The form rebill posts to `/gateway/direct/pay` to charge a stored card token (seed 002), or to
 * `/gateway/directservice/pay` for a face-to-face WeChat Pay or Alipay order (seed 001), built and
 * signed in one place so the request carries exactly the strings that were hashed.
 */
import { ValidationError } from '../../../lib/errors.ts';
import { gatewayAmount } from '../../../lib/money.ts';
import type { ServiceMode } from './service-mode.ts';
import { QUICKPAY_CHARGE_REQUEST_FIELDS, sanitizeBillingField, sign } from './sign.ts';
import type { SignatureFields, TerminalCredentials } from './sign.ts';

export interface ChargeRequest {
  /** 1–50 characters of `[A-Za-z0-9_-]`, new for every attempt that could be paid. */
  readonly orderNumber: string;
  readonly amountMinor: number;
  readonly currency: string;
  /** For a stored token's charge; absent for a face-to-face order. */
  readonly serviceMode?: ServiceMode;
  /** The card token; absent for a face-to-face order. */
  readonly quickpayId?: string;
  /** Face to face: the customer's WeChat Pay or Alipay payment code, scanned at the counter. */
  readonly payAccountNumber?: string;
  /** rebill puts the subscription and period here. */
  readonly orderNotes: string;
  readonly billing: {
    readonly firstName: string;
    readonly lastName: string;
    readonly email: string;
    readonly country: string;
    readonly phone?: string;
    readonly state?: string;
    readonly city?: string;
    readonly address?: string;
    readonly zip?: string;
    readonly ip?: string;
  };
  readonly product: { readonly name: string; readonly sku?: string };
  readonly noticeUrl: string;
  readonly backUrl: string;
}

/** §6 documents the length only; the character set is our safe choice. */
export const ORDER_NUMBER_PATTERN = /^[A-Za-z0-9_-]{1,50}$/;

export function orderNumberProblem(orderNumber: string): string | null {
  return ORDER_NUMBER_PATTERN.test(orderNumber)
    ? null
    : `order number "${orderNumber.slice(0, 60)}" must be 1 to 50 characters of letters, digits, "_" or "-"`;
}

export interface SignedChargeForm {
  /** Field name and value, in sending order. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  /** The amount string as sent, for comparing with the echo. */
  readonly orderAmount: string;
}

/**
 * Builds and signs the charge form. Throws a ValidationError for a bad order number or amount:
 * both are bugs in the caller, and neither must reach the gateway.
 */
export function buildChargeForm(
  request: ChargeRequest,
  credentials: TerminalCredentials,
  options: { methods: string; signatureFields?: SignatureFields },
): SignedChargeForm {
  const problem = orderNumberProblem(request.orderNumber);
  if (problem) throw new ValidationError(problem);
  const orderAmount = gatewayAmount({ amountMinor: request.amountMinor, currency: request.currency });
  const unsigned: Array<[string, string]> = [
    ['account', credentials.account],
    ['terminal', credentials.terminal],
    ...optional('quickpay_id', request.quickpayId),
    ...optional('service_mode', request.serviceMode),
    ...optional('pay_accountNumber', request.payAccountNumber),
    ['order_number', request.orderNumber],
    ['order_currency', request.currency],
    ['order_amount', orderAmount],
    ['order_notes', request.orderNotes],
    ['methods', options.methods],
    ...customerAndProductFields(request, orderAmount),
    ['noticeUrl', request.noticeUrl],
    ['backUrl', request.backUrl],
  ];
  return { fields: signedForm(unsigned, options.signatureFields ?? QUICKPAY_CHARGE_REQUEST_FIELDS, credentials.secureCode), orderAmount };
}

/** A field sent only when it has a value. */
function optional(name: string, value: string | undefined): Array<[string, string]> {
  return value === undefined || value.trim() === '' ? [] : [[name, value.trim()]];
}

/** A request form signed over the very strings that are sent: account, terminal, signValue, then the rest. */
export function signedForm(unsigned: ReadonlyArray<readonly [string, string]>, signatureFields: SignatureFields, secureCode: string): Array<readonly [string, string]> {
  const signValue = sign(signatureFields, Object.fromEntries(unsigned), secureCode);
  return [...unsigned.slice(0, 2), ['signValue', signValue], ...unsigned.slice(2)];
}

/** The billing and product fields of a payment request (direct/pay, sendTrade), as sent and signed. */
export function customerAndProductFields(
  request: Pick<ChargeRequest, 'billing' | 'product'>,
  orderAmount: string,
): Array<[string, string]> {
  const { billing, product } = request;
  return [
    ['billing_firstName', sanitizeBillingField(billing.firstName)],
    ['billing_lastName', sanitizeBillingField(billing.lastName)],
    ['billing_email', sanitizeBillingField(billing.email)],
    ['billing_country', billing.country],
    ...optional('billing_phone', billing.phone),
    ...optional('billing_state', billing.state),
    ...optional('billing_city', billing.city),
    ...optional('billing_address', billing.address),
    ...optional('billing_zip', billing.zip),
    ...optional('billing_ip', billing.ip),
    ['productName', orNotApplicable(product.name)],
    ['productSku', orNotApplicable(product.sku)],
    ['productNum', '1'],
    ['productPrice', orderAmount],
  ];
}

/** §6: product fields carry `N/A` rather than nothing. */
function orNotApplicable(value: string | undefined): string {
  const text = value?.trim() ?? '';
  return text === '' ? 'N/A' : text;
}
