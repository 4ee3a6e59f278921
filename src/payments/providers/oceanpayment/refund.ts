/**
 * `/service/applyRefund` (§3.2): asking the gateway to refund all or part of a payment, and
 * reading its answer. A refund is asynchronous: "accepted" only means the request was taken; the
 * result comes from the refund query or a business notice (which cannot be verified).
 *
 * What is known of the answer:
 * - CONFIRMED (shopxo's plugin, Oceanpayment's QA data): `refund_results` "00" means accepted;
 *   the plugin then reads `refund_id` (the gateway's refund id) and `order_number`, and shows
 *   `refund_description` as the reason for any other result.
 * - INFERRED: the root element. The plugin's XML reader drops it; every other answer of the
 *   order-management host is `<response>` (so is the refund query's, per Oceanpayment's own
 *   model of it), so `<response>` is expected and `<respon>` (the payments host's) tolerated.
 * - INFERRED: whether it carries account, terminal, payment_id and refund_number. Those present
 *   must be ours and what we sent, or the answer is not believed.
 * - UNKNOWN: the codes of a refusal (every result but "00" is one, reported with its code and
 *   description) and any response signValue formula (never relied on).
 */
import { ValidationError } from '../../../lib/errors.ts';
import { controlCharacterProblem } from '../../../lib/printable.ts';
import { echoProblem, foreignAccountProblem, shown } from './answer-checks.ts';
import type { PostResult } from '../form-post.ts';
import { REFUND_REQUEST_FIELDS, sign } from './sign.ts';
import type { MerchantCredentials, TerminalCredentials } from './sign.ts';
import { parseFlatXml } from './xml.ts';

export interface RefundRequest {
  /** The payment's `payment_id`. */
  readonly paymentId: string;
  /**
   * Our own refund number, 1–50 of `[A-Za-z0-9_-]` (the length and characters are our safe
   * choice), unique per refund: after an unknown outcome the refund can only be found by it.
   * The gateway treats it as optional; '' sends none.
   */
  readonly refundNumber: string;
  /** `refund_type` 1 (the whole payment) or 2 (part of it). */
  readonly refundType: 'full' | 'partial';
  /** A decimal string such as "4.00", formatted from minor units by the caller, hashed as sent. */
  readonly amount: string;
  /** Why; sent to the gateway and signed. 1–200 characters, no control characters. */
  readonly description: string;
}

export type RefundOutcome =
  /** The gateway took the request; it is pending until the refund query says refunded or failed. */
  | { kind: 'accepted'; refundId: string }
  /** The gateway said no: nothing will be refunded for this request. */
  | { kind: 'refused'; code: string; message: string }
  /** No believable answer: query by refund number before asking again. */
  | { kind: 'unknown'; reason: string };

const PAYMENT_ID = /^\d{1,32}$/;
const REFUND_NUMBER = /^[A-Za-z0-9_-]{1,50}$/;
/** `order_amount`'s rule (§6): up to 10 characters, at most 2 decimals. */
const AMOUNT = /^\d{1,10}(\.\d{1,2})?$/;
const MAX_DESCRIPTION_LENGTH = 200;
/** Neither the refund id's nor a refusal code's format is documented: these are generous bounds. */
const REFUND_ID = /^[A-Za-z0-9_-]{1,64}$/;
const RESULT_CODE = /^[A-Za-z0-9_-]{1,20}$/;

/** Problems with a refund request (an empty list when it can be sent). */
export function refundRequestProblems(request: RefundRequest): string[] {
  const problems: string[] = [];
  if (!PAYMENT_ID.test(request.paymentId)) problems.push(`payment id "${shown(request.paymentId)}" is not the gateway's payment_id (digits only)`);
  if (request.refundNumber !== '' && !REFUND_NUMBER.test(request.refundNumber)) {
    problems.push(`refund number "${shown(request.refundNumber)}" must be 1-50 letters, digits, "_" or "-"`);
  }
  if (request.refundType !== 'full' && request.refundType !== 'partial') {
    problems.push(`refund type "${shown(String(request.refundType))}" must be "full" or "partial"`);
  }
  if (!AMOUNT.test(request.amount) || request.amount.length > 10 || !/[1-9]/.test(request.amount)) {
    problems.push(`refund amount "${shown(request.amount)}" must be a decimal greater than 0 with at most 2 decimals and 10 characters, e.g. 4.00`);
  }
  const description = request.description;
  if (description.trim() === '' || description.length > MAX_DESCRIPTION_LENGTH) {
    problems.push(`refund description must be 1-${MAX_DESCRIPTION_LENGTH} characters (it has ${description.length})`);
  }
  const control = controlCharacterProblem('refund description', description);
  if (control) problems.push(control);
  return problems;
}

/** The signed form for `/service/applyRefund`; throws a ValidationError for a request that cannot be sent. */
export function buildRefundForm(request: RefundRequest, credentials: TerminalCredentials): Array<readonly [string, string]> {
  const problems = refundRequestProblems(request);
  if (problems.length > 0) throw new ValidationError(problems);
  const values = {
    account: credentials.account,
    terminal: credentials.terminal,
    payment_id: request.paymentId,
    refund_number: request.refundNumber,
    refund_type: request.refundType === 'full' ? '1' : '2',
    refund_amount: request.amount,
    refund_description: request.description,
  };
  return [
    ['account', values.account],
    ['terminal', values.terminal],
    ['payment_id', values.payment_id],
    ...(values.refund_number === '' ? [] : [['refund_number', values.refund_number] as const]),
    ['refund_type', values.refund_type],
    ['refund_amount', values.refund_amount],
    ['refund_description', values.refund_description],
    ['signValue', sign(REFUND_REQUEST_FIELDS, values, credentials.secureCode)],
  ];
}

const AFTER_UNKNOWN = 'the refund may or may not have been requested; query it by refund number before asking again';

/** What an applyRefund POST came to. */
export function readRefundAnswer(
  posted: PostResult,
  sent: RefundRequest,
  credentials: MerchantCredentials,
  maxBytes?: number,
): RefundOutcome {
  if (!posted.ok) {
    return {
      kind: 'unknown',
      reason: posted.reachedGateway
        ? `${posted.reason}; ${AFTER_UNKNOWN}`
        : `${posted.reason}; nothing reached the gateway, so no refund was requested (query to be sure)`,
    };
  }
  if (posted.status < 200 || posted.status > 299) {
    return { kind: 'unknown', reason: `the gateway answered HTTP ${posted.status}; ${AFTER_UNKNOWN}` };
  }
  return readRefundResponse(posted.body, sent, credentials, maxBytes);
}

export function readRefundResponse(
  body: string | Uint8Array,
  sent: RefundRequest,
  credentials: MerchantCredentials,
  maxBytes?: number,
): RefundOutcome {
  const parsed = parseFlatXml(body, { roots: ['response', 'respon'], required: ['refund_results'], maxBytes });
  if (!parsed.ok) return { kind: 'unknown', reason: `the refund answer could not be read: ${parsed.problem}; ${AFTER_UNKNOWN}` };
  const { fields } = parsed.value;
  const mismatch =
    foreignAccountProblem(fields, credentials) ??
    echoProblem(fields, 'payment_id', sent.paymentId) ??
    echoProblem(fields, 'refund_number', sent.refundNumber);
  if (mismatch) return { kind: 'unknown', reason: `the refund answer is not about this refund: ${mismatch}; ${AFTER_UNKNOWN}` };
  const result = (fields.refund_results ?? '').trim();
  const description = shown((fields.refund_description ?? '').trim(), 300);
  if (result === '00') {
    const refundId = (fields.refund_id ?? '').trim();
    if (!REFUND_ID.test(refundId)) {
      return { kind: 'unknown', reason: `the gateway accepted the refund but its refund_id "${shown(refundId)}" is missing or malformed; query it by refund number` };
    }
    return { kind: 'accepted', refundId };
  }
  if (!RESULT_CODE.test(result)) {
    return { kind: 'unknown', reason: `the refund answer's refund_results "${shown(result)}" is not a result code; ${AFTER_UNKNOWN}` };
  }
  return { kind: 'refused', code: result, message: description === '' ? '(no description)' : description };
}
