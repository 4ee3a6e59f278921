/**
 * `/service/queryRefund` (§3.2, §10): where a refund stands.
 *
 * - CONFIRMED by recomputation: the request signature over account, terminal and refund_id.
 * - From Oceanpayment's own code seen in the public index (medium confidence, §10): the request
 *   may carry refund_id and/or refund_number, signed with refund_number after refund_id; the
 *   answer is a `<response>` with refund_id, refund_number, refund_queryNo, refund_check and
 *   refund_description, and its signValue merely echoes ours (so it proves nothing).
 *   `refund_check`: 00 refunded, 01 approved but not yet processed, 02 pending, 03 refused on
 *   review, 04 no such refund, 05 bad signature, 06 IP not registered, 92–103 parameter and
 *   system errors.
 * - Our choice: with a refund id, only refund_id is sent (the confirmed form); refund_number is
 *   sent only when the refund id is not known (after an unknown applyRefund outcome).
 */
import { ValidationError } from '../../../lib/errors.ts';
import { echoProblem, foreignAccountProblem, shown } from './answer-checks.ts';
import type { PostResult } from '../form-post.ts';
import { REFUND_QUERY_REQUEST_FIELDS, sign } from './sign.ts';
import type { MerchantCredentials, TerminalCredentials } from './sign.ts';
import { parseFlatXml } from './xml.ts';

export interface RefundQuery {
  /** The gateway's refund id, from an accepted applyRefund. */
  readonly refundId?: string;
  /** Our refund number, used only when the refund id is not known. */
  readonly refundNumber?: string;
}

export type RefundQueryResult =
  | { kind: 'refunded'; refundId: string; refundNumber: string }
  /** 01 (approved, not yet processed) or 02 (pending, e.g. waiting for the merchant balance for up to 30 days). */
  | { kind: 'pending'; refundId: string; refundNumber: string; code: string }
  /** 03: refused on review; nothing was refunded. */
  | { kind: 'failed'; refundId: string; refundNumber: string; message: string }
  /** 04: the gateway has no such refund. */
  | { kind: 'not_found' }
  /** 05, 06, 92–103, an unknown code, or no believable answer: nothing is known; ask again later. */
  | { kind: 'error'; reason: string; code?: string };

const REFUND_ID = /^[A-Za-z0-9_-]{1,64}$/;
const REFUND_NUMBER = /^[A-Za-z0-9_-]{1,50}$/;
const PENDING_CODES = new Set(['01', '02']);

/** The signed form for `/service/queryRefund`; throws a ValidationError when neither id is usable. */
export function buildRefundQueryForm(query: RefundQuery, credentials: TerminalCredentials): Array<readonly [string, string]> {
  const refundId = query.refundId ?? '';
  const refundNumber = refundId === '' ? (query.refundNumber ?? '') : '';
  if (refundId === '' && refundNumber === '') throw new ValidationError('a refund query needs the refund id or the refund number');
  if (refundId !== '' && !REFUND_ID.test(refundId)) throw new ValidationError(`refund id "${shown(refundId)}" is not a gateway refund id`);
  if (refundNumber !== '' && !REFUND_NUMBER.test(refundNumber)) {
    throw new ValidationError(`refund number "${shown(refundNumber)}" must be 1-50 letters, digits, "_" or "-"`);
  }
  const values = { account: credentials.account, terminal: credentials.terminal, refund_id: refundId, refund_number: refundNumber };
  return [
    ['account', values.account],
    ['terminal', values.terminal],
    ...(refundId === '' ? [] : [['refund_id', refundId] as const]),
    ...(refundNumber === '' ? [] : [['refund_number', refundNumber] as const]),
    ['signValue', sign(REFUND_QUERY_REQUEST_FIELDS, values, credentials.secureCode)],
  ];
}

/** What a queryRefund POST came to. */
export function readRefundQueryAnswer(
  posted: PostResult,
  query: RefundQuery,
  credentials: MerchantCredentials,
  maxBytes?: number,
): RefundQueryResult {
  if (!posted.ok) return { kind: 'error', reason: `refund query failed: ${posted.reason}` };
  if (posted.status < 200 || posted.status > 299) return { kind: 'error', reason: `refund query answered HTTP ${posted.status}` };
  return readRefundQueryResponse(posted.body, query, credentials, maxBytes);
}

export function readRefundQueryResponse(
  body: string | Uint8Array,
  query: RefundQuery,
  credentials: MerchantCredentials,
  maxBytes?: number,
): RefundQueryResult {
  const parsed = parseFlatXml(body, { roots: ['response'], required: ['refund_check'], maxBytes });
  if (!parsed.ok) return { kind: 'error', reason: `the refund query answer could not be read: ${parsed.problem}` };
  const { fields } = parsed.value;
  const sentId = query.refundId ?? '';
  const sentNumber = sentId === '' ? (query.refundNumber ?? '') : '';
  const mismatch =
    foreignAccountProblem(fields, credentials) ??
    echoProblem(fields, 'refund_id', sentId) ??
    echoProblem(fields, 'refund_number', sentNumber);
  if (mismatch) return { kind: 'error', reason: `the refund query answer is not about this refund: ${mismatch}` };
  const code = (fields.refund_check ?? '').trim();
  const description = shown((fields.refund_description ?? '').trim(), 300);
  const refundId = (fields.refund_id ?? '').trim() || sentId;
  const refundNumber = (fields.refund_number ?? '').trim() || (query.refundNumber ?? '');
  const ids = { refundId: shown(refundId, 64), refundNumber: shown(refundNumber, 50) };
  if (code === '00') return { kind: 'refunded', ...ids };
  if (PENDING_CODES.has(code)) return { kind: 'pending', ...ids, code };
  if (code === '03') return { kind: 'failed', ...ids, message: description === '' ? 'refused on review' : description };
  if (code === '04') return { kind: 'not_found' };
  const meaning =
    code === '05' ? 'the gateway says our signature is wrong'
    : code === '06' ? "the gateway says this server's IP address is not registered with it"
    : /^\d{2,3}$/.test(code) && Number(code) >= 92 && Number(code) <= 103 ? 'the gateway reports a parameter or system error'
    : 'the gateway answered with a refund_check code that is not documented';
  return { kind: 'error', code: shown(code, 20), reason: `${meaning} (refund_check "${shown(code, 20)}"${description ? `: ${description}` : ''})` };
}
