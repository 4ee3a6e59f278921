/**
 * `payment_details` codes (§4 of docs/oceanpayment-protocol.md) and what rebill should do about
 * each. The meanings come from Oceanpayment's help-centre list; the classes are our reading of its
 * recommended actions. Outcomes are decided by payment_status, never by this table alone: the
 * table only says how to treat a decline (or that a result must be queried first).
 */

/**
 * - `success`: approved.
 * - `soft`: may succeed later; retry on the dunning schedule (at most `retryLimit` times when set).
 * - `hard`: will not succeed with this card; stop and ask the customer.
 * - `unknown`: the gateway does not know the outcome itself; query before anything else.
 * - `duplicate`: the order number is already paid; query it, never charge it again.
 * - `request`: our request was wrong (bug or configuration); alert, do not retry as is.
 */
export type CodeClass = 'success' | 'soft' | 'hard' | 'unknown' | 'duplicate' | 'request';

export interface CodeInfo {
  readonly code: string;
  readonly class: CodeClass;
  /** For soft declines that are worth only a few more tries. */
  readonly retryLimit?: number;
  readonly meaning: string;
}

type Row = readonly [codes: readonly string[], codeClass: CodeClass, meaning: string, retryLimit?: number];

/** Retries allowed for the "soft, limited" rows ("retry later at most once or twice"). */
const LIMITED = 2;

const ROWS: readonly Row[] = [
  [['80000'], 'success', 'Transaction approved'],
  [['80010'], 'soft', 'Do not honour (issuer risk or limits); retry later a few times, or the customer contacts the bank', LIMITED],
  [['80011'], 'soft', 'Refer to card issuer; the customer must contact the bank'],
  [['80012', '80030', '80036', '80043', '80074'], 'soft', 'Declined by the bank (generic); retry later at most once or twice', LIMITED],
  [['80013'], 'hard', 'Transaction not permitted on this card'],
  [['80014'], 'soft', 'Duplicate transaction at the issuer; do not resend the same order, a new order number may be tried', 1],
  [['80020'], 'hard', 'Invalid amount'],
  [['80021', '80039', '20030'], 'hard', 'Invalid card number'],
  [['80022'], 'soft', 'Not sufficient funds; retry in a few days'],
  [['80023'], 'hard', 'Expired card or wrong expiry date; a new card is needed'],
  [['80024'], 'hard', 'Incorrect PIN (customer-present only)'],
  [['80025'], 'hard', 'Restricted card or retain card'],
  [['80026', '20171'], 'hard', 'Invalid CVV / security code'],
  [['80027', '80072'], 'soft', 'Exceeds the payment or bank limit; retry later or with a smaller amount'],
  [['80028'], 'hard', 'Invalid account type'],
  [['80031'], 'unknown', 'Time out, status uncertain; query before retrying'],
  [['80032', '80042'], 'hard', 'Invalid merchant, or not allowed on this website'],
  [['80034'], 'soft', 'Invalid card, issuer or acquirer (may be an issuer time-out)', LIMITED],
  [['80035'], 'hard', 'Format error; the request data must be fixed'],
  [['80038'], 'hard', 'Not permitted on this term (issuer setting)'],
  [['80040'], 'hard', 'Lost, stolen or pick-up card; never retry'],
  [['80041'], 'hard', 'Suspected fraud; never retry'],
  [['80053'], 'soft', 'Authorisation void', LIMITED],
  [['80070', '80071'], 'soft', 'Declined by the bank risk system; the customer must contact the bank', LIMITED],
  [['80090'], 'soft', 'Could not start 3-D Secure; a retry asks the customer again', LIMITED],
  [['80091'], 'soft', 'Cardholder failed 3-D Secure; a retry asks the customer again', LIMITED],
  [['80093'], 'soft', '3-D Secure not completed (abandoned or wrong code); needs the customer on-session', LIMITED],
  [['80100', '80700'], 'unknown', 'Transaction not finished, status unknown; query before retrying'],
  [['80101'], 'soft', 'Customer cancelled; final for this attempt', 1],
  [['10000'], 'hard', 'Declined by Oceanpayment risk control'],
  [['20061'], 'duplicate', 'Duplicate order: this order number already has a successful payment; query it'],
  [['20068'], 'request', 'Request IP is not in the whitelist (configuration)'],
  [['20013'], 'request', 'Incorrect sign value'],
  [['20014', '20015'], 'request', 'Test terminal used on the live host, or the reverse'],
  [['20016'], 'request', 'Terminal does not match the interface'],
  [['20017', '20018'], 'request', 'Order number empty or longer than 50 characters'],
  [['20019', '20020', '20021'], 'request', 'Order amount missing or malformed'],
  [['20022', '20023'], 'request', 'Order currency missing or not supported'],
  [['20024', '20025'], 'request', 'backUrl/noticeUrl missing, malformed or longer than 500 characters'],
];

const TABLE: ReadonlyMap<string, CodeInfo> = new Map(
  ROWS.flatMap(([codes, codeClass, meaning, retryLimit]) =>
    codes.map((code): [string, CodeInfo] => [code, { code, class: codeClass, meaning, ...(retryLimit !== undefined ? { retryLimit } : {}) }]),
  ),
);

/** Retries allowed for an 8xxxx decline code that is not in the table. */
const UNLISTED_DECLINE_RETRY_LIMIT = 2;

/**
 * Codes for which the gateway itself does not know the outcome. Besides the listed ones, an
 * unlisted 807xx code is treated as part of the family (80700 "not finished" sits there), so a new
 * code in that range is queried rather than retried.
 */
export function isStatusUnknownCode(code: string): boolean {
  return code === '80031' || code === '80100' || code === '80700' || (/^807\d\d$/.test(code) && !TABLE.has(code));
}

/** What a code means and how to treat it; unlisted codes get the safest reading of their range. */
export function classifyCode(code: string): CodeInfo {
  const known = TABLE.get(code);
  if (known) return known;
  if (isStatusUnknownCode(code)) return { code, class: 'unknown', meaning: 'Unlisted code in the status-unknown range; query first' };
  if (/^200\d\d$/.test(code)) return { code, class: 'request', meaning: 'Unlisted parameter validation error' };
  if (/^8\d{4}$/.test(code)) {
    return { code, class: 'soft', retryLimit: UNLISTED_DECLINE_RETRY_LIMIT, meaning: 'Unlisted decline code; retry a limited number of times' };
  }
  if (code === '') return { code, class: 'unknown', meaning: 'No code given' };
  return { code, class: 'unknown', meaning: 'Unlisted code; query before acting on it' };
}

/** Splits `payment_details` ("80022:Not sufficient funds") into its code and message. */
export function parseDetails(details: string): { code: string; message: string } {
  const text = details.trim();
  const colon = text.indexOf(':');
  if (colon === -1) return /^\d+$/.test(text) ? { code: text, message: '' } : { code: '', message: text };
  return { code: text.slice(0, colon).trim(), message: text.slice(colon + 1).trim() };
}
