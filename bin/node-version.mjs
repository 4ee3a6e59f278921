// The Node.js check every entry point runs first, before anything that may not load on an older
// Node: one line saying what is needed and how to get it, instead of a dependency's stack trace.
// Kept to syntax and built-ins that old Node versions understand.
import { readFileSync } from 'node:fs';

/** The lowest Node.js version, from package.json's `engines` (e.g. ">=22.19.0" gives [22, 19, 0]). */
export function requiredNodeVersion() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const match = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(String(pkg.engines && pkg.engines.node).trim());
  if (!match) throw new Error('package.json engines.node must read ">=MAJOR.MINOR.PATCH", got ' + JSON.stringify(pkg.engines));
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The sentence to stop with, or null when `version` (e.g. "20.20.2") is new enough. */
export function nodeVersionProblem(version, required) {
  const have = version.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if (have[i] > required[i]) return null;
    if (have[i] < required[i]) {
      return (
        `rebill needs Node.js ${required.join('.')} or later, but this is Node.js ${version}: ` +
        'run it through npm (npm start, npx rebill ...), which uses the Node.js 24 that npm install brings, ' +
        'or install Node.js 24 LTS (the version in .nvmrc, e.g. nvm install 24).'
      );
    }
  }
  return null;
}

/** Exits with the one-line explanation when this Node.js is too old. */
export function requireSupportedNode() {
  const problem = nodeVersionProblem(process.versions.node, requiredNodeVersion());
  if (problem) {
    process.stderr.write('error: ' + problem + '\n');
    process.exit(1);
  }
}
