import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgBoss } from 'pg-boss';
import { silentLogger } from '../../src/lib/logger.ts';
import { ChargePump } from '../../src/billing/charge-pump.ts';
import { chargeSubscriptions } from '../../src/billing/charge-renewal.job.ts';
import { QUEUES, createBoss } from '../../src/jobs/queue.ts';
import { queueChargeNow, scheduleDueRenewals } from '../../src/billing/schedule-renewals.job.ts';
import { enrolMany, validateEnrolment } from '../../src/subscriptions/enrol.ts';
import { useHarness } from '../support/engine-harness.ts';

const h = useHarness('scheduler');
let boss: PgBoss;
beforeAll(async () => {
  boss = createBoss(h.db.pool, { background: false });
  await boss.start();
});
afterAll(async () => {
  await boss.stop({ graceful: false });
});

const jobs = async () =>
  (await sql<{ state: string; data: { subscriptionId: string } }>`select state, data from pgboss.job where name = ${QUEUES.charge}`.execute(h.db.db)).rows;
const settings = { batchSize: 2, maxQueued: 1000 };

describe('the scheduler tick', () => {
  it('queues each due subscription once, however many ticks run, and takes now as a parameter', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    const due = await Promise.all([1, 2, 3, 4, 5].map(() => h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' })));
    const later = await h.enrol({ firstPaidAt: '2027-02-20T09:00:00Z' }); // renews Mar 20

    expect(await scheduleDueRenewals(h.db.db, boss, new Date('2027-02-27T00:00:00Z'), settings)).toEqual({ queued: 0, more: false });
    const passes = await Promise.all([1, 2, 3].map(() => scheduleDueRenewals(h.db.db, boss, h.clock.now(), settings)));
    expect(passes.reduce((n, p) => n + p.queued, 0)).toBe(5);
    expect((await scheduleDueRenewals(h.db.db, boss, h.clock.now(), settings)).queued).toBe(0);
    const queued = (await jobs()).map((j) => j.data.subscriptionId).sort();
    expect(queued).toEqual(due.map((s) => s.id).sort());
    expect(queued).not.toContain(later.id);
  });

  it('keeps the queue short, and says more is due', async () => {
    h.clock.set('2027-03-01T00:00:00Z');
    await Promise.all([1, 2, 3].map(() => h.enrol({ firstPaidAt: '2027-01-31T09:00:00Z' })));
    const waiting = (await jobs()).filter((j) => j.state === 'created').length;
    const pass = await scheduleDueRenewals(h.db.db, boss, h.clock.now(), { batchSize: 10, maxQueued: waiting + 1 });
    expect(pass).toEqual({ queued: 1, more: true });
  });

  it('an incomplete enrolment queues its first charge at once, in the same transaction', async () => {
    const result = validateEnrolment(
      { email: 'x@example.com', firstName: 'X', lastName: 'Y', country: 'US', interval: 'week', amount: '5', currency: 'USD', quickpayId: 'tok-now' },
      h.clock.now(),
    );
    if (!result.ok) throw new Error('invalid');
    await enrolMany(h.db.db, [result.row], {
      now: h.clock.now(),
      actor: 'test',
      provider: 'oceanpayment',
      afterInsert: (tx, rows) => queueChargeNow(boss, tx, rows.map((r) => ({ id: r.id, next_period: r.next_period })), h.clock.now()),
    });
    expect((await jobs()).map((j) => j.data.subscriptionId)).toContain(result.row.id);
    expect((await h.subscription(result.row.id)).enqueued_at).not.toBeNull();
  });
});

describe('the charge pump', () => {
  it('charges queued jobs in batches, completes them, and frees the subscriptions for their next period', async () => {
    const queuedIds = [...new Set((await jobs()).filter((j) => j.state === 'created').map((j) => j.data.subscriptionId))];
    expect(queuedIds.length).toBeGreaterThan(5);
    const pump = new ChargePump(boss, { concurrency: 4, batchSize: 3, idlePollMs: 50 }, (ids) => chargeSubscriptions(h.engine, ids), () => {}, silentLogger);
    pump.start();
    try {
      await h.eventually(async () => (await jobs()).every((j) => j.state === 'completed'), 60_000);
    } finally {
      expect(await pump.stop(5_000)).toBe(true);
    }
    for (const id of queuedIds) {
      const sub = await h.subscription(id);
      expect(sub.enqueued_at).toBeNull();
      expect((await h.attempts(id)).map((a) => a.status)).toEqual(['succeeded']);
    }
  });
});
