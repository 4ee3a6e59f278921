/**
 * Reading what Glocash sends: a payment status notice (PSN) or a query's record of a transaction
 * (the same fields). Every signed field's format is checked first, then REQ_SIGN; only then are
 * the values believed. The mapping of BIL_STATUS to neutral outcomes lives here too.
 */
import { moneyFromDecimal, type Money } from '../../../lib/money.ts';
import type { ChargeOutcome } from '../../outcomes.ts';
import { fieldProblems, type GlocashStatus } from './fields.ts';
import { SIGNED_FIELDS, signatureMatches } from './sign.ts';

/** A PSN or queried record whose every signed field is well formed and whose REQ_SIGN verifies. */
export interface GlocashRecord {
  readonly invoice: string;
  readonly gcid: string;
  readonly status: GlocashStatus;
  readonly merchantEmail: string;
  readonly customerEmail: string;
  /** What was asked (BIL_PRICE/BIL_CURRENCY): compared with the charge. */
  readonly billed: Money | null;
  /** What the payment gateway took (PGW_PRICE/PGW_CURRENCY, signed), for the record. */
  readonly paid: Money | null;
  readonly method: string;
  readonly notifyType: string;
}

export type ReadRecord = { ok: true; record: GlocashRecord } | { ok: false; problem: string; invoice: string; gcid: string };

/** Checks and verifies one PSN or query record. `fields` are the values exactly as received. */
export function readRecord(fields: Readonly<Record<string, string | undefined>>, secretKey: string): ReadRecord {
  const invoice = fields.REQ_INVOICE ?? '';
  const gcid = fields.TNS_GCID ?? '';
  const fail = (problem: string): ReadRecord => ({ ok: false, problem, invoice, gcid });
  const problems = fieldProblems(fields, [...SIGNED_FIELDS.notice, 'REQ_INVOICE', 'BIL_PRICE', 'BIL_CURRENCY']);
  if (problems.length) return fail(problems.join('; '));
  if (!signatureMatches('notice', fields, secretKey, fields.REQ_SIGN ?? '')) return fail('REQ_SIGN does not verify');
  const billed = moneyFromDecimal(fields.BIL_PRICE!, fields.BIL_CURRENCY!);
  const paid = moneyFromDecimal(fields.PGW_PRICE!, fields.PGW_CURRENCY!);
  // BIL_* is not signed; in the same currency it must say what the signed PGW_* says.
  if (billed && paid && billed.currency === paid.currency && billed.amountMinor !== paid.amountMinor) {
    return fail(`BIL_PRICE ${fields.BIL_PRICE} differs from the signed PGW_PRICE ${fields.PGW_PRICE} in the same currency`);
  }
  return {
    ok: true,
    record: {
      invoice,
      gcid,
      status: fields.BIL_STATUS as GlocashStatus,
      merchantEmail: fields.REQ_EMAIL!,
      customerEmail: fields.CUS_EMAIL!,
      billed,
      paid,
      method: fields.BIL_METHOD!,
      notifyType: fields.PGW_NOTIFYTYPE ?? '',
    },
  };
}

/** What a status says about the payment, in neutral words. */
export function outcomeOfStatus(status: GlocashStatus, gcid: string): ChargeOutcome {
  switch (status) {
    case 'paid':
    // The money moved; what happened to it since is a refund or dispute of its own.
    case 'refunding':
    case 'refunded':
    case 'complaint':
    case 'chargeback':
      return { kind: 'approved', paymentId: gcid, code: status };
    case 'pending':
      return { kind: 'pending', paymentId: gcid, code: status, details: 'Glocash has not settled the payment yet' };
    case 'unpaid':
      return { kind: 'pending', paymentId: gcid, code: status, details: 'the customer has not paid the link yet' };
    case 'cancelled':
      return { kind: 'declined', declineClass: 'soft', paymentId: gcid, code: status, details: 'cancelled by the customer on the payment page' };
    case 'failed':
      return { kind: 'declined', declineClass: 'soft', paymentId: gcid, code: status, details: 'the payment failed on the payment page' };
  }
}

/** Form fields of a urlencoded body, the first value of each name; null when a name repeats (ambiguous). */
export function formFields(body: string): Record<string, string> | null {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(fields, name)) return null;
    fields[name] = value;
  }
  return fields;
}
