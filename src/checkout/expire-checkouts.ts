/**
 * An abandoned checkout ends the subscription as `incomplete_expired`. The provider is asked
 * first about a charge still waiting on its page (the customer may have paid and the notice been
 * lost: never lose a charge); a charge whose outcome is being sought holds the expiry back until
 * the janitor knows it.
 */
import { sql } from 'kysely';
import { openChargeOf } from '../payments/transactions/transaction.repo.ts';
import { lockSubscriptions, stateOf } from '../subscriptions/subscription.repo.ts';
import { applyEvent } from '../subscriptions/transitions.ts';
import { closeCustomerLinks } from '../customer-links/customer-link.repo.ts';
import { ChangeSet, commitChanges } from '../billing/commit.ts';
import type { BillingEngine } from '../billing/engine.ts';
import { closeOpenInvoices } from '../billing/janitor.ts';
import { settleWaitingCharges } from '../payment-links/expire-links.ts';

/** Expires abandoned checkouts whose link ran out; returns how many subscriptions ended. */
export async function expireCheckouts(engine: BillingEngine, limit = 100): Promise<number> {
  const now = engine.clock.now();
  const { rows } = await sql<{ subscription_id: string }>`
    select distinct l.subscription_id from customer_links l
    where l.purpose = 'checkout' and l.closed_at is null and l.expires_at <= ${now}
    limit ${limit}`.execute(engine.db);
  let ended = 0;
  for (const { subscription_id: id } of rows) {
    const waiting = await openChargeOf(engine.db, id);
    // The customer left the provider's page, or paid and we were not told: the provider knows which.
    if (waiting?.status === 'action_required') await settleWaitingCharges(engine, [waiting], 'the checkout was not completed before its link expired');
    if (await endCheckout(engine, id)) ended += 1;
  }
  return ended;
}

async function endCheckout(engine: BillingEngine, subscriptionId: string): Promise<boolean> {
  const now = engine.clock.now();
  return engine.db.transaction().execute(async (tx) => {
    const [row] = await lockSubscriptions(tx, [subscriptionId]);
    if (!row) return false;
    if (row.status !== 'incomplete') {
      await closeCustomerLinks(tx, [row.id], now, row.status === 'canceled' ? 'subscription canceled' : 'paid', ['checkout']);
      return false;
    }
    // A charge whose outcome is still sought (sent, unknown, pending) is resolved first.
    if (await openChargeOf(tx, row.id)) return false;
    const before = stateOf(row);
    const result = applyEvent(row, before, { type: 'checkout_expired' }, { now, actor: 'janitor', reason: 'the checkout was not completed before its link expired' }, engine.policy);
    if (!result.ok) return false;
    const changes = new ChangeSet();
    changes.subscriptions.set(row.id, result.change);
    changes.events.push(...result.events);
    changes.records.push({ kind: 'subscription', subscription: row, before, after: result.state, event: { type: 'checkout_expired' }, flags: [], charge: null });
    await closeOpenInvoices(tx, changes, [row.id], 'voided');
    await commitChanges(tx, changes, { now, followUps: engine.followUps });
    await closeCustomerLinks(tx, [row.id], now, 'expired', ['checkout']);
    return true;
  });
}
