/**
 * The fault-injection suite, short: every scenario of `npm run chaos` on a couple of hundred
 * subscriptions, with real worker and sandbox processes, on a PostgreSQL of its own (one scenario
 * restarts it, which must not disturb the other test files).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireEmbeddedPostgres, restartEmbeddedPostgres, type EmbeddedLease } from '../../src/db/embedded.ts';
import { runScenario, type ChaosDatabaseServer, type ScenarioName } from '../../scripts/lib/chaos.ts';

const root = mkdtempSync(join(tmpdir(), 'rebill-chaos-'));
chmodSync(root, 0o755); // the postgres OS user must reach it when the tests run as root
const dir = join(root, 'pg');
let lease: EmbeddedLease;
let server: ChaosDatabaseServer;

beforeAll(async () => {
  lease = await acquireEmbeddedPostgres({ dir, database: 'postgres', tuning: 'disposable' });
  server = { adminUrl: lease.urlFor('postgres'), restart: () => restartEmbeddedPostgres(dir) };
});

afterAll(async () => {
  await lease?.release();
  rmSync(root, { recursive: true, force: true });
});

const settings = { subscriptions: 150, kills: 3, noticeDelayMs: 2_000, seed: 'short', log: () => {} };

describe('fault injection, short version', () => {
  it.each<[ScenarioName, RegExp]>([
    ['sigkill', /gateway charges/],
    ['database-restart', /gateway charges/],
    ['gateway-faults', /\((?!0 )\d+ settled by query/],
    ['notice-faults', /[1-9]\d* rejected\)/],
    ['clock-skew', /gateway charges/],
  ])('%s: every period charged exactly once, nothing lost, nothing left unresolved', async (name, evidence) => {
    const result = await runScenario(name, server, settings);
    expect(result).toMatchObject({ renewals: 150, doubleCharges: 0, lostCharges: 0, unresolved: 0, noticeProblems: 0 });
    expect(result.evidence).toMatch(evidence);
  });
});
