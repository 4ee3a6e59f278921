/** Gateway amounts ("9.99", "10", "0.1") in hundredths, so sums and comparisons are exact whatever the currency. */

const GATEWAY_AMOUNT = /^(\d{1,10})(?:\.(\d{1,2}))?$/;

/** The amount in hundredths, or undefined when the text is not a gateway amount (at most 10 characters, 2 decimals). */
export function hundredthsOf(text: string): number | undefined {
  const match = GATEWAY_AMOUNT.exec(text);
  if (!match || text.length > 10) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

/** "12.30" for 1230. */
export function formatHundredths(hundredths: number): string {
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
}
