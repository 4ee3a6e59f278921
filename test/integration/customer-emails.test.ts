import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/lib/clock.ts';
import { cancelSubscription } from '../../src/billing/operator-actions.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('customer_emails', { notifications: { sendReceipts: true } });

async function mails(subscriptionId: string) {
  return h.db.db.selectFrom('email_outbox').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();
}

const operator = () => ({ now: h.clock.now(), actor: 'operator:test', policy: h.engine.policy, billing: h.engine.billing, followUps: h.engine.followUps });

describe('what customers are told', () => {
  it('a soft decline: when the next try is, in their time zone; after the last try, that the subscription is suspended', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'soft-decline-m', firstPaidAt: '2027-01-31T09:00:00Z', timezone: 'America/New_York' });
    await h.chargeDue();
    let sent = await mails(sub.id);
    expect(sent.map((m) => m.kind)).toEqual(['payment_failed']);
    expect(sent[0]!.subject).toMatch(/did not go through/);
    // First retry a day later: 2027-03-02T00:00Z is 19:00 on Monday 1 March in New York.
    expect(sent[0]!.text_body).toMatch(/We will try again on Monday 1 March 2027 at 19:00 \(America\/New_York\)/);
    expect(sent[0]!.text_body).toMatch(/Not sufficient funds/);
    // A customer whose card changed need not wait for the retries: the e-mail carries a card-update link.
    const cardLink = /If your card has changed, save the new one here[^\n]*\n(http\S+\/card\/[A-Za-z0-9_-]+)/.exec(sent[0]!.text_body)?.[1];
    expect(cardLink, sent[0]!.text_body).toBeDefined();
    expect((await fetch(cardLink!)).status).toBe(200);
    for (const days of [1, 3, 5, 7]) {
      h.clock.set(new Date(Date.parse('2027-03-01T00:00:00Z') + days * DAY_MS));
      await h.chargeDue();
    }
    sent = await mails(sub.id);
    expect(sent.map((m) => m.kind)).toEqual(['payment_failed', 'payment_failed', 'payment_failed', 'payment_failed', 'subscription_unpaid']);
    expect(sent.at(-1)!.subject).toMatch(/is suspended/);
  });

  it('a hard decline: please use another card, and how', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ quickpayId: 'hard-decline-m', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [mail] = await mails(sub.id);
    expect(mail!.subject).toMatch(/declined: please use another card/);
    expect(mail!.text_body).toMatch(/cannot be charged again/);
    expect(mail!.text_body).toMatch(/help@shop\.test/);
    // The decline's notice may still be on its way (it would hold the row the janitor skips).
    await h.sandbox.noticesIdle();
    h.clock.set('2027-03-08T00:00:01Z');
    await h.janitor();
    expect((await mails(sub.id)).map((m) => m.kind)).toEqual(['payment_failed', 'subscription_unpaid']);
  });

  it('a cancellation, now or at the period end, tells them it has ended', async () => {
    h.clock.set('2027-02-10T00:00:00Z');
    const now = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    const later = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    await cancelSubscription(h.db.db, now.id, false, operator());
    await cancelSubscription(h.db.db, later.id, true, operator());
    expect((await mails(now.id)).map((m) => m.kind)).toEqual(['subscription_canceled']);
    expect(await mails(later.id)).toEqual([]);
    h.clock.set('2027-02-28T09:00:00Z');
    await h.chargeDue();
    const [ended] = await mails(later.id);
    expect(ended).toMatchObject({ kind: 'subscription_canceled' });
    expect(ended!.text_body).toMatch(/ended on Sunday 28 February 2027 at 09:00 \(UTC\)/);
  });

  it('a receipt for each payment, when receipts are on', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const sub = await h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [receipt] = await mails(sub.id);
    expect(receipt).toMatchObject({ kind: 'receipt' });
    expect(receipt!.subject).toBe('Receipt: USD 9.99 paid to Tea & <Biscuits> Ltd');
    expect(receipt!.html_body).toContain('Tea &amp; &lt;Biscuits&gt; Ltd');
    expect(receipt!.text_body).toMatch(/next renewal is on Wednesday 31 March 2027/);
  });
});
