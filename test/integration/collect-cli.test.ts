/**
 * `rebill collect` as counter staff use it, against the Oceanpayment sandbox over real HTTP: a
 * scanned code declined (exit 1, the gateway's words), and a QR order shown in the terminal, as a
 * PNG file and as a counter page address without waiting.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { useTestDatabase } from '../support/database.ts';
import { startTestSandbox } from '../support/e2e.ts';
import { MERCHANT } from '../support/engine-harness.ts';

const database = useTestDatabase('collect_cli');
let sandbox: Sandbox;
const dir = mkdtempSync(join(tmpdir(), 'rebill-collect-'));
beforeAll(async () => {
  sandbox = await startTestSandbox({ seed: 'collect-cli' });
});
afterAll(async () => {
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});
const env = () => ({
  DATABASE_URL: database.current.url,
  OCEANPAYMENT_ACCOUNT: MERCHANT.account,
  OCEANPAYMENT_TERMINAL: MERCHANT.terminal,
  OCEANPAYMENT_SECURE_CODE: MERCHANT.secureCode,
  OCEANPAYMENT_GATEWAY_URL: sandbox.url,
  OCEANPAYMENT_QUERY_URL: sandbox.url,
  REBILL_PUBLIC_URL: 'http://127.0.0.1:1',
});

async function enrolInPerson(email: string): Promise<string> {
  const sub = await runCliJson<{ id: string; collection_method: string }>(
    ['enrol', '--email', email, '--first-name', 'Wei', '--last-name', 'Zhang', '--country', 'CN', '--interval', 'month', '--amount', '88.00', '--currency', 'USD', '--collection', 'in_person'],
    env(),
  );
  expect(sub.collection_method).toBe('in_person');
  return sub.id;
}

describe('rebill collect', () => {
  it('--scan charges the scanned code and says why it was not paid, with exit 1', async () => {
    const id = await enrolInPerson('wei.cli.scan@example.com');
    const result = await runCli(['collect', id, '--scan', 'soft-decline-134567'], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Not paid: order [0-9a-f]{32}-0-1 \(80022:Not sufficient funds\)\.$/m);
  });

  it('--qr --no-wait shows the code as a PNG and a counter page, and returns', async () => {
    const id = await enrolInPerson('wei.cli.qr@example.com');
    const png = join(dir, 'code.png');
    const shown = await runCliJson<{ charge: { status: string; order_number: string }; scan_code: string; png: string; counter_url: string; waited: boolean }>(
      ['collect', id, '--qr', '--wallet', 'alipay', '--no-wait', '--png', png],
      env(),
    );
    expect(shown).toMatchObject({ charge: { status: 'pending' }, png, waited: false, counter_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:1\/counter\/[A-Za-z0-9_-]{40,}$/) });
    expect(shown.scan_code.startsWith(`${sandbox.url}/gateway/direct/redirect?pay_id=`)).toBe(true);
    expect(readFileSync(png).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const text = await runCli(['collect', id, '--qr', '--no-wait', '--png', join(dir, 'again.png')], env());
    // The first order still waits for the customer: nothing new is created.
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`nothing to collect for subscription ${id} now`);
  });

  it('answers --help with 0 and a usage error with 2', async () => {
    expect((await runCli(['collect', '--help'], env())).code).toBe(0);
    const usage = await runCli(['collect', 'x', '--qr', '--scan', '12345678'], env());
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('give either --qr or --scan CODE') });
  });
});
