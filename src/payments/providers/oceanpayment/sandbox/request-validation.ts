/**
 * The parameter checks of `/gateway/direct/pay`, in the order the sandbox applies them, each with
 * the documented 200xx code it answers with. The reference (§4) documents the ranges
 * (20017/20018 order number, 20019–20021 amount, 20022/20023 currency, 20024/20025 backUrl,
 * 20044–20055 billing fields) but not which code inside a range means what; the split below is
 * the sandbox's own and is kept in this one table.
 */

export interface RequestError {
  readonly code: string;
  readonly message: string;
}

type Form = Readonly<Record<string, string>>;

interface Check {
  readonly field: string;
  readonly code: string;
  readonly message: string;
  readonly fails: (value: string, form: Form) => boolean;
}

const DECIMAL = /^\d+(\.\d+)?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

const empty = (value: string): boolean => value.trim() === '';
const longerThan = (max: number) => (value: string): boolean => value.length > max;
const badUrl = (value: string): boolean => !empty(value) && !isHttpUrl(value);

export const DIRECT_PAY_CHECKS: readonly Check[] = [
  { field: 'order_number', code: '20017', message: 'Order number is empty', fails: empty },
  { field: 'order_number', code: '20018', message: 'Order number is longer than 50 characters', fails: longerThan(50) },
  { field: 'order_amount', code: '20019', message: 'Order amount is empty', fails: empty },
  { field: 'order_amount', code: '20020', message: 'Order amount is not a number greater than 0', fails: (v) => !DECIMAL.test(v) || Number(v) <= 0 },
  { field: 'order_amount', code: '20021', message: 'Order amount has more than 2 decimals or more than 10 characters', fails: (v) => /\.\d{3,}$/.test(v) || v.length > 10 },
  { field: 'order_currency', code: '20022', message: 'Order currency is empty', fails: empty },
  { field: 'order_currency', code: '20023', message: 'Order currency is not supported', fails: (v) => !/^[A-Z]{3}$/.test(v) || !KNOWN_CURRENCIES.has(v) },
  { field: 'backUrl', code: '20024', message: 'backUrl is not a valid http(s) URL', fails: badUrl },
  { field: 'backUrl', code: '20025', message: 'backUrl is longer than 500 characters', fails: longerThan(500) },
  { field: 'noticeUrl', code: '20024', message: 'noticeUrl is not a valid http(s) URL', fails: badUrl },
  { field: 'noticeUrl', code: '20025', message: 'noticeUrl is longer than 500 characters', fails: longerThan(500) },
  { field: 'billing_firstName', code: '20044', message: 'Billing first name is empty', fails: empty },
  { field: 'billing_firstName', code: '20045', message: 'Billing first name is longer than 50 characters', fails: longerThan(50) },
  { field: 'billing_lastName', code: '20046', message: 'Billing last name is empty', fails: empty },
  { field: 'billing_lastName', code: '20047', message: 'Billing last name is longer than 50 characters', fails: longerThan(50) },
  { field: 'billing_email', code: '20048', message: 'Billing email is empty', fails: empty },
  { field: 'billing_email', code: '20049', message: 'Billing email is malformed or longer than 50 characters', fails: (v) => !EMAIL.test(v) || v.length > 50 },
  { field: 'billing_phone', code: '20050', message: 'Billing phone is longer than 50 characters', fails: longerThan(50) },
  { field: 'billing_country', code: '20051', message: 'Billing country is empty or longer than 100 characters', fails: (v) => empty(v) || v.length > 100 },
  { field: 'billing_state', code: '20052', message: 'Billing state is longer than 100 characters', fails: longerThan(100) },
  { field: 'billing_city', code: '20053', message: 'Billing city is longer than 500 characters', fails: longerThan(500) },
  { field: 'billing_address', code: '20053', message: 'Billing address is longer than 500 characters', fails: longerThan(500) },
  { field: 'billing_zip', code: '20054', message: 'Billing zip is longer than 50 characters', fails: longerThan(50) },
  { field: 'billing_ip', code: '20055', message: 'Billing IP is longer than 50 characters', fails: longerThan(50) },
  // Not a documented 200xx case: a token charge without a token has no card to charge. 20030 is
  // the documented "invalid card number" code.
  { field: 'quickpay_id', code: '20030', message: 'No card: quickpay_id is empty', fails: empty },
];

/** Unknown account, or a terminal that is not one of the account's (no documented code; see README). */
export const UNKNOWN_TERMINAL: RequestError = { code: '20016', message: 'Terminal not match to interface (unknown account or terminal)' };
export const INCORRECT_SIGN_VALUE: RequestError = { code: '20013', message: 'Incorrect sign value' };
/** Sandbox choice: the documented "invalid card number" code for a token that was disabled. */
export const DISABLED_TOKEN: RequestError = { code: '20030', message: 'Invalid card: this QuickPay ID was disabled' };
export const DUPLICATE_ORDER: RequestError = { code: '20061', message: 'Duplicate order: this order number is already paid' };

/**
 * The checks of `/gateway/service/sendTrade`: the same fields, no card token (the page creates
 * it), and a backUrl to send the customer back to.
 */
export const HOSTED_CHECKOUT_CHECKS: readonly Check[] = [
  { field: 'backUrl', code: '20024', message: 'backUrl is empty', fails: empty },
  ...DIRECT_PAY_CHECKS.filter((check) => check.field !== 'quickpay_id'),
];

/** The first failing field check, or null. */
export function fieldError(form: Form, checks: readonly Check[] = DIRECT_PAY_CHECKS): RequestError | null {
  for (const check of checks) {
    const value = Object.hasOwn(form, check.field) ? (form[check.field] ?? '') : '';
    if (check.fails(value, form)) return { code: check.code, message: check.message };
  }
  return null;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
