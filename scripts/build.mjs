// `npm run build` (npm install runs it as `prepare`): compiles the sources to dist/, so rebill
// starts without compiling TypeScript on the fly (about 60 MB less memory per process, faster
// start). Without TypeScript installed (a production install) it does nothing: bin/rebill.mjs
// then runs the sources through tsx.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, STAMP, newestSourceMtime } from '../bin/sources.mjs';

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.log('rebill: TypeScript is not installed, so no build; the sources will run through tsx.');
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
