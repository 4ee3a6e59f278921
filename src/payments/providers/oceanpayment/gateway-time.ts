/**
 * The gateway's clock: `yyyy-MM-dd HH:mm:ss` in local time with no zone written (§6), used by the
 * order lists (request dates and `payment_dateTime`) and the business notices. The Dispute API
 * documentation says its times are UTC+8 (§10, CONSISTENT with the company being in Shenzhen), so
 * that is the default; the offset is a parameter so a merchant told otherwise can change it.
 */

/** UTC+8, in minutes east of UTC. */
export const GATEWAY_UTC_OFFSET_MINUTES = 480;

const MAX_OFFSET_MINUTES = 14 * 60;
const GATEWAY_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** The problem with a UTC offset, or null: whole minutes between -14 h and +14 h. */
export function utcOffsetProblem(offsetMinutes: number): string | null {
  return Number.isInteger(offsetMinutes) && Math.abs(offsetMinutes) <= MAX_OFFSET_MINUTES
    ? null
    : `the gateway's UTC offset must be whole minutes between -${MAX_OFFSET_MINUTES} and ${MAX_OFFSET_MINUTES}, got ${offsetMinutes}`;
}

/** An instant as the gateway writes it, e.g. `2024-05-27 14:16:41`. Fractions of a second are dropped. */
export function formatGatewayDateTime(instant: Date, offsetMinutes = GATEWAY_UTC_OFFSET_MINUTES): string {
  const local = new Date(Math.floor(instant.getTime() / 1000) * 1000 + offsetMinutes * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)}`;
}

/**
 * The instant a gateway time names, or null when the text is not exactly `yyyy-MM-dd HH:mm:ss`
 * or names a day that does not exist (`2024-02-30`).
 */
export function parseGatewayDateTime(text: string, offsetMinutes = GATEWAY_UTC_OFFSET_MINUTES): Date | null {
  const match = GATEWAY_DATE_TIME.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day ||
    hour > 23 || minute > 59 || second > 59
  ) {
    return null;
  }
  return new Date(local - offsetMinutes * 60_000);
}
