/**
 * Refunds: `POST /service/applyRefund` and `POST /service/queryRefund` (§3.2, §10), and the
 * control endpoint `POST /sandbox/refunds/{refund_id}` that settles a pending refund.
 *
 * applyRefund checks the terminal and the signature, then that payment_id is an approved payment
 * of that account, not charged back, and that the amount is not more than what is left
 * unrefunded (pending refunds count). What happens next is chosen by the payment's card token
 * (behaviours.ts): accepted and refunded after refundDelayMs (the default), accepted and left
 * pending, or refused for insufficient balance. Settling a refund sends its business notice.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REFUND_QUERY_REQUEST_FIELDS, REFUND_REQUEST_FIELDS, sign, verify } from '../sign.ts';
import type { SignatureFields } from '../sign.ts';
import { buildFlatXml } from '../xml.ts';
import { formatHundredths, hundredthsOf } from './amounts.ts';
import { refundBehaviourForToken } from './behaviours.ts';
import type { RefundBehaviour } from './behaviours.ts';
import type { RefundType } from './business-ledger.ts';
import { sendRefundNotice } from './business-notices.ts';
import type { SandboxContext } from './context.ts';
import { secureCodeFor } from './context.ts';
import { sendJson, sendXml } from './http-util.ts';
import { readJsonObject, stringProperty } from './json-body.ts';
import type { ChargeView } from './ledger.ts';

type Form = Readonly<Record<string, string>>;

const field = (form: Form, name: string): string => (Object.hasOwn(form, name) ? (form[name] ?? '') : '');

export interface RefundRefusal {
  readonly code: string;
  readonly message: string;
}

/**
 * Why an applyRefund request is refused. Only "00" (accepted) is documented; 20013 and 20016 are
 * the payments host's codes for the same faults, and the S codes are the sandbox's own.
 */
export const REFUND_REFUSALS = {
  unknownTerminal: { code: '20016', message: 'Terminal not match to interface (unknown account or terminal)' },
  badSignature: { code: '20013', message: 'Incorrect sign value' },
  notRefundable: { code: 'S02', message: 'payment_id is not an approved payment of this account' },
  chargedBack: { code: 'S03', message: 'the payment has been charged back; it cannot be refunded' },
  duplicateNumber: { code: 'S04', message: 'refund_number is already used by another refund of this account' },
  insufficientBalance: {
    code: 'S06',
    message: 'Insufficient balance to refund (sandbox code: the real gateway instead holds such a refund for review for up to 30 days)',
  },
} as const satisfies Record<string, RefundRefusal>;

const INVALID_FIELD = 'S01';
const TOO_MUCH = 'S05';

/**
 * The sandbox's own signValue on applyRefund answers (the real formula, if there is one, is
 * unknown): there so the field is not empty; clients must not rely on it.
 */
export const SANDBOX_REFUND_ANSWER_SIGN_FIELDS: SignatureFields = ['account', 'terminal', 'payment_id', 'refund_id', 'refund_results'];

const MAX_DESCRIPTION_LENGTH = 500;

type Decision =
  | { kind: 'refuse'; refusal: RefundRefusal; charge?: ChargeView }
  | { kind: 'accept'; charge: ChargeView; type: RefundType; amount: string; hundredths: number; behaviour: RefundBehaviour };

export async function handleApplyRefund(context: SandboxContext, form: Form, response: ServerResponse): Promise<void> {
  const secureCode = secureCodeFor(context, field(form, 'account'), field(form, 'terminal'));
  // Decided and booked with no await in between, so two refunds of one payment sent at once
  // cannot both take what is left.
  const decision = decide(context, form, secureCode);
  if (decision.kind === 'refuse') {
    context.ledger.business.countRefusal();
    context.logger?.info({ paymentId: field(form, 'payment_id').slice(0, 32), code: decision.refusal.code }, 'refund refused');
    await context.timers.sleep(context.faults.latencyMs);
    sendXml(response, refundAnswer(form, decision.charge, '', decision.refusal, secureCode));
    return;
  }
  const { charge, behaviour } = decision;
  const row = context.ledger.business.bookRefund({
    charge: charge.index,
    account: charge.account,
    refundNumber: field(form, 'refund_number'),
    amount: decision.amount,
    hundredths: decision.hundredths,
    type: decision.type,
    description: field(form, 'refund_description'),
    at: Date.now(),
  });
  const refundId = context.ledger.business.refund(row).refundId;
  context.logger?.info({ orderNumber: charge.orderNumber, paymentId: charge.paymentId, refundId, behaviour }, 'refund accepted');
  if (behaviour === 'refund') context.timers.after(context.refundDelayMs, () => settleRefund(context, row, 'refunded'));
  await context.timers.sleep(context.faults.latencyMs);
  sendXml(response, refundAnswer(form, charge, refundId, { code: '00', message: 'Success' }, secureCode));
}

function decide(context: SandboxContext, form: Form, secureCode: string | undefined): Decision {
  const refuse = (refusal: RefundRefusal, charge?: ChargeView): Decision => ({ kind: 'refuse', refusal, ...(charge ? { charge } : {}) });
  if (secureCode === undefined) return refuse(REFUND_REFUSALS.unknownTerminal);
  if (!verify(REFUND_REQUEST_FIELDS, form, secureCode, field(form, 'signValue'))) return refuse(REFUND_REFUSALS.badSignature);
  const invalid = fieldProblem(form);
  if (invalid) return refuse({ code: INVALID_FIELD, message: invalid });
  const index = context.ledger.chargeForPaymentId(field(form, 'payment_id'));
  const charge = index === undefined ? undefined : context.ledger.get(index);
  if (!charge || charge.status !== 'approved' || charge.account !== field(form, 'account')) return refuse(REFUND_REFUSALS.notRefundable);
  const { business } = context.ledger;
  if (business.chargebacksOf(charge.index).length > 0) return refuse(REFUND_REFUSALS.chargedBack, charge);
  const refundNumber = field(form, 'refund_number');
  if (refundNumber !== '' && business.refundsByNumber(charge.account, refundNumber).length > 0) {
    return refuse(REFUND_REFUSALS.duplicateNumber, charge);
  }
  const amount = field(form, 'refund_amount');
  const hundredths = hundredthsOf(amount) ?? 0;
  const paid = hundredthsOf(charge.amount) ?? 0;
  const refunded = business.refundsOf(charge.index)
    .map((row) => business.refund(row))
    .filter((refund) => refund.status !== 'failed')
    .reduce((sum, refund) => sum + refund.hundredths, 0);
  const type: RefundType = field(form, 'refund_type') === '1' ? 'full' : 'partial';
  if (type === 'full' && (hundredths !== paid || refunded > 0)) {
    return refuse({
      code: TOO_MUCH,
      message: `a full refund (refund_type 1) must be the whole payment (${charge.amount} ${charge.currency}) with nothing refunded before; ` +
        `${formatHundredths(paid - refunded)} ${charge.currency} is left unrefunded, use refund_type 2`,
    }, charge);
  }
  if (hundredths > paid - refunded) {
    return refuse({
      code: TOO_MUCH,
      message: `refund_amount ${amount} is more than the ${formatHundredths(paid - refunded)} ${charge.currency} left unrefunded on this payment`,
    }, charge);
  }
  const behaviour = refundBehaviourForToken(charge.quickpayId);
  if (behaviour === 'refund-refused') return refuse(REFUND_REFUSALS.insufficientBalance, charge);
  return { kind: 'accept', charge, type, amount, hundredths, behaviour };
}

function fieldProblem(form: Form): string | null {
  if (!/^\d{1,32}$/.test(field(form, 'payment_id'))) return 'payment_id must be the digits of a payment id';
  if (!['1', '2'].includes(field(form, 'refund_type'))) return 'refund_type must be 1 (full) or 2 (partial)';
  if (!((hundredthsOf(field(form, 'refund_amount')) ?? 0) > 0)) {
    return 'refund_amount must be a decimal greater than 0 with at most 2 decimals and 10 characters';
  }
  const description = field(form, 'refund_description');
  if (description.trim() === '' || description.length > MAX_DESCRIPTION_LENGTH) {
    return `refund_description must be 1-${MAX_DESCRIPTION_LENGTH} characters`;
  }
  if (!/^[A-Za-z0-9_-]{0,50}$/.test(field(form, 'refund_number'))) return 'refund_number must be at most 50 letters, digits, "_" or "-"';
  return null;
}

/** The `<response>` of applyRefund (fields INFERRED from shopxo's plugin; see the client's refund.ts). */
function refundAnswer(form: Form, charge: ChargeView | undefined, refundId: string, result: RefundRefusal, secureCode: string | undefined): string {
  const values: Record<string, string> = {
    account: field(form, 'account').slice(0, 50),
    terminal: field(form, 'terminal').slice(0, 50),
    payment_id: field(form, 'payment_id').slice(0, 50),
    refund_id: refundId,
    refund_results: result.code,
  };
  const signValue = secureCode === undefined ? '' : sign(SANDBOX_REFUND_ANSWER_SIGN_FIELDS, values, secureCode).toUpperCase();
  return buildFlatXml('response', [
    ['account', values.account!],
    ['terminal', values.terminal!],
    ['signValue', signValue],
    ['payment_id', values.payment_id!],
    ['order_number', charge?.orderNumber ?? ''],
    ['refund_number', field(form, 'refund_number').slice(0, 50)],
    ['refund_id', refundId],
    ['refund_results', result.code],
    ['refund_description', result.message],
  ]);
}

/** Settles a pending refund and sends its notice; false when it was no longer pending. */
export function settleRefund(context: SandboxContext, row: number, status: 'refunded' | 'failed'): boolean {
  if (!context.ledger.business.settleRefund(row, status, Date.now())) return false;
  const refund = context.ledger.business.refund(row);
  context.logger?.info({ refundId: refund.refundId, status }, 'refund settled');
  sendRefundNotice(context, row);
  return true;
}

/**
 * `POST /service/queryRefund`: refund_check 00 refunded, 02 pending, 03 failed, 04 no such refund,
 * 05 bad signature, 92 a missing or unknown parameter (§10). The answer's signValue echoes the
 * request's, as the real one is said to.
 */
export async function handleRefundQuery(context: SandboxContext, form: Form, response: ServerResponse): Promise<void> {
  const account = field(form, 'account');
  const secureCode = secureCodeFor(context, account, field(form, 'terminal'));
  const refundId = field(form, 'refund_id');
  const refundNumber = field(form, 'refund_number');
  await context.timers.sleep(context.faults.latencyMs);
  const answer = (check: string, description: string, found?: { refundId: string; refundNumber: string; queryNo: string }) =>
    sendXml(response, buildFlatXml('response', [
      ['account', account.slice(0, 50)],
      ['terminal', field(form, 'terminal').slice(0, 50)],
      ['signValue', field(form, 'signValue').slice(0, 64)],
      ['refund_id', found?.refundId ?? refundId.slice(0, 64)],
      ['refund_number', found?.refundNumber ?? refundNumber.slice(0, 50)],
      ['refund_queryNo', found?.queryNo ?? ''],
      ['refund_check', check],
      ['refund_description', description],
    ]));
  if (secureCode === undefined) return answer('92', 'Unknown account or terminal');
  if (!verify(REFUND_QUERY_REQUEST_FIELDS, form, secureCode, field(form, 'signValue'))) return answer('05', 'Incorrect sign value');
  if (refundId === '' && refundNumber === '') return answer('92', 'refund_id or refund_number is required');
  const { business } = context.ledger;
  const rows = refundId !== '' ? [business.refundById(refundId)] : business.refundsByNumber(account, refundNumber);
  const row = rows.find((candidate): candidate is number =>
    candidate !== undefined &&
    context.ledger.get(business.refund(candidate).charge).account === account &&
    (refundNumber === '' || business.refund(candidate).refundNumber === refundNumber));
  if (row === undefined) return answer('04', 'No such refund');
  const refund = business.refund(row);
  const found = { refundId: refund.refundId, refundNumber: refund.refundNumber, queryNo: refund.status === 'refunded' ? `ARN${refund.refundId}` : '' };
  if (refund.status === 'refunded') return answer('00', 'Refund completed', found);
  if (refund.status === 'failed') return answer('03', 'Refund failed on review', found);
  return answer('02', 'Pending', found);
}

/** `POST /sandbox/refunds/{refund_id}` with `{"status": "refunded" | "failed"}`: settles a pending refund now. */
export async function settleRefundByControl(context: SandboxContext, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  const refundId = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf('/') + 1));
  const body = await readJsonObject(request, '{"status": "refunded"}');
  if (!body.ok) return sendJson(response, body.status, { error: body.error });
  const status = stringProperty(body.value, 'status');
  if (status !== 'refunded' && status !== 'failed') {
    return sendJson(response, 400, { error: 'status must be "refunded" or "failed", e.g. {"status": "refunded"}' });
  }
  const row = context.ledger.business.refundById(refundId);
  if (row === undefined) return sendJson(response, 404, { error: `no refund with refund_id "${refundId.slice(0, 64)}"` });
  const current = context.ledger.business.refundStatus(row);
  if (!settleRefund(context, row, status)) {
    return sendJson(response, 409, { error: `refund ${refundId} is already ${current}; only a pending refund can be settled` });
  }
  const refund = context.ledger.business.refund(row);
  sendJson(response, 200, context.ledger.business.entriesFor(refund.charge).refunds.find((entry) => entry.refund_id === refund.refundId));
}
