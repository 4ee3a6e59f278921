import { describe, expect, it } from 'vitest';
import { formatAmount, gatewayAmount, parseMoney, sameGatewayAmount } from '../../src/lib/money.ts';

describe('money', () => {
  it.each([
    ['9.99', 'USD', 999, '9.99'],
    ['10', 'USD', 1000, '10.00'],
    ['0.01', 'EUR', 1, '0.01'],
    ['1000', 'JPY', 1000, '1000'],
    ['50000', 'KRW', 50000, '50000'],
    ['9999999.99', 'USD', 999999999, '9999999.99'],
    ['9999999999', 'JPY', 9999999999, '9999999999'],
  ])('parses %s %s to %i minor units and sends "%s"', (text, currency, minor, wire) => {
    const money = parseMoney(text, currency);
    expect(money).toEqual({ amountMinor: minor, currency });
    expect(gatewayAmount(money)).toBe(wire);
  });

  it.each([
    ['1.234', 'USD', /2 decimal places/],
    ['10.5', 'JPY', /no minor unit/],
    ['1.000', 'KWD', /3 decimal places.*at most 2/],
    ['1', 'CLF', /4 decimal places/],
    ['0', 'USD', /greater than zero/],
    ['0.00', 'USD', /greater than zero/],
    ['-5', 'USD', /greater than zero/],
    ['10000000.00', 'USD', /longer than the gateway's 10 characters/],
    ['10000000000', 'JPY', /longer than the gateway's 10 characters/],
    ['abc', 'USD', /not a decimal number/],
    ['1e3', 'USD', /not a decimal number/],
    ['5', 'usd', /ISO 4217/],
    ['5', 'ABC', /not a known ISO 4217/],
    ['5', 'XAU', /not a known ISO 4217/],
  ])('refuses %s %s with a clear error', (text, currency, message) => {
    expect(() => parseMoney(text, currency)).toThrow(message);
  });

  it('refuses to format an amount the gateway cannot take', () => {
    expect(() => gatewayAmount({ amountMinor: 1500, currency: 'BHD' })).toThrow(/3 decimal places/);
    expect(() => gatewayAmount({ amountMinor: 0, currency: 'USD' })).toThrow(/greater than zero/);
  });

  it('compares an echoed gateway amount by value, not by spelling', () => {
    expect(sameGatewayAmount('10', { amountMinor: 1000, currency: 'USD' })).toBe(true);
    expect(sameGatewayAmount('10.00', { amountMinor: 1000, currency: 'USD' })).toBe(true);
    expect(sameGatewayAmount('10.01', { amountMinor: 1000, currency: 'USD' })).toBe(false);
    expect(sameGatewayAmount('1000.00', { amountMinor: 1000, currency: 'JPY' })).toBe(true);
    expect(sameGatewayAmount('1000.50', { amountMinor: 1000, currency: 'JPY' })).toBe(false);
    expect(sameGatewayAmount('1.005', { amountMinor: 100, currency: 'USD' })).toBe(false);
  });

  it('formats minor units for people', () => {
    expect(formatAmount({ amountMinor: 5, currency: 'USD' })).toBe('0.05');
  });
});
