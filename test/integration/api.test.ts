import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../src/api/router.ts';
import { startHttpServer, type RunningServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { forgetOldIdempotencyKeys } from '../../src/api/idempotency.ts';
import { apiClient } from '../support/api-client.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { useHarness } from '../support/engine-harness.ts';

const harness = useHarness('api');
let server: RunningServer;
let strictServer: RunningServer;
const api = apiClient(() => `http://127.0.0.1:${server.port}`);
const cliEnv = () => ({ DATABASE_URL: harness.db.url });
const keys = { shop: '', reader: '' };

beforeAll(async () => {
  const deps = { engine: harness.engine, boss: harness.boss(), checkout: { ttlMs: 72 * 3_600_000, merchant: { name: 'Tea Shop', supportEmail: 'help@shop.test', operatorEmail: 'team@shop.test' } } };
  server = await startHttpServer(apiRoutes(deps, { ratePerMinute: 100_000 }), 0, silentLogger);
  strictServer = await startHttpServer(apiRoutes(deps, { ratePerMinute: 2 }), 0, silentLogger);
  keys.shop = (await runCliJson<{ key: string }>(['api-key', 'create', '--name', 'shop'], cliEnv())).key;
  keys.reader = (await runCliJson<{ key: string }>(['api-key', 'create', '--name', 'reports', '--read-only'], cliEnv())).key;
});

afterAll(async () => {
  await server?.close();
  await strictServer?.close();
});

function ada(overrides: Record<string, unknown> = {}) {
  return {
    email: 'ada@example.com',
    first_name: 'Ada',
    last_name: 'Lovelace',
    country: 'GB',
    interval: 'month',
    amount: '9.99',
    currency: 'GBP',
    quickpay_id: `approve-${randomUUID()}`,
    ...overrides,
  };
}

async function counts() {
  const { rows } = await sql<{ subscriptions: number; events: number; jobs: number }>`
    select (select count(*)::int from subscriptions) as subscriptions, (select count(*)::int from events) as events`.execute(harness.db.db);
  return rows[0]!;
}

describe('API keys', () => {
  it('are printed once and stored only as a hash; list shows them without the secret', async () => {
    const made = await runCli(['api-key', 'create', '--name', 'once'], cliEnv());
    expect(made.code).toBe(0);
    const key = /rbk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}/.exec(made.stdout)![0];
    const secret = key.split('_').slice(2).join('_');
    const { rows } = await sql<{ dump: string }>`select row_to_json(api_keys)::text as dump from api_keys`.execute(harness.db.db);
    expect(rows.map((r) => r.dump).join('\n')).not.toContain(secret);
    const listed = await runCli(['api-key', 'list'], cliEnv());
    expect(listed.stdout).toMatch(/once\s+rbk_[a-z0-9]{12}\s+read-write/);
    expect(listed.stdout).not.toContain(secret);
    expect((await runCli(['api-key', 'create', '--name', 'once'], cliEnv())).code).toBe(1);
    expect((await runCli(['api-key', 'create', '--name', 'bad name'], cliEnv())).code).toBe(2);
    expect((await runCli(['api-key', 'rotate'], cliEnv())).code).toBe(2);
    expect((await runCli(['api-key', '--help'])).code).toBe(0);
  });

  it('refuses requests without a key, with a malformed or unknown one, and with a revoked one', async () => {
    expect((await api('GET', '/subscriptions')).status).toBe(401);
    expect((await api('GET', '/subscriptions', { key: 'not-a-key' })).status).toBe(401);
    const forged = keys.shop.slice(0, -4) + (keys.shop.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const refused = await api('GET', '/subscriptions', { key: forged });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(refused.body.error.message).toMatch(/Authorization: Bearer/);

    const doomed = (await runCliJson<{ key: string }>(['api-key', 'create', '--name', 'doomed'], cliEnv())).key;
    expect((await api('GET', '/subscriptions', { key: doomed })).status).toBe(200);
    expect((await runCli(['api-key', 'revoke', 'doomed'], cliEnv())).code).toBe(0);
    expect((await api('GET', '/subscriptions', { key: doomed })).status).toBe(401);
    expect((await api('POST', '/subscriptions', { key: doomed, body: ada() })).status).toBe(401);
    expect((await runCli(['api-key', 'revoke', 'doomed'], cliEnv())).code).toBe(1);
  });

  it('a read-only key reads but cannot write, and nothing changes', async () => {
    expect((await api('GET', '/subscriptions', { key: keys.reader })).status).toBe(200);
    const before = await counts();
    const refused = await api('POST', '/subscriptions', { key: keys.reader, body: ada() });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/read-only/);
    expect(await counts()).toEqual(before);
  });

  it('limits requests per key: 429 with Retry-After', async () => {
    const limited = apiClient(() => `http://127.0.0.1:${strictServer.port}`);
    expect((await limited('GET', '/subscriptions', { key: keys.reader })).status).toBe(200);
    expect((await limited('GET', '/subscriptions', { key: keys.reader })).status).toBe(200);
    const third = await limited('GET', '/subscriptions', { key: keys.reader });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key has its own allowance.
    expect((await limited('GET', '/subscriptions', { key: keys.shop })).status).toBe(200);
  });
});

describe('subscriptions over the API', () => {
  it('serves its OpenAPI 3.1 document without a key', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/subscriptions/{id}/cancel');
  });

  it('creates a subscription, charged at once, recorded with the key name as actor; get, payments and invoices show it', async () => {
    const created = await api('POST', '/subscriptions', { key: keys.shop, body: ada({ email: 'grace@example.com', reason: 'checkout 1042' }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'incomplete', customer: { email: 'grace@example.com' }, amount: '9.99', currency: 'GBP' });
    const id = created.body.id as string;
    const [enrolled] = await harness.events(id);
    expect(enrolled).toMatchObject({ type: 'enrolled', actor: 'api:shop', reason: 'checkout 1042' });
    // The first purchase was queued in the same transaction, as `rebill enrol` does.
    const queued = await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = 'charge-renewal' and data->>'subscriptionId' = ${id}`.execute(harness.db.db);
    expect(queued.rows[0]!.n).toBe(1);

    await harness.chargeDue();
    const got = await api('GET', `/subscriptions/${id}`, { key: keys.reader });
    expect(got.body.status).toBe('active');
    const payments = await api('GET', `/subscriptions/${id}/payments`, { key: keys.reader });
    expect(payments.body.data).toHaveLength(1);
    expect(payments.body.data[0]).toMatchObject({ status: 'succeeded', period: 0 });
    const invoices = await api('GET', `/subscriptions/${id}/invoices`, { key: keys.reader });
    expect(invoices.body.data[0]).toMatchObject({ period: 0, status: 'paid', amount_paid: '9.99' });

    expect((await api('GET', `/subscriptions/${randomUUID()}`, { key: keys.reader })).status).toBe(404);
    expect((await api('GET', '/subscriptions/nope', { key: keys.reader })).status).toBe(404);
  });

  it('bad input gets 400 naming each field, and changes nothing', async () => {
    const before = await counts();
    const bad = await api('POST', '/subscriptions', { key: keys.shop, body: ada({ country: 'UK', amount: '9.999', colour: 'blue' }) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['amount', 'colour']);
    const domain = await api('POST', '/subscriptions', { key: keys.shop, body: ada({ country: 'UK', timezone: 'Mars/Olympus' }) });
    expect(domain.status).toBe(400);
    expect(domain.body.error.problems).toEqual([
      { field: 'country', message: expect.stringContaining('the United Kingdom is GB') },
      { field: 'timezone', message: expect.stringContaining('Mars/Olympus') },
    ]);
    const missing = await api('POST', '/subscriptions', { key: keys.shop, body: { email: 'x@example.com' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.problems.map((p: { field: string }) => p.field)).toEqual(expect.arrayContaining(['first_name', 'interval', 'amount']));
    const { quickpay_id: _token, ...tokenless } = ada();
    const noToken = await api('POST', '/subscriptions', { key: keys.shop, body: tokenless });
    expect(noToken.status).toBe(400);
    expect(noToken.body.error.problems[0].field).toBe('quickpay_id');
    // Collection by payment link needs a provider that can send links; this worker has only Oceanpayment.
    const noLinks = await api('POST', '/subscriptions', { key: keys.shop, body: { ...tokenless, collection: 'payment_link' } });
    expect(noLinks.status).toBe(400);
    expect(noLinks.body.error.problems).toEqual([{ field: 'provider', message: expect.stringContaining('provider "glocash" is not configured') }]);
    const cannot = await api('POST', '/subscriptions', { key: keys.shop, body: { ...tokenless, collection: 'payment_link', provider: 'oceanpayment' } });
    expect(cannot.body.error.problems[0].message).toMatch(/provider "oceanpayment" cannot collect by payment_link/);
    const notJson = await api('POST', '/subscriptions', { key: keys.shop, rawBody: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    const badLimit = await api('GET', '/subscriptions?limit=1000', { key: keys.shop });
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.problems[0].field).toBe('limit');
    expect(await counts()).toEqual(before);
  });

  it('Idempotency-Key: the same request replays the first answer; another body with the key is refused; nothing is done twice', async () => {
    const body = ada({ email: 'idem@example.com' });
    const headers = { 'idempotency-key': `order-${randomUUID()}` };
    const first = await api('POST', '/subscriptions', { key: keys.shop, body, headers });
    expect(first.status).toBe(201);
    const before = await counts();
    const again = await api('POST', '/subscriptions', { key: keys.shop, body, headers });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await api('POST', '/subscriptions', { key: keys.shop, body: { ...body, amount: '19.99' }, headers });
    expect(other.status).toBe(409);
    expect(other.body.error.type).toBe('idempotency_conflict');
    expect(await counts()).toEqual(before);
    // Kept for a day, then forgotten by the janitor.
    expect(await forgetOldIdempotencyKeys(harness.db.db, new Date(Date.now() + 23 * 3_600_000))).toBe(0);
    expect(await forgetOldIdempotencyKeys(harness.db.db, new Date(Date.now() + 25 * 3_600_000 + 60 * 86_400_000))).toBeGreaterThan(0);
  });

  it('honours the external id: a repeat with the same terms answers 200 with the same subscription; other terms 409', async () => {
    const body = ada({ email: 'ext@example.com', external_id: `shop-${randomUUID().slice(0, 8)}` });
    const first = await api('POST', '/subscriptions', { key: keys.shop, body });
    expect(first.status).toBe(201);
    const repeat = await api('POST', '/subscriptions', { key: keys.shop, body });
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    const different = await api('POST', '/subscriptions', { key: keys.shop, body: { ...body, amount: '1.00' } });
    expect(different.status).toBe(409);
    expect(different.body.error.message).toMatch(/amount "9.99" on the subscription, "1.00" given/);
  });

  it('signs up by hosted checkout: no card token, a single-purpose link in the answer (and by e-mail when asked)', async () => {
    const { quickpay_id: _token, ...tokenless } = ada({ email: 'checkout@example.com', external_id: `chk-${randomUUID().slice(0, 8)}` });
    const signed = await api('POST', '/subscriptions', { key: keys.shop, body: { ...tokenless, checkout: true, send_checkout: true } });
    expect(signed.status).toBe(201);
    expect(signed.body).toMatchObject({ status: 'incomplete', quickpay_id: null, checkout_url: expect.stringMatching(/\/checkout\/[A-Za-z0-9_-]{20,}$/) });
    const mail = await harness.db.db.selectFrom('email_outbox').select(['kind', 'text_body']).where('subscription_id', '=', signed.body.id).execute();
    expect(mail.map((m) => m.kind)).toEqual(['checkout']);
    expect(mail[0]!.text_body).toContain(signed.body.checkout_url);
    const queued = await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = 'charge-renewal' and data->>'subscriptionId' = ${signed.body.id}`.execute(harness.db.db);
    expect(queued.rows[0]!.n).toBe(0);

    const clash = await api('POST', '/subscriptions', { key: keys.shop, body: ada({ checkout: true, first_paid_at: '2027-01-15T10:00:00' }) });
    expect(clash.status).toBe(400);
    expect(clash.body.error.problems.map((p: { field: string }) => p.field)).toEqual(['quickpay_id', 'first_paid_at']);
    expect((await api('POST', '/subscriptions', { key: keys.shop, body: ada({ send_checkout: true }) })).body.error.problems[0].field).toBe('send_checkout');
  });

  it('pages with a stable cursor: every row there at the start is seen once, in order, though rows are added between pages', async () => {
    const email = `page-${randomUUID().slice(0, 8)}@example.com`;
    const original: string[] = [];
    for (let i = 0; i < 7; i++) original.push((await api('POST', '/subscriptions', { key: keys.shop, body: ada({ email, allow_duplicate: true }) })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { data: { id: string }[]; next_cursor: string | null } } = await api('GET', `/subscriptions?email=${email}&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { key: keys.reader });
      seen.push(...page.body.data.map((s) => s.id));
      cursor = page.body.next_cursor;
      pages++;
      // Someone enrols while the merchant's app pages through.
      if (pages < 3) await api('POST', '/subscriptions', { key: keys.shop, body: ada({ email, allow_duplicate: true }) });
    } while (cursor && pages < 10);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 7)).toEqual(original);
    expect(seen).toHaveLength(9);
    expect((await api('GET', '/subscriptions?cursor=garbage!', { key: keys.reader })).status).toBe(400);
  });

  it('cancels at the period end and now, retries, replaces the card token, each recorded as the key', async () => {
    const created = await api('POST', '/subscriptions', { key: keys.shop, body: ada({ email: 'ops@example.com', first_paid_at: '2027-01-15T10:00:00' }) });
    const id = created.body.id as string;
    expect(created.body.status).toBe('active');
    const token = await api('POST', `/subscriptions/${id}/card-token`, { key: keys.shop, body: { quickpay_id: 'approve-new-card', reason: 'new card at checkout' } });
    expect(token.status).toBe(200);
    expect(token.body.quickpay_id).toBe('approve-new-card');
    const retry = await api('POST', `/subscriptions/${id}/retry`, { key: keys.shop, body: {} });
    expect(retry.status).toBe(409); // not due yet
    const later = await api('POST', `/subscriptions/${id}/cancel`, { key: keys.shop, body: { at_period_end: true } });
    expect(later.body).toMatchObject({ status: 'active', cancel_at_period_end: true });
    const now = await api('POST', `/subscriptions/${id}/cancel`, { key: keys.shop, body: { reason: 'customer asked' } });
    expect(now.body.status).toBe('canceled');
    const again = await api('POST', `/subscriptions/${id}/cancel`, { key: keys.shop });
    expect(again.status).toBe(409);
    const events = await harness.events(id);
    expect(events.filter((e) => e.type !== 'enrolled').map((e) => [e.type, e.actor])).toEqual([
      ['token_replaced', 'api:shop'],
      ['cancel_scheduled', 'api:shop'],
      ['canceled', 'api:shop'],
    ]);
    const feed = await api('GET', `/events?subscription_id=${id}&limit=2`, { key: keys.reader });
    expect(feed.body.data.map((e: { type: string }) => e.type)).toEqual(['enrolled', 'token_replaced']);
    const rest = await api('GET', `/events?subscription_id=${id}&cursor=${feed.body.next_cursor}`, { key: keys.reader });
    expect(rest.body.data.map((e: { type: string }) => e.type)).toEqual(['cancel_scheduled', 'canceled']);
    expect((await api('GET', `/events?subscription_id=${randomUUID()}`, { key: keys.reader })).status).toBe(404);
  });

  it('refunds a payment through the same service as rebill refund; the customer is found by e-mail or external id', async () => {
    const external = `cus-${randomUUID().slice(0, 8)}`;
    const created = await api('POST', '/subscriptions', { key: keys.shop, body: ada({ email: 'Refund.Me@example.com', external_id: external }) });
    await harness.chargeDue();
    const [payment] = (await api('GET', `/subscriptions/${created.body.id}/payments`, { key: keys.reader })).body.data;
    const tooMuch = await api('POST', '/refunds', { key: keys.shop, body: { order_number: payment.order_number, amount: '50.00', reason: 'oops' } });
    expect(tooMuch.status).toBe(409);
    const refund = await api('POST', '/refunds', { key: keys.shop, body: { order_number: payment.order_number, amount: '4.00', reason: 'partial: outage' }, headers: { 'idempotency-key': `refund-${external}` } });
    expect(refund.status).toBe(201);
    expect(refund.body).toMatchObject({ provider_answer: 'accepted', refund: { kind: 'refund', amount: '4.00', order_number: payment.order_number } });
    const replay = await api('POST', '/refunds', { key: keys.shop, body: { order_number: payment.order_number, amount: '4.00', reason: 'partial: outage' }, headers: { 'idempotency-key': `refund-${external}` } });
    expect(replay.body).toEqual(refund.body);
    const refunds = await sql<{ n: number }>`select count(*)::int as n from payment_transactions where kind = 'refund' and subscription_id = ${created.body.id}`.execute(harness.db.db);
    expect(refunds.rows[0]!.n).toBe(1);
    expect((await harness.events(created.body.id)).find((e) => e.type === 'refund_requested')?.actor).toBe('api:shop');

    const byEmail = await api('GET', '/customers?email=refund.me@example.com', { key: keys.reader });
    expect(byEmail.body.subscriptions.map((s: { id: string }) => s.id)).toEqual([created.body.id]);
    const byExternal = await api('GET', `/customers?external_id=${external}`, { key: keys.reader });
    expect(byExternal.body.email).toBe('Refund.Me@example.com');
    expect((await api('GET', '/customers', { key: keys.reader })).status).toBe(400);
    expect((await api('GET', '/customers?email=nobody@example.com', { key: keys.reader })).status).toBe(404);
  });
});
