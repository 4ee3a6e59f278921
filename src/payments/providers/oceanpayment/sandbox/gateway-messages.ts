/**
 * The signed payment-result messages the sandbox sends: the sync `<response>` of direct/pay, the
 * XML notice and the browser form to backUrl. All three carry the same fields and the 12-field
 * signature (§1.5), in uppercase hex like the real gateway.
 */
import { PAYMENT_RESULT_FIELDS, sign } from '../sign.ts';
import { buildFlatXml } from '../xml.ts';
import type { ChargeStatus, ChargeView } from './ledger.ts';

/** payment_details the sandbox uses for its own results. */
export const RESULT_DETAILS = {
  approved: '80000:Transaction Approved',
  insufficientFunds: '80022:Not sufficient funds',
  lostCard: '80040:Lost or stolen card',
  failed3ds: '80091:Cardholder failed 3D Secure authentication',
  awaiting3ds: '80093:3D Authorized Service not completed',
  /** A hosted checkout whose page the customer has not finished (the order exists, nothing is paid yet). */
  awaitingCustomer: '80100:Transaction not finished',
  customerCancelled: '80101:Customer cancelled',
  notPermitted: '80013:Transaction not permitted on card',
  /** Sandbox-only code: how the real gateway words a pending card payment is not documented. */
  pending: '80099:Transaction pending, awaiting the bank',
} as const;

export const SANDBOX_CARD = { number: '411111***1111', type: 'Visa', country: 'US' } as const;

/** What a message says about the payment; by default what the ledger row says. */
export interface ResultState {
  readonly paymentStatus: '1' | '0' | '-1';
  readonly details: string;
  readonly payUrl: string;
}

export function paymentStatusFor(status: ChargeStatus): '1' | '0' | '-1' {
  if (status === 'approved') return '1';
  if (status === 'pending' || status === 'action_required') return '-1';
  return '0';
}

export function stateOf(charge: ChargeView, payUrl: string): ResultState {
  return {
    paymentStatus: paymentStatusFor(charge.status),
    details: charge.details,
    payUrl: charge.status === 'action_required' ? payUrl : '',
  };
}

/** The pending state a charge had before its final result (sent late by out-of-order faults). */
export function stalePendingState(charge: ChargeView, payUrl: string): ResultState {
  return charge.behaviour === '3ds'
    ? { paymentStatus: '-1', details: RESULT_DETAILS.awaiting3ds, payUrl }
    : { paymentStatus: '-1', details: RESULT_DETAILS.pending, payUrl: '' };
}

/**
 * The payment-result fields in the gateway's order (seed 002), signed with `secureCode`, or with
 * an empty signValue when the terminal is unknown and there is nothing to sign with.
 */
export function paymentResultFields(
  charge: ChargeView,
  state: ResultState,
  secureCode: string | undefined,
): Array<[string, string]> {
  const rejected = charge.status === 'rejected';
  const declined = state.paymentStatus === '0';
  const values: Record<string, string> = {
    account: charge.account,
    terminal: charge.terminal,
    order_number: charge.orderNumber,
    order_currency: charge.currency,
    order_amount: charge.amount,
    order_notes: charge.orderNotes,
    card_number: rejected ? '' : SANDBOX_CARD.number,
    payment_id: charge.paymentId,
    payment_authType: charge.behaviour === '3ds' ? '2' : '0',
    payment_status: state.paymentStatus,
    payment_details: state.details,
    payment_risk: '',
  };
  const signValue = secureCode === undefined ? '' : sign(PAYMENT_RESULT_FIELDS, values, secureCode).toUpperCase();
  return [
    ['account', values.account!],
    ['terminal', values.terminal!],
    ['signValue', signValue],
    ['methods', 'Credit Card'],
    ['order_number', values.order_number!],
    ['card_country', rejected ? '' : SANDBOX_CARD.country],
    ['order_currency', values.order_currency!],
    ['order_amount', values.order_amount!],
    ['order_notes', values.order_notes!],
    ['card_number', values.card_number!],
    ['card_type', rejected ? '' : SANDBOX_CARD.type],
    ['payment_country', rejected ? '' : SANDBOX_CARD.country],
    ['payment_id', values.payment_id!],
    ['payment_authType', values.payment_authType!],
    ['payment_status', values.payment_status!],
    ['payment_details', values.payment_details!],
    ['payment_solutions', declined ? 'Please use another card or contact your card issuer.' : ''],
    ['payment_risk', values.payment_risk!],
    ['payment_amount', ''],
    ['payment_exchangeRate', ''],
    ['auth_reason', ''],
    ['auth_code', ''],
    ['pay_userId', ''],
    ['pay_url', state.payUrl],
    ['quickpay_id', charge.quickpayId],
  ];
}

/** The sync answer of `/gateway/direct/pay`. */
export function syncResponseXml(fields: ReadonlyArray<readonly [string, string]>): string {
  return buildFlatXml('response', fields);
}

/** A transaction notice (§2), stamped with the time of this attempt. */
export function noticeXml(fields: ReadonlyArray<readonly [string, string]>, pushedAt: number): string {
  return buildFlatXml('response', [
    ['notice_type', 'transaction'],
    ['push_dateTime', gatewayDateTime(pushedAt)],
    ['response_type', '1'],
    ...fields,
  ]);
}

/** The form the customer's browser POSTs to backUrl after 3-D Secure. */
export function browserReturnFields(fields: ReadonlyArray<readonly [string, string]>): Array<readonly [string, string]> {
  return [['response_type', '0'], ...fields];
}

/** `yyyy-MM-dd HH:mm:ss` in UTC+8, the gateway's (inferred) clock (§6). */
export function gatewayDateTime(at: number): string {
  const shanghai = new Date(at + 8 * 3_600_000).toISOString();
  return `${shanghai.slice(0, 10)} ${shanghai.slice(11, 19)}`;
}
