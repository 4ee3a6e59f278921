/**
 * What a real `rebill worker` process shows the world: it listens on this machine only unless
 * told otherwise, its health check answers a status word and nothing else, and no log line, no
 * answer and no page carries a secret (database password, SMTP password, secure codes).
 */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { startWorkerProcess, type WorkerProcess } from '../../scripts/lib/rebill-process.ts';
import { runCliJson } from '../support/cli.ts';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '../support/database.ts';
import { MERCHANT } from '../support/engine-harness.ts';
import { freePort, startTestSandbox, waitUntil, workerEnv } from '../support/e2e.ts';

const running: { workers: WorkerProcess[]; sandbox?: Sandbox; smtp?: SMTPServer; databases: TestDatabase[] } = { workers: [], databases: [] };

afterEach(async () => {
  await Promise.all(running.workers.map(async (w) => (w.kill('SIGKILL'), await w.exited)));
  running.workers = [];
  await running.sandbox?.close();
  running.sandbox = undefined;
  if (running.smtp) await new Promise<void>((resolve) => running.smtp!.close(() => resolve()));
  running.smtp = undefined;
  for (const database of running.databases.splice(0)) await dropTestDatabase(database);
});

async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const worker = startWorkerProcess(env);
  running.workers.push(worker);
  await worker.started();
  return worker;
}

/** Whether anything answers HTTP at this address (a refused connection is `false`). */
async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(10_000) }).then(
    () => true,
    () => false,
  );
}

/** An SMTP server that accepts only the given password, so a delivered e-mail proves the worker used it. */
async function startSmtpServer(user: string, password: string): Promise<{ port: number; delivered: () => number }> {
  let delivered = 0;
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error('invalid login'));
    },
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        delivered += 1;
        callback();
      });
    },
  });
  running.smtp = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, delivered: () => delivered };
}

describe('the worker on the network', () => {
  it('listens on this machine only unless REBILL_HOST says otherwise', async () => {
    const database = await createTestDatabase('e2e_exposure_host');
    running.databases.push(database);
    const sandbox = (running.sandbox = await startTestSandbox());
    // All of 127.0.0.0/8 is this machine, but a server bound to 127.0.0.1 does not answer on
    // 127.0.0.2, while one bound to every interface does: the difference REBILL_HOST makes.
    const local = await freePort();
    await startWorker(workerEnv(database, sandbox, local));
    expect(await answers(`http://127.0.0.1:${local}/healthz`)).toBe(true);
    expect(await answers(`http://127.0.0.2:${local}/healthz`)).toBe(false);

    const everywhere = await freePort();
    await startWorker(workerEnv(database, sandbox, everywhere, { REBILL_HOST: '0.0.0.0' }));
    expect(await answers(`http://127.0.0.2:${everywhere}/healthz`)).toBe(true);
  });

  it('/healthz answers a status word only; why the database is unavailable goes to the log', async () => {
    const database = await createTestDatabase('e2e_exposure_health');
    const sandbox = (running.sandbox = await startTestSandbox());
    const port = await freePort();
    const worker = await startWorker(workerEnv(database, sandbox, port));
    const healthy = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(healthy.status).toBe(200);
    expect(await healthy.text()).toBe('{"status":"ok"}');

    // The database goes away under the running worker.
    await dropTestDatabase(database);
    let answer = { status: 0, body: '' };
    await waitUntil(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        answer = { status: response.status, body: await response.text() };
        return response.status === 503;
      },
      60_000,
      async () => `still answering ${answer.status} ${answer.body}`,
    );
    expect(answer.body).toBe('{"status":"unavailable"}');
    const logged = await worker.waitForLog((line) => line.msg.startsWith('health check failed'));
    expect(logged.err).toMatchObject({ message: expect.stringMatching(/\w/) });
  });
});

describe('secrets', () => {
  it('no log line, health answer or customer page of a running worker shows a secret', async () => {
    const secureCode = 'Mk7-main-secure-code-SECRET';
    const extraSecureCode = 'Qp2-3ds-secure-code-SECRET';
    const smtpPassword = 'Wz9-smtp-password-SECRET';
    const database = await createTestDatabase('e2e_exposure_secrets');
    running.databases.push(database);
    const databasePassword = decodeURIComponent(new URL(database.url).password);
    const sandbox = (running.sandbox = await startTestSandbox({ accounts: [{ ...MERCHANT, secureCode }] }));
    const smtp = await startSmtpServer('mailer', smtpPassword);
    const port = await freePort();
    const env = workerEnv(database, sandbox, port, {
      OCEANPAYMENT_SECURE_CODE: secureCode,
      OCEANPAYMENT_EXTRA_TERMINALS: `99514902:${extraSecureCode}`,
      SMTP_URL: `smtp://mailer:${smtpPassword}@127.0.0.1:${smtp.port}`,
      LOG_LEVEL: 'debug',
    });
    const worker = await startWorker(env);

    // A charge that is declined, so the customer is e-mailed over SMTP with the password.
    const enrolled = await runCliJson<{ id: string }>(
      ['enrol', '--email', 'ada@example.com', '--first-name', 'Ada', '--last-name', 'Lovelace', '--country', 'GB', '--interval', 'month',
        '--amount', '9.99', '--currency', 'GBP', '--quickpay-id', 'soft-decline-secrets'],
      env,
    );
    await waitUntil(async () => smtp.delivered() >= 1, 180_000, async () => `no e-mail delivered; logs: ${JSON.stringify(worker.logs.slice(-5))}`);
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
    const page = await (await fetch(`http://127.0.0.1:${port}/oceanpayment/return`, { method: 'POST', body: 'order_number=nonsense' })).text();

    // Everything the worker printed, from its first line ("starting", "e-mails go out as …") on.
    const printed = [...worker.logs.map((line) => JSON.stringify(line)), worker.stderr, health, page].join('\n');
    expect(worker.logs.some((line) => line.msg === 'e-mail delivered')).toBe(true);
    expect(printed).toContain(enrolled.id);
    for (const secret of [secureCode, extraSecureCode, smtpPassword, ...(databasePassword ? [databasePassword] : [])]) {
      expect(printed.includes(secret), `a secret of ${secret.length} characters was printed`).toBe(false);
    }
  });
});
