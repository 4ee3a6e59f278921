/**
 * The formats of Glocash's fields (seed 003, appendix 3), checked strictly before a signature is
 * trusted: its signatures join values with no separator, so a value allowed to carry another
 * field's characters could shift text between fields and keep the signature valid.
 */
import { emailAddressProblem } from '../../../lib/email-address.ts';

/** BIL_STATUS values (appendix 4). */
export const GLOCASH_STATUSES = ['unpaid', 'paid', 'pending', 'cancelled', 'failed', 'refunding', 'refunded', 'complaint', 'chargeback'] as const;
export type GlocashStatus = (typeof GLOCASH_STATUSES)[number];

export const isGlocashStatus = (value: string): value is GlocashStatus => (GLOCASH_STATUSES as readonly string[]).includes(value);

const FORMATS: Readonly<Record<string, { pattern: RegExp; rule: string }>> = {
  REQ_TIMES: { pattern: /^\d{9,11}$/, rule: 'unix seconds' },
  REQ_INVOICE: { pattern: /^[A-Za-z0-9_-]{1,64}$/, rule: '1-64 of A-Z a-z 0-9 _ -' },
  TNS_GCID: { pattern: /^[A-Z0-9]{16}$/, rule: '16 upper-case letters and digits' },
  BIL_STATUS: { pattern: new RegExp(`^(${GLOCASH_STATUSES.join('|')})$`), rule: GLOCASH_STATUSES.join(', ') },
  BIL_METHOD: { pattern: /^[A-Z0-9_]{0,20}$/, rule: 'a payment method code such as CCG (upper-case letters, digits, _)' },
  BIL_PRICE: { pattern: /^\d{1,10}(\.\d{1,2})?$/, rule: 'a decimal amount such as 9.99' },
  PGW_PRICE: { pattern: /^\d{1,10}(\.\d{1,2})?$/, rule: 'a decimal amount such as 9.99' },
  BIL_CURRENCY: { pattern: /^[A-Z]{3}$/, rule: 'an ISO 4217 code' },
  PGW_CURRENCY: { pattern: /^[A-Z]{3}$/, rule: 'an ISO 4217 code' },
};

/** Every format problem of the named fields (missing counts), as sentences naming field and value. */
export function fieldProblems(fields: Readonly<Record<string, string | undefined>>, names: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of names) {
    const value = fields[name];
    if (value === undefined) {
      problems.push(`${name} is missing`);
      continue;
    }
    if (name === 'REQ_EMAIL' || name === 'CUS_EMAIL') {
      const problem = emailAddressProblem(value);
      if (problem) problems.push(`${name} ${JSON.stringify(value.slice(0, 80))} is not an e-mail address: ${problem}`);
      continue;
    }
    const format = FORMATS[name];
    if (format && !format.pattern.test(value)) problems.push(`${name} ${JSON.stringify(value.slice(0, 80))} is not ${format.rule}`);
  }
  return problems;
}
