/** `rebill report` over a real database: renewals paid at once and after a decline, as an operator reads them. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/lib/clock.ts';
import { runCli } from '../support/cli.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('report', { start: '2027-03-01T00:00:00Z' });

describe('rebill report', () => {
  it('counts renewals paid at once and recovered by dunning, MRR and new subscribers, in text, JSON and CSV', async () => {
    await h.enrol({ quickpayId: 'approve-report', firstPaidAt: '2027-01-31T09:00:00Z' });
    const recovered = await h.enrol({ quickpayId: 'decline-once-report', firstPaidAt: '2027-01-31T09:00:00Z', amount: '20.00', currency: 'EUR' });
    await h.chargeDue();
    expect((await h.subscription(recovered.id)).status).toBe('past_due');
    h.clock.advance(DAY_MS + 60_000);
    await h.chargeDue();
    expect((await h.subscription(recovered.id)).status).toBe('active');

    const env = { DATABASE_URL: h.db.url };
    const dir = mkdtempSync(join(tmpdir(), 'rebill-report-'));
    try {
      const json = await runCli(['report', '--from', '2027-03-01', '--to', '2027-03-31', '--json', '--csv', join(dir, 'r.csv')], env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        mrr: [{ currency: 'EUR', mrr_minor: 2000, subscriptions: 1 }, { currency: 'USD', mrr_minor: 999, subscriptions: 1 }],
        renewals: { attempted: 2, succeeded: 2, recovered_by_dunning: 1 },
        churned: { voluntary: 0, involuntary: 0 },
      });
      expect(readFileSync(join(dir, 'r.csv'), 'utf8')).toContain('renewals,recovered_by_dunning,,1\r\n');
      const text = await runCli(['report', '--from', '2027-03-01', '--to', '2027-03-31'], env);
      expect(text.stdout).toContain('Renewals:       2 attempted, 2 succeeded, 1 recovered by dunning');
      const bad = await runCli(['report', '--from', '2027-03-31', '--to', '2027-03-01'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--from (2027-03-31) must not be after --to (2027-03-01)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
