import { describe, expect, it } from 'vitest';
import { latestDuePeriod, parseInstant, renewalAt, upcomingRenewals, type Interval } from '../../src/plans/billing-calendar.ts';

const iso = (d: Date) => d.toISOString();
function renewals(interval: Interval, anchor: string, timezone: string, count: number): string[] {
  return upcomingRenewals({ interval, anchorAt: new Date(anchor), timezone }, count).map(iso);
}

describe('billing calendar: month ends are clamped, and always computed from the anchor', () => {
  it.each<[string, Interval, string, string[]]>([
    ['monthly from Jan 31 (common year)', 'month', '2027-01-31T09:00:00Z',
      ['2027-02-28T09:00:00.000Z', '2027-03-31T09:00:00.000Z', '2027-04-30T09:00:00.000Z', '2027-05-31T09:00:00.000Z']],
    ['monthly from Jan 31 (leap year)', 'month', '2028-01-31T09:00:00Z',
      ['2028-02-29T09:00:00.000Z', '2028-03-31T09:00:00.000Z', '2028-04-30T09:00:00.000Z']],
    ['monthly from Mar 30', 'month', '2027-03-30T00:00:00Z',
      ['2027-04-30T00:00:00.000Z', '2027-05-30T00:00:00.000Z', '2027-06-30T00:00:00.000Z']],
    ['yearly from Feb 29', 'year', '2024-02-29T12:00:00Z',
      ['2025-02-28T12:00:00.000Z', '2026-02-28T12:00:00.000Z', '2027-02-28T12:00:00.000Z', '2028-02-29T12:00:00.000Z']],
    ['quarterly from Aug 31', 'quarter', '2026-08-31T10:00:00Z',
      ['2026-11-30T10:00:00.000Z', '2027-02-28T10:00:00.000Z', '2027-05-31T10:00:00.000Z', '2027-08-31T10:00:00.000Z']],
    ['half-yearly from Aug 31', 'half-year', '2026-08-31T10:00:00Z',
      ['2027-02-28T10:00:00.000Z', '2027-08-31T10:00:00.000Z', '2028-02-29T10:00:00.000Z']],
    ['quarterly from Nov 30', 'quarter', '2026-11-30T10:00:00Z',
      ['2027-02-28T10:00:00.000Z', '2027-05-30T10:00:00.000Z', '2027-08-30T10:00:00.000Z', '2027-11-30T10:00:00.000Z']],
    ['half-yearly from Nov 30', 'half-year', '2026-11-30T10:00:00Z',
      ['2027-05-30T10:00:00.000Z', '2027-11-30T10:00:00.000Z', '2028-05-30T10:00:00.000Z']],
    ['weekly', 'week', '2027-01-01T08:00:00Z',
      ['2027-01-08T08:00:00.000Z', '2027-01-15T08:00:00.000Z', '2027-01-22T08:00:00.000Z']],
  ])('%s', (_name, interval, anchor, expected) => {
    expect(renewals(interval, anchor, 'UTC', expected.length)).toEqual(expected);
  });

  it('renewal n comes from the anchor, not from renewal n-1 (Apr 30 after Jan 31, never Apr 28)', () => {
    const plan = { interval: 'month' as const, anchorAt: new Date('2027-01-31T09:00:00Z'), timezone: 'UTC' };
    expect(iso(renewalAt(plan, 3))).toBe('2027-04-30T09:00:00.000Z');
    expect(iso(renewalAt(plan, 0))).toBe('2027-01-31T09:00:00.000Z');
  });
});

describe("billing calendar: the customer's wall-clock time in their zone, across DST", () => {
  it.each<[string, string, Interval, string, string[]]>([
    // 09:00 New York: EST (-05) before the second Sunday of March 2027 (Mar 14), EDT (-04) after.
    ['America/New_York, monthly across spring forward', 'America/New_York', 'month', '2027-01-31T14:00:00Z',
      ['2027-02-28T14:00:00.000Z', '2027-03-31T13:00:00.000Z', '2027-04-30T13:00:00.000Z']],
    ['America/New_York, weekly across fall back (Nov 7 2027)', 'America/New_York', 'week', '2027-10-31T13:00:00Z',
      ['2027-11-07T14:00:00.000Z', '2027-11-14T14:00:00.000Z']],
    // 09:00 London: GMT until Mar 28 2027, BST (+01) until Oct 31 2027.
    ['Europe/London, monthly across both changes', 'Europe/London', 'month', '2027-02-15T09:00:00Z',
      ['2027-03-15T09:00:00.000Z', '2027-04-15T08:00:00.000Z', '2027-05-15T08:00:00.000Z']],
    ['Europe/London, yearly in summer', 'Europe/London', 'year', '2027-07-01T08:00:00Z',
      ['2028-07-01T08:00:00.000Z', '2029-07-01T08:00:00.000Z']],
    // 09:00 Sydney: AEDT (+11) until Apr 4 2027, AEST (+10) until Oct 3 2027.
    ['Australia/Sydney, monthly across the April change', 'Australia/Sydney', 'month', '2027-03-14T22:00:00Z',
      ['2027-04-14T23:00:00.000Z', '2027-05-14T23:00:00.000Z']],
    ['Australia/Sydney, quarterly across the October change', 'Australia/Sydney', 'quarter', '2027-07-09T23:00:00Z',
      ['2027-10-09T22:00:00.000Z', '2028-01-09T22:00:00.000Z']],
    // Asia/Shanghai has no DST: always +08.
    ['Asia/Shanghai, monthly from Jan 31', 'Asia/Shanghai', 'month', '2027-01-31T01:00:00Z',
      ['2027-02-28T01:00:00.000Z', '2027-03-31T01:00:00.000Z', '2027-04-30T01:00:00.000Z']],
    // Month-end clamping happens on the local date: Jan 31 00:30 Shanghai is Jan 30 in UTC.
    ['Asia/Shanghai, month end is the local month end', 'Asia/Shanghai', 'month', '2027-01-30T16:30:00Z',
      ['2027-02-27T16:30:00.000Z', '2027-03-30T16:30:00.000Z']],
  ])('%s', (_name, zone, interval, anchor, expected) => {
    expect(renewals(interval, anchor, zone, expected.length)).toEqual(expected);
  });

  it('a local time in the spring-forward gap moves forward by the gap, and the next renewal returns to the anchor time', () => {
    // 02:30 New York on Feb 14; Mar 14 2027 02:30 does not exist (02:00 -> 03:00), so 03:30 EDT.
    expect(renewals('month', '2027-02-14T07:30:00Z', 'America/New_York', 2)).toEqual([
      '2027-03-14T07:30:00.000Z', // 03:30 EDT
      '2027-04-14T06:30:00.000Z', // 02:30 EDT again
    ]);
    // 01:30 London; Mar 28 2027 01:30 does not exist (01:00 -> 02:00), so 02:30 BST.
    expect(renewals('month', '2027-02-28T01:30:00Z', 'Europe/London', 1)).toEqual(['2027-03-28T01:30:00.000Z']);
    // 02:30 Sydney; Oct 3 2027 02:30 does not exist (02:00 -> 03:00), so 03:30 AEDT.
    expect(renewals('month', '2027-09-02T16:30:00Z', 'Australia/Sydney', 1)).toEqual(['2027-10-02T16:30:00.000Z']);
  });

  it('an ambiguous local time (fall back) takes its first occurrence', () => {
    // 01:30 New York happens twice on Nov 7 2027; the earlier one is EDT (-04).
    expect(renewals('month', '2027-10-07T05:30:00Z', 'America/New_York', 1)).toEqual(['2027-11-07T05:30:00.000Z']);
  });
});

describe('billing calendar helpers', () => {
  const plan = { interval: 'month' as const, anchorAt: new Date('2027-01-31T09:00:00Z'), timezone: 'UTC' };

  it('tells the latest renewal that has fallen due', () => {
    expect(latestDuePeriod(plan, 1, new Date('2027-02-28T08:59:59Z'))).toBeNull();
    expect(latestDuePeriod(plan, 1, new Date('2027-02-28T09:00:00Z'))).toBe(1);
    expect(latestDuePeriod(plan, 1, new Date('2027-05-01T00:00:00Z'))).toBe(3);
    expect(latestDuePeriod(plan, 2, new Date('2027-05-01T00:00:00Z'))).toBe(3);
  });

  it('finds the latest due renewal of a plan anchored long ago, exactly', () => {
    const weekly = { interval: 'week' as const, anchorAt: new Date('2001-01-07T09:00:00Z'), timezone: 'America/New_York' };
    const now = new Date('2026-11-21T20:00:00Z');
    const n = latestDuePeriod(weekly, 1, now)!;
    expect(renewalAt(weekly, n) <= now).toBe(true);
    expect(renewalAt(weekly, n + 1) > now).toBe(true);
    const monthEnd = { interval: 'month' as const, anchorAt: new Date('1999-01-31T23:30:00Z'), timezone: 'Australia/Sydney' };
    const m = latestDuePeriod(monthEnd, 5, now)!;
    expect(renewalAt(monthEnd, m) <= now && renewalAt(monthEnd, m + 1) > now).toBe(true);
    expect(latestDuePeriod(monthEnd, m, now)).toBe(m);
  });

  it('reads an instant without an offset as local time in the zone', () => {
    expect(parseInstant('2027-01-31T09:00:00', 'America/New_York')?.toISOString()).toBe('2027-01-31T14:00:00.000Z');
    expect(parseInstant('2027-01-31T09:00:00Z', 'America/New_York')?.toISOString()).toBe('2027-01-31T09:00:00.000Z');
    expect(parseInstant('31/01/2027', 'UTC')).toBeNull();
  });
});
