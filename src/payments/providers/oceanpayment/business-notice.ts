/**
 * What a business notice (refund, partialRefund, chargeBack, fraud, …) says, read into typed
 * fields (field list CONFIRMED: DOC `webhook/payments/orders`). Its signature formula is
 * unpublished (§1.5), so every value here is a claim: nothing may act on it without a signed
 * query (the refund query, the business order list or the order query) that confirms it.
 */
import { shown } from './answer-checks.ts';

/**
 * - refund: `refund`, `partialRefund` (`pushId` is then the gateway's refund id);
 * - chargeback: `chargeBack`;
 * - dispute: `re-presentment`, `retrieval`, `reversal-retrieval`;
 * - fraud: `fraud`;
 * - other: `ARN` (refund proof), `highRisk`, and anything undocumented.
 */
export type BusinessNoticeCategory = 'refund' | 'chargeback' | 'dispute' | 'fraud' | 'other';

/** `push_status`: 1 done, 0 failed, 2 in dispute (re-presentment only); anything else is unrecognised. */
export type PushStatus = 'succeeded' | 'failed' | 'in_dispute' | 'unrecognised';

export interface BusinessNoticeClaims {
  /** As received, e.g. `partialRefund`. */
  readonly noticeType: string;
  readonly category: BusinessNoticeCategory;
  /** The gateway's id of this business event; for refunds, the refund id. */
  readonly pushId: string;
  readonly pushStatus: PushStatus;
  readonly pushDetails: string;
  /** Our refund number, for refunds we requested with one. */
  readonly refundNumber: string;
  readonly refundReference: string;
  readonly account: string;
  readonly terminal: string;
  readonly orderNumber: string;
  readonly paymentId: string;
  /** The payment's amount and currency as received (the notice carries no refund amount). */
  readonly orderAmount: string;
  readonly orderCurrency: string;
  readonly orderNotes: string;
  /** Gateway times as received: the push, the payment, the completion, the exception (chargebacks, fraud, disputes). */
  readonly pushDateTime: string;
  readonly paymentDateTime: string;
  readonly debitTime: string;
  readonly exceptionTime: string;
  /** Fields whose format is wrong; a notice with problems should not even lead to a query about its ids. */
  readonly problems: readonly string[];
}

const CATEGORIES: Readonly<Record<string, BusinessNoticeCategory>> = {
  refund: 'refund',
  partialRefund: 'refund',
  chargeBack: 'chargeback',
  're-presentment': 'dispute',
  retrieval: 'dispute',
  'reversal-retrieval': 'dispute',
  fraud: 'fraud',
};

const PUSH_STATUSES: Readonly<Record<string, PushStatus>> = { '0': 'failed', '1': 'succeeded', '2': 'in_dispute' };

const FORMATS: ReadonlyArray<readonly [field: string, pattern: RegExp, rule: string]> = [
  ['account', /^\d{6}$/, 'a 6-digit account number'],
  ['terminal', /^\d{8,12}$/, 'an 8-12 digit terminal number'],
  ['payment_id', /^\d{0,32}$/, 'digits'],
  ['push_id', /^[A-Za-z0-9_-]{0,64}$/, 'an id of letters, digits, "_" or "-"'],
  ['refund_number', /^[A-Za-z0-9_-]{0,50}$/, 'a refund number of letters, digits, "_" or "-"'],
  ['order_number', /^[^\u0000-\u001f\u007f-\u009f]{0,50}$/, 'at most 50 characters without control characters'],
  ['order_currency', /^([A-Z]{3})?$/, 'an ISO 4217 code'],
  ['order_amount', /^(\d{1,10}(\.\d{1,2})?)?$/, 'a decimal amount with at most 2 decimals'],
  ['push_status', /^\d?$/, 'a one-digit status'],
];

/** The typed claims of a business notice's fields. */
export function readBusinessNoticeClaims(fields: Readonly<Record<string, string>>): BusinessNoticeClaims {
  const value = (name: string) => (Object.hasOwn(fields, name) ? (fields[name] ?? '').trim() : '');
  const problems: string[] = [];
  for (const [field, pattern, rule] of FORMATS) {
    const text = value(field);
    if (!pattern.test(text)) problems.push(`${field} "${shown(text, 60)}" is not ${rule}`);
  }
  const noticeType = value('notice_type');
  const status = value('push_status');
  return {
    noticeType: shown(noticeType, 40),
    category: Object.hasOwn(CATEGORIES, noticeType) ? CATEGORIES[noticeType]! : 'other',
    pushId: shown(value('push_id'), 64),
    pushStatus: Object.hasOwn(PUSH_STATUSES, status) ? PUSH_STATUSES[status]! : 'unrecognised',
    pushDetails: shown(value('push_details'), 300),
    refundNumber: shown(value('refund_number'), 50),
    refundReference: shown(value('refund_reference'), 100),
    account: shown(value('account'), 12),
    terminal: shown(value('terminal'), 12),
    orderNumber: shown(value('order_number'), 50),
    paymentId: shown(value('payment_id'), 32),
    orderAmount: shown(value('order_amount'), 12),
    orderCurrency: shown(value('order_currency'), 3),
    orderNotes: shown(value('order_notes'), 300),
    pushDateTime: shown(value('push_dateTime'), 19),
    paymentDateTime: shown(value('payment_dateTime'), 19),
    debitTime: shown(value('payment_debitTime'), 19),
    exceptionTime: shown(value('payment_cpdTime'), 19),
    problems,
  };
}
