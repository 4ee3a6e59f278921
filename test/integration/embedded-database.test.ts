import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireEmbeddedPostgres, restartEmbeddedPostgres } from '../../src/db/embedded.ts';
import { runCli } from '../support/cli.ts';
import { startWorkerProcess } from '../../scripts/lib/rebill-process.ts';

// A data directory of its own (in /tmp, which the postgres OS user can reach when tests run as root).
const dataDir = mkdtempSync(join(tmpdir(), 'rebill-embedded-'));
chmodSync(dataDir, 0o755);
const env = { REBILL_DATA_DIR: dataDir };
const pidFile = join(dataDir, 'pg', 'postmaster.pid');
const serverPid = () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n')[0] : null);

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const ENROL = ['enrol', '--email', 'grace@example.com', '--first-name', 'Grace', '--last-name', 'Hopper', '--country', 'US',
  '--interval', 'year', '--amount', '120', '--currency', 'USD', '--quickpay-id', 'tok-grace'];

describe('the embedded database (no DATABASE_URL)', () => {
  it('a command starts it for its own duration, and the data survives restarts', async () => {
    const enrolled = await runCli(ENROL, env);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(serverPid()).toBeNull();
    const listed = await runCli(['list'], env);
    expect(listed.stdout).toContain('grace@example.com');
    expect(serverPid()).toBeNull();
  });

  it('commands attach to the server a running process started, and leave it running', async () => {
    const lease = await acquireEmbeddedPostgres({ dir: join(dataDir, 'pg') });
    const pid = serverPid();
    expect(pid).not.toBeNull();
    const [a, b] = await Promise.all([runCli(['list', '--json'], env), runCli(['list', '--json'], env)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(serverPid()).toBe(pid);
    await lease.release();
    expect(serverPid()).toBeNull();
  });

  it('the last process stops it even after it was restarted under them', async () => {
    const lease = await acquireEmbeddedPostgres({ dir: join(dataDir, 'pg') });
    const before = serverPid();
    await restartEmbeddedPostgres(join(dataDir, 'pg'));
    expect(serverPid()).not.toBe(before);
    await lease.release();
    expect(serverPid()).toBeNull();
  });

  it('two commands starting together share one server', async () => {
    const results = await Promise.all([runCli(['list', '--json'], env), runCli(['list', '--json'], env), runCli(['list', '--json'], env)]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(serverPid()).toBeNull();
  });

  it('the worker runs on it, serves /healthz, and stops cleanly on SIGTERM', async () => {
    const worker = startWorkerProcess(env);
    const port = await worker.started();
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    // A command run meanwhile uses the worker's server and does not stop it.
    expect((await runCli(['list'], env)).code).toBe(0);
    expect(serverPid()).not.toBeNull();
    worker.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.logs.map((l) => l.msg)).toContain('worker stopped');
    expect(serverPid()).toBeNull();
  });
});

const runningAsRoot = process.getuid?.() === 0;
if (!runningAsRoot) {
  console.warn('embedded-database.test.ts: the unreachable-directory test is skipped: only as root does PostgreSQL run as another OS user');
}

describe('a data directory the postgres OS user cannot reach', () => {
  it.runIf(runningAsRoot)('gets a message saying what to do (when running as root)', async () => {
    const locked = mkdtempSync(join(tmpdir(), 'rebill-locked-'));
    mkdirSync(join(locked, 'state'));
    try {
      const result = await runCli(['list'], { REBILL_DATA_DIR: join(locked, 'state') });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/cannot enter .*rebill-locked-.*chmod o\+x/);
    } finally {
      rmSync(locked, { recursive: true, force: true });
    }
  });
});

describe('production guard', () => {
  it('refuses to start on the embedded database, the sandbox or any other unsafe default, listing every problem', async () => {
    const result = await runCli(['worker'], { ...env, NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/REBILL_ALLOW_EMBEDDED_DB=true/);
    expect(result.stderr).toMatch(/REBILL_ALLOW_SANDBOX=true/);
    expect(result.stderr).toMatch(/REBILL_PUBLIC_URL/);
    expect(result.stderr).toMatch(/SMTP_URL is not set/);
    expect(result.stderr).toMatch(/REBILL_MERCHANT_NAME is the default/);
    expect(result.stderr).toMatch(/REBILL_SUPPORT_EMAIL is the default/);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });
});
