import { SAMPLE_MERCHANT, useSandboxClient } from '../support/sandbox-client.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { OceanpaymentClient } from '../../src/payments/providers/oceanpayment/client.ts';
import type { ChargeRequest } from '../../src/payments/providers/oceanpayment/client.ts';
import { parseNotice } from '../../src/payments/providers/oceanpayment/notice.ts';
import { NO_FAULTS, startSandbox } from '../../src/payments/providers/oceanpayment/sandbox/index.ts';

const MERCHANT = SAMPLE_MERCHANT;
const setup = useSandboxClient({ seed: 11, noticeRetryDelaysMs: [0, 20, 20], timeoutHoldMs: 5_000 });

let sequence = 0;

afterEach(() => {
  setup.sandbox.setFaults(NO_FAULTS);
});

function chargeRequest(overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  sequence += 1;
  return {
    orderNumber: `F-${sequence}-${Date.now()}`,
    amountMinor: 500,
    currency: 'USD',
    serviceMode: 'W2',
    quickpayId: `card-${sequence}`,
    orderNotes: `sub_${sequence}:2024-W10`,
    billing: { firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', country: 'US' },
    product: { name: 'Weekly plan' },
    noticeUrl: setup.merchant.noticeUrl,
    backUrl: setup.merchant.backUrl,
    ...overrides,
  };
}

async function noticesFor(orderNumber: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const bodies = setup.merchant.received
      .filter((item) => item.path === '/notice' && item.body.includes(`<order_number>${orderNumber}</order_number>`))
      .map((item) => item.body);
    if (bodies.length >= count) return bodies;
    if (Date.now() > deadline) throw new Error(`expected ${count} notices for ${orderNumber}, got ${bodies.length}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function expectBookedAndFound(request: ChargeRequest): Promise<void> {
  expect(await setup.client.query(request.orderNumber)).toMatchObject({
    kind: 'found', entries: [{ orderNumber: request.orderNumber, outcome: { kind: 'approved' } }],
  });
}

describe('gateway faults', () => {
  it('serverErrorShare: HTTP 502 is an unknown outcome, and the charge was booked', async () => {
    setup.sandbox.setFaults({ serverErrorShare: 1 });
    const request = chargeRequest();
    expect(await setup.client.charge(request)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/HTTP 502/) });
    setup.sandbox.setFaults({ serverErrorShare: 0 });
    await expectBookedAndFound(request);
    expect(setup.sandbox.ledger.entries(0, 1, { orderNumber: request.orderNumber }).entries[0]).toMatchObject({ fault: 'server_error', status: 'approved' });
  });

  it('garbledShare: truncated XML is an unknown outcome, and the charge was booked', async () => {
    setup.sandbox.setFaults({ garbledShare: 1 });
    const request = chargeRequest();
    expect(await setup.client.charge(request)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/could not be read: body is not well-formed XML/) });
    await expectBookedAndFound(request);
  });

  it('timeoutShare: no answer is an unknown outcome, and the charge was booked', async () => {
    setup.sandbox.setFaults({ timeoutShare: 1 });
    const request = chargeRequest();
    const impatient = new OceanpaymentClient({ gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: MERCHANT, timeoutMs: 400 });
    try {
      expect(await impatient.charge(request)).toEqual({ kind: 'unknown', reason: expect.stringMatching(/within 400 ms/) });
    } finally {
      await impatient.close();
    }
    await expectBookedAndFound(request);
  });

  it('a held request is cut when timeoutHoldMs runs out before the client gives up', async () => {
    const quick = await startSandbox({ accounts: [MERCHANT], timeoutHoldMs: 50 });
    const patient = new OceanpaymentClient({ gatewayUrl: quick.url, queryUrl: quick.url, credentials: MERCHANT, timeoutMs: 120_000 });
    try {
      // "closed", not "timed out": the sandbox let go long before the client would have.
      expect(await patient.charge(chargeRequest({ quickpayId: 'timeout-x' }))).toEqual({ kind: 'unknown', reason: expect.stringMatching(/connection was closed/) });
    } finally {
      await patient.close();
      await quick.close();
    }
  });

  it('a gateway that is down gives unknown (connection refused), never a thrown error', async () => {
    const gone = await startSandbox({ accounts: [MERCHANT] });
    await gone.close();
    const stranded = new OceanpaymentClient({ gatewayUrl: gone.url, queryUrl: gone.url, credentials: MERCHANT, timeoutMs: 1_000 });
    try {
      expect(await stranded.charge(chargeRequest())).toEqual({
        kind: 'unknown', reason: expect.stringMatching(/connection refused.*nothing reached the gateway/),
      });
      expect(await stranded.query('F-any')).toEqual({ kind: 'error', reason: expect.stringMatching(/connection refused/) });
    } finally {
      await stranded.close();
    }
  });

  it('latencyMs delays every answer', async () => {
    setup.sandbox.setFaults({ latencyMs: 150 });
    const started = Date.now();
    expect(await setup.client.charge(chargeRequest())).toMatchObject({ kind: 'approved' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    setup.sandbox.setFaults({ latencyMs: 600 });
    const impatient = new OceanpaymentClient({ gatewayUrl: setup.sandbox.url, queryUrl: setup.sandbox.url, credentials: MERCHANT, timeoutMs: 400 });
    try {
      expect(await impatient.charge(chargeRequest())).toMatchObject({ kind: 'unknown' });
    } finally {
      await impatient.close();
    }
  });

  it('can be changed over HTTP, and refuses unknown names and bad values', async () => {
    const changed = await fetch(`${setup.sandbox.url}/sandbox/faults`, { method: 'POST', body: JSON.stringify({ serverErrorShare: 1, latencyMs: 0 }) });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ serverErrorShare: 1 });
    expect(await setup.client.charge(chargeRequest())).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/HTTP 502/) });
    const refused = await fetch(`${setup.sandbox.url}/sandbox/faults`, { method: 'POST', body: JSON.stringify({ serverErrorShare: 2, nonsense: 1 }) });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: 'invalid faults',
      problems: ['serverErrorShare must be a number from 0 to 1', expect.stringMatching(/unknown fault "nonsense"/)],
    });
    expect((await fetch(`${setup.sandbox.url}/sandbox/faults`, { method: 'POST', body: '{not json' })).status).toBe(400);
    expect(setup.sandbox.faults.serverErrorShare).toBe(1);
    expect(() => setup.sandbox.setFaults({ timeoutShare: -1 })).toThrow(/timeoutShare must be a number from 0 to 1/);
  });
});

describe('notice faults', () => {
  it('noticeDuplicateShare sends the genuine notice twice', async () => {
    setup.sandbox.setFaults({ noticeDuplicateShare: 1 });
    const request = chargeRequest();
    await setup.client.charge(request);
    const notices = (await noticesFor(request.orderNumber, 2)).map((body) => parseNotice(body, MERCHANT));
    expect(notices).toMatchObject([{ verified: true, outcome: { kind: 'approved' } }, { verified: true, outcome: { kind: 'approved' } }]);
  });

  it('noticeReorderShare sends a stale pending notice after the final one', async () => {
    setup.sandbox.setFaults({ noticeReorderShare: 1 });
    const request = chargeRequest({ quickpayId: 'soft-decline-f' });
    await setup.client.charge(request);
    const notices = (await noticesFor(request.orderNumber, 2)).map((body) => parseNotice(body, MERCHANT));
    expect(notices).toMatchObject([{ verified: true, outcome: { kind: 'declined' } }, { verified: true, outcome: { kind: 'pending' } }]);
  });

  it('noticeForgeShare adds copies a correct merchant rejects (wrong signValue or altered amount)', async () => {
    setup.sandbox.setFaults({ noticeForgeShare: 1 });
    const problems = new Set<string>();
    for (let round = 0; round < 6; round += 1) {
      const request = chargeRequest();
      await setup.client.charge(request);
      const [forged, genuine] = (await noticesFor(request.orderNumber, 2)).map((body) => parseNotice(body, MERCHANT));
      expect(genuine).toMatchObject({ kind: 'transaction', verified: true, fields: { order_amount: '5.00' } });
      expect(forged).toMatchObject({ kind: 'transaction', verified: false });
      if (forged?.kind === 'transaction') problems.add(forged.fields.order_amount === '5.00' ? 'signature' : 'amount');
    }
    expect(problems).toEqual(new Set(['signature', 'amount']));
  });

  it('noticeDelayMs holds every notice back', async () => {
    setup.sandbox.setFaults({ noticeDelayMs: 200 });
    const request = chargeRequest();
    const charged = Date.now();
    await setup.client.charge(request);
    await noticesFor(request.orderNumber, 1);
    const [arrived] = setup.merchant.received.filter((item) => item.body.includes(request.orderNumber));
    expect((arrived?.at ?? 0) - charged).toBeGreaterThanOrEqual(190);
  });
});

describe('seeded randomness', () => {
  async function faultSequence(seed: number): Promise<string[]> {
    const seeded = await startSandbox({ accounts: [MERCHANT], seed, serverErrorShare: 0.3, garbledShare: 0.3 });
    const seededClient = new OceanpaymentClient({ gatewayUrl: seeded.url, queryUrl: seeded.url, credentials: MERCHANT });
    try {
      const kinds: string[] = [];
      for (let index = 0; index < 12; index += 1) {
        kinds.push((await seededClient.charge(chargeRequest({ noticeUrl: '' }))).kind);
      }
      expect(seeded.ledger.entries(0, 12).entries.map((entry) => entry.fault)).toEqual(
        kinds.map((kind) => (kind === 'approved' ? 'none' : expect.stringMatching(/server_error|garbled/))),
      );
      return seeded.ledger.entries(0, 12).entries.map((entry) => entry.fault);
    } finally {
      await seededClient.close();
      await seeded.close();
    }
  }

  it('repeats the same faults for the same seed', async () => {
    const first = await faultSequence(42);
    expect(await faultSequence(42)).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
  });
});
