/**
 * The business notices the sandbox sends to a payment's noticeUrl (§1.5, §7; fields CONFIRMED:
 * DOC `webhook/payments/orders`): `refund` or `partialRefund` when a refund is settled (push_id =
 * refund_id, push_status 1 refunded or 0 failed), and `chargeBack` when a chargeback is booked.
 * They go through the same dispatcher as payment notices (same retries, same ledger bookkeeping).
 */
import { sign } from '../sign.ts';
import type { SignatureFields } from '../sign.ts';
import { buildFlatXml } from '../xml.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { gatewayDateTime, SANDBOX_CARD } from './gateway-messages.ts';
import type { ChargeView } from './ledger.ts';
import type { NoticeToSend } from './notice-dispatcher.ts';

/**
 * The sandbox's own signature for business notices: the real formula is unpublished, so this one
 * is made up and replaceable (SandboxOptions.businessNoticeSignatureFields). Nothing in rebill
 * verifies it, and nothing may: a business notice is only ever a reason to query.
 */
export const SANDBOX_BUSINESS_NOTICE_SIGN_FIELDS: SignatureFields = [
  'account', 'terminal', 'order_number', 'order_currency', 'order_amount', 'payment_id',
  'notice_type', 'push_id', 'push_status', 'push_details',
];

/** The business fields of one notice; the payment's own fields are added from its ledger row. */
interface BusinessPush {
  readonly noticeType: 'refund' | 'partialRefund' | 'chargeBack';
  readonly pushId: string;
  readonly pushStatus: '0' | '1';
  readonly pushDetails: string;
  readonly refundNumber: string;
  /** When the business event completed, and (chargebacks) when it happened. */
  readonly debitAt: number;
  readonly exceptionAt?: number;
}

/** Sends the notice of a settled refund (refunded or failed). */
export function sendRefundNotice(context: SandboxContext, refundRow: number): void {
  const refund = context.ledger.business.refund(refundRow);
  if (refund.status === 'pending') return;
  send(context, refund.charge, 'refund', {
    noticeType: refund.type === 'full' ? 'refund' : 'partialRefund',
    pushId: refund.refundId,
    pushStatus: refund.status === 'refunded' ? '1' : '0',
    pushDetails: refund.status === 'refunded' ? `Refund of ${refund.amount} completed` : `Refund of ${refund.amount} failed`,
    refundNumber: refund.refundNumber,
    debitAt: refund.updatedAt,
  });
}

/** Sends the notice of a booked chargeback. */
export function sendChargebackNotice(context: SandboxContext, chargebackRow: number): void {
  const chargeback = context.ledger.business.chargeback(chargebackRow);
  send(context, chargeback.charge, 'chargeback', {
    noticeType: 'chargeBack',
    pushId: chargeback.chargebackId,
    pushStatus: '1',
    pushDetails: chargeback.reason,
    refundNumber: '',
    debitAt: chargeback.createdAt,
    exceptionAt: chargeback.createdAt,
  });
}

function send(context: SandboxContext, chargeIndex: number, kind: 'refund' | 'chargeback', push: BusinessPush): void {
  const charge = context.ledger.get(chargeIndex);
  if (charge.noticeUrl === '') return;
  const fields = businessNoticeFields(context, charge, push);
  const notice: NoticeToSend = {
    kind,
    fields,
    // push_dateTime is the time of each attempt, in the documented place after payment_debitTime.
    body: (pushedAt) => buildFlatXml('response', [
      ...fields.slice(0, 6),
      ['push_dateTime', gatewayDateTime(pushedAt)],
      ...fields.slice(6),
    ]),
  };
  context.notices.send(chargeIndex, charge.noticeUrl, [notice], context.faults.noticeDelayMs);
}

/** The notice's fields in the documented order, signed with the sandbox's formula (push_dateTime excepted). */
function businessNoticeFields(context: SandboxContext, charge: ChargeView, push: BusinessPush): Array<readonly [string, string]> {
  const values: Record<string, string> = {
    account: charge.account,
    terminal: charge.terminal,
    order_number: charge.orderNumber,
    order_currency: charge.currency,
    order_amount: charge.amount,
    payment_id: charge.paymentId,
    notice_type: push.noticeType,
    push_id: push.pushId,
    push_status: push.pushStatus,
    push_details: push.pushDetails,
  };
  const secureCode = secureCodeFor(context, charge.account, charge.terminal);
  const signValue = secureCode === undefined ? '' : sign(context.businessNoticeSignatureFields, values, secureCode).toUpperCase();
  return [
    ['notice_type', push.noticeType],
    ['account', charge.account],
    ['terminal', charge.terminal],
    ['signValue', signValue],
    ['payment_dateTime', gatewayDateTime(charge.updatedAt)],
    ['payment_debitTime', gatewayDateTime(push.debitAt)],
    ['order_number', charge.orderNumber],
    ['order_currency', charge.currency],
    ['order_amount', charge.amount],
    ['order_notes', charge.orderNotes],
    ['card_type', SANDBOX_CARD.type],
    ['card_country', SANDBOX_CARD.country],
    ['payment_id', charge.paymentId],
    ['refund_number', push.refundNumber],
    ['refund_reference', ''],
    ['push_status', push.pushStatus],
    ['push_details', push.pushDetails],
    ['push_id', push.pushId],
    ['payment_cpdTime', push.exceptionAt === undefined ? '' : gatewayDateTime(push.exceptionAt)],
  ];
}
