/**
 * With the self-service page on, every customer e-mail carries its own fresh, single-use link to it
 * (stored only hashed, expiring), receipts and renewal reminders say cancelling is done there, and a
 * subscription that has ended gets no link.
 */
import { describe, expect, it } from 'vitest';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { queueUpcomingNotices } from '../../src/email/upcoming-notices.ts';
import { hashLinkToken } from '../../src/payment-links/payment-link.repo.ts';
import { PUBLIC_SHOP, useHarness } from '../support/engine-harness.ts';

const HOUR_MS = 3_600_000;
const h = useHarness('portal_links_in_emails', { notifications: { sendReceipts: true, portalLinks: { ttlMs: HOUR_MS } } });

async function mails(subscriptionId: string) {
  return h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}

/** The self-service link in a message, and the link row it opens (found by the token's hash only). */
async function portalLinkIn(text: string) {
  const match = new RegExp(`${h.publicUrl}/account/([A-Za-z0-9_-]{43})`).exec(text);
  if (!match) return null;
  const row = await h.db.db.selectFrom('customer_links').selectAll().where('token_hash', '=', hashLinkToken(match[1]!)).executeTakeFirst();
  return { token: match[1]!, row };
}

describe('the self-service link in customer e-mails', () => {
  it('a decline e-mail and a receipt each carry their own fresh link; the receipt says cancelling is done there', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'decline-once-portal', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    h.clock.set('2027-03-02T00:00:00Z');
    await h.chargeDue();
    const [failed, receipt] = await mails(sub.id);
    expect(failed!.kind).toBe('payment_failed');
    expect(receipt!.kind).toBe('receipt');

    const inFailed = (await portalLinkIn(failed!.text_body))!;
    expect(inFailed.row).toMatchObject({ purpose: 'portal', subscription_id: sub.id, closed_at: null });
    expect(inFailed.row!.expires_at).toEqual(new Date(Date.parse('2027-03-01T00:00:00Z') + HOUR_MS));
    expect(failed!.text_body).toContain('See and manage your subscription (card, payments, cancelling)');
    expect(failed!.html_body).toContain(`${h.publicUrl}/account/${inFailed.token}`);

    const inReceipt = (await portalLinkIn(receipt!.text_body))!;
    expect(inReceipt.token).not.toBe(inFailed.token);
    expect(receipt!.text_body).toContain(`To change your card or cancel, open:\n${h.publicUrl}/account/${inReceipt.token}`);
    expect(receipt!.text_body).toContain('works once, until Tuesday 2 March 2027 at 01:00 (UTC)');
    // The page itself cancels, so the receipt does not send the customer to support or to the card page.
    expect(receipt!.text_body).not.toContain('/card/');
    expect(receipt!.text_body).not.toContain('To cancel, write to');

    // The receipt's link opens the customer's own page, once.
    const link = `${h.publicUrl}/account/${inReceipt.token}`;
    expect(await (await fetch(link)).text()).toContain('Open my account');
    const opened = await fetch(link, { method: 'POST', headers: { origin: h.publicUrl }, redirect: 'manual' });
    expect(opened.status).toBe(303);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${h.publicUrl}/account`, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(sub.product_name);
    expect((await fetch(link, { method: 'POST', headers: { origin: h.publicUrl }, redirect: 'manual' })).status).toBe(410);
  });

  it('a renewal reminder points at the page to cancel', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const sub = await h.enrol({ email: 'yearly@example.com', interval: 'year', firstPaidAt: '2027-01-31T09:00:00Z' });
    h.clock.set('2028-01-25T09:00:00Z');
    const base = { merchant: PUBLIC_SHOP, operatorEmail: 'team@shop.test', publicUrl: h.publicUrl, authLinkTtlMs: 72 * HOUR_MS, authReminderMs: 24 * HOUR_MS, sendReceipts: true, cardUpdates: true, portalLinks: { ttlMs: HOUR_MS } };
    await h.db.db.transaction().execute((tx) => queueUpcomingNotices(tx, { ...base, renewalReminder: { days: 7, intervals: ['year'] }, cardExpiryWarningDays: 30 }, h.boss(), h.clock.now()));
    const [reminder] = await mails(sub.id);
    expect(reminder!.kind).toBe('renewal_reminder');
    const link = (await portalLinkIn(reminder!.text_body))!;
    expect(link.row).toMatchObject({ purpose: 'portal', subscription_id: sub.id });
    expect(reminder!.text_body).toContain('To change your card or cancel, open:');
  });

  it('no link once the subscription has ended: the "ended" e-mail carries none', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const sub = await h.enrol({ email: 'ending@example.com', firstPaidAt: '2027-01-31T09:00:00Z' });
    await cancelSubscription(h.db.db, sub.id, false, h.operator());
    const [ended] = await mails(sub.id);
    expect(ended!.kind).toBe('subscription_canceled');
    expect(await portalLinkIn(ended!.text_body)).toBeNull();
    expect(ended!.html_body).not.toContain('/account/');
    const portalRows = await h.db.db.selectFrom('customer_links').select('id').where('subscription_id', '=', sub.id).where('purpose', '=', 'portal').execute();
    expect(portalRows).toHaveLength(0);
  });
});
