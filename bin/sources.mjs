// Whether dist/ (built by `npm run build`, which npm install runs) is as new as the sources.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STAMP = join(ROOT, 'dist', '.sources-mtime');
const SOURCE_DIRS = ['src', 'migrations'];

/** The newest modification time among the files dist/ is built from. */
export function newestSourceMtime(root = ROOT) {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  return newest;
}

/** dist/ holds a build of exactly the current sources. */
export function builtIsCurrent(root = ROOT) {
  const stamp = join(root, 'dist', '.sources-mtime');
  if (!existsSync(stamp)) return false;
  return Number(readFileSync(stamp, 'utf8')) >= newestSourceMtime(root);
}
