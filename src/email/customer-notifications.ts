/**
 * What the customer is told when their subscription changes. Runs inside the transaction of the
 * change (so an e-mail exists exactly when its cause does), writes the outbox and queues delivery.
 * For 3-D Secure, and for each period collected by payment link, it also creates the link the
 * e-mail carries.
 */
import type { PgBoss } from 'pg-boss';
import type { Tx } from '../db/connect.ts';
import { OPEN_CHARGE_STATUSES } from '../db/database.ts';
import type { ChangeRecord, FollowUps, SubscriptionRecord } from '../billing/commit.ts';
import { displayMoney } from '../lib/money.ts';
import { declineMessage } from '../payments/outcomes.ts';
import { addLinkToken, claimDueReminders, closeLinksOfAttempts, closeLinksOfSubscriptions, createPaymentLink } from '../payment-links/payment-link.repo.ts';
import { closeCustomerLinks, createCustomerLink, customerLinkUrl } from '../customer-links/customer-link.repo.ts';
import type { PaymentMethod, Subscription, SubscriptionStatus } from '../db/database.ts';
import { renewalAt } from '../plans/billing-calendar.ts';
import { dispatchMessages } from './deliver-email.job.ts';
import { composeMessage, WITHOUT_PORTAL_LINK, type CustomerMessage, type ManageLink, type MessageContext } from './messages.ts';
import { issuePortalLink } from '../customer-links/portal-link.ts';
import { queueMessages, type NewOutboxMessage } from './outbox.repo.ts';

export interface NotificationSettings {
  merchant: { name: string; supportEmail: string };
  /** Who hears of disputes (chargebacks, fraud returns) and of refunds that failed. */
  operatorEmail: string;
  /** Base of the `/pay/{token}` links. */
  publicUrl: string;
  authLinkTtlMs: number;
  authReminderMs: number;
  sendReceipts: boolean;
  /** Customers can save a new card themselves (the worker serves `/card/{token}`): e-mails carry the link. */
  cardUpdates?: boolean;
  /** How long a card-update link in a decline or suspension e-mail works (default 7 days). */
  cardLinkTtlMs?: number;
  /** Customers have a self-service page: every e-mail carries a fresh link to it, working this long. */
  portalLinks?: { ttlMs: number } | null;
}

/**
 * Who the message is for and, when the self-service page is on and the subscription can still be
 * managed (`status` as the change leaves it), a fresh single-use link to that page.
 */
export async function customerContext(tx: Tx, settings: NotificationSettings, sub: Subscription, status: SubscriptionStatus, kind: CustomerMessage['kind'], now: Date): Promise<MessageContext> {
  const ctx: MessageContext = { merchant: settings.merchant, customer: { firstName: sub.customer_first_name }, timezone: sub.timezone };
  if (!settings.portalLinks || WITHOUT_PORTAL_LINK.has(kind)) return ctx;
  const issued = await issuePortalLink(tx, { ...sub, status }, { now, publicUrl: settings.publicUrl, ttlMs: settings.portalLinks.ttlMs, actor: 'email', reason: `in the ${kind} e-mail` });
  return issued.kind === 'issued' ? { ...ctx, portal: { url: issued.url, expiresAt: issued.expiresAt } } : ctx;
}

const DEFAULT_CARD_LINK_TTL_MS = 7 * 24 * 3_600_000;

/**
 * A card-update link for a subscription renewed by card token whose provider lets customers save
 * a card themselves; null otherwise (the e-mail then says to write to support).
 */
export async function cardLinkFor(tx: Tx, settings: NotificationSettings, sub: Subscription, now: Date): Promise<string | null> {
  if (sub.collection_method !== 'card_token' || !settings.cardUpdates) return null;
  const { token } = await createCustomerLink(tx, { purpose: 'card_update', subscriptionId: sub.id, now, ttlMs: settings.cardLinkTtlMs ?? DEFAULT_CARD_LINK_TTL_MS });
  return customerLinkUrl(settings.publicUrl, 'card_update', token);
}

/**
 * Where a receipt or reminder sends the customer to change their card; the card-update link until
 * a self-service page exists (cancelling is then done by writing to support, and the e-mail says so).
 */
export async function manageLinkFor(tx: Tx, settings: NotificationSettings, sub: Subscription, now: Date): Promise<ManageLink | null> {
  const url = await cardLinkFor(tx, settings, sub, now);
  return url ? { url, canCancel: false } : null;
}

/** The subscription's card as this commit left it (a checkout's first card is saved in the same commit). */
async function cardOnFile(tx: Tx, subscriptionId: string): Promise<Pick<PaymentMethod, 'card_last4'> | undefined> {
  return tx
    .selectFrom('subscriptions')
    .innerJoin('payment_methods', 'payment_methods.id', 'subscriptions.payment_method_id')
    .select('payment_methods.card_last4')
    .where('subscriptions.id', '=', subscriptionId)
    .executeTakeFirst();
}

const OPEN: readonly string[] = OPEN_CHARGE_STATUSES;

/** The charge is a period's payment link (the customer pays on the provider's page), not 3-D Secure. */
const byLink = (charge: { details: Record<string, string> }) => charge.details.collection === 'payment_link';

export function payLinkUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/pay/${token}`;
}

export function customerNotifications(settings: NotificationSettings, boss: PgBoss): FollowUps {
  return {
    async afterChanges(tx, records, now) {
      const subscriptionRecords = records.filter((r): r is SubscriptionRecord => r.kind === 'subscription');
      const settled = subscriptionRecords.filter((r) => r.charge && !OPEN.includes(r.charge.status)).map((r) => r.charge!);
      await closeLinksOfAttempts(tx, settled, now);
      // A subscription that ended (canceled, disputed) leaves no link open: they answer 410 at once.
      const ended = subscriptionRecords.filter((r) => r.after.status === 'canceled' && r.before.status !== 'canceled');
      await closeLinksOfSubscriptions(tx, ended.map((r) => r.subscription.id), now, 'subscription canceled');
      await closeCustomerLinks(tx, ended.map((r) => r.subscription.id), now, 'subscription canceled');
      // A paid checkout is done: its link only says so from now on.
      const started = subscriptionRecords.filter((r) => r.before.status === 'incomplete' && r.after.status !== 'incomplete');
      await closeCustomerLinks(tx, started.map((r) => r.subscription.id), now, 'first purchase paid', ['checkout']);
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

async function messageFor(tx: Tx, settings: NotificationSettings, record: ChangeRecord, now: Date): Promise<NewOutboxMessage | null> {
  if (record.kind === 'refund') return refundMessage(tx, settings, record, now);
  if (record.kind === 'dispute') return disputeAlert(settings, record, now);
  const { subscription: sub, charge: attempt, event, after } = record;
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
      message = { kind: byLink(attempt) ? 'payment_due' : 'action_required', ...plan, link: payLinkUrl(settings.publicUrl, token), expiresAt: link.expires_at };
      key = `action_required:attempt:${attempt.id}`;
      break;
    }
    case 'payment_succeeded': {
      if (!settings.sendReceipts || !attempt || record.flags.length) return null;
      const card = await cardOnFile(tx, sub.id);
      message = {
        kind: 'receipt',
        ...plan,
        orderNumber: attempt.reference,
        paidAt: now,
        periodStart: renewalAt(after.plan, attempt.period),
        periodEnd: renewalAt(after.plan, attempt.period + 1),
        nextRenewalAt: after.nextRenewalAt,
        cardLast4: card?.card_last4 ?? null,
        manageLink: null,
      };
      // One receipt per paid charge, whichever writer (charge job, notice, query, resolve) records it.
      key = `receipt:attempt:${attempt.id}`;
      break;
    }
    case 'payment_failed':
    case 'authentication_expired': {
      // At a counter the customer is there and sees the result; nothing is retried by itself.
      if (!attempt || sub.collection_method === 'in_person') return null;
      if (after.status === 'unpaid') {
        message = { kind: 'subscription_unpaid', ...plan, cardLink: await cardLinkFor(tx, settings, sub, now) };
        key = `unpaid:${sub.id}:${attempt.period}`;
        break;
      }
      if (after.status !== 'past_due' && after.status !== 'incomplete') return null;
      const hard = event.type === 'payment_failed' && event.declineClass === 'hard';
      message = {
        kind: 'payment_failed',
        ...plan,
        declineClass: hard ? 'hard' : 'soft',
        details: event.type === 'authentication_expired'
          ? (byLink(attempt) ? 'the payment link expired before it was paid' : 'the payment was not confirmed with your bank in time')
          : (attempt.provider_message ? declineMessage(attempt.provider_message) : null),
        nextAttemptAt: after.nextAttemptAt,
        byLink: byLink(attempt),
        // Hard or soft: a customer whose card changed fixes it now rather than after the retries.
        cardLink: event.type === 'payment_failed' && !byLink(attempt) ? await cardLinkFor(tx, settings, sub, now) : null,
      };
      key = `payment_failed:attempt:${attempt.id}`;
      break;
    }
    case 'dunning_exhausted':
      message = { kind: 'subscription_unpaid', ...plan, cardLink: await cardLinkFor(tx, settings, sub, now) };
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
  if (!message) return null;
  const ctx = await customerContext(tx, settings, sub, after.status, message.kind, now);
  if (message.kind === 'receipt' && !ctx.portal) message = { ...message, manageLink: await manageLinkFor(tx, settings, sub, now) };
  const composed = composeMessage(ctx, message);
  return {
    subscriptionId: sub.id,
    transactionId: attempt?.id ?? null,
    kind: message.kind,
    to: sub.customer_email,
    ...composed,
    sendAfter: now,
    dedupeKey: key,
  };
}

/** A refund that went through: the customer sees the money coming back, and why. */
async function refundMessage(tx: Tx, settings: NotificationSettings, record: Extract<ChangeRecord, { kind: 'refund' }>, now: Date): Promise<NewOutboxMessage | null> {
  const { subscription: sub, refund, charge, automatic } = record;
  if (refund.status === 'failed') {
    // The customer is owed nothing new; the operator must look at a refund that did not go through.
    return operatorMessage(settings, sub.id, refund.id, 'refund_failed', `refund_failed:${refund.id}`, now,
      `Refund ${refund.reference} failed`,
      `The refund ${refund.reference} of ${displayMoney({ amountMinor: refund.amount_minor, currency: refund.currency })} (order ${charge.reference}, subscription ${sub.id}) failed: ${refund.failure_reason ?? refund.provider_message ?? 'no reason given'}.${automatic ? ' rebill asked for it because the period was paid twice; it does not ask again by itself.' : ''}`);
  }
  const composed = composeMessage(
    await customerContext(tx, settings, sub, sub.status, 'refunded', now),
    { kind: 'refunded', amount: { amountMinor: refund.amount_minor, currency: refund.currency }, product: sub.product_name, orderNumber: charge.reference, refundedAt: now, automatic },
  );
  return { subscriptionId: sub.id, transactionId: refund.id, kind: 'refunded', to: sub.customer_email, ...composed, sendAfter: now, dedupeKey: `refunded:${refund.id}` };
}

/** A confirmed chargeback or fraud return: the operator is told at once. */
function disputeAlert(settings: NotificationSettings, record: Extract<ChangeRecord, { kind: 'dispute' }>, now: Date): NewOutboxMessage {
  const { subscription: sub, chargeback, charge } = record;
  const amount = displayMoney({ amountMinor: chargeback.amount_minor, currency: chargeback.currency });
  return operatorMessage(settings, sub.id, chargeback.id, 'dispute_alert', `dispute:${chargeback.id}`, now,
    `Chargeback: ${amount} for order ${charge.reference}`,
    `The ${chargeback.reason === 'fraud' ? 'fraud return' : 'chargeback'} of order ${charge.reference} (${amount}, customer ${sub.customer_email}, subscription ${sub.id}) was confirmed with ${charge.provider}. The invoice is marked charged back; see rebill show ${sub.id}.`);
}

function operatorMessage(settings: NotificationSettings, subscriptionId: string, transactionId: number, kind: string, dedupeKey: string, now: Date, subject: string, text: string): NewOutboxMessage {
  const composed = composeMessage(
    { merchant: settings.merchant, customer: { firstName: 'team' }, timezone: 'UTC' },
    { kind: 'operator_alert', subject, text },
  );
  return { subscriptionId, transactionId, kind, to: settings.operatorEmail, ...composed, sendAfter: now, dedupeKey };
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
    const attempt = await tx.selectFrom('payment_transactions').selectAll().where('id', '=', link.transaction_id).executeTakeFirstOrThrow();
    const sub = await tx.selectFrom('subscriptions').selectAll().where('id', '=', link.subscription_id).executeTakeFirstOrThrow();
    const token = await addLinkToken(tx, link.id, now);
    const kind = byLink(attempt) ? 'payment_due_reminder' : 'auth_reminder';
    const composed = composeMessage(
      await customerContext(tx, settings, sub, sub.status, kind, now),
      {
        kind,
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
      transactionId: attempt.id,
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

/** The sign-up e-mail of a hosted checkout, queued in the enrolment's transaction. */
export function queueCheckoutEmail(tx: Tx, settings: Pick<NotificationSettings, 'merchant'>, boss: PgBoss, sub: Subscription, link: LinkToSend, now: Date): Promise<void> {
  return queueLinkEmail(tx, settings, boss, sub, 'checkout', link, now);
}

/** The self-service link a customer asked for, queued in the transaction that minted it. */
export function queuePortalLinkEmail(tx: Tx, settings: Pick<NotificationSettings, 'merchant'>, boss: PgBoss, sub: Subscription, link: LinkToSend, now: Date): Promise<void> {
  return queueLinkEmail(tx, settings, boss, sub, 'portal_link', link, now);
}

interface LinkToSend {
  url: string;
  expiresAt: Date;
  id: number;
}

async function queueLinkEmail(
  tx: Tx,
  settings: Pick<NotificationSettings, 'merchant'>,
  boss: PgBoss,
  sub: Subscription,
  kind: 'checkout' | 'portal_link',
  link: LinkToSend,
  now: Date,
): Promise<void> {
  const composed = composeMessage(
    { merchant: settings.merchant, customer: { firstName: sub.customer_first_name }, timezone: sub.timezone },
    { kind, amount: { amountMinor: sub.amount_minor, currency: sub.currency }, product: sub.product_name, interval: sub.interval, firstPayment: kind === 'checkout', link: link.url, expiresAt: link.expiresAt },
  );
  const ids = await queueMessages(tx, [{ subscriptionId: sub.id, transactionId: null, kind, to: sub.customer_email, ...composed, sendAfter: now, dedupeKey: `${kind === 'checkout' ? 'checkout' : 'portal'}:link:${link.id}` }]);
  await dispatchMessages(boss, tx, ids);
}
