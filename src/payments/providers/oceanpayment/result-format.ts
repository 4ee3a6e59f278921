/**
 * The shape every signed field of a payment result must have before its signature is trusted.
 *
 * The result signature is SHA-256 over the field values joined with no separators (§1.5), so the
 * same signature covers every other way of cutting that string into fields: a genuine decline
 * (`payment_authType` 2, `payment_status` 0, `payment_details` "80091:…") re-cut as
 * `payment_authType` "208009", `payment_status` "1", `payment_details` ":…" still verifies (§10).
 * Pinning each field to its documented format leaves exactly one way to cut the string.
 */
import { ORDER_NUMBER_PATTERN } from './charge-request.ts';

export type FieldFormats = ReadonlyArray<readonly [field: string, pattern: RegExp, rule: string]>;

/** The merchant and order fields every signed gateway answer starts with. */
export const ORDER_FIELD_FORMATS: FieldFormats = [
  ['account', /^\d{6}$/, 'a 6-digit account number'],
  ['terminal', /^\d{8,12}$/, 'an 8-12 digit terminal number'],
  ['order_number', ORDER_NUMBER_PATTERN, '1-50 letters, digits, "_" or "-"'],
  ['order_currency', /^[A-Z]{3}$/, 'an ISO 4217 code'],
  ['order_amount', /^\d{1,10}(\.\d{1,2})?$/, 'a decimal amount with at most 2 decimals'],
];

const FORMATS: FieldFormats = [
  ...ORDER_FIELD_FORMATS,
  // A masked card number ("411111***1111"), or nothing (a request refused before any card was read).
  ['card_number', /^(\d{4,6}\*{2,12}\d{2,4})?$/, 'a masked card number such as 411111***1111, or empty'],
  ['payment_id', /^\d{0,32}$/, 'digits, or empty'],
  ['payment_authType', /^[0-3]$/, '0, 1, 2 or 3'],
  ['payment_status', /^(-1|0|1)$/, '-1, 0 or 1'],
  ['payment_details', /^(\d{5}:[^\u0000-\u001f]*)?$/, 'a 5-digit code, a colon and a text ("80000:Transaction Approved"), or empty'],
];

/**
 * Problems with the format of a payment result's signed fields (an empty list when every field is
 * well-formed). A result with any problem must be rejected, whatever its signature says.
 */
export function paymentResultFormatProblems(fields: Readonly<Record<string, string | undefined>>): string[] {
  return formatProblems(fields, FORMATS);
}

/** Problems with these fields' formats, each naming the field, its value and the rule. */
export function formatProblems(fields: Readonly<Record<string, string | undefined>>, formats: FieldFormats): string[] {
  const problems: string[] = [];
  for (const [field, pattern, rule] of formats) {
    const value = Object.hasOwn(fields, field) ? (fields[field] ?? '') : '';
    if (!pattern.test(value)) problems.push(`${field} "${printable(value)}" is not ${rule}`);
  }
  return problems;
}

/** A value as it may appear in a stored problem: short, with control characters shown as escapes. */
function printable(value: string): string {
  const short = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return short.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
