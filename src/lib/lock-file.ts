/**
 * A cross-process mutex on a file: whoever creates the file holds the lock. The holder's pid is
 * written inside so a lock left by a crashed process can be recognised and taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLock {
  release(): Promise<void>;
}

export async function acquireFileLock(path: string, timeoutMs = 120_000): Promise<FileLock> {
  const deadline = Date.now() + timeoutMs;
  const token = `${process.pid}\n`;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(token);
      await handle.close();
      return {
        release: async () => {
          const content = await readFile(path, 'utf8').catch(() => '');
          if (content === token) await unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (!Number.isFinite(holder) || !isProcessAlive(holder)) {
      // The holder died without releasing (or the file is half-written by a holder that died).
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${path} (held by process ${holder})`);
    }
    await sleep(50);
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user (e.g. the postgres OS user).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
