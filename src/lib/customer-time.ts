/** Instants as customers read them: their own wall-clock time, and which zone it is. */
import { DateTime } from 'luxon';

/** "Monday 1 March 2027 at 19:00 (America/New_York)". */
export function formatWhen(instant: Date, timezone: string): string {
  return `${DateTime.fromJSDate(instant, { zone: timezone }).setLocale('en-GB').toFormat("cccc d LLLL yyyy 'at' HH:mm")} (${timezone})`;
}

/** "1 March 2027": the day only, in the customer's zone (for subjects). */
export function formatDay(instant: Date, timezone: string): string {
  return DateTime.fromJSDate(instant, { zone: timezone }).setLocale('en-GB').toFormat('d LLLL yyyy');
}
