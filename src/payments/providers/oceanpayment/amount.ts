/**
 * Oceanpayment amounts are decimal strings of at most 10 characters with at most 2 decimals
 * (§6); the gateway may echo "10" as "10.00". `moneyFromGatewayAmount` reads them back as money.
 */
export { moneyFromDecimal as moneyFromGatewayAmount } from '../../../lib/money.ts';
