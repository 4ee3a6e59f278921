import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtIsCurrent, newestSourceMtime } from '../../bin/sources.mjs';

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
