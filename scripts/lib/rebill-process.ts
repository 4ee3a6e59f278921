/**
 * `rebill` commands as real child processes (workers, a standalone sandbox), following their JSON
 * log lines. Used by the end-to-end tests, the benchmark and the fault-injection suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/lib/project-root.ts';

export const REBILL_BIN = join(projectRoot(), 'bin', 'rebill.mjs');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class WorkerProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  private waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly child: ChildProcess,
    /** The port it was told to listen on, when known (0: it picks one and logs it). */
    private readonly port = 0,
  ) {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          continue;
        }
        this.logs.push(line);
        this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  waitForLog(match: (line: LogLine) => boolean, timeoutMs = 120_000): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}; last logs: ${JSON.stringify(this.logs.slice(-5))}`)),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  /** Resolves with the worker's port once it serves HTTP (from its log, or /healthz when logs are quiet). */
  async started(): Promise<number> {
    // Generous: starting takes seconds when idle, much longer on a loaded machine.
    if (!this.port) return (await this.waitForLog((l) => l.msg === 'worker started', 180_000)).port as number;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`the worker exited with ${this.child.exitCode}: ${this.stderr.slice(-2000)}`);
      if (await fetch(`http://127.0.0.1:${this.port}/healthz`).then((r) => r.ok, () => false)) return this.port;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the worker did not answer on port ${this.port} within 180 s; stderr: ${this.stderr.slice(-2000)}`);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * Local state for a process whose caller named no REBILL_DATA_DIR: a temporary directory of its
 * own, removed when it exits; never the project's own `.rebill/` (a developer's database and mail).
 */
function scratchDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rebill-process-'));
  chmodSync(dir, 0o755); // as root, an embedded PostgreSQL in here runs as the postgres OS user
  return dir;
}

export function startRebillProcess(args: string[], env: Record<string, string | undefined>, nodeArgs: string[] = []): WorkerProcess {
  const scratch = env.REBILL_DATA_DIR ? null : scratchDataDir();
  const child = spawn(process.execPath, [...nodeArgs, REBILL_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env, ...(scratch ? { REBILL_DATA_DIR: scratch } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (scratch) child.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  return new WorkerProcess(child, Number(env.REBILL_PORT ?? 0));
}

export function startWorkerProcess(env: Record<string, string | undefined>, nodeArgs: string[] = []): WorkerProcess {
  return startRebillProcess(['worker'], { REBILL_PORT: '0', ...env }, nodeArgs);
}

/** Peak resident memory of a live process in bytes (Linux `VmHWM`), or null. */
export async function peakRssBytes(pid: number): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * CPU seconds (user + system) a live process has used so far, from /proc (Linux), or null. With
 * `includeExitedChildren`, also what its children that have exited used (a PostgreSQL server's
 * postmaster accounts this way for backends that come and go).
 */
export async function cpuSeconds(pid: number, includeExitedChildren = false): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may contain spaces): utime, stime, cutime, cstime are the 14th to 17th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (includeExitedChildren ? Number(fields[13]) + Number(fields[14]) : 0);
  return Number.isFinite(ticks) ? ticks / 100 : null;
}
