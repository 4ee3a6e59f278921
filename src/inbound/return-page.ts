/**
 * The page a customer lands on when the bank's 3-D Secure step sends them back (the gateway's
 * backUrl). It tells them what happened and what comes next; it never changes money state (only
 * notices and queries do), but it asks for the order to be queried at once.
 */
import type { PaymentTransaction } from '../db/database.ts';
import { declineMessage, type ChargeOutcome } from '../payments/outcomes.ts';
import { html, htmlPage } from '../lib/html.ts';
import { displayMoney } from '../lib/money.ts';
import { formatWhen } from '../lib/customer-time.ts';

export interface ReturnPageInput {
  merchant: { name: string; supportEmail: string };
  /** What the browser carried, when its signature verified. */
  outcome: ChargeOutcome | null;
  /** The attempt as rebill knows it now (a notice may already have settled it). */
  attempt: PaymentTransaction | null;
  nextAttemptAt?: Date | null;
  /** The customer's time zone, for the dates on the page. */
  timezone?: string;
  /** When the subscription was canceled, if it was: nothing more is due, whatever the bank says. */
  canceledAt?: Date | null;
  /** For a payment not completed: a link to save another card, or why there is none to give. */
  cardUpdate?: CardUpdateOffer;
}

/** What a declined customer can be offered: a fresh card-update link, or the one already sent. */
export type CardUpdateOffer = { kind: 'link'; url: string } | { kind: 'sent_before' } | { kind: 'none' };

export type ReturnVerdict = 'paid' | 'paid_after_cancel' | 'canceled' | 'confirming' | 'not_completed' | 'unknown';

export function returnVerdict(input: ReturnPageInput): ReturnVerdict {
  if (input.attempt && input.canceledAt) return input.attempt.status === 'succeeded' ? 'paid_after_cancel' : 'canceled';
  if (input.attempt?.status === 'succeeded') return 'paid';
  if (!input.outcome || !input.attempt) return 'unknown';
  switch (input.outcome.kind) {
    case 'approved':
    case 'pending':
    case 'unknown':
      return 'confirming';
    case 'declined':
    case 'action_required':
      return 'not_completed';
  }
}

export function renderReturnPage(input: ReturnPageInput): { status: number; body: string } {
  const verdict = returnVerdict(input);
  const { name, supportEmail } = input.merchant;
  const amount = input.attempt ? displayMoney({ amountMinor: input.attempt.amount_minor, currency: input.attempt.currency }) : null;
  const help = html`<p class="note">Questions? Write to <a href="mailto:${supportEmail}">${supportEmail}</a>${
    input.attempt ? html` and mention order ${input.attempt.reference}` : ''
  }.</p>`;
  const canceledOn = input.canceledAt ? formatWhen(input.canceledAt, input.timezone ?? 'UTC') : '';
  switch (verdict) {
    case 'paid_after_cancel':
      return page(200, 'Subscription canceled', html`<h1>Your subscription was already canceled</h1>
<p>Your payment of ${amount} to ${name} went through, but your subscription had been canceled on ${canceledOn}, so this payment
is not due. Please write to us and we will refund it.</p>${help}`);
    case 'canceled':
      return page(200, 'Subscription canceled', html`<h1>Your subscription has been canceled</h1>
<p>Your subscription with ${name} was canceled on ${canceledOn}, so this payment of ${amount} is no longer due and nothing more
will be charged. If your bank nevertheless shows a payment for this order, please write to us and we will refund it.</p>${help}`);
    case 'paid':
      return page(200, 'Payment received', html`<h1>Payment received</h1>
<p>Thank you. Your payment of ${amount} to ${name} is complete and your subscription continues.</p>
<p>You can close this page.</p>${help}`);
    case 'confirming':
      return page(200, 'Payment being confirmed', html`<h1>Thank you, your payment is being confirmed</h1>
<p>The bank has accepted your verification. ${name} is waiting for the payment of ${amount} to be confirmed, which usually takes
a few moments. There is nothing more to do; your subscription continues once it is confirmed.</p>${help}`);
    case 'not_completed':
      return page(200, 'Payment not completed', html`<h1>The payment was not completed</h1>
<p>Your payment of ${amount} to ${name} did not go through${
        input.outcome?.kind === 'declined' && input.outcome.details ? html` (${declineMessage(input.outcome.details)})` : ''
      }. No money was taken.</p>
<p>${
        input.nextAttemptAt
          ? html`We will try again on ${formatWhen(input.nextAttemptAt, input.timezone ?? 'UTC')}. If your bank asks you to confirm it again, we will e-mail you a new link.`
          : html`No further attempt is planned.`
      }</p>${cardUpdateParagraph(input.cardUpdate)}${help}`);
    case 'unknown':
      return page(400, 'We could not read this result', html`<h1>We could not confirm this payment result</h1>
<p>The result your browser brought back could not be verified. If you completed the payment, there is nothing more to do:
${name} confirms every payment directly with the bank.</p>${help}`);
  }
}

function cardUpdateParagraph(offer: CardUpdateOffer | undefined): ReturnType<typeof html> {
  switch (offer?.kind) {
    case 'link':
      return html`<p>If your card has changed or keeps being declined, <a href="${offer.url}">save another card</a>; the period due is then paid with it at once.</p>`;
    case 'sent_before':
      return html`<p>If your card has changed, use the "save another card" link we sent you (by e-mail or on the page you saw before).</p>`;
    default:
      return html`<p>If your card has changed, please contact us to update your payment details.</p>`;
  }
}

function page(status: number, title: string, body: ReturnType<typeof html>): { status: number; body: string } {
  return { status, body: htmlPage(title, body) };
}
