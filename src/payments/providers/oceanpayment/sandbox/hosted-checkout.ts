/**
 * Hosted checkout (seed 000), both ways: `POST /gateway/service/sendTrade` is checked like the
 * gateway (terminal, fields, signature, already-paid order) and answered with a signed `<respon>`
 * carrying `pay_url`; `GET {pay_url}` shows the card form; `POST {pay_url}` books the customer's
 * card, creates its QuickPay ID, sends the browser back to backUrl with the signed result and the
 * result notice (both carrying `quickpay_id`) to noticeUrl.
 *
 * Sandbox cards (any future expiry, any 3-4 digit CVV) choose what happens, like the card tokens
 * of direct/pay: see SANDBOX_CARDS.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { HOSTED_CHECKOUT_REQUEST_FIELDS, HOSTED_CHECKOUT_RESPONSE_FIELDS, sign, verify } from '../sign.ts';
import { buildFlatXml } from '../xml.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { browserReturnFields, paymentResultFields, RESULT_DETAILS, stateOf } from './gateway-messages.ts';
import { sendHtml, sendXml } from './http-util.ts';
import { checkoutPage } from './hosted-checkout-page.ts';
import { finalNotices } from './notice-plan.ts';
import type { RequestError } from './request-validation.ts';
import { DUPLICATE_ORDER, fieldError, HOSTED_CHECKOUT_CHECKS, INCORRECT_SIGN_VALUE, UNKNOWN_TERMINAL } from './request-validation.ts';
import { indexFromPayId, payIdFor } from './three-d-secure.ts';
import { messagePage, returnToMerchantPage } from './three-d-secure-page.ts';

export const CHECKOUT_PAGE_PATH = '/gateway/service/redirect';

/** What each sandbox card does; any other valid card number is approved with a plain token. */
export const SANDBOX_CARDS: ReadonlyArray<{ number: string; result: 'approve' | 'decline'; tokenPrefix?: string; details?: string; description: string }> = [
  { number: '4111111111111111', result: 'approve', description: 'approved; later renewals of its token are approved' },
  { number: '4000000000000341', result: 'approve', tokenPrefix: 'hard-decline-', description: 'approved now; its token (hard-decline-…) is declined 80040 at every renewal' },
  { number: '4000000000009987', result: 'approve', tokenPrefix: 'soft-decline-', description: 'approved now; its token (soft-decline-…) is declined 80022 at every renewal' },
  { number: '4000000000003220', result: 'approve', tokenPrefix: '3ds-', description: 'approved now; its renewals ask for 3-D Secure' },
  { number: '4000000000009995', result: 'decline', details: RESULT_DETAILS.insufficientFunds, description: 'declined 80022 (not sufficient funds)' },
  { number: '4000000000000002', result: 'decline', details: RESULT_DETAILS.notPermitted, description: 'declined 80013 (not permitted on card)' },
];

type Form = Readonly<Record<string, string>>;
const field = (form: Form, name: string): string => (Object.hasOwn(form, name) ? (form[name] ?? '') : '');

export function checkoutPageUrl(context: SandboxContext, index: number): string {
  return `${context.baseUrl}${CHECKOUT_PAGE_PATH}?pay_id=${payIdFor(context, index)}`;
}

export async function handleSendTrade(context: SandboxContext, form: Form, response: ServerResponse): Promise<void> {
  const account = field(form, 'account');
  const terminal = field(form, 'terminal');
  const secureCode = secureCodeFor(context, account, terminal);
  const error = requestError(context, form, secureCode);
  await context.timers.sleep(context.faults.latencyMs);
  if (error) {
    context.logger?.info({ orderNumber: field(form, 'order_number').slice(0, 50), code: error.code }, 'checkout request rejected');
    sendXml(response, responXml(form, { paymentId: '', payUrl: '', results: '0', details: `${error.code}:${error.message}` }, secureCode));
    return;
  }
  const index = context.ledger.record({
    account, terminal, orderNumber: field(form, 'order_number'), quickpayId: '', serviceMode: field(form, 'service_mode'),
    amount: field(form, 'order_amount'), currency: field(form, 'order_currency'), orderNotes: field(form, 'order_notes'),
    status: 'action_required', details: RESULT_DETAILS.awaitingCustomer, behaviour: 'approve', fault: 'none', at: Date.now(),
    noticeUrl: field(form, 'noticeUrl'),
  });
  context.checkouts.set(index, { noticeUrl: field(form, 'noticeUrl'), backUrl: field(form, 'backUrl') });
  const charge = context.ledger.get(index);
  context.logger?.info({ orderNumber: charge.orderNumber, paymentId: charge.paymentId }, 'hosted checkout opened');
  sendXml(response, responXml(form, { paymentId: charge.paymentId, payUrl: checkoutPageUrl(context, index), results: '1', details: '0000:Success' }, secureCode));
}

function requestError(context: SandboxContext, form: Form, secureCode: string | undefined): RequestError | null {
  if (secureCode === undefined) return UNKNOWN_TERMINAL;
  const invalid = fieldError(form, HOSTED_CHECKOUT_CHECKS);
  if (invalid) return invalid;
  if (!verify(HOSTED_CHECKOUT_REQUEST_FIELDS, form, secureCode, field(form, 'signValue'))) return INCORRECT_SIGN_VALUE;
  if (context.ledger.hasApprovedCharge(field(form, 'order_number'), field(form, 'account'), field(form, 'terminal'))) return DUPLICATE_ORDER;
  return null;
}

/** The `<respon>` of sendTrade, signed with the response formula (§1.5) in uppercase hex. */
function responXml(
  form: Form,
  answer: { paymentId: string; payUrl: string; results: '0' | '1'; details: string },
  secureCode: string | undefined,
): string {
  const values: Array<[string, string]> = [
    ['account', field(form, 'account')],
    ['terminal', field(form, 'terminal')],
    ['order_number', field(form, 'order_number')],
    ['order_currency', field(form, 'order_currency')],
    ['order_amount', field(form, 'order_amount')],
    ['order_notes', field(form, 'order_notes')],
    ['payment_id', answer.paymentId],
    ['pay_url', answer.payUrl],
    ['pay_results', answer.results],
    ['pay_details', answer.details],
  ];
  const signValue = secureCode === undefined ? '' : sign(HOSTED_CHECKOUT_RESPONSE_FIELDS, Object.fromEntries(values), secureCode).toUpperCase();
  return buildFlatXml('respon', [...values.slice(0, 2), ['signValue', signValue], ...values.slice(2)]);
}

function lookUp(context: SandboxContext, payId: string, response: ServerResponse): number | undefined {
  const index = indexFromPayId(context, payId);
  if (index === undefined || !context.checkouts.has(index)) {
    const known = index !== undefined && context.ledger.get(index).behaviour !== '3ds' && context.ledger.status(index) !== 'action_required';
    sendHtml(response, known ? 409 : 404, known
      ? messagePage('Already completed', 'This payment has already been made or cancelled; nothing more to do.')
      : messagePage('Unknown payment', 'This payment page is not valid. Ask the merchant for a new link.'));
    return undefined;
  }
  return index;
}

export function showCheckoutPage(context: SandboxContext, payId: string, response: ServerResponse): void {
  const index = lookUp(context, payId, response);
  if (index === undefined) return;
  sendHtml(response, 200, checkoutPage(checkoutDetails(context, index), null));
}

function checkoutDetails(context: SandboxContext, index: number) {
  const charge = context.ledger.get(index);
  return { account: charge.account, orderNumber: charge.orderNumber, amount: charge.amount, currency: charge.currency, action: checkoutPageUrl(context, index) };
}

export function completeCheckout(context: SandboxContext, payId: string, form: Form, response: ServerResponse): void {
  const index = lookUp(context, payId, response);
  if (index === undefined) return;
  let approved = false;
  let details: string = RESULT_DETAILS.customerCancelled;
  if (field(form, 'action') !== 'cancel') {
    const problem = cardProblem(form);
    if (problem) {
      sendHtml(response, 400, checkoutPage(checkoutDetails(context, index), problem));
      return;
    }
    const number = field(form, 'card_number').replace(/[\s-]/g, '');
    const card = SANDBOX_CARDS.find((c) => c.number === number);
    approved = card?.result !== 'decline';
    details = approved ? RESULT_DETAILS.approved : (card?.details ?? RESULT_DETAILS.notPermitted);
    // A QuickPay ID is created for a card that pays (UUID format, as the gateway's; §5).
    if (approved) {
      const token = `${card?.tokenPrefix ?? ''}${randomUUID()}`;
      const row = context.ledger.get(index);
      context.ledger.assignToken(index, token);
      const [month, year] = field(form, 'expiry').split('/').map((part) => part.trim());
      context.quickpayTokens.set(token, { account: row.account, terminal: row.terminal, customerId: '', status: 'active', expiry: `20${year}-${month}`, createdAt: Date.now() });
    }
  }
  const callbacks = context.checkouts.get(index)!;
  context.checkouts.delete(index);
  context.ledger.settle(index, approved ? 'approved' : 'declined', details, Date.now());
  const charge = context.ledger.get(index);
  context.logger?.info({ orderNumber: charge.orderNumber, paymentId: charge.paymentId, status: charge.status }, 'hosted checkout completed');
  const pageUrl = checkoutPageUrl(context, index);
  if (callbacks.noticeUrl) context.notices.send(index, callbacks.noticeUrl, finalNotices(context, charge, pageUrl), context.faults.noticeDelayMs);
  const fields = paymentResultFields(charge, stateOf(charge, pageUrl), secureCodeFor(context, charge.account, charge.terminal));
  sendHtml(response, 200, returnToMerchantPage(callbacks.backUrl, browserReturnFields(fields), approved));
}

/** What is wrong with the typed card, or null: a Luhn-valid number, a month not past, a CVV. */
export function cardProblem(form: Form): string | null {
  const number = field(form, 'card_number').replace(/[\s-]/g, '');
  if (!/^\d{13,19}$/.test(number) || !luhn(number)) return 'The card number is not valid.';
  const expiry = /^(\d{2})\s*\/\s*(\d{2})$/.exec(field(form, 'expiry').trim());
  const month = Number(expiry?.[1] ?? 0);
  if (!expiry || month < 1 || month > 12) return 'The expiry date must be MM/YY.';
  const now = new Date();
  if (2000 + Number(expiry[2]) < now.getUTCFullYear() || (2000 + Number(expiry[2]) === now.getUTCFullYear() && month < now.getUTCMonth() + 1)) {
    return 'The card has expired.';
  }
  if (!/^\d{3,4}$/.test(field(form, 'cvv'))) return 'The security code must be 3 or 4 digits.';
  return null;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}
