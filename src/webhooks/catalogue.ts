/**
 * Which webhook events a committed change makes: the changes a merchant's app acts on (grant
 * access, take it away, tell the customer). Pure: from the commit's records only.
 */
import type { ChangeRecord } from '../billing/commit.ts';

export const WEBHOOK_EVENT_TYPES = [
  'subscription.activated',
  'subscription.renewed',
  'subscription.past_due',
  'subscription.action_required',
  'subscription.unpaid',
  'subscription.canceled',
  'payment.succeeded',
  'payment.failed',
  'refund.succeeded',
  'refund.failed',
  'chargeback.confirmed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An event to send, and what its body carries beside the subscription. */
export interface WebhookEventDraft {
  type: WebhookEventType;
  subscriptionId: string;
  /** The charge, refund or chargeback the event is about, when there is one. */
  transactionId: number | null;
}

export function webhookEventsFor(records: readonly ChangeRecord[]): WebhookEventDraft[] {
  const drafts: WebhookEventDraft[] = [];
  for (const record of records) {
    const subscriptionId = record.subscription.id;
    const add = (type: WebhookEventType, transactionId: number | null = null) => drafts.push({ type, subscriptionId, transactionId });
    if (record.kind === 'refund') {
      // Refund records are made only when a refund ends, succeeded or failed.
      add(record.refund.status === 'failed' ? 'refund.failed' : 'refund.succeeded', record.refund.id);
      continue;
    }
    if (record.kind === 'dispute') {
      add('chargeback.confirmed', record.chargeback.id);
      continue;
    }
    const { before, after, event, charge, flags } = record;
    const chargeId = charge?.id ?? null;
    if (event?.type === 'payment_succeeded') {
      add('payment.succeeded', chargeId);
      // A payment for a period already settled (or after the cancel) renews nothing.
      if (!flags.length) add(before.status === 'incomplete' ? 'subscription.activated' : 'subscription.renewed', chargeId);
    }
    if (event?.type === 'payment_failed') add('payment.failed', chargeId);
    if (event?.type === 'action_required') add('subscription.action_required', chargeId);
    for (const status of ['past_due', 'unpaid', 'canceled'] as const) {
      if (after.status === status && before.status !== status) add(`subscription.${status}`, chargeId);
    }
  }
  return drafts;
}

/** Whether an endpoint asked for this type (`*`: every type, those added later too). */
export function wants(eventTypes: readonly string[], type: string): boolean {
  return eventTypes.includes('*') || eventTypes.includes(type);
}
