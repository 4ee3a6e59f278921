/**
 * Money is an integer count of the currency's minor units plus an ISO 4217 code.
 * The gateway takes a decimal string of at most 10 characters with at most 2 decimals,
 * so currencies with 3 or 4 minor digits cannot be charged through it and are refused here.
 */
import { ValidationError } from './errors.ts';

const ZERO_DECIMAL = new Set([
  'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF',
]);
const THREE_DECIMAL = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);
const FOUR_DECIMAL = new Set(['CLF', 'UYW']);
/** Codes in the ISO list that are not money one can charge (metals, SDR, testing, "no currency"). */
const NOT_CHARGEABLE = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']);
const KNOWN_CODES = new Set(Intl.supportedValuesOf('currency'));

export const GATEWAY_AMOUNT_MAX_LENGTH = 10;

export interface Money {
  /** Integer number of minor units (cents for USD, yen for JPY). */
  readonly amountMinor: number;
  readonly currency: string;
}

/** Number of minor-unit digits the currency has under ISO 4217. */
export function currencyExponent(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  if (FOUR_DECIMAL.has(currency)) return 4;
  return 2;
}

/** Returns the problem with a currency code, or null when rebill can charge in it. */
export function currencyProblem(currency: string): string | null {
  if (!/^[A-Z]{3}$/.test(currency)) {
    return `currency "${currency}" is not an ISO 4217 code (three capital letters, e.g. USD)`;
  }
  const exponent = currencyExponent(currency);
  if (exponent > 2) {
    return `currency ${currency} has ${exponent} decimal places; the Oceanpayment gateway accepts at most 2, so it cannot be charged`;
  }
  if (!KNOWN_CODES.has(currency) || NOT_CHARGEABLE.has(currency)) {
    return `currency "${currency}" is not a known ISO 4217 currency`;
  }
  return null;
}

/** Problems with an amount already in minor units, or an empty list. */
export function moneyProblems(money: Money): string[] {
  const problem = currencyProblem(money.currency);
  if (problem) return [problem];
  if (!Number.isSafeInteger(money.amountMinor)) return [`amount must be a whole number of minor units, got ${money.amountMinor}`];
  if (money.amountMinor <= 0) return [`amount must be greater than zero, got ${formatAmount(money)} ${money.currency}`];
  const text = formatAmount(money);
  if (text.length > GATEWAY_AMOUNT_MAX_LENGTH) {
    return [`amount ${text} ${money.currency} is longer than the gateway's ${GATEWAY_AMOUNT_MAX_LENGTH} characters`];
  }
  return [];
}

/**
 * Parses a decimal amount typed by a person ("9.99", "1000") in the given currency.
 * Throws a ValidationError naming the problem; never rounds.
 */
export function parseMoney(text: string, currency: string): Money {
  const problem = currencyProblem(currency);
  if (problem) throw new ValidationError(problem);
  const trimmed = text.trim();
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(trimmed);
  if (!match) throw new ValidationError(`amount "${text}" is not a decimal number such as 9.99`);
  const [, sign, whole = '', fraction = ''] = match;
  const exponent = currencyExponent(currency);
  if (fraction.length > exponent) {
    throw new ValidationError(
      exponent === 0
        ? `amount "${text}": ${currency} has no minor unit, so the amount must be a whole number`
        : `amount "${text}": ${currency} has ${exponent} decimal places, not ${fraction.length}`,
    );
  }
  const digits = (whole + fraction.padEnd(exponent, '0')).replace(/^0+(?=\d)/, '');
  const amountMinor = Number(digits) * (sign === '-' ? -1 : 1);
  const money = { amountMinor, currency };
  const problems = moneyProblems(money);
  if (problems.length) throw new ValidationError(problems);
  return money;
}

/** The decimal string for an amount: "9.99" for 999 USD, "1000" for 1000 JPY. */
export function formatAmount({ amountMinor, currency }: Money): string {
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0;
  const digits = String(Math.abs(amountMinor));
  if (exponent === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(exponent + 1, '0');
  const text = `${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
  return (negative ? '-' : '') + text;
}

/**
 * The `order_amount` string sent to the gateway. Refuses what the gateway would reject,
 * so a bad amount never leaves rebill.
 */
export function gatewayAmount(money: Money): string {
  const problems = moneyProblems(money);
  if (problems.length) throw new ValidationError(problems);
  return formatAmount(money);
}

/**
 * Whether an amount string the gateway returned means the same money. The gateway may echo
 * "10" as "10.00"; the signature is always checked over the string as received.
 */
export function sameGatewayAmount(received: string, money: Money): boolean {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(received.trim());
  if (!match) return false;
  const [, whole = '', fraction = ''] = match;
  const exponent = currencyExponent(money.currency);
  if (exponent === 0) return /^0*$/.test(fraction) && Number(whole) === money.amountMinor;
  return Number(whole + fraction.padEnd(exponent, '0')) === money.amountMinor;
}

/** "USD 9.99" for people: logs, e-mails, the CLI. */
export function displayMoney(money: Money): string {
  return `${money.currency} ${formatAmount(money)}`;
}

/**
 * The money a provider's decimal amount string means in `currency` ("10", "10.5", "10.00"), or
 * null when it cannot mean any: at most 10 digits before the point and 2 after, as gateways send.
 */
export function moneyFromDecimal(text: string, currency: string): Money | null {
  const match = /^(\d{1,10})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match || !/^[A-Z]{3}$/.test(currency)) return null;
  const [, whole = '', fraction = ''] = match;
  const exponent = currencyExponent(currency);
  if (exponent === 0) return /^0*$/.test(fraction) ? { amountMinor: Number(whole), currency } : null;
  if (exponent > 2) return null;
  return { amountMinor: Number(whole + fraction.padEnd(exponent, '0')), currency };
}
