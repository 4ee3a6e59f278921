/** rebill's own directory, found from any module inside it, whether running the sources or dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(moduleUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'rebill') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no rebill package.json above ${fileURLToPath(moduleUrl)}`);
    dir = parent;
  }
}
