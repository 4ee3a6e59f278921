/**
 * What the customer is told when their subscription changes. Runs inside the transaction of the
 * change (so an e-mail exists exactly when its cause does), writes the outbox and queues delivery.
 * For 3-D Secure it also creates the payment link the e-mail carries.
 */
import type { PgBoss } from 'pg-boss';
import type { Tx } from '../db/connect.ts';
import { OPEN_ATTEMPT_STATUSES } from '../db/database.ts';
import { addLinkToken, claimDueReminders, closeLinksOfAttempts, createPaymentLink } from '../payment-links/payment-link.repo.ts';
import type { FollowUps, TransitionRecord } from '../subscriptions/transitions.ts';
import { dispatchMessages } from './deliver-email.job.ts';
import { composeMessage, type CustomerMessage, type MessageContext } from './messages.ts';
import { queueMessages, type NewOutboxMessage } from './outbox.repo.ts';

export interface NotificationSettings {
  merchant: { name: string; supportEmail: string };
  /** Base of the `/pay/{token}` links. */
  publicUrl: string;
  authLinkTtlMs: number;
  authReminderMs: number;
  sendReceipts: boolean;
}

const OPEN: readonly string[] = OPEN_ATTEMPT_STATUSES;

export function payLinkUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/pay/${token}`;
}

export function customerNotifications(settings: NotificationSettings, boss: PgBoss): FollowUps {
  return {
    async afterChanges(tx, records, now) {
      const settled = records.filter((r) => r.attempt && !OPEN.includes(r.attempt.status)).map((r) => r.attempt!);
      await closeLinksOfAttempts(tx, settled, now);
      const messages: NewOutboxMessage[] = [];
      for (const record of records) {
        const message = await messageFor(tx, settings, record, now);
        if (message) messages.push(message);
      }
      const ids = await queueMessages(tx, messages);
      await dispatchMessages(boss, tx, ids);
    },
  };
}

async function messageFor(tx: Tx, settings: NotificationSettings, record: TransitionRecord, now: Date): Promise<NewOutboxMessage | null> {
  const { subscription: sub, attempt, event, after } = record;
  if (!event) return null;
  const plan = {
    amount: { amountMinor: attempt?.amount_minor ?? sub.amount_minor, currency: attempt?.currency ?? sub.currency },
    product: sub.product_name,
    interval: sub.interval,
    firstPayment: (attempt?.period ?? sub.next_period) === 0,
  };
  let message: CustomerMessage | null = null;
  let key = '';
  switch (event.type) {
    case 'action_required': {
      if (!attempt) return null;
      const { link, token } = await createPaymentLink(tx, attempt, now, settings.authLinkTtlMs, settings.authReminderMs);
      message = { kind: 'action_required', ...plan, link: payLinkUrl(settings.publicUrl, token), expiresAt: link.expires_at };
      key = `action_required:attempt:${attempt.id}`;
      break;
    }
    case 'payment_succeeded':
      if (!settings.sendReceipts || !attempt || record.flags.length) return null;
      message = { kind: 'receipt', ...plan, orderNumber: attempt.order_number, paidAt: now, nextRenewalAt: after.nextRenewalAt };
      key = `receipt:attempt:${attempt.id}`;
      break;
    case 'payment_failed':
    case 'authentication_expired': {
      if (!attempt) return null;
      if (after.status === 'unpaid') {
        message = { kind: 'subscription_unpaid', ...plan };
        key = `unpaid:${sub.id}:${attempt.period}`;
        break;
      }
      if (after.status !== 'past_due' && after.status !== 'incomplete') return null;
      const hard = event.type === 'payment_failed' && event.declineClass === 'hard';
      message = {
        kind: 'payment_failed',
        ...plan,
        declineClass: hard ? 'hard' : 'soft',
        details: event.type === 'authentication_expired' ? 'the payment was not confirmed with your bank in time' : (attempt.gateway_details?.replace(/^\d+:/, '') ?? null),
        nextAttemptAt: after.nextAttemptAt,
      };
      key = `payment_failed:attempt:${attempt.id}`;
      break;
    }
    case 'dunning_exhausted':
      message = { kind: 'subscription_unpaid', ...plan };
      key = `unpaid:${sub.id}:${sub.next_period}`;
      break;
    case 'cancel':
      if (event.atPeriodEnd) return null;
      message = { kind: 'subscription_canceled', product: sub.product_name, canceledAt: after.canceledAt ?? now };
      key = `canceled:${sub.id}`;
      break;
    case 'period_ended':
      message = { kind: 'subscription_canceled', product: sub.product_name, canceledAt: after.canceledAt ?? now };
      key = `canceled:${sub.id}`;
      break;
    default:
      return null;
  }
  const ctx: MessageContext = { merchant: settings.merchant, customer: { firstName: sub.customer_first_name }, timezone: sub.timezone };
  const composed = composeMessage(ctx, message);
  return {
    subscriptionId: sub.id,
    attemptId: attempt?.id ?? null,
    kind: message.kind,
    to: sub.customer_email,
    ...composed,
    sendAfter: now,
    dedupeKey: key,
  };
}

/**
 * Reminds customers who have not completed 3-D Secure after REBILL_AUTH_REMINDER_HOURS. The
 * reminder carries a fresh token for the same link (only hashes are stored, so the first token
 * cannot be re-sent); both work until the link expires.
 */
export async function queueDueReminders(tx: Tx, settings: NotificationSettings, boss: PgBoss, now: Date): Promise<number> {
  const links = await claimDueReminders(tx, now, 200);
  const messages: NewOutboxMessage[] = [];
  for (const link of links) {
    const attempt = await tx.selectFrom('charge_attempts').selectAll().where('id', '=', link.attempt_id).executeTakeFirstOrThrow();
    const sub = await tx.selectFrom('subscriptions').selectAll().where('id', '=', link.subscription_id).executeTakeFirstOrThrow();
    const token = await addLinkToken(tx, link.id, now);
    const composed = composeMessage(
      { merchant: settings.merchant, customer: { firstName: sub.customer_first_name }, timezone: sub.timezone },
      {
        kind: 'auth_reminder',
        amount: { amountMinor: attempt.amount_minor, currency: attempt.currency },
        product: sub.product_name,
        interval: sub.interval,
        firstPayment: attempt.period === 0,
        link: payLinkUrl(settings.publicUrl, token),
        expiresAt: link.expires_at,
      },
    );
    messages.push({
      subscriptionId: sub.id,
      attemptId: attempt.id,
      kind: 'auth_reminder',
      to: sub.customer_email,
      ...composed,
      sendAfter: now,
      dedupeKey: `auth_reminder:attempt:${attempt.id}`,
    });
  }
  await dispatchMessages(boss, tx, await queueMessages(tx, messages));
  return messages.length;
}
