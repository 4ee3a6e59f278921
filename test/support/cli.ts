/** Runs the real `rebill` command in a child process, as an operator would. */
import { spawn } from 'node:child_process';
import { REBILL_BIN } from '../../scripts/lib/rebill-process.ts';
import { temporaryDataDir } from './state-dir.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let sharedCliDataDir: string | null = null;
/** One per test file: commands run without DATABASE_URL share their embedded database, as an operator's would. */
const cliDataDir = () => (sharedCliDataDir ??= temporaryDataDir('cli'));

export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [REBILL_BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', REBILL_DATA_DIR: cliDataDir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function runCliJson<T = Record<string, unknown>>(args: string[], env: Record<string, string | undefined>): Promise<T> {
  const result = await runCli([...args, '--json'], env);
  if (result.code !== 0) throw new Error(`rebill ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
