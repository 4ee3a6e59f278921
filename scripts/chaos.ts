/**
 * `npm run chaos`: the fault-injection suite. Each scenario runs real worker processes against a
 * sandbox process on a few thousand due subscriptions, on a PostgreSQL of its own (embedded under
 * .rebill/chaos-pg, so it can be restarted), and checks the outcome from both sides. Prints a
 * table; `--write-docs` also keeps it in docs/reliability.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { acquireEmbeddedPostgres, restartEmbeddedPostgres } from '../src/db/embedded.ts';
import { parseDuration } from '../src/lib/durations.ts';
import { SCENARIO_NAMES, resultTable, runScenario, type ScenarioName, type ScenarioResult } from './lib/chaos.ts';

const { values: options } = parseArgs({
  options: {
    subscriptions: { type: 'string', default: '3000' },
    kills: { type: 'string', default: '20' },
    'notice-delay': { type: 'string', default: '2m' },
    only: { type: 'string' },
    'write-docs': { type: 'boolean' },
    help: { type: 'boolean' },
  },
});

if (options.help) {
  console.log(`Usage: npm run chaos -- [options]

  --subscriptions N     due subscriptions per scenario (default 3000)
  --kills K             SIGKILLs in the sigkill scenario (default 20)
  --notice-delay D      how late the notice-faults scenario delivers notices (default 2m)
  --only NAME           run one scenario: ${SCENARIO_NAMES.join(', ')}
  --write-docs          replace the results table in docs/reliability.md`);
  process.exit(0);
}

const subscriptions = Number(options.subscriptions);
const kills = Number(options.kills);
const noticeDelayMs = parseDuration(options['notice-delay']!);
if (!Number.isInteger(subscriptions) || subscriptions <= 0 || !Number.isInteger(kills) || kills < 0 || noticeDelayMs === null) {
  console.error('chaos: --subscriptions and --kills take whole numbers, --notice-delay a duration such as 2m');
  process.exit(2);
}
const only = options.only;
if (only !== undefined && !(SCENARIO_NAMES as readonly string[]).includes(only)) {
  console.error(`chaos: unknown scenario "${only}" (${SCENARIO_NAMES.join(', ')})`);
  process.exit(2);
}

const log = (message: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const dir = '.rebill/chaos-pg';
const lease = await acquireEmbeddedPostgres({ dir, database: 'postgres', maxConnections: 300, tuning: 'durable' });
const server = { adminUrl: lease.urlFor('postgres'), restart: () => restartEmbeddedPostgres(dir) };
const results: ScenarioResult[] = [];
let failed = false;
try {
  for (const name of (only ? [only] : SCENARIO_NAMES) as ScenarioName[]) {
    log(`scenario ${name} …`);
    try {
      const result = await runScenario(name, server, { subscriptions, kills, noticeDelayMs, seed: 'chaos', log });
      results.push(result);
      log(`${name}: ${JSON.stringify(result)}`);
    } catch (error) {
      failed = true;
      log(`${name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
} finally {
  await lease.release();
}

const date = new Date().toISOString();
const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB`;
const command = `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim();
const table = resultTable(results);
console.log(`\nrebill fault-injection suite, ${date} on ${machine}\n${command}\n\n${table}\n`);
const bad = results.filter((r) => r.doubleCharges || r.lostCharges || r.unresolved || r.noticeProblems);
if (bad.length) failed = true;

if (options['write-docs'] && !only) {
  const path = 'docs/reliability.md';
  const doc = await readFile(path, 'utf8');
  const section = `<!-- results -->\nLatest run: ${date}, on ${machine}:\n\n\`\`\`sh\n${command}\n\`\`\`\n\n${table}\n<!-- /results -->`;
  await writeFile(path, doc.replace(/<!-- results -->[\s\S]*<!-- \/results -->/, section));
  log(`wrote ${path}`);
}
process.exit(failed ? 1 : 0);
