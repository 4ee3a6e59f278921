/** `rebill reconcile` as an operator runs it: against a sandbox over HTTP, with progress, CSV and exit codes. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatGatewayDateTime } from '../../src/payments/providers/oceanpayment/gateway-time.ts';
import { startSandbox, type Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { SANDBOX_DEFAULT_ACCOUNT, SANDBOX_DEFAULT_SECURE_CODE, SANDBOX_DEFAULT_TERMINAL } from '../../src/payments/providers/oceanpayment/sandbox/options.ts';
import { runCli } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';

const database = useTestDatabase('reconcile-cli');
let sandbox: Sandbox;
let dir: string;
const env = () => ({ DATABASE_URL: database.current.url, OCEANPAYMENT_GATEWAY_URL: sandbox.url, REBILL_OPERATOR: 'support-alice' });
const today = () => formatGatewayDateTime(new Date()).slice(0, 10);

beforeAll(async () => {
  sandbox = await startSandbox({ accounts: [{ account: SANDBOX_DEFAULT_ACCOUNT, terminal: SANDBOX_DEFAULT_TERMINAL, secureCode: SANDBOX_DEFAULT_SECURE_CODE }], seed: 'reconcile-cli' });
  dir = mkdtempSync(join(tmpdir(), 'rebill-reconcile-cli-'));
});
afterAll(async () => {
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rebill reconcile', () => {
  it('flags a payment rebill never sent, prints progress, writes CSV, and e-mails the team once', async () => {
    const booked = await fetch(`${sandbox.url}/sandbox/orders`, { method: 'POST', body: JSON.stringify({ order_number: '=BACKOFFICE-7', amount: '12.50', currency: 'USD' }) });
    expect(booked.status).toBe(201);
    const csv = join(dir, 'recon.csv');
    const result = await runCli(['reconcile', '--date', today(), '--csv', csv], env());
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('reconcile: payments page 1 of 1 (0 matched, 0 fixed, 1 flagged)');
    expect(result.stdout).toMatch(/Reconciliation run \d+: oceanpayment, \d{4}-\d{2}-\d{2} .*: done/);
    expect(result.stdout).toContain('Flagged for a person (1)');
    expect(result.stdout).toContain('oceanpayment took USD 12.50 for order =BACKOFFICE-7, which rebill never sent');
    const lines = readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('run,provider,day,outcome,kind,order_number,payment_id,subscription_id,transaction_id,provider_amount,provider_currency,rebill_amount_minor,rebill_currency,detail');
    expect(lines[1]).toContain(`,oceanpayment,${today()},flagged,unknown_payment,'=BACKOFFICE-7,`);

    const again = await runCli(['reconcile', '--date', today(), '--json'], env());
    expect(again.code).toBe(0);
    const json = JSON.parse(again.stdout) as { run: Record<string, unknown>; items: Record<string, unknown>[] };
    expect(json.run).toMatchObject({ status: 'done', payments_compared: 1, fixed: 0, flagged: 1, started_by: 'operator:support-alice' });
    expect(json.items).toEqual([expect.objectContaining({ outcome: 'flagged', kind: 'unknown_payment', order_number: '=BACKOFFICE-7', provider_amount: '12.50' })]);
    const alerts = await database.current.db.selectFrom('email_outbox').select(['to_address', 'subject']).where('kind', '=', 'reconciliation_alert').execute();
    expect(alerts).toEqual([{ to_address: 'support@example.com', subject: `Reconciliation of ${today()} with oceanpayment: 1 item to check` }]);
  });

  it('refuses a malformed or missing date with a usage error, and runs nothing', async () => {
    const bad = await runCli(['reconcile', '--date', '2026/12/01'], env());
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toContain('--date must be a day written YYYY-MM-DD, e.g. 2026-12-01, got "2026/12/01"');
    expect((await runCli(['reconcile'], env())).code).toBe(2);
    const impossible = await runCli(['reconcile', '--date', '2026-02-30'], env());
    expect(impossible).toMatchObject({ code: 2 });
    expect(impossible.stderr).toContain('"2026-02-30" is not a day');
    const runs = await database.current.db.selectFrom('reconciliation_runs').select('id').execute();
    expect(runs).toHaveLength(2);
  });

  it('exits 1 and stores the run as failed when the gateway cannot be reached', async () => {
    const result = await runCli(['reconcile', '--date', today(), '--json'], { ...env(), OCEANPAYMENT_GATEWAY_URL: 'http://127.0.0.1:9', OCEANPAYMENT_TIMEOUT_MS: '2000' });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).run).toMatchObject({ status: 'failed', error: expect.stringContaining("oceanpayment's payments list, page 1") });
  });
});
