/**
 * The project brings its own Node.js: npm scripts and npx run the Node.js 24 that `npm install`
 * put in node_modules, whatever Node.js the machine has; run directly on an older Node.js,
 * rebill stops at once with one line saying what it needs.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/database.ts';
import { freePort } from '../support/e2e.ts';
import { nodeVersionProblem, requiredNodeVersion } from '../../bin/node-version.mjs';

const run = promisify(execFile);
const ROOT = process.cwd();
const BROUGHT = `v${(JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string }).version}`;
// The PATH an operator's shell has: without this project's node_modules/.bin, which npm adds itself.
const PLAIN_PATH = (process.env.PATH ?? '').split(delimiter).filter((dir) => !dir.includes('node_modules')).join(delimiter);
const env = { PATH: PLAIN_PATH, HOME: process.env.HOME };

const database = useTestDatabase('node_runtime');
const dataDir = mkdtempSync(join(tmpdir(), 'rebill-node-runtime-'));
const started: number[] = [];
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  for (const pid of started) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('the Node.js rebill runs on', () => {
  it('is the Node.js 24 the project brings, for the tests too', () => {
    expect(BROUGHT).toMatch(/^v24\./);
    expect(process.version).toBe(BROUGHT);
  });

  it('is what `npx` and npm scripts use, whatever Node.js is first on the PATH', async () => {
    const { stdout } = await run('npx', ['--no-install', 'node', '--version'], { cwd: ROOT, env });
    expect(stdout.trim()).toBe(BROUGHT);
  });

  it('is named in the first log line of `npm start`', { timeout: 120_000 }, async () => {
    const child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      detached: true, // its own process group: npm and the worker stop together
      env: { ...env, REBILL_DATA_DIR: dataDir, DATABASE_URL: database.current.url, REBILL_PORT: String(await freePort()), REBILL_SANDBOX_PORT: String(await freePort()), REBILL_GLOCASH_SANDBOX_PORT: String(await freePort()), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child.pid!);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const firstLine = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        if (buffer.includes('\n')) resolve(buffer.slice(0, buffer.indexOf('\n')));
      });
      child.on('exit', (code) => reject(new Error(`npm start exited ${code} before logging: ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    const line = JSON.parse(firstLine) as { msg: string; node: string };
    expect(line.node).toBe(BROUGHT);
    expect(line.msg).toBe(`rebill worker starting on Node.js ${BROUGHT}`);
  });

  const machineNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path));
  const machineVersion = machineNode ? readVersion(machineNode) : null;
  const tooOld = machineVersion !== null && nodeVersionProblem(machineVersion, requiredNodeVersion()) !== null;
  it.skipIf(!tooOld)(`stops at once with one line on an older Node.js (${machineNode ?? 'none'}, ${machineVersion ?? 'no version'})`, async () => {
    for (const entry of [['bin/rebill.mjs', 'list'], ['bin/run-script.mjs', 'scripts/demo.ts']]) {
      const result = await run(machineNode!, entry, { cwd: ROOT, env }).then(
        () => ({ code: 0, stdout: '', stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`error: ${nodeVersionProblem(machineVersion!, requiredNodeVersion())}\n`);
    }
  });
});

function readVersion(node: string): string | null {
  try {
    return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
  } catch {
    return null;
  }
}
