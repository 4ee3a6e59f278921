/**
 * `POST /service/check/normal`: the signed order query (§3.1). One `<paymentInfo>` per attempt on
 * the order number, newest first; an unknown order gives a `<response>` with no paymentInfo.
 */
import type { ServerResponse } from 'node:http';
import { ORDER_QUERY_REQUEST_FIELDS, sign, verify } from '../sign.ts';
import type { SignatureFields } from '../sign.ts';
import { buildXml } from '../xml.ts';
import type { XmlChildren } from '../xml.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { gatewayDateTime, paymentStatusFor } from './gateway-messages.ts';
import { sendXml } from './http-util.ts';
import type { ChargeView } from './ledger.ts';
import { INCORRECT_SIGN_VALUE, UNKNOWN_TERMINAL } from './request-validation.ts';

/**
 * The real formula of a query entry's signValue is unknown (§1.6). This one is the sandbox's own,
 * there only so the field is not empty; clients must not rely on any.
 */
export const SANDBOX_QUERY_ENTRY_SIGN_FIELDS: SignatureFields = [
  'account', 'terminal', 'order_number', 'payment_id', 'payment_results',
];

/** The gateway accepts up to 100 comma-separated order numbers (§3.1). */
const MAX_ORDERS_PER_QUERY = 100;

type Form = Readonly<Record<string, string>>;

export async function handleOrderQuery(context: SandboxContext, form: Form, response: ServerResponse): Promise<void> {
  context.ledger.countQuery();
  const account = form.account ?? '';
  const terminal = form.terminal ?? '';
  const orderNumbers = form.order_number ?? '';
  const secureCode = secureCodeFor(context, account, terminal);
  const problem =
    secureCode === undefined ? UNKNOWN_TERMINAL
    : !verify(ORDER_QUERY_REQUEST_FIELDS, form, secureCode, form.signValue ?? '') ? INCORRECT_SIGN_VALUE
    : null;
  await context.timers.sleep(context.faults.latencyMs);
  if (problem || secureCode === undefined) {
    // The real error shape is not documented; these two element names are the sandbox's own.
    sendXml(response, buildXml('response', [
      ['account', account.slice(0, 50)],
      ['terminal', terminal.slice(0, 50)],
      ['order_number', orderNumbers.slice(0, 50)],
      ['query_results', '0'],
      ['query_details', `${problem?.code}:${problem?.message}`],
    ]));
    return;
  }
  const wanted = [...new Set(orderNumbers.split(',').map((number) => number.trim()).filter(Boolean))].slice(0, MAX_ORDERS_PER_QUERY);
  const children: Array<readonly [string, XmlChildren]> = [];
  for (const orderNumber of wanted) {
    for (const index of context.ledger.chargesForOrder(orderNumber, account)) {
      const charge = context.ledger.get(index);
      const business = businessStatuses(context, index);
      children.push(['paymentInfo', paymentInfo(charge, business, secureCodeFor(context, charge.account, charge.terminal) ?? secureCode)]);
    }
  }
  // An unknown order: just the echo of the request, no paymentInfo.
  sendXml(response, buildXml('response', children.length > 0 ? children : [['account', account], ['terminal', terminal]]));
}

/**
 * `refund_status` and `chargeBack_status`: 1 when the payment has a completed refund or a
 * chargeback, else 0 (the value in the documentation's example).
 */
function businessStatuses(context: SandboxContext, index: number): { refund: string; chargeBack: string } {
  const { business } = context.ledger;
  return {
    refund: business.refundsOf(index).some((row) => business.refundStatus(row) === 'refunded') ? '1' : '0',
    chargeBack: business.chargebacksOf(index).length > 0 ? '1' : '0',
  };
}

function paymentInfo(charge: ChargeView, business: { refund: string; chargeBack: string }, secureCode: string): XmlChildren {
  const paymentResults = paymentStatusFor(charge.status);
  const signValue = sign(SANDBOX_QUERY_ENTRY_SIGN_FIELDS, {
    account: charge.account, terminal: charge.terminal, order_number: charge.orderNumber,
    payment_id: charge.paymentId, payment_results: paymentResults,
  }, secureCode).toUpperCase();
  return [
    ['account', charge.account],
    ['terminal', charge.terminal],
    ['signValue', signValue],
    ['order_number', charge.orderNumber],
    ['order_currency', charge.currency],
    ['order_amount', charge.amount],
    ['order_sourceUrl', ''],
    ['order_notes', charge.orderNotes],
    ['methods', 'Credit Card'],
    ['payment_id', charge.paymentId],
    ['payment_results', paymentResults],
    ['payment_details', charge.details],
    ['payment_risk', ''],
    ['payment_authCode', ''],
    ['payment_eci', ''],
    ['payment_dateTime', gatewayDateTime(charge.updatedAt)],
    ['auth_status', ''],
    ['payment_debitTime', ''],
    ['pay_barCode', ''],
    ['refund_status', business.refund],
    ['chargeBack_status', business.chargeBack],
    ['duplicate_status', ''],
    ['update_status', ''],
  ];
}
