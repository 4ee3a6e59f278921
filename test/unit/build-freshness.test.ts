import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtIsCurrent, chooseEntry, newestSourceMtime } from '../../bin/sources.mjs';

const root = mkdtempSync(join(tmpdir(), 'rebill-build-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(path: string, at: number): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), 'x');
  utimesSync(join(root, path), at / 1000, at / 1000);
}

describe('the compiled build is used only when it matches the sources', () => {
  it('is current when its stamp is as new as every source, and stale as soon as one is edited', () => {
    const t = Date.parse('2026-11-21T10:00:00Z');
    file('src/cli/main.ts', t);
    file('src/lib/deep/module.ts', t - 1000);
    file('migrations/0001_initial.ts', t - 5000);
    file('tsconfig.json', t - 9000);
    file('tsconfig.build.json', t - 9000);
    expect(builtIsCurrent(root)).toBe(false); // never built
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(join(root, 'dist', '.sources-mtime'), String(newestSourceMtime(root)));
    expect(builtIsCurrent(root)).toBe(true);
    file('src/lib/deep/module.ts', t + 1000); // an edit after the build
    expect(builtIsCurrent(root)).toBe(false);
  });
});

describe('which code bin/rebill.mjs runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rebill-entry-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const at = (path: string, t: number) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), 'x');
    utimesSync(join(dir, path), t / 1000, t / 1000);
  };

  it('runs the build when current, the sources after an edit, and the build as it is where tsx is not installed', () => {
    const t = Date.parse('2026-11-21T10:00:00Z');
    at('src/cli/main.ts', t);
    expect(chooseEntry('src/cli/main.ts', dir, false)).toEqual({ kind: 'missing', problem: expect.stringContaining('npm ci --omit=dev') });
    expect(chooseEntry('src/cli/main.ts', dir, true)).toEqual({ kind: 'source', path: join(dir, 'src/cli/main.ts') });
    at('dist/src/cli/main.js', t);
    writeFileSync(join(dir, 'dist', '.sources-mtime'), String(newestSourceMtime(dir)));
    const compiled = { kind: 'compiled', path: join(dir, 'dist/src/cli/main.js') };
    expect(chooseEntry('src/cli/main.ts', dir, true)).toEqual(compiled);
    at('src/cli/main.ts', t + 1000); // an edit after the build
    expect(chooseEntry('src/cli/main.ts', dir, true)).toEqual({ kind: 'source', path: join(dir, 'src/cli/main.ts') });
    expect(chooseEntry('src/cli/main.ts', dir, false)).toEqual(compiled); // a production install
    rmSync(join(dir, 'src'), { recursive: true }); // an image with dist/ only
    expect(chooseEntry('src/cli/main.ts', dir, false)).toEqual(compiled);
  });
});
