import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARS, loadConfig } from '../../src/config.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('configuration', () => {
  it('starts on documented defaults with nothing set: embedded database, sandbox gateway', () => {
    const config = loadConfig({});
    expect(config.database.url).toBeNull();
    expect(config.gateway).toMatchObject({
      mode: 'sandbox',
      builtinSandbox: true,
      gatewayUrl: 'http://127.0.0.1:8081',
      credentials: { account: '995149', terminal: '99514901' },
    });
    expect(config.gateway.timeoutMs).toBe(60_000);
    expect(config.http).toEqual({ publicUrl: 'http://localhost:8080', port: 8080 });
    expect(config.renewals.retryScheduleMs).toEqual([1, 3, 5, 7].map((d) => d * 86_400_000));
    expect(config.renewals.maxCatchupPeriods).toBe(2);
  });

  it('reports every problem at once, each saying how to fix it', () => {
    const found = problems({
      OCEANPAYMENT_TIMEOUT_MS: 'soon',
      REBILL_PORT: '99999',
      REBILL_RETRY_SCHEDULE: '1d,tomorrow',
      OCEANPAYMENT_ACCOUNT: '995149',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
    });
    expect(found).toHaveLength(6);
    expect(found.join('\n')).toMatch(/OCEANPAYMENT_TIMEOUT_MS must be a whole number/);
    expect(found.join('\n')).toMatch(/OCEANPAYMENT_TERMINAL and OCEANPAYMENT_SECURE_CODE must be set together/);
    expect(found.join('\n')).toMatch(/REBILL_RETRY_SCHEDULE must be .* such as 1d,3d,5d,7d/);
    expect(found.join('\n')).toMatch(/DATABASE_URL must start with postgres:\/\//);
  });

  it('in production refuses the embedded database, the sandbox and a default public URL unless allowed', () => {
    const found = problems({ NODE_ENV: 'production' });
    expect(found).toHaveLength(3);
    expect(found.join('\n')).toMatch(/REBILL_ALLOW_EMBEDDED_DB=true/);
    expect(found.join('\n')).toMatch(/REBILL_ALLOW_SANDBOX=true/);
    expect(found.join('\n')).toMatch(/REBILL_PUBLIC_URL/);
    expect(
      problems({ NODE_ENV: 'production', REBILL_ALLOW_EMBEDDED_DB: 'true', REBILL_ALLOW_SANDBOX: 'true', REBILL_PUBLIC_URL: 'https://b.example.com' }),
    ).toEqual([]);
  });

  it('without an account but with a gateway URL, talks to that sandbox instead of starting one', () => {
    const config = loadConfig({ OCEANPAYMENT_GATEWAY_URL: 'http://127.0.0.1:9000' });
    expect(config.gateway).toMatchObject({ mode: 'sandbox', builtinSandbox: false, gatewayUrl: 'http://127.0.0.1:9000', queryUrl: 'http://127.0.0.1:9000' });
  });

  it('reads several terminals so messages from each verify', () => {
    const config = loadConfig({
      OCEANPAYMENT_ACCOUNT: '995149',
      OCEANPAYMENT_TERMINAL: '99514901',
      OCEANPAYMENT_SECURE_CODE: 'abc',
      OCEANPAYMENT_EXTRA_TERMINALS: '99514902:def, 99514903:ghi',
    });
    expect(config.gateway.credentials?.extraTerminals).toEqual({ '99514902': 'def', '99514903': 'ghi' });
  });

  it('the README documents every variable with the same default', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const spec of ENV_VARS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${spec.name}\``));
      expect(row, `README row for ${spec.name}`).toBeDefined();
      const documentedDefault = row!.split('|')[2]!.trim().replace(/^`|`$/g, '');
      expect(documentedDefault, `README default for ${spec.name}`).toBe(spec.default ?? '(unset)');
    }
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.filter((name) => !ENV_VARS.some((v) => v.name === name))).toEqual([]);
  });
});
