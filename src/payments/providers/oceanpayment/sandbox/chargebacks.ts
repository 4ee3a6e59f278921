/**
 * `POST /sandbox/chargebacks` with `{"order_number": "…"}` (optionally `account`, `amount`,
 * `reason`): the cardholder's bank takes a payment back. The sandbox books a chargeback on the
 * order's newest approved payment and sends a `chargeBack` business notice to its noticeUrl; the
 * order query then shows `chargeBack_status` 1, and the business order list lists it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatHundredths, hundredthsOf } from './amounts.ts';
import { sendChargebackNotice } from './business-notices.ts';
import type { SandboxContext } from './context.ts';
import { sendJson } from './http-util.ts';
import { readJsonObject, stringProperty } from './json-body.ts';

const DEFAULT_REASON = 'Chargeback: the cardholder disputed the payment with their bank (sandbox)';
const MAX_REASON_LENGTH = 200;

export async function recordChargeback(context: SandboxContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJsonObject(request, '{"order_number": "7ae42a56976f47b98c97d9e6763c044d-3-1"}');
  if (!body.ok) return sendJson(response, body.status, { error: body.error });
  const orderNumber = stringProperty(body.value, 'order_number');
  const account = stringProperty(body.value, 'account');
  const amount = stringProperty(body.value, 'amount');
  const reason = stringProperty(body.value, 'reason');
  if (!orderNumber || account === undefined || amount === undefined || reason === undefined) {
    return sendJson(response, 400, { error: 'order_number is required; order_number, account, amount and reason must be strings' });
  }
  if (reason.length > MAX_REASON_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(reason)) {
    return sendJson(response, 400, { error: `reason must be at most ${MAX_REASON_LENGTH} characters without control characters` });
  }
  const accounts = account === '' ? [...new Set(context.accounts.map((entry) => entry.account))] : [account];
  const { ledger } = context;
  const approved = accounts
    .flatMap((name) => ledger.chargesForOrder(orderNumber, name))
    .filter((index) => ledger.status(index) === 'approved')
    .sort((a, b) => b - a);
  const index = approved[0];
  if (index === undefined) {
    return sendJson(response, 404, { error: `no approved payment for order "${orderNumber.slice(0, 50)}"${account ? ` on account ${account}` : ''}` });
  }
  const charge = ledger.get(index);
  if (ledger.business.chargebacksOf(index).length > 0) {
    return sendJson(response, 409, { error: `payment ${charge.paymentId} of order ${charge.orderNumber} is already charged back` });
  }
  const paid = hundredthsOf(charge.amount) ?? 0;
  const hundredths = amount === '' ? paid : hundredthsOf(amount);
  if (hundredths === undefined || hundredths <= 0 || hundredths > paid) {
    return sendJson(response, 400, { error: `amount must be a decimal greater than 0 and at most the payment's ${charge.amount} ${charge.currency}` });
  }
  const row = ledger.business.bookChargeback({
    charge: index,
    amount: amount === '' ? charge.amount : formatHundredths(hundredths),
    hundredths,
    reason: reason === '' ? DEFAULT_REASON : reason,
    at: Date.now(),
  });
  const chargeback = ledger.business.chargeback(row);
  context.logger?.info({ orderNumber: charge.orderNumber, paymentId: charge.paymentId, chargebackId: chargeback.chargebackId }, 'chargeback booked');
  sendChargebackNotice(context, row);
  sendJson(response, 201, {
    chargeback_id: chargeback.chargebackId,
    order_number: charge.orderNumber,
    payment_id: charge.paymentId,
    amount: chargeback.amount,
    currency: charge.currency,
    reason: chargeback.reason,
    notice_sent_to: charge.noticeUrl === '' ? null : charge.noticeUrl,
  });
}
