/**
 * Notices about what is coming, which card networks expect: a reminder days before a renewal
 * (Mastercard requires one for annual billing) and a warning before the card on file expires. The
 * janitor queues them; the outbox's unique key (one per subscription and period, one per card)
 * makes each go out once however often, and by however many workers, the pass runs.
 */
import type { PgBoss } from 'pg-boss';
import { sql } from 'kysely';
import type { Tx } from '../db/connect.ts';
import type { Interval } from '../plans/billing-calendar.ts';
import { cardLinkFor, customerContext, manageLinkFor, type NotificationSettings } from './customer-notifications.ts';
import { dispatchMessages } from './deliver-email.job.ts';
import { composeMessage, type CustomerMessage, type MessageContext } from './messages.ts';
import { queueMessages, type NewOutboxMessage } from './outbox.repo.ts';
import type { Subscription } from '../db/database.ts';

export interface UpcomingNoticeSettings {
  /** Days before a renewal the reminder goes out, for plans of these intervals; null: never. */
  renewalReminder: { days: number; intervals: readonly Interval[] } | null;
  /** Days before the end of the card's expiry month the warning goes out; null: never. */
  cardExpiryWarningDays: number | null;
}

const DAY_MS = 86_400_000;
const BATCH = 200;

export const renewalReminderKey = (sub: Pick<Subscription, 'id' | 'next_period'>) => `renewal_reminder:${sub.id}:${sub.next_period}`;
export const cardExpiringKey = (paymentMethodId: number) => `card_expiring:method:${paymentMethodId}`;

/** Queues the reminders and warnings now due; returns how many. */
export async function queueUpcomingNotices(tx: Tx, settings: NotificationSettings & UpcomingNoticeSettings, boss: PgBoss, now: Date): Promise<number> {
  const messages = [...(await renewalReminders(tx, settings, now)), ...(await cardExpiryWarnings(tx, settings, now))];
  const ids = await queueMessages(tx, messages);
  await dispatchMessages(boss, tx, ids);
  return ids.length;
}

async function renewalReminders(tx: Tx, settings: NotificationSettings & UpcomingNoticeSettings, now: Date): Promise<NewOutboxMessage[]> {
  const reminder = settings.renewalReminder;
  if (!reminder || !reminder.intervals.length) return [];
  // A renewal that will not happen (canceled, ending at the period end, unpaid) is not announced.
  const due = await tx
    .selectFrom('subscriptions as s')
    .selectAll('s')
    .where('s.status', '=', 'active')
    .where('s.cancel_at_period_end', '=', false)
    .where('s.collection_method', '!=', 'in_person')
    .where('s.interval', 'in', reminder.intervals)
    .where('s.next_renewal_at', '>', now)
    .where('s.next_renewal_at', '<=', new Date(now.getTime() + reminder.days * DAY_MS))
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('email_outbox').select('id').where('dedupe_key', '=', sql<string>`'renewal_reminder:' || s.id || ':' || s.next_period`))),
    )
    .orderBy('s.next_renewal_at')
    .limit(BATCH)
    .execute();
  const messages: NewOutboxMessage[] = [];
  for (const sub of due) {
    const ctx = await customerContext(tx, settings, sub, sub.status, 'renewal_reminder', now);
    messages.push(compose(ctx, sub, now, renewalReminderKey(sub), {
      kind: 'renewal_reminder',
      amount: { amountMinor: sub.amount_minor, currency: sub.currency },
      product: sub.product_name,
      interval: sub.interval,
      renewsAt: sub.next_renewal_at!,
      byLink: sub.collection_method === 'payment_link',
      manageLink: ctx.portal ? null : await manageLinkFor(tx, settings, sub, now),
    }));
  }
  return messages;
}

async function cardExpiryWarnings(tx: Tx, settings: NotificationSettings & UpcomingNoticeSettings, now: Date): Promise<NewOutboxMessage[]> {
  if (settings.cardExpiryWarningDays === null) return [];
  // A card works through the last day of its expiry month (UTC here: a day early is harmless): it is
  // still valid now and stops before the warning horizon when its month is from now's up to the
  // horizon's, exclusive. `YYYY-MM` compares as text, over the index of active cards.
  const horizon = new Date(now.getTime() + settings.cardExpiryWarningDays * DAY_MS);
  const due = await tx
    .selectFrom('payment_methods as m')
    .innerJoin('subscriptions as s', 's.payment_method_id', 'm.id')
    .selectAll('s')
    .select(['m.id as method_id', 'm.card_last4', 'm.card_expiry'])
    .where('m.status', '=', 'active')
    .where('m.card_expiry', 'is not', null)
    .where('m.card_expiry', '>=', monthOf(now))
    .where('m.card_expiry', '<', monthOf(horizon))
    .where('m.card_expiry', '~', '^[0-9]{4}-(0[1-9]|1[0-2])$')
    .where('s.status', 'in', ['active', 'past_due'])
    .where('s.cancel_at_period_end', '=', false)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('email_outbox').select('id').where('dedupe_key', '=', sql<string>`'card_expiring:method:' || m.id`))),
    )
    .orderBy('m.id')
    .limit(BATCH)
    .execute();
  const messages: NewOutboxMessage[] = [];
  for (const row of due) {
    messages.push(compose(await customerContext(tx, settings, row, row.status, 'card_expiring', now), row, now, cardExpiringKey(row.method_id), {
      kind: 'card_expiring',
      product: row.product_name,
      cardLast4: row.card_last4,
      expiry: row.card_expiry!,
      cardLink: await cardLinkFor(tx, settings, row, now),
    }));
  }
  return messages;
}

/** `YYYY-MM` of an instant, in UTC. */
function monthOf(instant: Date): string {
  return instant.toISOString().slice(0, 7);
}

function compose(ctx: MessageContext, sub: Subscription, now: Date, dedupeKey: string, message: CustomerMessage): NewOutboxMessage {
  const composed = composeMessage(ctx, message);
  return { subscriptionId: sub.id, transactionId: null, kind: message.kind, to: sub.customer_email, ...composed, sendAfter: now, dedupeKey };
}
