import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARS, loadConfig } from '../../src/config.ts';

/** A real merchant's name and address, which production requires. */
const LIVE_SHOP = { REBILL_MERCHANT_NAME: 'Tea & Co', REBILL_SUPPORT_EMAIL: 'help@teashop.co.uk', SMTP_URL: 'smtp://mailer:pw@mail.teashop.co.uk:587' };

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
    expect(config.http).toEqual({ publicUrl: 'http://localhost:8080', host: '127.0.0.1', port: 8080 });
    expect(config.renewals.retryScheduleMs).toEqual([1, 3, 5, 7].map((d) => d * 86_400_000));
    expect(config.renewals.maxCatchupPeriods).toBe(2);
  });

  it('renewal reminders default to 7 days before yearly renewals; intervals are checked, and off or 0 turns them off', () => {
    expect(loadConfig({}).email).toMatchObject({ renewalReminder: { days: 7, intervals: ['year'] }, cardExpiryWarningDays: 30 });
    expect(loadConfig({ REBILL_RENEWAL_REMINDER_INTERVALS: 'month, year', REBILL_RENEWAL_REMINDER_DAYS: '3' }).email.renewalReminder).toEqual({ days: 3, intervals: ['month', 'year'] });
    expect(loadConfig({ REBILL_RENEWAL_REMINDER_INTERVALS: 'off' }).email.renewalReminder).toBeNull();
    expect(loadConfig({ REBILL_RENEWAL_REMINDER_DAYS: '0', REBILL_CARD_EXPIRY_WARNING_DAYS: '0' }).email).toMatchObject({ renewalReminder: null, cardExpiryWarningDays: null });
    expect(problems({ REBILL_RENEWAL_REMINDER_INTERVALS: 'yearly' }).join('\n')).toMatch(/REBILL_RENEWAL_REMINDER_INTERVALS must be a comma-separated list of week, month, quarter, half-year, year .* got "yearly"/);
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
    const found = problems({ NODE_ENV: 'production', ...LIVE_SHOP });
    expect(found).toHaveLength(3);
    expect(found.join('\n')).toMatch(/REBILL_ALLOW_EMBEDDED_DB=true/);
    expect(found.join('\n')).toMatch(/REBILL_ALLOW_SANDBOX=true/);
    expect(found.join('\n')).toMatch(/REBILL_PUBLIC_URL/);
    expect(
      problems({ NODE_ENV: 'production', REBILL_ALLOW_EMBEDDED_DB: 'true', REBILL_ALLOW_SANDBOX: 'true', REBILL_PUBLIC_URL: 'https://b.example.com', ...LIVE_SHOP }),
    ).toEqual([]);
  });

  it('production refuses every unsafe default at once, each with its fix named', () => {
    const found = problems({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://rebill@db.internal/rebill',
      OCEANPAYMENT_ACCOUNT: '995149',
      OCEANPAYMENT_TERMINAL: '99514901',
      OCEANPAYMENT_SECURE_CODE: 'a-real-secure-code',
      OCEANPAYMENT_QUERY_URL: 'https://test-query.oceanpayment.com/',
      REBILL_PUBLIC_URL: 'http://billing.shop.example',
    });
    expect(found).toHaveLength(6);
    const text = found.join('\n');
    // Customer mail, 3-D Secure links included, would only reach local files.
    expect(text).toMatch(/SMTP_URL is not set: .*3-D Secure links included.*set SMTP_URL to your mail server, e\.g\. smtp:\/\//);
    expect(text).toMatch(/REBILL_PUBLIC_URL is not https, got "http:\/\/billing\.shop\.example".*set it to your https:\/\/ address/);
    expect(text).toMatch(/REBILL_MERCHANT_NAME is the default "rebill": set it to your business name/);
    expect(text).toMatch(/REBILL_SUPPORT_EMAIL is the default "support@example\.com".*set it to the address where your customers get help/);
    // The gateway URL left at its default and the query URL set to the test host: both name the live one.
    expect(text).toMatch(/OCEANPAYMENT_GATEWAY_URL is Oceanpayment's test host test-secure\.oceanpayment\.com \(the default\).*set OCEANPAYMENT_GATEWAY_URL=https:\/\/secure\.oceanpayment\.com/);
    expect(text).toMatch(/OCEANPAYMENT_QUERY_URL is Oceanpayment's test host test-query\.oceanpayment\.com,.*set OCEANPAYMENT_QUERY_URL=https:\/\/query\.oceanpayment\.com/);

    const live = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://rebill@db.internal/rebill',
      OCEANPAYMENT_ACCOUNT: '995149',
      OCEANPAYMENT_TERMINAL: '99514901',
      OCEANPAYMENT_SECURE_CODE: 'a-real-secure-code',
      OCEANPAYMENT_GATEWAY_URL: 'https://secure.oceanpayment.com',
      OCEANPAYMENT_QUERY_URL: 'https://query.oceanpayment.com',
      REBILL_PUBLIC_URL: 'https://billing.shop.example',
      ...LIVE_SHOP,
    };
    expect(problems(live)).toEqual([]);
    // A placeholder support address is no better than the default.
    expect(problems({ ...live, REBILL_SUPPORT_EMAIL: 'help@example.org' }).join('\n')).toMatch(/REBILL_SUPPORT_EMAIL is "help@example\.org", a placeholder/);
  });

  it('takes only plain addresses for the support and sender addresses, and sends as the merchant', () => {
    const config = loadConfig({ REBILL_MERCHANT_NAME: 'Tea "&" Co', REBILL_SUPPORT_EMAIL: 'help@teashop.co.uk', REBILL_MAIL_FROM: 'billing@teashop.co.uk' });
    expect(config.email.from).toBe('"Tea & Co" <billing@teashop.co.uk>');
    expect(loadConfig({ REBILL_SUPPORT_EMAIL: 'help@teashop.co.uk' }).email.from).toBe('"rebill" <help@teashop.co.uk>');
    for (const bad of ['Tea Co <billing@teashop.co.uk>', 'a,b@tea.example', 'a(c)@tea.example', 'a@tea..example', 'billing']) {
      const found = problems({ REBILL_MAIL_FROM: bad, REBILL_SUPPORT_EMAIL: bad });
      expect(found.map((p) => p.split(' ')[0]), bad).toEqual(['REBILL_SUPPORT_EMAIL', 'REBILL_MAIL_FROM']);
      expect(found[0]).toContain(`got "${bad}"`);
    }
    expect(problems({ REBILL_SUPPORT_EMAIL: 'a,b@tea.example' })).toEqual([
      'REBILL_SUPPORT_EMAIL must be one plain e-mail address such as support@shop.example, got "a,b@tea.example": it contains ",": only one address is accepted, not a list',
    ]);
    expect(problems({ REBILL_MERCHANT_NAME: 'Tea\r\nBcc: x@evil.example' }).join('\n')).toMatch(/REBILL_MERCHANT_NAME contains a control character \(U\+000D\) at position 4: it must be one line/);
  });

  it('listens on this machine only unless REBILL_HOST says otherwise', () => {
    expect(loadConfig({}).http.host).toBe('127.0.0.1');
    expect(loadConfig({ REBILL_HOST: '0.0.0.0' }).http.host).toBe('0.0.0.0');
    expect(loadConfig({ REBILL_HOST: '::' }).http.host).toBe('::');
    expect(problems({ REBILL_HOST: 'http://0.0.0.0' }).join('\n')).toMatch(/REBILL_HOST must be an IP address or host name .* 0\.0\.0\.0 \(every interface/);
  });

  it('no configuration error ever shows a secret', () => {
    const marker = 'Zq7-secret-MARKER';
    const account = { OCEANPAYMENT_ACCOUNT: '995149', OCEANPAYMENT_TERMINAL: '99514901', OCEANPAYMENT_SECURE_CODE: 'the-main-secure-code' };
    const cases: Record<string, string>[] = [
      { ...account, OCEANPAYMENT_EXTRA_TERMINALS: `99514902=${marker}` },
      { ...account, OCEANPAYMENT_EXTRA_TERMINALS: marker },
      { ...account, OCEANPAYMENT_EXTRA_TERMINALS: `${marker}:99514902` },
      { ...account, OCEANPAYMENT_EXTRA_TERMINALS: `99514902:ok-code, 9951:${marker}` },
      { ...account, OCEANPAYMENT_EXTRA_TERMINALS: `99514902 ${marker}` },
      { OCEANPAYMENT_ACCOUNT: '99', OCEANPAYMENT_TERMINAL: '99514901', OCEANPAYMENT_SECURE_CODE: marker },
      // A secure code typed into the wrong variable is still recognised as one.
      { OCEANPAYMENT_ACCOUNT: marker, OCEANPAYMENT_TERMINAL: '99514901', OCEANPAYMENT_SECURE_CODE: marker },
      { SMTP_URL: `smtpx://mailer:${marker}@mail.example.com:587` },
      { SMTP_URL: `mailer:${marker}@mail.example.com` },
      { SMTP_URL: `smtp:/mailer:${marker}@mail.example.com` },
      { SMTP_URL: `smtp://mailer:${marker}/x@mail.example.com`, REBILL_PORT: 'x' },
      { SMTP_URL: `ftp://${marker}@mail.example.com` },
      { DATABASE_URL: `mysql://rebill:${marker}@db.internal/rebill` },
      { DATABASE_URL: `postgres//rebill:${marker}@db.internal/rebill` },
      { DATABASE_URL: `host=db.internal password=${marker}` },
      { DATABASE_URL: `postgres:/db.internal/rebill?password=${marker}` },
      { DATABASE_URL: `mysql://rebill:${encodeURIComponent(`${marker}@/?`)}@db.internal/rebill` },
      { OCEANPAYMENT_GATEWAY_URL: `ftp://user:${marker}@gateway.example` },
      { OCEANPAYMENT_GATEWAY_URL: `gateway.example?key=${marker}` },
      { REBILL_PUBLIC_URL: `https://user:${marker}@` },
      { NODE_ENV: 'production', REBILL_PUBLIC_URL: `http://user:${marker}@billing.example`, SMTP_URL: `smtp://mailer:${marker}@mail.example.com` },
    ];
    for (const env of cases) {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message, JSON.stringify(env)).not.toContain(marker);
      expect(message, JSON.stringify(env)).not.toContain(marker.slice(0, 8));
    }
    // Still precise enough to act on.
    expect(problems({ ...account, OCEANPAYMENT_EXTRA_TERMINALS: `99514902:ok, 99514903=${marker}` })).toEqual([
      'OCEANPAYMENT_EXTRA_TERMINALS must be terminal:secureCode pairs separated by commas, such as 99514902:yourSecureCode; entry 2 of 2 separates the terminal and its secure code with "=" instead of ":" (not shown: it holds a secure code)',
    ]);
    expect(problems({ SMTP_URL: `smtpx://mailer:${marker}@mail.example.com:587` })).toEqual([
      'SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465, got "smtpx://…@mail.example.com:587"',
    ]);
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
