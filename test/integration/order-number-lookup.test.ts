/** Customers quote order numbers: the CLI takes one wherever it takes a subscription id. */
import { describe, expect, it } from 'vitest';
import { runCli, runCliJson } from '../support/cli.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('order-number-lookup', { start: '2027-03-01T00:00:00Z' });
const env = () => ({ DATABASE_URL: h.db.url, REBILL_OPERATOR: 'support-alice' });

describe('an order number in place of a subscription id', () => {
  it('show and cancel find the subscription by any of its order numbers', async () => {
    const sub = await h.enrol({ quickpayId: 'approve-order-lookup', firstPaidAt: '2027-01-31T09:00:00Z' });
    await h.chargeDue();
    const [charge] = await h.attempts(sub.id);
    const shown = await runCliJson<{ id: string; attempts: { order_number: string }[] }>(['show', charge!.order_number], env());
    expect(shown).toMatchObject({ id: sub.id, attempts: [{ order_number: charge!.order_number }] });
    const text = await runCli(['show', charge!.order_number], env());
    expect(text.stdout).toContain(`Subscription ${sub.id}`);
    const canceled = await runCliJson(['cancel', charge!.order_number, '--reason', 'customer asked, quoting the order'], env());
    expect(canceled).toMatchObject({ id: sub.id, status: 'canceled' });
  });

  it('an unknown one is named, with what rebill does accept, and changes nothing', async () => {
    const result = await runCli(['cancel', 'NO-SUCH-ORDER-1'], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"NO-SUCH-ORDER-1" is not a subscription id (ids look like 0b6f3c1e-8a57-4c3e-9d3f-2f1a6c0e9b7d) nor an order number rebill has sent');
    const events = await h.db.db.selectFrom('events').select('type').where('type', '=', 'canceled').execute();
    expect(events).toHaveLength(1);
  });
});
