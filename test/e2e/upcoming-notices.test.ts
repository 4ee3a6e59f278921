/**
 * The renewal reminder as a customer receives it: a real `rebill worker` process, on its own janitor
 * pass, delivers it over SMTP to a real SMTP server, once, and only for the yearly plan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/lib/clock.ts';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { runCliJson } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';
import { freePort, startTestSandbox, workerEnv } from '../support/e2e.ts';
import { startMailCatcher, type MailCatcher } from '../support/mail-catcher.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';

describe('renewal reminders from the worker', () => {
  const database = useTestDatabase('e2e_upcoming_notices');
  let sandbox: Sandbox;
  let mail: MailCatcher;
  let worker: WorkerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    [sandbox, mail] = await Promise.all([startTestSandbox({ seed: 'upcoming-notices' }), startMailCatcher()]);
    env = workerEnv(database.current, sandbox, await freePort(), { SMTP_URL: mail.url, REBILL_MERCHANT_NAME: 'Northwind Coffee Club', REBILL_SUPPORT_EMAIL: 'help@northwind.test' });
  });

  afterAll(async () => {
    await worker?.stop();
    await mail?.close();
    await sandbox?.close();
  });

  /** A subscription whose first purchase was `daysAgo` days ago, so its renewal is one interval after. */
  const enrol = (email: string, interval: string, daysAgo: number) =>
    runCliJson<{ id: string; next_renewal_at: string }>(
      ['enrol', '--email', email, '--first-name', 'Grace', '--last-name', 'Hopper', '--country', 'US', '--interval', interval, '--amount', '120',
        '--currency', 'USD', '--quickpay-id', `approve-${email}`, '--timezone', 'UTC', '--first-paid-at', new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 19)],
      env,
    );

  it('a yearly subscriber renewing in 5 days is reminded once over SMTP; a monthly one renewing as soon is not', async () => {
    const monthly = await enrol('monthly@example.com', 'month', 25);
    const yearly = await enrol('yearly@example.com', 'year', 360);
    worker = startWorkerProcess(env);
    await worker.started();

    const reminder = await mail.waitFor((m) => m.to.includes('yearly@example.com'), 120_000);
    expect(reminder.subject).toMatch(/^Your Northwind Coffee Club subscription renews on .*: USD 120\.00$/);
    expect(reminder.text).toContain('USD 120.00 is charged to your card on file');
    expect(reminder.text).toMatch(/\/account\/[A-Za-z0-9_-]{43}/);

    // A later subscriber's reminder proves later janitor passes ran: they sent nothing more to the others.
    const later = await enrol('later@example.com', 'year', 361);
    await mail.waitFor((m) => m.to.includes('later@example.com'), 120_000);
    expect(mail.messages.filter((m) => m.to.includes('yearly@example.com'))).toHaveLength(1);
    expect(mail.messages.filter((m) => m.to.includes('monthly@example.com'))).toHaveLength(0);
    const reminders = await database.current.db.selectFrom('email_outbox').select('subscription_id').where('kind', '=', 'renewal_reminder').orderBy('id').execute();
    expect(reminders.map((m) => m.subscription_id)).toEqual([yearly.id, later.id]);
    expect(reminders.map((m) => m.subscription_id)).not.toContain(monthly.id);
  });
});
