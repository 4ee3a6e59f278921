/**
 * `POST /sandbox/orders`: books an approved payment the merchant never sent (made in the back
 * office, or by another system on the same account), for reconciliation to find. It gets no
 * notice; only the order query and the successful-orders list show it. Its ledger row has fault
 * `out_of_band`.
 *
 * Body: `{"order_number": "…", "amount": "9.99", "currency": "USD"}`, optionally `account` and
 * `terminal` (the first configured ones by default), `quickpay_id`, `order_notes`, and `at` (an
 * ISO 8601 instant, to book it on another day).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hundredthsOf } from './amounts.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { RESULT_DETAILS } from './gateway-messages.ts';
import { sendJson } from './http-util.ts';
import { readJsonObject, stringProperty } from './json-body.ts';

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export async function bookOutOfBandOrder(context: SandboxContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJsonObject(request, '{"order_number": "BO-1", "amount": "9.99", "currency": "USD"}');
  if (!body.ok) return sendJson(response, body.status, { error: body.error });
  const text = (name: string) => stringProperty(body.value, name);
  const [first] = context.accounts;
  const account = text('account') || first?.account || '';
  const terminal = text('terminal') || first?.terminal || '';
  const orderNumber = text('order_number') ?? '';
  const amount = text('amount') ?? '';
  const currency = text('currency') ?? '';
  const quickpayId = text('quickpay_id') || 'out-of-band';
  const orderNotes = text('order_notes') ?? '';
  const at = text('at') ? Date.parse(text('at') ?? '') : Date.now();
  const problems: string[] = [];
  if (['account', 'terminal', 'order_number', 'amount', 'currency', 'quickpay_id', 'order_notes', 'at'].some((name) => text(name) === undefined)) {
    problems.push('every property must be a string');
  }
  if (secureCodeFor(context, account, terminal) === undefined) problems.push(`account ${account} terminal ${terminal} is not one of the sandbox's`);
  if (orderNumber === '' || orderNumber.length > 50 || CONTROL.test(orderNumber)) problems.push('order_number must be 1-50 characters without control characters');
  if (!((hundredthsOf(amount) ?? 0) > 0)) problems.push('amount must be a decimal greater than 0 with at most 2 decimals, e.g. 9.99');
  if (!/^[A-Z]{3}$/.test(currency)) problems.push('currency must be an ISO 4217 code such as USD');
  if (quickpayId.length > 100 || CONTROL.test(quickpayId) || orderNotes.length > 500 || CONTROL.test(orderNotes)) {
    problems.push('quickpay_id (at most 100 characters) and order_notes (at most 500) must have no control characters');
  }
  if (!Number.isFinite(at)) problems.push('at must be an ISO 8601 instant such as 2024-03-01T10:00:00Z');
  if (problems.length > 0) return sendJson(response, 400, { error: 'invalid order', problems });
  if (context.ledger.hasApprovedCharge(orderNumber, account, terminal)) {
    return sendJson(response, 409, { error: `order ${orderNumber} already has an approved payment on this terminal` });
  }
  const index = context.ledger.record({
    account, terminal, orderNumber, quickpayId, serviceMode: '', amount, currency, orderNotes,
    status: 'approved', details: RESULT_DETAILS.approved, behaviour: 'approve', fault: 'out_of_band', at,
  });
  context.logger?.info({ orderNumber, paymentId: context.ledger.get(index).paymentId }, 'out-of-band payment booked');
  sendJson(response, 201, context.ledger.entry(index));
}
