/**
 * The e-mails customers receive, as pure functions of their facts: a plain-text and an HTML part
 * for each, every value HTML-escaped, dates in the customer's own time zone.
 */
import { formatDay, formatWhen } from '../lib/customer-time.ts';
import { html, htmlPage, type SafeHtml } from '../lib/html.ts';
import { displayMoney, type Money } from '../lib/money.ts';
import type { Interval } from '../plans/billing-calendar.ts';

export interface MessageContext {
  merchant: { name: string; supportEmail: string };
  customer: { firstName: string };
  timezone: string;
  /** The customer's self-service link, carried by every customer e-mail while the subscription can be managed. */
  portal?: { url: string; expiresAt: Date } | null;
}

/** Messages that carry no self-service link: the link itself, a sign-up not paid yet, the team's alerts. */
export const WITHOUT_PORTAL_LINK: ReadonlySet<CustomerMessage['kind']> = new Set(['portal_link', 'checkout', 'operator_alert']);
/** Those that name it in their own words (where to change the card or cancel) rather than at the foot. */
const PORTAL_IN_BODY: ReadonlySet<CustomerMessage['kind']> = new Set(['receipt', 'renewal_reminder']);

interface Plan {
  amount: Money;
  product: string;
  interval: Interval;
  /** The subscription's first payment rather than a renewal. */
  firstPayment?: boolean;
}

export type CustomerMessage =
  | ({ kind: 'action_required' | 'auth_reminder'; link: string; expiresAt: Date } & Plan)
  /** A period collected by payment link: the link to pay it, and its reminder. */
  | ({ kind: 'payment_due' | 'payment_due_reminder'; link: string; expiresAt: Date } & Plan)
  /** `byLink`: the period is collected by payment link, so a retry is a new link, not a new charge. */
  /** `cardLink`: where the customer saves another card (declines of a card token). */
  | ({ kind: 'payment_failed'; declineClass: 'soft' | 'hard'; details: string | null; nextAttemptAt: Date | null; byLink?: boolean; cardLink?: string | null } & Plan)
  /** The sign-up link: the first purchase on the provider's hosted page, which stores the card. */
  | ({ kind: 'checkout'; link: string; expiresAt: Date } & Plan)
  /** The magic link to the self-service page, sent on request. */
  | ({ kind: 'portal_link'; link: string; expiresAt: Date } & Plan)
  | ({ kind: 'subscription_unpaid'; cardLink?: string | null } & Plan)
  | { kind: 'subscription_canceled'; product: string; canceledAt: Date }
  /** `cardLast4` where the card's last four are known; `manageLink`: where the customer changes their card or subscription. */
  | ({ kind: 'receipt'; orderNumber: string; paidAt: Date; periodStart: Date; periodEnd: Date; nextRenewalAt: Date | null; cardLast4: string | null; manageLink: ManageLink | null } & Plan)
  /** Sent days before a renewal (card networks require it for annual billing): what, when, how to stop it. */
  /** `byLink`: the period is paid by a payment link e-mailed then, not charged to a stored card. */
  | ({ kind: 'renewal_reminder'; renewsAt: Date; byLink?: boolean; manageLink: ManageLink | null } & Plan)
  /** The card on file expires (`expiry` is `YYYY-MM`) before a coming renewal. */
  | { kind: 'card_expiring'; product: string; cardLast4: string | null; expiry: string; cardLink: string | null }
  | { kind: 'refunded'; amount: Money; product: string; orderNumber: string; refundedAt: Date; automatic: 'double_payment' | 'paid_after_cancel' | null }
  /** To the merchant's own team, not a customer. */
  | { kind: 'operator_alert'; subject: string; text: string };

/** Where the customer acts on their subscription: the self-service page (cancel too) or, without one, the card-update page. */
export interface ManageLink {
  url: string;
  canCancel: boolean;
  /** When a single-use link stops working (the self-service link), to say so. */
  expiresAt?: Date;
}

export interface ComposedMessage {
  subject: string;
  text: string;
  html: string;
}

const EVERY: Record<Interval, string> = { week: 'weekly', month: 'monthly', quarter: 'quarterly', 'half-year': 'half-yearly', year: 'yearly' };

export function composeMessage(ctx: MessageContext, message: CustomerMessage): ComposedMessage {
  const { name: merchant, supportEmail } = ctx.merchant;
  const when = (d: Date) => formatWhen(d, ctx.timezone);
  const hello = `Hello ${ctx.customer.firstName},`;
  const signOff = `Questions? Write to ${supportEmail}.\n\n${merchant}`;
  const help = html`<p style="color:#555">Questions? Write to <a href="mailto:${supportEmail}">${supportEmail}</a>.</p><p>${merchant}</p>`;
  const planText = 'interval' in message ? `${message.product} (${displayMoney(message.amount)}, ${EVERY[message.interval]})` : '';
  const payment = 'firstPayment' in message && message.firstPayment ? 'first payment' : 'renewal payment';

  const portal = ctx.portal && !WITHOUT_PORTAL_LINK.has(message.kind) && !PORTAL_IN_BODY.has(message.kind) ? ctx.portal : null;
  const portalText = portal ? `\n\nSee and manage your subscription (card, payments, cancelling): ${portal.url}\n(works once, until ${when(portal.expiresAt)})` : '';
  const portalHtml = portal ? html`<p style="color:#555"><a href="${portal.url}">See and manage your subscription</a> (card, payments, cancelling); the link works once, until ${when(portal.expiresAt)}.</p>` : html``;
  /** Receipts and reminders: the self-service page when there is one, which also cancels. */
  const manage = (link: ManageLink | null): ManageLink | null => (ctx.portal ? { url: ctx.portal.url, canCancel: true, expiresAt: ctx.portal.expiresAt } : link);

  const build = (subject: string, textBody: string, htmlBody: SafeHtml): ComposedMessage => ({
    subject,
    text: `${hello}\n\n${textBody.trim()}${portalText}\n\n${signOff}\n`,
    html: htmlPage(subject, html`<p>${hello}</p>${htmlBody}${portalHtml}${help}`),
  });

  switch (message.kind) {
    case 'action_required':
    case 'auth_reminder': {
      const reminder = message.kind === 'auth_reminder';
      const amount = displayMoney(message.amount);
      return build(
        reminder ? `Reminder: please confirm your ${amount} payment to ${merchant}` : `Action needed: confirm your ${amount} payment to ${merchant}`,
        `${reminder ? 'This is a reminder: your' : 'Your'} bank wants you to confirm the ${payment} for ${planText} before it goes through.

Confirm the payment here:
${message.link}

The link works until ${when(message.expiresAt)}. It takes you to your bank's secure page; nothing is charged until you confirm there.`,
        html`<p>${reminder ? 'This is a reminder: your' : 'Your'} bank wants you to confirm the ${payment} for <strong>${planText}</strong> before it goes through.</p>
<p><a href="${message.link}" style="display:inline-block;padding:.6em 1.2em;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">Confirm the payment</a></p>
<p>Or open this address: <a href="${message.link}">${message.link}</a></p>
<p>The link works until ${when(message.expiresAt)}. It takes you to your bank's secure page; nothing is charged until you confirm there.</p>`,
      );
    }
    case 'payment_due':
    case 'payment_due_reminder':
    case 'checkout': {
      const reminder = message.kind === 'payment_due_reminder';
      const checkout = message.kind === 'checkout';
      const amount = displayMoney(message.amount);
      const intro = checkout
        ? `Your subscription to ${planText} is ready. To start it, pay the first ${amount} on our payment provider's secure page; the card you use there pays each renewal.`
        : `${reminder ? 'This is a reminder: the' : 'The'} ${payment} for ${planText} is due.`;
      const after = `The link works until ${when(message.expiresAt)}. It takes you to our payment provider's secure page; nothing is charged until you pay there.`;
      return build(
        checkout ? `Complete your ${merchant} subscription: ${amount}` : reminder ? `Reminder: your ${amount} payment to ${merchant} is due` : `Your ${amount} payment to ${merchant} is due`,
        `${intro}

${checkout ? 'Pay and start your subscription here' : 'Pay here'}:
${message.link}

${after}`,
        html`<p>${intro}</p>
<p><a href="${message.link}" style="display:inline-block;padding:.6em 1.2em;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">${checkout ? 'Pay and start' : `Pay ${amount}`}</a></p>
<p>Or open this address: <a href="${message.link}">${message.link}</a></p>
<p>${after}</p>`,
      );
    }
    case 'portal_link': {
      const after = `The link works once, until ${when(message.expiresAt)}. If it has run out, ask us for a new one.`;
      return build(
        `Manage your ${merchant} subscription`,
        `Here is your link to see and manage your subscription to ${planText}: your card, your payments and receipts, and cancelling.

${message.link}

${after}`,
        html`<p>Here is your link to see and manage your subscription to <strong>${planText}</strong>: your card, your payments and receipts, and cancelling.</p>
<p><a href="${message.link}" style="display:inline-block;padding:.6em 1.2em;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">Manage my subscription</a></p>
<p>Or open this address: <a href="${message.link}">${message.link}</a></p>
<p>${after}</p>`,
      );
    }
    case 'payment_failed': {
      const amount = displayMoney(message.amount);
      const reason = message.details ? ` (the bank said: ${message.details})` : '';
      if (message.declineClass === 'hard') {
        return build(
          `Your ${amount} payment to ${merchant} was declined: please use another card`,
          `The ${payment} for ${planText} was declined${reason}, and this card cannot be charged again.

${message.cardLink ? `To keep your subscription, save another card here; the payment is charged to it at once:
${message.cardLink}` : `To keep your subscription, please write to ${supportEmail} to update your payment details.`}`,
          html`<p>The ${payment} for <strong>${planText}</strong> was declined${reason}, and this card cannot be charged again.</p>
<p>${message.cardLink ? html`To keep your subscription, <a href="${message.cardLink}">save another card</a>; the payment is charged to it at once.</p><p>Or open this address: <a href="${message.cardLink}">${message.cardLink}</a>` : html`To keep your subscription, please write to <a href="mailto:${supportEmail}">${supportEmail}</a> to update your payment details.`}</p>`,
        );
      }
      const next = message.nextAttemptAt ? when(message.nextAttemptAt) : null;
      return build(
        `Your ${amount} payment to ${merchant} did not go through`,
        `The ${payment} for ${planText} did not go through${reason}. No money was taken.

${next ? (message.byLink ? `We will send you a new payment link on ${next}.` : `We will try again on ${next}.`) : 'Please contact us to keep your subscription.'}${
  message.cardLink ? `\n\nIf your card has changed, save the new one here and the payment is charged to it at once:\n${message.cardLink}` : next && !message.byLink ? ' If your card has changed, please let us know before then.' : ''}`,
        html`<p>The ${payment} for <strong>${planText}</strong> did not go through${reason}. No money was taken.</p>
<p>${next ? (message.byLink ? html`We will send you a new payment link on <strong>${next}</strong>.` : html`We will try again on <strong>${next}</strong>.`) : 'Please contact us to keep your subscription.'}${
  message.cardLink ? '' : next && !message.byLink ? ' If your card has changed, please let us know before then.' : ''}</p>${
  message.cardLink ? html`<p>If your card has changed, <a href="${message.cardLink}">save the new one</a> and the payment is charged to it at once.</p>` : ''}`,
      );
    }
    case 'subscription_unpaid':
      return build(
        `Your ${merchant} subscription is suspended`,
        `We could not collect the ${payment} for ${planText} after several tries, so your subscription is suspended and will not be charged again.

${message.cardLink ? `To restart it, save another card here; the unpaid amount is charged to it at once:
${message.cardLink}` : `To restart it, please write to ${supportEmail}.`}`,
        html`<p>We could not collect the ${payment} for <strong>${planText}</strong> after several tries, so your subscription is suspended and will not be charged again.</p>
<p>${message.cardLink ? html`To restart it, <a href="${message.cardLink}">save another card</a>; the unpaid amount is charged to it at once.` : html`To restart it, please write to <a href="mailto:${supportEmail}">${supportEmail}</a>.`}</p>`,
      );
    case 'subscription_canceled':
      return build(
        `Your ${merchant} subscription has ended`,
        `Your subscription to ${message.product} ended on ${when(message.canceledAt)}. You will not be charged again.`,
        html`<p>Your subscription to <strong>${message.product}</strong> ended on ${when(message.canceledAt)}. You will not be charged again.</p>`,
      );
    case 'refunded': {
      const amount = displayMoney(message.amount);
      const why =
        message.automatic === 'double_payment' ? `You were charged twice for the same period of ${message.product}, so we have refunded the second payment.`
        : message.automatic === 'paid_after_cancel' ? `A payment for ${message.product} went through after your subscription had ended, so we have refunded it.`
        : `We have refunded ${amount} of your payment for ${message.product}.`;
      return build(
        `Refund: ${amount} from ${merchant}`,
        `${why} The refund of ${amount} (order ${message.orderNumber}) was sent on ${when(message.refundedAt)}; your bank may take a few days to show it.`,
        html`<p>${why}</p><p>The refund of <strong>${amount}</strong> (order ${message.orderNumber}) was sent on ${when(message.refundedAt)}; your bank may take a few days to show it.</p>`,
      );
    }
    case 'operator_alert':
      return build(message.subject, message.text, html`<p>${message.text}</p>`);
    case 'receipt': {
      const amount = displayMoney(message.amount);
      const next = message.nextRenewalAt ? `Your next renewal is on ${when(message.nextRenewalAt)}.` : '';
      const card = message.cardLast4 ? ` with the card ending ${message.cardLast4}` : '';
      const period = `${when(message.periodStart)} to ${when(message.periodEnd)}`;
      return build(
        `Receipt: ${amount} paid to ${merchant}`,
        `Thank you. We received ${amount}${card} for ${planText} on ${when(message.paidAt)}.

Order number: ${message.orderNumber}
Period: ${period}

${next}

${manageText(manage(message.manageLink), supportEmail, when)}`,
        html`<p>Thank you. We received <strong>${amount}</strong>${card} for ${planText} on ${when(message.paidAt)}.</p>
<p>Order number: ${message.orderNumber}<br>Period: ${period}</p><p>${next}</p>${manageHtml(manage(message.manageLink), supportEmail, when)}`,
      );
    }
    case 'renewal_reminder': {
      const amount = displayMoney(message.amount);
      const how = message.byLink ? `when we e-mail you a link to pay ${amount}` : `when ${amount} is charged to your card on file`;
      return build(
        `Your ${merchant} subscription renews on ${formatDay(message.renewsAt, ctx.timezone)}: ${amount}`,
        `Your subscription to ${planText} renews on ${when(message.renewsAt)}, ${how}.

${manageText(manage(message.manageLink), supportEmail, when)}`,
        html`<p>Your subscription to <strong>${planText}</strong> renews on <strong>${when(message.renewsAt)}</strong>, ${how}.</p>${manageHtml(manage(message.manageLink), supportEmail, when)}`,
      );
    }
    case 'card_expiring': {
      const card = message.cardLast4 ? `The card ending ${message.cardLast4}` : 'The card';
      const expires = cardExpiryText(message.expiry);
      return build(
        `Your card for ${merchant} expires ${expires}`,
        `${card} that pays for ${message.product} expires ${expires}. To keep your subscription running, ${message.cardLink ? `save your new card here:
${message.cardLink}` : `please write to ${supportEmail} to update your payment details.`}`,
        html`<p>${card} that pays for <strong>${message.product}</strong> expires ${expires}.</p>
<p>${message.cardLink ? html`To keep your subscription running, <a href="${message.cardLink}">save your new card</a>.</p><p>Or open this address: <a href="${message.cardLink}">${message.cardLink}</a>` : html`To keep your subscription running, please write to <a href="mailto:${supportEmail}">${supportEmail}</a> to update your payment details.`}</p>`,
      );
    }
  }
}

/** How the customer cancels or changes their card: only what the link really offers, support for the rest. */
function manageText(link: ManageLink | null, supportEmail: string, when: (d: Date) => string): string {
  if (link?.canCancel) return `To change your card or cancel, open:\n${link.url}${link.expiresAt ? `\n(works once, until ${when(link.expiresAt)}; after that, write to ${supportEmail})` : ''}`;
  const cancel = `To cancel, write to ${supportEmail} before the renewal date.`;
  return link ? `To change your card, open:\n${link.url}\n\n${cancel}` : cancel;
}

function manageHtml(link: ManageLink | null, supportEmail: string, when: (d: Date) => string): SafeHtml {
  if (link?.canCancel) {
    return html`<p>To change your card or cancel, <a href="${link.url}">manage your subscription</a>: ${link.url}${link.expiresAt ? html` (works once, until ${when(link.expiresAt)}; after that, write to <a href="mailto:${supportEmail}">${supportEmail}</a>)` : ''}</p>`;
  }
  const cancel = html`To cancel, write to <a href="mailto:${supportEmail}">${supportEmail}</a> before the renewal date.`;
  return link ? html`<p>To change your card, <a href="${link.url}">save a new card</a>: ${link.url}</p><p>${cancel}</p>` : html`<p>${cancel}</p>`;
}

/** `2027-08` → "at the end of August 2027" (cards work through their expiry month). */
function cardExpiryText(expiry: string): string {
  const [year, month] = expiry.split('-').map(Number);
  const name = new Date(Date.UTC(year!, month! - 1, 1)).toLocaleString('en-GB', { month: 'long', timeZone: 'UTC' });
  return `at the end of ${name} ${year}`;
}
