// `npm run build` (npm install runs it as `prepare`): compiles the sources and scripts to dist/,
// so rebill starts without compiling TypeScript on the fly (about 60 MB less memory per process,
// faster start) and a production install (`npm ci --omit=dev`, no TypeScript, no tsx) runs it.
// Without TypeScript installed it leaves dist/ as it is.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ROOT, STAMP, newestSourceMtime } from '../bin/sources.mjs';

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
} catch {
  console.log('rebill: TypeScript is not installed (a production install), so dist/ is used as it is.');
  process.exit(0);
}
const started = newestSourceMtime();
rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// Files the compiler does not copy.
mkdirSync(join(ROOT, 'dist', 'src', 'db'), { recursive: true });
copyFileSync(join(ROOT, 'src', 'db', 'embedded-initdb.mjs'), join(ROOT, 'dist', 'src', 'db', 'embedded-initdb.mjs'));
writeFileSync(STAMP, String(started));
