/**
 * Glocash's REQ_SIGN (seed 003, appendix 1; the same in its SDKs): SHA-256, lowercase hex, over
 * the secret key FIRST and then the named fields, joined with no separator. Because nothing
 * separates the values, every field is format-checked (fields.ts) before a signature is trusted.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The fields each message signs, in order (after the secret key). */
export const SIGNED_FIELDS = {
  payment: ['REQ_TIMES', 'REQ_EMAIL', 'REQ_INVOICE', 'CUS_EMAIL', 'BIL_METHOD', 'BIL_PRICE', 'BIL_CURRENCY'],
  query: ['REQ_TIMES', 'REQ_EMAIL', 'TNS_GCID'],
  notice: ['REQ_TIMES', 'REQ_EMAIL', 'CUS_EMAIL', 'TNS_GCID', 'BIL_STATUS', 'BIL_METHOD', 'PGW_PRICE', 'PGW_CURRENCY'],
  refund: ['REQ_TIMES', 'REQ_EMAIL', 'TNS_GCID', 'PGW_PRICE'],
} as const;

export type SignedMessage = keyof typeof SIGNED_FIELDS;

/** REQ_SIGN of a message; a missing field signs as the empty string (as the SDKs do). */
export function glocashSign(message: SignedMessage, fields: Readonly<Record<string, string | undefined>>, secretKey: string): string {
  const text = secretKey + SIGNED_FIELDS[message].map((name) => fields[name] ?? '').join('');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Whether `received` is the message's signature (compared in constant time; only lowercase hex counts). */
export function signatureMatches(message: SignedMessage, fields: Readonly<Record<string, string | undefined>>, secretKey: string, received: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(received)) return false;
  const expected = glocashSign(message, fields, secretKey);
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(received, 'hex'));
}
