import { describe, expect, it } from 'vitest';
import { composeMessage, type CustomerMessage } from '../../src/email/messages.ts';

const ctx = { merchant: { name: 'Ada\'s <Tea> & Co', supportEmail: 'help@tea.example' }, customer: { firstName: 'Grace' }, timezone: 'Asia/Shanghai' };
const plan = { amount: { amountMinor: 1999, currency: 'EUR' }, product: 'Tea <b>club</b>', interval: 'month' as const };

describe('customer e-mails', () => {
  it('the action-required e-mail gives the amount, the plan, the link and when it expires, in the customer\'s zone', () => {
    const message: CustomerMessage = { kind: 'action_required', ...plan, link: 'https://billing.example/pay/abc', expiresAt: new Date('2027-03-04T00:00:00Z') };
    const { subject, text, html } = composeMessage(ctx, message);
    expect(subject).toBe("Action needed: confirm your EUR 19.99 payment to Ada's <Tea> & Co");
    expect(text).toContain('Hello Grace,');
    expect(text).toContain('Tea <b>club</b> (EUR 19.99, monthly)');
    expect(text).toContain('https://billing.example/pay/abc');
    expect(text).toContain('Thursday 4 March 2027 at 08:00 (Asia/Shanghai)');
    expect(text).toContain('help@tea.example');
    expect(html).toContain('href="https://billing.example/pay/abc"');
    expect(html).toContain('Tea &lt;b&gt;club&lt;/b&gt;');
    expect(html).toContain('Ada&#39;s &lt;Tea&gt; &amp; Co');
    expect(html).not.toContain('<b>club</b>');
  });

  it('the self-service link e-mail gives the link, that it works once, and until when in the customer\'s zone, escaped in HTML', () => {
    const { subject, text, html } = composeMessage(ctx, { kind: 'portal_link', ...plan, link: 'https://billing.example/account/abc', expiresAt: new Date('2027-03-04T00:00:00Z') });
    expect(subject).toBe("Manage your Ada's <Tea> & Co subscription");
    expect(text).toContain('https://billing.example/account/abc');
    expect(text).toContain('works once, until Thursday 4 March 2027 at 08:00 (Asia/Shanghai)');
    expect(html).toContain('href="https://billing.example/account/abc"');
    expect(html).toContain('Tea &lt;b&gt;club&lt;/b&gt;');
    expect(html).not.toContain('<b>club</b>');
  });

  it('says "first payment" for a first purchase and "renewal payment" otherwise', () => {
    const base = { kind: 'payment_failed', ...plan, declineClass: 'soft', details: null, nextAttemptAt: null } as const;
    expect(composeMessage(ctx, { ...base, firstPayment: true }).text).toContain('The first payment for');
    expect(composeMessage(ctx, base).text).toContain('The renewal payment for');
  });

  it('a soft failure says when the next try is; a hard one asks for another card', () => {
    const soft = composeMessage(ctx, { kind: 'payment_failed', ...plan, declineClass: 'soft', details: 'Not sufficient funds', nextAttemptAt: new Date('2027-03-02T00:00:00Z') });
    expect(soft.text).toContain('We will try again on Tuesday 2 March 2027 at 08:00 (Asia/Shanghai)');
    expect(soft.text).toContain('No money was taken');
    expect(soft.text).toContain('If your card has changed, please let us know before then.');
    const withLink = composeMessage(ctx, { kind: 'payment_failed', ...plan, declineClass: 'soft', details: null, nextAttemptAt: new Date('2027-03-02T00:00:00Z'), cardLink: 'https://billing.example/card/abc' });
    expect(withLink.text).toContain('If your card has changed, save the new one here and the payment is charged to it at once:\nhttps://billing.example/card/abc');
    expect(withLink.text).not.toContain('please let us know');
    expect(withLink.html).toContain('<a href="https://billing.example/card/abc">save the new one</a>');
    const hard = composeMessage(ctx, { kind: 'payment_failed', ...plan, declineClass: 'hard', details: 'Lost or stolen card', nextAttemptAt: null });
    expect(hard.subject).toMatch(/please use another card/);
    expect(hard.text).toContain('cannot be charged again');
  });

  it('a renewal reminder says how the renewal is paid and how to cancel, honestly for each kind of link', () => {
    const reminder = { kind: 'renewal_reminder', ...plan, interval: 'year', renewsAt: new Date('2028-01-31T01:00:00Z'), manageLink: null } as const;
    const byCard = composeMessage(ctx, reminder);
    expect(byCard.subject).toBe("Your Ada's <Tea> & Co subscription renews on 31 January 2028: EUR 19.99");
    expect(byCard.text).toContain('renews on Monday 31 January 2028 at 09:00 (Asia/Shanghai), when EUR 19.99 is charged to your card on file.');
    expect(byCard.text).toContain('To cancel, write to help@tea.example before the renewal date.');
    expect(composeMessage(ctx, { ...reminder, byLink: true }).text).toContain('when we e-mail you a link to pay EUR 19.99.');
    const cardPage = composeMessage(ctx, { ...reminder, manageLink: { url: 'https://billing.example/card/abc', canCancel: false } }).text;
    expect(cardPage).toContain('To change your card, open:\nhttps://billing.example/card/abc');
    expect(cardPage).toContain('To cancel, write to help@tea.example');
    const portal = composeMessage({ ...ctx, portal: { url: 'https://billing.example/account/xyz', expiresAt: new Date('2028-01-24T02:00:00Z') } }, reminder).text;
    expect(portal).toContain('To change your card or cancel, open:\nhttps://billing.example/account/xyz\n(works once, until Monday 24 January 2028 at 10:00 (Asia/Shanghai); after that, write to help@tea.example)');
    expect(portal.match(/account\/xyz/g)).toHaveLength(1);
  });

  it('a card-expiry warning names the month the card stops working and the card-update link', () => {
    const warning = composeMessage(ctx, { kind: 'card_expiring', product: 'Tea club', cardLast4: '4242', expiry: '2027-09', cardLink: 'https://billing.example/card/abc' });
    expect(warning.subject).toBe("Your card for Ada's <Tea> & Co expires at the end of September 2027");
    expect(warning.text).toContain('The card ending 4242 that pays for Tea club expires at the end of September 2027.');
    expect(warning.text).toContain('https://billing.example/card/abc');
    expect(composeMessage(ctx, { kind: 'card_expiring', product: 'Tea club', cardLast4: null, expiry: '2027-09', cardLink: null }).text).toContain('please write to help@tea.example');
  });

  it('a value cannot inject markup into the HTML part', () => {
    const evil = { ...ctx, customer: { firstName: '<script>alert(1)</script>' } };
    const { html } = composeMessage(evil, { kind: 'subscription_unpaid', ...plan });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
