import { describe, expect, it } from 'vitest';
import type { ChangeRecord } from '../../src/billing/commit.ts';
import type { PaymentTransaction, Subscription } from '../../src/db/database.ts';
import type { SubscriptionState } from '../../src/subscriptions/subscription-machine.ts';
import { nextTryAfter, retryDelayMs } from '../../src/webhooks/backoff.ts';
import { wants, webhookEventsFor } from '../../src/webhooks/catalogue.ts';
import { checkedEndpointUrl, checkedEventTypes } from '../../src/webhooks/endpoints.repo.ts';
import { signatureHeader } from '../../src/webhooks/signature.ts';

describe('the webhook signature', () => {
  it('matches a fixed vector computed with openssl (HMAC-SHA256 over "t.body", hex)', () => {
    // printf '%s' '1767225600.{"id":"evt_1","type":"payment.succeeded"}' | openssl dgst -sha256 -hmac whsec_test_secret
    const header = signatureHeader('{"id":"evt_1","type":"payment.succeeded"}', 'whsec_test_secret', new Date('2026-01-01T00:00:00.900Z'));
    expect(header).toBe('t=1767225600,v1=f8aebb99fb7fe32831c4ac9471686ddf2995a7c7bdf20a6f955654e048df7112');
  });
});

describe('webhook retries', () => {
  it('wait 30 s, doubling up to 6 h, and give up once the tries have spanned the retry period', () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(40)).toBe(6 * 3_600_000);
    const threeDays = 3 * 86_400_000;
    let waited = 0;
    let attempts = 0;
    for (;;) {
      attempts++;
      const wait = nextTryAfter(attempts, threeDays);
      if (wait === null) break;
      waited += wait;
    }
    expect(waited).toBeGreaterThanOrEqual(threeDays);
    expect(waited).toBeLessThan(threeDays + 6 * 3_600_000);
  });
});

const subscription = { id: 's-1' } as Subscription;
const state = (status: SubscriptionState['status']) => ({ status }) as SubscriptionState;
const charge = { id: 7, kind: 'charge' } as PaymentTransaction;
const change = (before: SubscriptionState['status'], after: SubscriptionState['status'], event: unknown, flags: string[] = []): ChangeRecord =>
  ({ kind: 'subscription', subscription, before: state(before), after: state(after), event, flags, charge }) as ChangeRecord;

describe('which webhook events a change makes', () => {
  it.each([
    ['a first payment', change('incomplete', 'active', { type: 'payment_succeeded', period: 0 }), ['payment.succeeded', 'subscription.activated']],
    ['a renewal', change('active', 'active', { type: 'payment_succeeded', period: 2 }), ['payment.succeeded', 'subscription.renewed']],
    ['a recovered past-due renewal', change('past_due', 'active', { type: 'payment_succeeded', period: 2 }), ['payment.succeeded', 'subscription.renewed']],
    ['a payment for a settled period', change('active', 'active', { type: 'payment_succeeded', period: 1 }, ['succeeded_for_settled_period']), ['payment.succeeded']],
    ['a declined renewal', change('active', 'past_due', { type: 'payment_failed', period: 2, declineClass: 'soft' }), ['payment.failed', 'subscription.past_due']],
    ['3-D Secure asked', change('active', 'active', { type: 'action_required', period: 2 }), ['subscription.action_required']],
    ['dunning ran out', change('past_due', 'unpaid', { type: 'dunning_exhausted' }), ['subscription.unpaid']],
    ['a cancel', change('active', 'canceled', { type: 'cancel', atPeriodEnd: false }), ['subscription.canceled']],
    ['a cancel at the period end, scheduled', change('active', 'active', { type: 'cancel', atPeriodEnd: true }), []],
    ['a refund that succeeded', { kind: 'refund', subscription, refund: { id: 9, status: 'succeeded' }, charge, automatic: null } as unknown as ChangeRecord, ['refund.succeeded']],
    ['a refund that failed', { kind: 'refund', subscription, refund: { id: 9, status: 'failed' }, charge, automatic: null } as unknown as ChangeRecord, ['refund.failed']],
    ['a chargeback', { kind: 'dispute', subscription, chargeback: { id: 10 }, charge, invoice: {} } as unknown as ChangeRecord, ['chargeback.confirmed']],
  ])('%s', (_what, record, types) => {
    expect(webhookEventsFor([record]).map((e) => e.type)).toEqual(types);
  });

  it('endpoints get what they asked for; "all" includes every type', () => {
    expect(wants(['*'], 'refund.failed')).toBe(true);
    expect(wants(['subscription.canceled'], 'refund.failed')).toBe(false);
    expect(checkedEventTypes('all')).toEqual(['*']);
    expect(() => checkedEventTypes('subscription.cancelled')).toThrow(/subscription\.cancelled/);
  });

  it('endpoint URLs are https, or http to this machine only, and carry no credentials', () => {
    expect(checkedEndpointUrl('https://shop.example/hooks')).toBe('https://shop.example/hooks');
    expect(checkedEndpointUrl('http://127.0.0.1:3000/hooks')).toBe('http://127.0.0.1:3000/hooks');
    expect(() => checkedEndpointUrl('http://shop.example/hooks')).toThrow(/must be https/);
    expect(() => checkedEndpointUrl('https://user:pw@shop.example/hooks')).toThrow(/user or password/);
    expect(() => checkedEndpointUrl('not a url')).toThrow(/is not a URL/);
  });
});
