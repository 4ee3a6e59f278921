/**
 * Card tokens (QuickPay IDs) outside a payment: the hosted tokenisation page
 * `/gateway/service/create` (§1.2, §5), which the customer's browser is sent to with a signed form,
 * and the JSON QuickPay API (§3.5) that confirms a token (`/pg/quickPay/query`) and disables one
 * (`/pg/quickPay/cancel`). The signature of the page's return to backUrl is unpublished (§10), so
 * a token it carries is trusted only once the query confirms it belongs to our customer id.
 */
import { sanitizeBillingField } from './sign.ts';
import { signedForm } from './charge-request.ts';
import { TOKENISE_REQUEST_FIELDS } from './sign.ts';
import type { TerminalCredentials } from './sign.ts';

export interface TokeniseRequest {
  /** Our customer's id; the page's token is filed under it at the gateway. */
  readonly customerId: string;
  readonly billing: { readonly firstName: string; readonly lastName: string; readonly email: string };
  /** Where the customer's browser comes back with the new token. */
  readonly backUrl: string;
}

/** Customer ids are ours: letters, digits, `-` and `_`, 1-50 (what the gateway's fields take). */
export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9_-]{1,50}$/;

/** The signed form the browser posts to `/gateway/service/create`. */
export function buildTokeniseForm(request: TokeniseRequest, credentials: TerminalCredentials, methods: string): Array<readonly [string, string]> {
  if (!CUSTOMER_ID_PATTERN.test(request.customerId)) throw new Error(`customer id "${request.customerId}" must be 1-50 letters, digits, "_" or "-"`);
  return signedForm([
    ['account', credentials.account],
    ['terminal', credentials.terminal],
    ['customer_id', request.customerId],
    ['backUrl', request.backUrl],
    ['methods', methods],
    ['billing_firstName', sanitizeBillingField(request.billing.firstName)],
    ['billing_lastName', sanitizeBillingField(request.billing.lastName)],
    ['billing_email', sanitizeBillingField(request.billing.email)],
  ], TOKENISE_REQUEST_FIELDS, credentials.secureCode);
}

export type QuickPayToken = { id: string; status: string; expiryTime: string | null };

export type QuickPayAnswer =
  | { kind: 'ok'; quickpay: QuickPayToken | null }
  | { kind: 'error'; reason: string };

/** Reads a QuickPay API answer: `code` "000" with `data.quickpay`, anything else an error naming the code. */
export function readQuickPayAnswer(body: Buffer | string): QuickPayAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { kind: 'error', reason: 'the QuickPay API answer is not JSON' };
  }
  const answer = parsed as { code?: unknown; msg?: unknown; message?: unknown; data?: { quickpay?: { id?: unknown; status?: unknown; expiryTime?: unknown } } };
  if (typeof answer !== 'object' || answer === null) return { kind: 'error', reason: 'the QuickPay API answer is not an object' };
  if (answer.code !== '000') {
    const message = typeof answer.message === 'string' ? answer.message : typeof answer.msg === 'string' ? answer.msg : '';
    return { kind: 'error', reason: `the QuickPay API answered code ${JSON.stringify(answer.code)}${message ? ` (${message.slice(0, 100)})` : ''}` };
  }
  const quickpay = answer.data?.quickpay;
  if (!quickpay || typeof quickpay.id !== 'string') return { kind: 'ok', quickpay: null };
  return {
    kind: 'ok',
    quickpay: {
      id: quickpay.id,
      status: typeof quickpay.status === 'string' ? quickpay.status : String(quickpay.status ?? ''),
      expiryTime: typeof quickpay.expiryTime === 'string' ? quickpay.expiryTime : null,
    },
  };
}
