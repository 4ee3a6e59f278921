/**
 * Oceanpayment amounts are decimal strings of at most 10 characters with at most 2 decimals
 * (§6); the gateway may echo "10" as "10.00". These read them back as money.
 */
import { currencyExponent, type Money } from '../../../lib/money.ts';

/** The money a gateway amount string means in `currency`, or null when it cannot mean any. */
export function moneyFromGatewayAmount(text: string, currency: string): Money | null {
  const match = /^(\d{1,10})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match || !/^[A-Z]{3}$/.test(currency)) return null;
  const [, whole = '', fraction = ''] = match;
  const exponent = currencyExponent(currency);
  if (exponent === 0) return /^0*$/.test(fraction) ? { amountMinor: Number(whole), currency } : null;
  if (exponent > 2) return null;
  return { amountMinor: Number(whole + fraction.padEnd(exponent, '0')), currency };
}
