/**
 * The enrolment service keeps one subscription per purchase even when enrolments race: two at
 * once with one external id, two at once for the same customer, an import against an enrolment.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/lib/errors.ts';
import { enrol, type EnrolInput, type EnrolResult } from '../../src/subscriptions/enrol.ts';
import { checkImportFile, writeImportFile } from '../../src/subscriptions/import-csv.ts';
import { useTestDatabase } from '../support/database.ts';

const database = useTestDatabase('enrolment_duplicates');
const db = () => database.current.db;
const context = () => ({ now: new Date(), actor: 'test', provider: 'oceanpayment' });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebill-duplicates-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function customer(n: number | string, over: Partial<EnrolInput> = {}): EnrolInput {
  return {
    email: `customer-${n}@example.com`,
    firstName: 'Kat',
    lastName: `Customer ${n}`,
    country: 'DE',
    interval: 'month',
    amount: '15.00',
    currency: 'EUR',
    quickpayId: `tok-${n}`,
    ...over,
  };
}

async function subscriptionsWhere(column: 'external_id' | 'customer_email', value: string) {
  return db().selectFrom('subscriptions').select(['id', 'customer_email']).where(column, '=', value).execute();
}

const statuses = (results: EnrolResult[]) => results.map((r) => r.status).sort();

describe('enrolling through the service', () => {
  it('twice with one external id: one subscription, and the second call returns it', async () => {
    const first = await enrol(db(), customer(1, { externalId: 'crm-1' }), context());
    const second = await enrol(db(), customer(1, { externalId: 'crm-1' }), context());
    expect(first.status).toBe('enrolled');
    expect(second).toEqual({ status: 'already_enrolled', subscription: (first as { subscription: unknown }).subscription });
    expect(await subscriptionsWhere('external_id', 'crm-1')).toHaveLength(1);
  });

  it('twice at once with one external id: exactly one subscription, whoever wins', async () => {
    for (let round = 0; round < 5; round++) {
      const input = customer(`race-${round}`, { externalId: `crm-race-${round}` });
      const results = await Promise.all([enrol(db(), input, context()), enrol(db(), input, context())]);
      expect(statuses(results)).toEqual(['already_enrolled', 'enrolled']);
      expect(await subscriptionsWhere('external_id', `crm-race-${round}`)).toHaveLength(1);
    }
  });

  it('twice at once with one external id for two different customers: one enrolled, the other refused naming the difference', async () => {
    for (let round = 0; round < 5; round++) {
      const externalId = `crm-clash-${round}`;
      const results = await Promise.all([
        enrol(db(), customer(`clash-a-${round}`, { externalId }), context()),
        enrol(db(), customer(`clash-b-${round}`, { externalId }), context()),
      ]);
      expect(statuses(results)).toEqual(['enrolled', 'refused']);
      const refused = results.find((r) => r.status === 'refused')!;
      expect(refused).toMatchObject({ reason: 'different_terms', message: expect.stringMatching(/e-mail "customer-clash-[ab]-\d@example\.com" on the subscription/) });
      expect(await subscriptionsWhere('external_id', externalId)).toHaveLength(1);
    }
  });

  it('twice at once without an external id for the same customer: one enrolled, the other refused naming it', async () => {
    for (let round = 0; round < 5; round++) {
      const input = customer(`twin-${round}`);
      const results = await Promise.all([enrol(db(), input, context()), enrol(db(), { ...input, email: input.email.toUpperCase() }, context())]);
      expect(statuses(results)).toEqual(['enrolled', 'refused']);
      const winner = results.find((r) => r.status === 'enrolled') as Extract<EnrolResult, { status: 'enrolled' }>;
      expect(results.find((r) => r.status === 'refused')).toMatchObject({ reason: 'duplicate', existingIds: [winner.subscription.id] });
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from subscriptions where lower(customer_email) = ${input.email}`.execute(db());
      expect(rows[0]!.n).toBe(1);
    }
  });

  it('with their own external ids, two subscriptions with the same terms are two purchases; a third without one is refused', async () => {
    const first = await enrol(db(), customer('two-seats', { externalId: 'order-seat-1' }), context());
    const second = await enrol(db(), customer('two-seats', { externalId: 'order-seat-2' }), context());
    expect([first.status, second.status]).toEqual(['enrolled', 'enrolled']);
    const third = await enrol(db(), customer('two-seats'), context());
    expect(third).toMatchObject({ status: 'refused', reason: 'duplicate' });
    expect(await subscriptionsWhere('customer_email', 'customer-two-seats@example.com')).toHaveLength(2);
  });

  it('with allowDuplicate: a second subscription for the same customer, card and plan', async () => {
    await enrol(db(), customer('twice-on-purpose'), context());
    const second = await enrol(db(), customer('twice-on-purpose'), { ...context(), allowDuplicate: true });
    expect(second.status).toBe('enrolled');
    expect(await subscriptionsWhere('customer_email', 'customer-twice-on-purpose@example.com')).toHaveLength(2);
  });
});

describe('an import and an enrolment of the same customer', () => {
  const header = 'email,first_name,last_name,country,interval,amount,currency,quickpay_id,external_id';
  const line = (n: string, externalId = '') => `customer-${n}@example.com,Kat,Customer ${n},DE,month,15.00,EUR,tok-${n},${externalId}`;

  it('enrolled between the check and the write: the write finds it under the lock and imports nothing', async () => {
    const path = join(dir, 'between.csv');
    await writeFile(path, `${header}\n${line('import-1', 'crm-import-1')}\n${line('import-2')}\n`);
    const now = new Date();
    const check = await checkImportFile(db(), path, now);
    expect(check.errors).toEqual([]);

    await enrol(db(), customer('import-2'), context());
    const write = writeImportFile(db(), path, { now, actor: 'test', provider: 'oceanpayment', checked: check });
    await expect(write).rejects.toThrow(ConflictError);
    await expect(write).rejects.toThrow(/^line 3: same e-mail, card token and plan as live subscription [0-9a-f-]{36} .*enrolled after the file was checked; nothing was imported$/);
    expect(await subscriptionsWhere('external_id', 'crm-import-1')).toEqual([]);
  });

  it('at the same time: exactly one of them creates the subscription', async () => {
    for (let round = 0; round < 3; round++) {
      const n = `together-${round}`;
      const path = join(dir, `together-${round}.csv`);
      await writeFile(path, `${header}\n${line(n)}\n`);
      const now = new Date();
      const check = await checkImportFile(db(), path, now);
      expect(check.errors).toEqual([]);
      const [imported, enrolled] = await Promise.allSettled([
        writeImportFile(db(), path, { now, actor: 'test', provider: 'oceanpayment', checked: check }),
        enrol(db(), customer(n), context()),
      ]);
      const importWon = imported.status === 'fulfilled';
      const enrolWon = enrolled.status === 'fulfilled' && enrolled.value.status === 'enrolled';
      expect([importWon, enrolWon].filter(Boolean)).toHaveLength(1);
      expect(await subscriptionsWhere('customer_email', `customer-${n}@example.com`)).toHaveLength(1);
    }
  });
});
