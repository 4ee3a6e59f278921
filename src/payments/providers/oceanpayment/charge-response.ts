/**
 * Reading the sync `<response>` of `/gateway/direct/pay`. Only an answer that verifies and that is
 * about the charge we sent is believed; anything else means the outcome is unknown (and the caller
 * must query before trying again).
 */
import type { Money } from '../../../lib/money.ts';
import { sameGatewayAmount } from '../../../lib/money.ts';
import type { ChargeOutcome } from './outcome.ts';
import { outcomeFromPaymentFields } from './outcome.ts';
import { paymentResultFormatProblems } from './result-format.ts';
import type { MerchantCredentials } from './sign.ts';
import { PAYMENT_RESULT_FIELDS, verifyMessage } from './sign.ts';
import { parseFlatXml } from './xml.ts';

/** Fields without which a charge answer cannot be understood (the signed ones may be empty). */
export const CHARGE_RESPONSE_REQUIRED_FIELDS = [
  'account', 'terminal', 'signValue', 'order_number', 'order_currency', 'order_amount',
  'payment_id', 'payment_status', 'payment_details',
] as const;

export interface SentCharge {
  readonly orderNumber: string;
  readonly money: Money;
}

export function readChargeResponse(
  body: string | Uint8Array,
  sent: SentCharge,
  credentials: MerchantCredentials,
  maxBytes?: number,
): ChargeOutcome {
  const parsed = parseFlatXml(body, { roots: ['response'], required: CHARGE_RESPONSE_REQUIRED_FIELDS, maxBytes });
  if (!parsed.ok) return { kind: 'unknown', reason: `the gateway's answer could not be read: ${parsed.problem}` };
  const { fields } = parsed.value;
  const formatProblems = paymentResultFormatProblems(fields);
  if (formatProblems.length > 0) {
    return { kind: 'unknown', reason: `the gateway's answer has a malformed signed field: ${formatProblems.join('; ')}` };
  }
  const verification = verifyMessage(PAYMENT_RESULT_FIELDS, fields, credentials);
  if (!verification.ok) {
    // What the unverified answer claims helps a person diagnose configuration errors, but nothing
    // is decided on it.
    const claim = fields.payment_details ? ` (unverified answer says "${fields.payment_details.slice(0, 120)}")` : '';
    return { kind: 'unknown', reason: `the gateway's answer failed verification: ${verification.problem}${claim}` };
  }
  const mismatch = mismatchProblem(fields, sent);
  if (mismatch) return { kind: 'unknown', reason: `the gateway's answer is not about this charge: ${mismatch}` };
  return outcomeFromPaymentFields(fields);
}

function mismatchProblem(fields: Record<string, string>, sent: SentCharge): string | null {
  if (fields.order_number !== sent.orderNumber) {
    return `order_number is "${fields.order_number}", we sent "${sent.orderNumber}"`;
  }
  if (fields.order_currency !== sent.money.currency) {
    return `order_currency is "${fields.order_currency}", we sent "${sent.money.currency}"`;
  }
  if (!sameGatewayAmount(fields.order_amount ?? '', sent.money)) {
    return `order_amount is "${fields.order_amount}", which is not the amount we sent`;
  }
  return null;
}
