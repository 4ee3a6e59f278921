/**
 * Local state (REBILL_DATA_DIR) for the rebill processes a test starts: a fresh directory inside
 * this run's temporary directory (made by the global setup, removed at the end of the run), so
 * no test writes into the project's own `.rebill/`.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

/** A fresh directory for one process's (or one test file's) state; `label` only helps reading it. */
export function temporaryDataDir(label: string): string {
  const dir = mkdtempSync(join(inject('runStateDir'), `${label.replace(/\W+/g, '-')}-`));
  // As root, an embedded PostgreSQL in here runs as the `postgres` OS user, which must enter it.
  chmodSync(dir, 0o755);
  return dir;
}
