/**
 * Reading what the gateway pushes: XML notices to noticeUrl and the browser's form POST to backUrl.
 * Payment (`transaction`) results are verified with the 12-field formula (§1.5). Business notices
 * (refund, chargeBack, …) use a formula nobody has published, so they are never verified here and
 * must only lead to a signed query, never to a state change by themselves.
 */
import { readBusinessNoticeClaims } from './business-notice.ts';
import type { BusinessNoticeClaims } from './business-notice.ts';
import type { ChargeOutcome } from './outcome.ts';
import { outcomeFromPaymentFields } from './outcome.ts';
import type { MerchantCredentials } from './sign.ts';
import { paymentResultFormatProblems } from './result-format.ts';
import { PAYMENT_RESULT_FIELDS, verifyMessage } from './sign.ts';
import { parseFlatXml } from './xml.ts';

export interface TransactionNotice {
  readonly kind: 'transaction';
  /** Signature, account and terminal all check out. Only then may `outcome` be applied. */
  readonly verified: boolean;
  /** Why it is not verified. */
  readonly problem?: string;
  readonly fields: Record<string, string>;
  readonly outcome: ChargeOutcome;
  /** `1` for a server notice, `0` for a browser return (§2); act on notices only. */
  readonly responseType: string;
}

export interface BusinessNotice {
  readonly kind: 'business';
  readonly verified: false;
  /** refund, partialRefund, chargeBack, re-presentment, retrieval, …; '' when absent. */
  readonly noticeType: string;
  readonly fields: Record<string, string>;
  /** The documented fields, typed; unverified claims that only a signed query can confirm. */
  readonly claims: BusinessNoticeClaims;
}

export interface MalformedNotice {
  readonly kind: 'malformed';
  readonly problem: string;
}

export type ParsedNotice = TransactionNotice | BusinessNotice | MalformedNotice;

/** Fields a payment result must carry to be understood at all. */
const TRANSACTION_REQUIRED_FIELDS = [
  'account', 'terminal', 'signValue', 'order_number', 'order_currency', 'order_amount', 'payment_id', 'payment_status',
] as const;

/** Parses and verifies a notice body. Whatever it returns, the listener answers `receive-ok` (§2). */
export function parseNotice(body: string | Uint8Array, credentials: MerchantCredentials): ParsedNotice {
  const parsed = parseFlatXml(body, { roots: ['response'] });
  if (!parsed.ok) return { kind: 'malformed', problem: parsed.problem };
  const { fields } = parsed.value;
  const noticeType = fields.notice_type ?? '';
  // §1.5: notice_type "transaction", or no notice_type but response_type and payment_status, is a
  // payment notice; push_status (or another notice_type) is a business notice.
  const isTransaction =
    noticeType === 'transaction' ||
    (noticeType === '' && Object.hasOwn(fields, 'response_type') && Object.hasOwn(fields, 'payment_status'));
  if (isTransaction) return readPaymentResult(fields, credentials);
  if (noticeType !== '' || Object.hasOwn(fields, 'push_status')) {
    return { kind: 'business', verified: false, noticeType, fields, claims: readBusinessNoticeClaims(fields) };
  }
  return {
    kind: 'malformed',
    problem: 'not a recognisable notice: no notice_type, no response_type with payment_status, no push_status',
  };
}

/** Parses and verifies the form the customer's browser POSTs to backUrl (`response_type=0`). */
export function parseBrowserReturn(
  form: Readonly<Record<string, string>>,
  credentials: MerchantCredentials,
): TransactionNotice | MalformedNotice {
  return readPaymentResult({ ...form }, credentials);
}

function readPaymentResult(fields: Record<string, string>, credentials: MerchantCredentials): TransactionNotice | MalformedNotice {
  const missing = TRANSACTION_REQUIRED_FIELDS.filter((name) => !Object.hasOwn(fields, name));
  if (missing.length > 0) return { kind: 'malformed', problem: `payment result is missing: ${missing.join(', ')}` };
  const responseType = fields.response_type ?? '';
  const outcome = outcomeFromPaymentFields(fields);
  // Format before signature: a re-cut of a genuine signed message verifies, but cannot pass these.
  const formatProblems = paymentResultFormatProblems(fields);
  if (formatProblems.length > 0) {
    return { kind: 'transaction', verified: false, problem: `malformed signed field: ${formatProblems.join('; ')}`, fields, outcome, responseType };
  }
  const verification = verifyMessage(PAYMENT_RESULT_FIELDS, fields, credentials);
  return verification.ok
    ? { kind: 'transaction', verified: true, fields, outcome, responseType }
    : { kind: 'transaction', verified: false, problem: verification.problem, fields, outcome, responseType };
}
