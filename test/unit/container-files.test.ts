/**
 * No Docker engine runs where the tests do, so the Dockerfile and docker-compose.yml are checked
 * as files: pinned images, the stages and what the runtime stage holds, the ports and variables.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARS, loadConfig } from '../../src/config.ts';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages and instructions (continuation lines joined, comments dropped). */
function dockerfileStages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, image = '', name = ''] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ image, name, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

interface ComposeService {
  image?: string;
  build?: { context: string; target: string };
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, unknown>;
}

const stages = dockerfileStages(readFileSync('Dockerfile', 'utf8'));
const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, ComposeService> };
const nodeMajor = readFileSync('.nvmrc', 'utf8').trim();
const runtime = stages.find((s) => s.name === 'runtime')!;
const worker = compose.services.worker!;
const env = worker.environment!;

describe('the Dockerfile', () => {
  it('builds in one stage and runs in another, both on the Node.js of .nvmrc, slim and pinned to a release', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const stage of stages) expect(stage.image).toMatch(new RegExp(`^node:${nodeMajor}\\.\\d+\\.\\d+-[a-z]+-slim$`));
    expect(JSON.parse(readFileSync('package.json', 'utf8')).devDependencies.node).toMatch(new RegExp(`^\\^${nodeMajor}\\.`));
  });

  it('runs dist/ only, with production dependencies, as a user who is not root', () => {
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.some((c) => /\b(src|scripts|migrations|test)\b/.test(c.replace('/app/dist ./dist', '')))).toBe(false);
    expect(runtime.instructions.some((i) => i.keyword === 'RUN' && i.args.includes('npm ci --omit=dev'))).toBe(true);
    const user = runtime.instructions.findIndex((i) => i.keyword === 'USER');
    expect(runtime.instructions[user]?.args).toBe('node');
    expect(user).toBeLessThan(runtime.instructions.findIndex((i) => i.keyword === 'CMD'));
    expect(JSON.parse(runtime.instructions.find((i) => i.keyword === 'CMD')!.args)).toEqual(['node', 'bin/rebill.mjs', 'worker']);
  });

  it('checks health on /healthz and listens on every interface', () => {
    expect(runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args).toMatch(/CMD .*\/healthz/);
    expect(runtime.instructions.find((i) => i.keyword === 'ENV')?.args).toContain('REBILL_HOST=0.0.0.0');
    expect(runtime.instructions.find((i) => i.keyword === 'EXPOSE')?.args.split(/\s+/)).toEqual(['8080', '8081', '8082']);
  });
});

describe('docker-compose.yml', () => {
  it('pins every image to a release and builds the worker from the Dockerfile runtime stage', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue; // built here
      expect(service.image, name).toMatch(/:v?\d+(\.\d+)+(-[a-z0-9]+)*$/);
    }
    expect(worker.build).toEqual({ context: '.', target: 'runtime' });
    expect(stages.some((s) => s.name === worker.build!.target)).toBe(true);
  });

  it('publishes the worker and its sandboxes on the ports it is told to use, so e-mailed 3-D Secure and payment links open', () => {
    expect(worker.ports).toEqual([
      `${env.REBILL_PORT}:${env.REBILL_PORT}`,
      `${env.REBILL_SANDBOX_PORT}:${env.REBILL_SANDBOX_PORT}`,
      `${env.REBILL_GLOCASH_SANDBOX_PORT}:${env.REBILL_GLOCASH_SANDBOX_PORT}`,
    ]);
    expect(env.REBILL_HOST).toBe('0.0.0.0');
    expect(new URL(env.REBILL_PUBLIC_URL!.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1')).port).toBe(env.REBILL_PORT);
    expect(compose.services.mailpit!.ports).toContain('8025:8025');
    expect(env.SMTP_URL).toContain('smtp://mailpit:1025');
    expect(new URL(env.DATABASE_URL!).hostname).toBe('postgres');
    expect(Object.keys(worker.depends_on!).sort()).toEqual(['mailpit', 'postgres']);
  });

  it('passes NODE_ENV and the gateway settings through from the shell, and sets only real settings', () => {
    for (const name of ['NODE_ENV', 'OCEANPAYMENT_GATEWAY_URL', 'OCEANPAYMENT_QUERY_URL', 'OCEANPAYMENT_ACCOUNT', 'OCEANPAYMENT_TERMINAL', 'OCEANPAYMENT_SECURE_CODE', 'GLOCASH_EMAIL', 'GLOCASH_SECRET_KEY', 'GLOCASH_API_URL']) {
      expect(env[name], name).toMatch(new RegExp(`^\\$\\{${name}(:-[^}]*)?\\}$`));
    }
    const known = new Set<string>(ENV_VARS.map((v) => v.name));
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    // With nothing passed through, the values it sets are a valid configuration.
    const defaults = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1')]));
    expect(() => loadConfig(defaults)).not.toThrow();
  });
});
