/**
 * Face-to-face WeChat Pay and Alipay (seed 001): `POST /gateway/directservice/pay` and the void of
 * an unpaid QR order on `POST /gateway/service/auth` (payment_authType 3). A QR order is booked
 * like a 3-D Secure charge: its `pay_barCode` is the sandbox page standing in for the customer's
 * wallet, where paying (Authenticate) or refusing (Fail) settles it and sends the notice. A
 * scanned code (`pay_accountNumber`) is charged at once, its start choosing the behaviour as a
 * card token's does.
 */
import type { ServerResponse } from 'node:http';
import { buildFlatXml } from '../xml.ts';
import { OFFLINE_VOID_REQUEST_FIELDS, verify } from '../sign.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { handleDirectPay } from './direct-pay.ts';
import { sendXml } from './http-util.ts';

type Form = Readonly<Record<string, string>>;

/** The ledger token of a QR order: its behaviour is the 3-D Secure one (a page decides). */
const QR_ORDER_TOKEN = '3ds-face-to-face-qr';
export const VOIDED_DETAILS = '80095:Order voided by the merchant';

const field = (form: Form, name: string): string => (Object.hasOwn(form, name) ? (form[name] ?? '') : '');

export function handleFaceToFacePay(context: SandboxContext, form: Form, response: ServerResponse): Promise<void> {
  const qr = /^(WeChatPay|Alipay)_Offline$/.test(field(form, 'methods'));
  return handleDirectPay(context, { ...form, quickpay_id: qr ? QR_ORDER_TOKEN : field(form, 'pay_accountNumber') }, response, qr ? 'qr' : 'scan');
}

/** Voids the order's unpaid QR payment; answers `<respon>` with auth_status 1 (voided) or 0 and why not. */
export function handleOfflineVoid(context: SandboxContext, form: Form, response: ServerResponse): void {
  const account = field(form, 'account');
  const terminal = field(form, 'terminal');
  const orderNumber = field(form, 'order_number');
  const secureCode = secureCodeFor(context, account, terminal);
  const answer = (status: '0' | '1', details: string) =>
    sendXml(response, buildFlatXml('respon', [['account', account], ['terminal', terminal], ['order_number', orderNumber], ['payment_authType', field(form, 'payment_authType')], ['auth_status', status], ['auth_details', details]]));
  if (secureCode === undefined) return answer('0', 'unknown account or terminal');
  if (!verify(OFFLINE_VOID_REQUEST_FIELDS, form, secureCode, field(form, 'signValue'))) return answer('0', 'incorrect signValue');
  if (field(form, 'payment_authType') !== '3') return answer('0', 'payment_authType must be 3 to void a face-to-face order');
  const index = context.ledger.chargesForOrder(orderNumber, account).at(-1);
  if (index === undefined) return answer('0', 'no such order');
  if (context.ledger.status(index) !== 'action_required') return answer('0', `the order is ${context.ledger.status(index)}, not awaiting payment`);
  context.callbacks.delete(index);
  context.ledger.settle(index, 'declined', VOIDED_DETAILS, Date.now());
  context.logger?.info({ orderNumber }, 'face-to-face order voided');
  answer('1', 'voided');
}
