/**
 * `POST /gateway/direct/pay`: check the request like the gateway (terminal, fields, signature,
 * already-paid order), book the charge, schedule its notices, then answer as the token's
 * behaviour and the fault settings say.
 */
import type { ServerResponse } from 'node:http';
import { QUICKPAY_CHARGE_REQUEST_FIELDS, verify } from '../sign.ts';
import type { Behaviour } from './behaviours.ts';
import { behaviourForToken } from './behaviours.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { paymentResultFields, RESULT_DETAILS, stateOf, syncResponseXml } from './gateway-messages.ts';
import { sendHtml, sendXml } from './http-util.ts';
import type { ChargeStatus, FaultKind } from './ledger.ts';
import { currentStateNotice, finalNotices } from './notice-plan.ts';
import type { RequestError } from './request-validation.ts';
import { DISABLED_TOKEN, DUPLICATE_ORDER, fieldError, INCORRECT_SIGN_VALUE, UNKNOWN_TERMINAL } from './request-validation.ts';
import { payUrlFor } from './three-d-secure.ts';

type Form = Readonly<Record<string, string>>;

const field = (form: Form, name: string): string => (Object.hasOwn(form, name) ? (form[name] ?? '') : '');

/**
 * `faceToFace` (from `/gateway/directservice/pay`): `qr` answers pending with the page standing in
 * for the customer's wallet as `pay_barCode` (and no `pay_url`); `scan` charges the scanned code,
 * whose start picks the behaviour as a token's does.
 */
export async function handleDirectPay(context: SandboxContext, form: Form, response: ServerResponse, faceToFace?: 'qr' | 'scan'): Promise<void> {
  const account = field(form, 'account');
  const terminal = field(form, 'terminal');
  const secureCode = secureCodeFor(context, account, terminal);
  const error = requestError(context, form, secureCode);
  if (error) {
    await reject(context, form, error, secureCode, response);
    return;
  }

  const quickpayId = field(form, 'quickpay_id');
  const behaviour = behaviourForToken(quickpayId);
  const initial = initialResult(behaviour, context.ledger.chargeCountForToken(quickpayId));
  const { status } = initial;
  // A QR order waits for the customer's wallet with no details, as seed 001's answer shows.
  const details = faceToFace === 'qr' ? '' : initial.details;
  const fault = rollFault(context);
  const at = Date.now();
  const index = context.ledger.record({
    account, terminal, orderNumber: field(form, 'order_number'), quickpayId,
    serviceMode: field(form, 'service_mode'), amount: field(form, 'order_amount'), currency: field(form, 'order_currency'),
    orderNotes: field(form, 'order_notes'), status, details, behaviour, fault, at, noticeUrl: field(form, 'noticeUrl'),
  });
  const charge = context.ledger.get(index);
  const payUrl = behaviour === '3ds' ? payUrlFor(context, index) : '';
  // A QR order's page is scanned, not visited: its messages carry no pay_url.
  const shownPayUrl = faceToFace === 'qr' ? '' : payUrl;
  const noticeUrl = field(form, 'noticeUrl');
  context.logger?.info({ orderNumber: charge.orderNumber, paymentId: charge.paymentId, behaviour, status, fault }, 'charge booked');

  scheduleNotices(context, index, behaviour, noticeUrl, shownPayUrl);
  // The wallet on the customer's phone does not go back to the merchant's page.
  if (behaviour === '3ds') context.callbacks.set(index, { noticeUrl, backUrl: faceToFace === 'qr' ? '' : field(form, 'backUrl') });

  if (behaviour === 'timeout' || fault === 'timeout') {
    holdWithoutAnswer(context, response);
    return;
  }
  await context.timers.sleep(context.faults.latencyMs);
  if (fault === 'server_error') {
    sendHtml(response, 502, '<html><body><h1>502 Bad Gateway</h1></body></html>');
    return;
  }
  const fields = paymentResultFields(charge, stateOf(charge, shownPayUrl), secureCode);
  const xml = syncResponseXml(faceToFace ? [...fields.filter(([name]) => name !== 'quickpay_id'), ['pay_barCode', faceToFace === 'qr' ? payUrl : '']] : fields);
  // A garbled answer: cut off mid-document, as a dropped connection behind a proxy would leave it.
  sendXml(response, fault === 'garbled' ? xml.slice(0, Math.floor(xml.length / 2)) : xml);
}

function requestError(context: SandboxContext, form: Form, secureCode: string | undefined): RequestError | null {
  if (secureCode === undefined) return UNKNOWN_TERMINAL;
  const invalid = fieldError(form);
  if (invalid) return invalid;
  if (!verify(QUICKPAY_CHARGE_REQUEST_FIELDS, form, secureCode, field(form, 'signValue'))) return INCORRECT_SIGN_VALUE;
  // A card token disabled with /pg/quickPay/cancel can pay no more.
  if (context.quickpayTokens.get(field(form, 'quickpay_id'))?.status === 'canceled') return DISABLED_TOKEN;
  if (context.ledger.hasApprovedCharge(field(form, 'order_number'), field(form, 'account'), field(form, 'terminal'))) {
    return DUPLICATE_ORDER;
  }
  return null;
}

/** Every error answer is a signed `<response>` with payment_status 0 and `code:message` details. */
async function reject(
  context: SandboxContext,
  form: Form,
  error: RequestError,
  secureCode: string | undefined,
  response: ServerResponse,
): Promise<void> {
  const quickpayId = field(form, 'quickpay_id');
  const index = context.ledger.record({
    account: field(form, 'account'), terminal: field(form, 'terminal'), orderNumber: field(form, 'order_number'),
    quickpayId, serviceMode: field(form, 'service_mode'), amount: field(form, 'order_amount'),
    currency: field(form, 'order_currency'), orderNotes: field(form, 'order_notes'), status: 'rejected',
    details: `${error.code}:${error.message}`, behaviour: behaviourForToken(quickpayId), fault: 'none', at: Date.now(),
  });
  const charge = context.ledger.get(index);
  context.logger?.info({ orderNumber: charge.orderNumber.slice(0, 50), details: charge.details }, 'charge request rejected');
  await context.timers.sleep(context.faults.latencyMs);
  sendXml(response, syncResponseXml(paymentResultFields(charge, stateOf(charge, ''), secureCode)));
}

function initialResult(behaviour: Behaviour, earlierChargesOfToken: number): { status: ChargeStatus; details: string } {
  switch (behaviour) {
    case 'soft-decline':
      return { status: 'declined', details: RESULT_DETAILS.insufficientFunds };
    case 'hard-decline':
      return { status: 'declined', details: RESULT_DETAILS.lostCard };
    case 'decline-once':
      return earlierChargesOfToken === 0
        ? { status: 'declined', details: RESULT_DETAILS.insufficientFunds }
        : { status: 'approved', details: RESULT_DETAILS.approved };
    case '3ds':
      return { status: 'action_required', details: RESULT_DETAILS.awaiting3ds };
    case 'pending':
    case 'lost-notice':
      return { status: 'pending', details: RESULT_DETAILS.pending };
    case 'approve':
    case 'timeout':
    case 'duplicate-notice':
    case 'out-of-order':
      return { status: 'approved', details: RESULT_DETAILS.approved };
  }
}

function rollFault(context: SandboxContext): FaultKind {
  const { faults, random } = context;
  if (random.chance(faults.serverErrorShare)) return 'server_error';
  if (random.chance(faults.timeoutShare)) return 'timeout';
  if (random.chance(faults.garbledShare)) return 'garbled';
  return 'none';
}

/**
 * Like the gateway (seed 002), every charge with a noticeUrl gets a notice, except the `timeout`
 * and `lost-notice` behaviours, whose point is that only a query (or the order list) reveals the charge.
 */
function scheduleNotices(context: SandboxContext, index: number, behaviour: Behaviour, noticeUrl: string, payUrl: string): void {
  const { ledger, notices } = context;
  if (behaviour === 'lost-notice') {
    // Approved at the gateway; the notice that would say so never reaches the merchant.
    context.timers.after(context.pendingNoticeDelayMs, () => ledger.settle(index, 'approved', RESULT_DETAILS.approved, Date.now()));
    return;
  }
  if (behaviour === 'pending') {
    context.timers.after(context.pendingNoticeDelayMs, () => {
      // The ledger changes first, so a query made when the notice arrives agrees with it.
      ledger.settle(index, 'approved', RESULT_DETAILS.approved, Date.now());
      notices.send(index, noticeUrl, finalNotices(context, ledger.get(index), payUrl), context.faults.noticeDelayMs);
    });
    return;
  }
  if (noticeUrl === '' || behaviour === 'timeout') return;
  if (behaviour === '3ds') {
    // The pending 80093 notice now; the final one when the customer decides on the page.
    notices.send(index, noticeUrl, [currentStateNotice(context, ledger.get(index), payUrl)], context.faults.noticeDelayMs);
    return;
  }
  notices.send(index, noticeUrl, finalNotices(context, ledger.get(index), payUrl), context.faults.noticeDelayMs);
}

/** No answer at all: the socket is closed after timeoutHoldMs, unless the client hangs up first. */
function holdWithoutAnswer(context: SandboxContext, response: ServerResponse): void {
  const cancel = context.timers.after(context.timeoutHoldMs, () => response.socket?.destroy());
  response.on('close', cancel);
}
