/**
 * The notices card networks expect: a reminder before a yearly renewal, a receipt for each payment
 * (whichever writer records it) and a warning before the card on file expires, each sent once.
 */
import { describe, expect, it } from 'vitest';
import { cancelSubscription, updateToken } from '../../src/billing/operator-actions.ts';
import { queryCharges } from '../../src/billing/janitor.ts';
import { queueUpcomingNotices, type UpcomingNoticeSettings } from '../../src/email/upcoming-notices.ts';
import { openChargeOf } from '../../src/payments/transactions/transaction.repo.ts';
import { PUBLIC_SHOP, useHarness } from '../support/engine-harness.ts';

const h = useHarness('upcoming_notices', { notifications: { sendReceipts: true } });

/** The defaults: 7 days before yearly renewals only, 30 days before a card expires. */
const DEFAULTS: UpcomingNoticeSettings = { renewalReminder: { days: 7, intervals: ['year'] }, cardExpiryWarningDays: 30 };

/** One janitor pass of the upcoming notices, as the worker runs it. */
async function notices(settings: UpcomingNoticeSettings = DEFAULTS): Promise<number> {
  const base = { merchant: PUBLIC_SHOP, operatorEmail: 'team@shop.test', publicUrl: h.publicUrl, authLinkTtlMs: 72 * 3_600_000, authReminderMs: 24 * 3_600_000, sendReceipts: true, cardUpdates: true };
  return h.db.db.transaction().execute((tx) => queueUpcomingNotices(tx, { ...base, ...settings }, h.boss(), h.clock.now()));
}

async function mails(subscriptionId: string, kind: string) {
  return h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', subscriptionId).where('kind', '=', kind).orderBy('id').execute();
}

/** The card as the QuickPay query reports it (its last four where a checkout told them). */
async function cardIs(subscriptionId: string, card: { last4: string | null; expiry: string }) {
  const sub = await h.subscription(subscriptionId);
  await h.db.db.updateTable('payment_methods').set({ card_last4: card.last4, card_expiry: card.expiry }).where('id', '=', sub.payment_method_id!).execute();
}

describe('renewal reminder', () => {
  it('reaches a yearly subscriber once, 7 days before the renewal, with the amount, the time in their zone and how to cancel; again the next year', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const sub = await h.enrol({ interval: 'year', amount: '90', currency: 'GBP', firstPaidAt: '2027-01-31T09:00:00Z', timezone: 'America/New_York' });
    h.clock.set('2028-01-24T08:59:00Z');
    await notices();
    expect(await mails(sub.id, 'renewal_reminder')).toHaveLength(0);
    h.clock.set('2028-01-24T09:00:00Z');
    await notices();
    await notices();
    const [reminder, ...more] = await mails(sub.id, 'renewal_reminder');
    expect(more).toHaveLength(0);
    expect(reminder!.subject).toBe('Your Tea & <Biscuits> Ltd subscription renews on 31 January 2028: GBP 90.00');
    // 09:00 UTC is 04:00 in New York.
    expect(reminder!.text_body).toContain('renews on Monday 31 January 2028 at 04:00 (America/New_York), when GBP 90.00 is charged');
    expect(reminder!.text_body).toMatch(new RegExp(`To change your card, open:\\n${h.publicUrl}/card/[A-Za-z0-9_-]{43}\\n`));
    expect(reminder!.text_body).toContain('To cancel, write to help@shop.test before the renewal date.');
    expect(reminder!.html_body).toContain('Tea &amp; &lt;Biscuits&gt; Ltd');

    h.clock.set('2028-01-31T09:00:00Z');
    await h.chargeDue();
    expect((await h.subscription(sub.id)).renewals_paid).toBe(1);
    await notices();
    expect(await mails(sub.id, 'renewal_reminder')).toHaveLength(1);
    h.clock.set('2029-01-24T09:00:00Z');
    await notices();
    const reminders = await mails(sub.id, 'renewal_reminder');
    expect(reminders).toHaveLength(2);
    expect(reminders[1]!.text_body).toContain('renews on Wednesday 31 January 2029 at 04:00');
  });

  it('is not sent for a monthly plan by default, only when its interval is configured', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const sub = await h.enrol({ interval: 'month', firstPaidAt: '2027-01-31T09:00:00Z' });
    h.clock.set('2027-02-25T09:00:00Z');
    await notices();
    expect(await mails(sub.id, 'renewal_reminder')).toHaveLength(0);
    await notices({ ...DEFAULTS, renewalReminder: { days: 7, intervals: ['month', 'year'] } });
    expect(await mails(sub.id, 'renewal_reminder')).toHaveLength(1);
  });

  it('is not sent for a subscription canceled now or at its period end', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const atEnd = await h.enrol({ email: 'end@example.com', interval: 'year', firstPaidAt: '2027-01-31T09:00:00Z' });
    const now = await h.enrol({ email: 'now@example.com', interval: 'year', firstPaidAt: '2027-01-31T09:00:00Z' });
    await cancelSubscription(h.db.db, atEnd.id, true, h.operator());
    await cancelSubscription(h.db.db, now.id, false, h.operator());
    h.clock.set('2028-01-25T09:00:00Z');
    await notices();
    expect(await mails(atEnd.id, 'renewal_reminder')).toHaveLength(0);
    expect(await mails(now.id, 'renewal_reminder')).toHaveLength(0);
  });
});

describe('receipt', () => {
  it('a renewal: amount, period, order number, the last four of the card and the card-update link', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ email: 'receipt@example.com', firstPaidAt: '2027-01-31T09:00:00Z' });
    await cardIs(sub.id, { last4: '4242', expiry: '2030-12' });
    await h.chargeDue();
    const [receipt, ...more] = await mails(sub.id, 'receipt');
    expect(more).toHaveLength(0);
    const [attempt] = await h.attempts(sub.id);
    expect(receipt!.text_body).toContain('We received USD 9.99 with the card ending 4242 for');
    expect(receipt!.text_body).toContain(`Order number: ${attempt!.reference}`);
    expect(receipt!.text_body).toContain('Period: Sunday 28 February 2027 at 09:00 (UTC) to Wednesday 31 March 2027 at 09:00 (UTC)');
    expect(receipt!.text_body).toMatch(new RegExp(`${h.publicUrl}/card/[A-Za-z0-9_-]{43}`));
    expect(receipt!.html_body).toContain('4242');
  });

  it('once for a payment recorded by the notice, even when a query finds it again', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ email: 'pending@example.com', quickpayId: 'pending-receipt', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    await h.eventually(async () => (await h.events(sub.id)).some((e) => e.type === 'payment_succeeded'));
    await h.sandbox.noticesIdle();
    await h.janitor();
    expect(await mails(sub.id, 'receipt')).toHaveLength(1);
  });

  it('once for a payment recorded by `rebill resolve` (its notice lost), however often it is resolved', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ email: 'lost@example.com', quickpayId: 'lost-notice-receipt', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const open = (await openChargeOf(h.db.db, sub.id))!;
    expect(await mails(sub.id, 'receipt')).toHaveLength(0);
    // The sandbox approves it after its pending delay; resolve (a query) then records it.
    await h.eventually(async () => {
      await queryCharges(h.engine, [open], 1);
      return (await h.events(sub.id)).some((e) => e.type === 'payment_succeeded');
    });
    await queryCharges(h.engine, [open], 1);
    const receipts = await mails(sub.id, 'receipt');
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.text_body).toContain(`Order number: ${open.reference}`);
  });
});

describe('card-expiry warning', () => {
  it('once per card, 30 days before the end of its expiry month, with the card-update link; a new card gets its own', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const sub = await h.enrol({ email: 'expiry@example.com', firstPaidAt: '2027-01-31T09:00:00Z', timezone: 'Europe/London' });
    await cardIs(sub.id, { last4: '1881', expiry: '2027-03' });
    h.clock.set('2027-03-01T23:59:00Z');
    await notices();
    expect(await mails(sub.id, 'card_expiring')).toHaveLength(0);
    h.clock.set('2027-03-02T00:00:00Z');
    await notices();
    const [warning] = await mails(sub.id, 'card_expiring');
    expect(warning!.subject).toBe('Your card for Tea & <Biscuits> Ltd expires at the end of March 2027');
    expect(warning!.text_body).toContain('The card ending 1881 that pays for');
    const link = /\/card\/([A-Za-z0-9_-]{43})/.exec(warning!.text_body)!;
    const page = await fetch(`${h.publicUrl}/card/${link[1]}`, { redirect: 'manual' });
    expect(page.status).toBeLessThan(400);
    h.clock.set('2027-03-20T00:00:00Z');
    await notices();
    expect(await mails(sub.id, 'card_expiring')).toHaveLength(1);

    // A replacement card (a new payment method) that also expires soon is warned about once more.
    // The customer saves a new card, which the QuickPay query reports expiring next month.
    await updateToken(h.db.db, sub.id, 'approve-newcard', h.operator(), { expiry: '2027-04', provider: 'oceanpayment' });
    await notices();
    expect(await mails(sub.id, 'card_expiring')).toHaveLength(1);
    h.clock.set('2027-04-01T00:00:00Z');
    await notices();
    const warnings = await mails(sub.id, 'card_expiring');
    expect(warnings).toHaveLength(2);
    expect(warnings[1]!.subject).toBe('Your card for Tea & <Biscuits> Ltd expires at the end of April 2027');
  });

  it('not for a card that has expired already, a card with no known expiry, or a canceled subscription', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const expired = await h.enrol({ email: 'old@example.com', firstPaidAt: '2027-01-31T09:00:00Z' });
    const unknown = await h.enrol({ email: 'unknown@example.com', firstPaidAt: '2027-01-31T09:00:00Z' });
    const canceled = await h.enrol({ email: 'gone@example.com', firstPaidAt: '2027-01-31T09:00:00Z' });
    await cardIs(expired.id, { last4: null, expiry: '2027-01' });
    await cardIs(canceled.id, { last4: null, expiry: '2027-02' });
    await cancelSubscription(h.db.db, canceled.id, true, h.operator());
    await notices();
    for (const sub of [expired, unknown, canceled]) expect(await mails(sub.id, 'card_expiring')).toHaveLength(0);
  });
});
