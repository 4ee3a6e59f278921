/**
 * The outcome vocabulary shared by the charge answer, the order query and notices, and the one
 * mapping from a gateway result to it. The status field decides (§4: never the details text);
 * the code only says how to treat a decline, or that the gateway itself does not know.
 */
import type { ChargeOutcome, DeclineClass } from '../../outcomes.ts';
import { classifyCode, isStatusUnknownCode, parseDetails } from './codes.ts';

export type { ChargeOutcome, DeclineClass } from '../../outcomes.ts';

/** Retries allowed when a failed result carries a code that says nothing about the failure. */
const UNCLASSIFIED_DECLINE_RETRY_LIMIT = 1;

/**
 * The outcome of a verified payment result (sync answer, backUrl return or transaction notice),
 * read from `payment_status`: 1 approved, 0 declined, -1 pending (action required when it
 * carries a `pay_url`).
 */
export function outcomeFromPaymentFields(fields: Readonly<Record<string, string>>): ChargeOutcome {
  return outcomeFromStatus(fields.payment_status ?? '', fields, 'payment_status');
}

/**
 * The outcome of one `paymentInfo` entry of an order query, read from `payment_results`:
 * -1 pending, 1 success, 0 or anything else failed (§3.1).
 */
export function outcomeFromQueryFields(fields: Readonly<Record<string, string>>): ChargeOutcome {
  const status = fields.payment_results ?? '';
  return outcomeFromStatus(status === '1' || status === '-1' ? status : '0', fields, 'payment_results');
}

function outcomeFromStatus(status: string, fields: Readonly<Record<string, string>>, statusName: string): ChargeOutcome {
  const details = (fields.payment_details ?? '').trim();
  const { code } = parseDetails(details);
  const paymentId = fields.payment_id ?? '';
  const optionalId = paymentId === '' ? {} : { paymentId };
  switch (status.trim()) {
    case '1': {
      const quickpayId = fields.quickpay_id ?? '';
      return {
        kind: 'approved',
        paymentId,
        ...(code ? { code } : {}),
        ...(details ? { details } : {}),
        ...(quickpayId ? { quickpayId } : {}),
      };
    }
    case '0': {
      if (isStatusUnknownCode(code)) return statusUnknown(code, details, optionalId);
      const info = classifyCode(code);
      const declineClass: DeclineClass =
        info.class === 'success' || info.class === 'unknown' ? 'soft' : info.class;
      const retryLimit = declineClass === 'soft' && (info.class === 'success' || info.class === 'unknown')
        ? UNCLASSIFIED_DECLINE_RETRY_LIMIT
        : info.retryLimit;
      return {
        kind: 'declined',
        declineClass,
        code,
        details,
        ...(retryLimit !== undefined ? { retryLimit } : {}),
        ...optionalId,
      };
    }
    case '-1': {
      if (isStatusUnknownCode(code)) return statusUnknown(code, details, optionalId);
      const payUrl = (fields.pay_url ?? '').trim();
      // A face-to-face QR order: the code the customer scans with WeChat Pay or Alipay (§1.4).
      const barCode = (fields.pay_barCode ?? '').trim();
      const extra = { ...optionalId, ...(code ? { code } : {}), ...(details ? { details } : {}) };
      return payUrl ? { kind: 'action_required', payUrl, ...extra } : { kind: 'pending', ...extra, ...(barCode ? { scanCode: barCode } : {}) };
    }
    default:
      return {
        kind: 'unknown',
        reason: `the gateway answered with ${statusName} "${status}", which is not 1, 0 or -1`,
        ...(code ? { code } : {}),
        ...optionalId,
      };
  }
}

function statusUnknown(code: string, details: string, optionalId: { paymentId?: string }): ChargeOutcome {
  return {
    kind: 'unknown',
    reason: `the gateway does not know the outcome yet (${details}); query the order before retrying`,
    code,
    ...optionalId,
  };
}
