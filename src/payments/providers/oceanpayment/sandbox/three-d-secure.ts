/**
 * The `pay_url` of a 3-D Secure charge: `GET` shows the challenge, `POST` books the customer's
 * choice (approved, or declined 80091), sends the browser back to backUrl with the signed result
 * (response_type=0) and dispatches the final notice (response_type=1).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { browserReturnFields, paymentResultFields, RESULT_DETAILS, stateOf } from './gateway-messages.ts';
import { sendHtml } from './http-util.ts';
import { finalNotices } from './notice-plan.ts';
import { challengePage, messagePage, returnToMerchantPage } from './three-d-secure-page.ts';

export const PAY_URL_PATH = '/gateway/direct/redirect';

/**
 * pay_id: 64 hex digits like the real one. The first 8 are the ledger row, the rest a MAC of it,
 * so the sandbox needs no table of issued ids and a guessed id is refused.
 */
export function payIdFor(context: SandboxContext, index: number): string {
  return index.toString(16).padStart(8, '0') + mac(context, index);
}

export function payUrlFor(context: SandboxContext, index: number): string {
  return `${context.baseUrl}${PAY_URL_PATH}?pay_id=${payIdFor(context, index)}`;
}

export function indexFromPayId(context: SandboxContext, payId: string): number | undefined {
  if (!/^[0-9a-f]{64}$/.test(payId)) return undefined;
  const index = Number.parseInt(payId.slice(0, 8), 16);
  const expected = Buffer.from(mac(context, index), 'latin1');
  const received = Buffer.from(payId.slice(8), 'latin1');
  if (!timingSafeEqual(expected, received) || index >= context.ledger.size) return undefined;
  return index;
}

function mac(context: SandboxContext, index: number): string {
  return createHmac('sha256', context.payIdKey).update(`pay_id:${index}`).digest('hex').slice(0, 56);
}

type Lookup = { ok: true; index: number } | { ok: false };

function lookUp(context: SandboxContext, payId: string, response: ServerResponse): Lookup {
  const index = indexFromPayId(context, payId);
  if (index === undefined || context.ledger.get(index).behaviour !== '3ds') {
    sendHtml(response, 404, messagePage('Unknown payment', 'This verification link is not valid. Ask the merchant for a new one.'));
    return { ok: false };
  }
  if (context.ledger.status(index) !== 'action_required' || !context.callbacks.has(index)) {
    sendHtml(response, 409, messagePage('Already completed', 'This payment has already been verified or declined; nothing more to do.'));
    return { ok: false };
  }
  return { ok: true, index };
}

export function showChallenge(context: SandboxContext, payId: string, response: ServerResponse): void {
  const found = lookUp(context, payId, response);
  if (!found.ok) return;
  const charge = context.ledger.get(found.index);
  sendHtml(response, 200, challengePage({
    account: charge.account,
    orderNumber: charge.orderNumber,
    amount: charge.amount,
    currency: charge.currency,
    action: payUrlFor(context, found.index),
  }));
}

export function completeChallenge(
  context: SandboxContext,
  payId: string,
  form: Readonly<Record<string, string>>,
  response: ServerResponse,
): void {
  const choice = form.result;
  if (choice !== 'authenticate' && choice !== 'fail') {
    sendHtml(response, 400, messagePage('Choose an answer', 'Press "Authenticate" or "Fail".'));
    return;
  }
  const found = lookUp(context, payId, response);
  if (!found.ok) return;
  const { index } = found;
  const callbacks = context.callbacks.get(index);
  context.callbacks.delete(index);
  const approved = choice === 'authenticate';
  context.ledger.settle(index, approved ? 'approved' : 'declined', approved ? RESULT_DETAILS.approved : RESULT_DETAILS.failed3ds, Date.now());
  const charge = context.ledger.get(index);
  const payUrl = payUrlFor(context, index);
  context.logger?.info({ orderNumber: charge.orderNumber, paymentId: charge.paymentId, status: charge.status }, '3-D Secure completed');
  if (callbacks?.noticeUrl) {
    context.notices.send(index, callbacks.noticeUrl, finalNotices(context, charge, payUrl), context.faults.noticeDelayMs);
  }
  if (!callbacks?.backUrl) {
    sendHtml(response, 200, messagePage(approved ? 'Payment verified' : 'Verification failed', 'You can close this window.'));
    return;
  }
  const fields = paymentResultFields(charge, stateOf(charge, payUrl), secureCodeFor(context, charge.account, charge.terminal));
  sendHtml(response, 200, returnToMerchantPage(callbacks.backUrl, browserReturnFields(fields), approved));
}
