import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/lib/clock.ts';
import { planCharge, transition, type SubscriptionState } from '../../src/subscriptions/subscription-machine.ts';

const policy = { retryScheduleMs: [1, 3, 5, 7].map((d) => d * DAY_MS), requestErrorRetryMs: 15 * 60_000 };
const anchor = new Date('2027-01-31T09:00:00Z');
const plan = { interval: 'month' as const, anchorAt: anchor, timezone: 'UTC' };

function active(overrides: Partial<SubscriptionState> = {}): SubscriptionState {
  return {
    plan,
    status: 'active',
    nextPeriod: 1,
    nextRenewalAt: new Date('2027-02-28T09:00:00Z'),
    nextAttemptAt: new Date('2027-02-28T09:00:00Z'),
    renewalsPaid: 0,
    pastDueSince: null,
    retriesUsed: 0,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    ...overrides,
  };
}

function apply(state: SubscriptionState, ...steps: [Parameters<typeof transition>[1], string][]) {
  let current = state;
  for (const [event, at] of steps) {
    const result = transition(current, event, new Date(at), policy);
    if (!result.ok) throw new Error(result.refusal);
    current = result.state;
  }
  return current;
}

describe('subscription machine', () => {
  it('a paid renewal advances the period and the next renewal from the anchor', () => {
    const next = apply(active(), [{ type: 'payment_succeeded', period: 1 }, '2027-02-28T09:00:01Z']);
    expect(next).toMatchObject({ status: 'active', nextPeriod: 2, renewalsPaid: 1 });
    expect(next.nextRenewalAt?.toISOString()).toBe('2027-03-31T09:00:00.000Z');
    expect(next.nextAttemptAt?.toISOString()).toBe('2027-03-31T09:00:00.000Z');
  });

  it('the first purchase does not count as a renewal', () => {
    const incomplete = active({ status: 'incomplete', nextPeriod: 0, nextRenewalAt: anchor, nextAttemptAt: anchor });
    const next = apply(incomplete, [{ type: 'payment_succeeded', period: 0 }, '2027-01-31T09:00:02Z']);
    expect(next).toMatchObject({ status: 'active', nextPeriod: 1, renewalsPaid: 0 });
    expect(next.nextRenewalAt?.toISOString()).toBe('2027-02-28T09:00:00.000Z');
  });

  it('soft declines retry 1, 3, 5 and 7 days after the first failure, then the subscription is unpaid', () => {
    const failed = { type: 'payment_failed', period: 1, declineClass: 'soft' } as const;
    let state = apply(active(), [failed, '2027-02-28T09:00:05Z']);
    expect(state.status).toBe('past_due');
    expect(state.nextAttemptAt?.toISOString()).toBe('2027-03-01T09:00:05.000Z');
    const retries = ['2027-03-03T09:00:05.000Z', '2027-03-05T09:00:05.000Z', '2027-03-07T09:00:05.000Z'];
    for (const expected of retries) {
      state = apply(state, [failed, state.nextAttemptAt!.toISOString()]);
      expect(state.nextAttemptAt?.toISOString()).toBe(expected);
      expect(state.status).toBe('past_due');
    }
    const result = transition(state, failed, new Date('2027-03-07T09:00:06Z'), policy);
    expect(result.ok && result.state.status).toBe('unpaid');
    expect(result.ok && result.flags).toContain('retries_exhausted');
    expect(result.ok && result.state.nextAttemptAt).toBeNull();
  });

  it('a soft code with a retry limit stops earlier', () => {
    const failed = { type: 'payment_failed', period: 1, declineClass: 'soft', retryLimit: 1 } as const;
    const state = apply(active(), [failed, '2027-02-28T09:00:05Z'], [failed, '2027-03-01T09:00:05Z']);
    expect(state.status).toBe('unpaid');
  });

  it('a hard decline is past_due with no automatic retry until a new card arrives', () => {
    const state = apply(active(), [{ type: 'payment_failed', period: 1, declineClass: 'hard' }, '2027-02-28T09:00:05Z']);
    expect(state).toMatchObject({ status: 'past_due', nextAttemptAt: null });
    const revived = apply(state, [{ type: 'token_replaced' }, '2027-03-02T10:00:00Z']);
    expect(revived.nextAttemptAt?.toISOString()).toBe('2027-03-02T10:00:00.000Z');
    expect(apply(state, [{ type: 'dunning_exhausted' }, '2027-03-08T00:00:00Z']).status).toBe('unpaid');
  });

  it('a request error retries the same period later without touching dunning', () => {
    const state = apply(active(), [{ type: 'request_rejected', period: 1 }, '2027-02-28T09:00:05Z']);
    expect(state).toMatchObject({ status: 'active', retriesUsed: 0, pastDueSince: null, nextPeriod: 1 });
    expect(state.nextAttemptAt?.toISOString()).toBe('2027-02-28T09:15:05.000Z');
  });

  it('3-D Secure waits for the customer, and an expired link continues the dunning schedule', () => {
    const waiting = apply(active(), [{ type: 'action_required', period: 1 }, '2027-02-28T09:00:05Z']);
    expect(waiting).toMatchObject({ status: 'past_due', nextAttemptAt: null });
    const expired = apply(waiting, [{ type: 'authentication_expired', period: 1 }, '2027-03-03T09:00:05Z']);
    expect(expired.nextAttemptAt?.toISOString()).toBe('2027-03-03T09:00:05.000Z'); // day 1 has passed: now
    expect(expired.retriesUsed).toBe(1);
  });

  it('cancel now stops charges; a success arriving later is kept canceled and flagged for a refund decision', () => {
    const canceled = apply(active(), [{ type: 'cancel', atPeriodEnd: false }, '2027-02-20T00:00:00Z']);
    expect(canceled).toMatchObject({ status: 'canceled', nextAttemptAt: null, nextRenewalAt: null });
    const late = transition(canceled, { type: 'payment_succeeded', period: 1 }, new Date('2027-02-28T09:00:05Z'), policy);
    expect(late.ok && late.state.status).toBe('canceled');
    expect(late.ok && late.flags).toEqual(['succeeded_after_cancel']);
    expect(transition(canceled, { type: 'cancel', atPeriodEnd: false }, new Date(), policy).ok).toBe(false);
    expect(transition(canceled, { type: 'retry_requested' }, new Date(), policy).ok).toBe(false);
  });

  it('a late failure for a settled period never undoes the success', () => {
    const paid = apply(active(), [{ type: 'payment_succeeded', period: 1 }, '2027-02-28T09:00:01Z']);
    const late = transition(paid, { type: 'payment_failed', period: 1, declineClass: 'hard' }, new Date('2027-02-28T10:00:00Z'), policy);
    expect(late.ok && late.state).toEqual(paid);
    expect(late.ok && late.flags).toEqual(['result_for_other_period']);
  });

  it('cancel at period end keeps the subscription until the renewal instant', () => {
    const marked = apply(active(), [{ type: 'cancel', atPeriodEnd: true }, '2027-02-20T00:00:00Z']);
    expect(marked).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect(planCharge(marked, new Date('2027-02-27T00:00:00Z'), 2, false)).toEqual({ action: 'skip', why: 'not due' });
    expect(planCharge(marked, new Date('2027-02-28T09:00:00Z'), 2, false)).toEqual({ action: 'end_at_period_end' });
    const ended = apply(marked, [{ type: 'period_ended' }, '2027-02-28T09:00:30Z']);
    expect(ended.status).toBe('canceled');
    expect(ended.canceledAt?.toISOString()).toBe('2027-02-28T09:00:00.000Z');
  });

  it('a cancel at period end undone before the period ends renews as before; after it, the undo is refused', () => {
    const marked = apply(active(), [{ type: 'cancel', atPeriodEnd: true }, '2027-02-20T00:00:00Z']);
    const undone = apply(marked, [{ type: 'cancel_undone' }, '2027-02-21T00:00:00Z']);
    expect(undone).toEqual(active());
    expect(planCharge(undone, new Date('2027-02-28T09:00:00Z'), 2, false)).not.toEqual({ action: 'end_at_period_end' });
    const late = transition(marked, { type: 'cancel_undone' }, new Date('2027-02-28T09:00:00Z'), policy);
    expect(late).toEqual({ ok: false, refusal: 'the period ended at 2027-02-28T09:00:00.000Z: the cancel has taken effect' });
    expect(transition(active(), { type: 'cancel_undone' }, new Date('2027-02-21T00:00:00Z'), policy)).toEqual({ ok: false, refusal: 'the subscription is not set to end at the period end' });
    expect(transition(apply(marked, [{ type: 'period_ended' }, '2027-02-28T09:00:30Z']), { type: 'cancel_undone' }, new Date('2027-03-01T00:00:00Z'), policy).ok).toBe(false);
  });
});

describe('planning a charge', () => {
  const now = new Date('2027-05-15T00:00:00Z'); // renewals 1..3 (Feb 28, Mar 31, Apr 30) are due

  it('charges the oldest overdue period when within the catch-up limit', () => {
    const state = active({ nextPeriod: 2, nextAttemptAt: new Date('2027-03-31T09:00:00Z') });
    expect(planCharge(state, now, 2, false)).toEqual({ action: 'charge', period: 2, skipped: null });
  });

  it('charges only the latest period when further behind, recording the skipped ones', () => {
    expect(planCharge(active(), now, 2, false)).toEqual({ action: 'charge', period: 3, skipped: { from: 1, to: 2 } });
  });

  it('never charges while an attempt is open, when not due, or when canceled', () => {
    expect(planCharge(active(), now, 2, true).action).toBe('skip');
    expect(planCharge(active({ nextAttemptAt: null }), now, 2, false).action).toBe('skip');
    expect(planCharge(active({ status: 'canceled' }), now, 2, false).action).toBe('skip');
  });

  it('does not skip retries of an unpaid period', () => {
    const state = active({ status: 'past_due', pastDueSince: new Date('2027-02-28T09:00:00Z'), nextAttemptAt: new Date('2027-03-01T09:00:00Z') });
    expect(planCharge(state, now, 2, false)).toEqual({ action: 'charge', period: 1, skipped: null });
  });
});

describe('a subscription signed up by hosted checkout', () => {
  const waiting = active({ status: 'incomplete', nextPeriod: 0, nextRenewalAt: anchor, nextAttemptAt: null });

  it('is anchored when the customer pays, not when it was enrolled: the first renewal is one interval after the payment', () => {
    const paidAt = new Date('2027-02-03T17:20:00Z');
    const paid = apply(waiting, [{ type: 'payment_succeeded', period: 0, anchorAt: paidAt }, paidAt.toISOString()]);
    expect(paid).toMatchObject({ status: 'active', nextPeriod: 1, renewalsPaid: 0 });
    expect(paid.plan.anchorAt).toEqual(paidAt);
    expect(paid.nextRenewalAt?.toISOString()).toBe('2027-03-03T17:20:00.000Z');
  });

  it('is never charged by the scheduler while it waits for the customer', () => {
    expect(planCharge(waiting, new Date('2027-03-01T00:00:00Z'), 2, false)).toEqual({ action: 'skip', why: 'not due' });
  });

  it('ends incomplete_expired when abandoned; a payment arriving later is flagged (and refunded), never reactivates it', () => {
    const expired = apply(waiting, [{ type: 'checkout_expired' }, '2027-02-02T09:00:00Z']);
    expect(expired).toMatchObject({ status: 'incomplete_expired', nextAttemptAt: null, nextRenewalAt: null });
    const late = transition(expired, { type: 'payment_succeeded', period: 0, anchorAt: new Date('2027-02-02T10:00:00Z') }, new Date('2027-02-02T10:00:00Z'), policy);
    expect(late.ok && late.state.status).toBe('incomplete_expired');
    expect(late.ok && late.flags).toEqual(['succeeded_after_cancel']);
    expect(transition(active(), { type: 'checkout_expired' }, new Date(), policy).ok).toBe(false);
    expect(transition(expired, { type: 'cancel', atPeriodEnd: false }, new Date(), policy).ok).toBe(false);
  });
});
