// Which code to run: the build in dist/ (npm install compiles it) or the TypeScript sources.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STAMP = join(ROOT, 'dist', '.sources-mtime');
const SOURCE_DIRS = ['src', 'migrations', 'scripts'];

/** The newest modification time among the files dist/ is built from (0 when there are none). */
export function newestSourceMtime(root = ROOT) {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) {
    if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  }
  return newest;
}

/** dist/ holds a build of exactly the current sources. */
export function builtIsCurrent(root = ROOT) {
  const stamp = join(root, 'dist', '.sources-mtime');
  if (!existsSync(stamp)) return false;
  return Number(readFileSync(stamp, 'utf8')) >= newestSourceMtime(root);
}

/** tsx is a development dependency: present in a checkout, absent from a production install. */
export function tsxInstalled(root = ROOT) {
  try {
    createRequire(join(root, 'package.json')).resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

/**
 * How to run `source` (a path under the root ending in .ts, e.g. "src/cli/main.ts"): its compiled
 * copy when that is current; the source through tsx after an edit; the compiled copy as it is when
 * tsx is not installed (a production install runs what was built); otherwise an explanation.
 */
export function chooseEntry(source, root = ROOT, hasTsx = tsxInstalled(root)) {
  const compiled = join(root, 'dist', source.replace(/\.ts$/, '.js'));
  if (existsSync(compiled) && builtIsCurrent(root)) return { kind: 'compiled', path: compiled };
  if (hasTsx) return { kind: 'source', path: join(root, source) };
  if (existsSync(compiled)) return { kind: 'compiled', path: compiled };
  return {
    kind: 'missing',
    problem:
      `${join('dist', source.replace(/\.ts$/, '.js'))} is not built and tsx (a development dependency) is not installed: ` +
      'build with `npm ci && npm run build`, then install for production with `npm ci --omit=dev` (see the README, "Production install")',
  };
}

/** Imports the chosen entry (registering tsx for sources) and returns its module. */
export async function loadEntry(source) {
  const entry = chooseEntry(source);
  if (entry.kind === 'missing') {
    process.stderr.write(`error: ${entry.problem}\n`);
    process.exit(1);
  }
  if (entry.kind === 'source') {
    const { register } = await import('tsx/esm/api');
    register();
  }
  const { pathToFileURL } = await import('node:url');
  return import(pathToFileURL(entry.path).href);
}
