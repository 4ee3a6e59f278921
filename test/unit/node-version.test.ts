import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem, requiredNodeVersion } from '../../bin/node-version.mjs';

describe('the Node.js version check every entry point runs first', () => {
  it('takes the lowest version from package.json engines', () => {
    const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(`>=${requiredNodeVersion().join('.')}`);
    expect(requiredNodeVersion()[0]).toBeGreaterThanOrEqual(22);
  });

  it('accepts that version and anything newer', () => {
    for (const version of ['22.19.0', '22.20.1', '23.0.0', '24.0.0', '24.21.0', '26.1.0']) {
      expect(nodeVersionProblem(version, [22, 19, 0]), version).toBeNull();
    }
  });

  it('refuses older ones with one line saying what is needed and how to get it', () => {
    for (const version of ['20.20.2', '22.18.9', '22.12.0', '18.0.0']) {
      const problem = nodeVersionProblem(version, [22, 19, 0]);
      expect(problem, version).toContain(`needs Node.js 22.19.0 or later, but this is Node.js ${version}`);
      expect(problem).toContain('npx rebill');
      expect(problem).toContain('Node.js 24 LTS');
      expect(problem).not.toContain('\n');
    }
  });
});
