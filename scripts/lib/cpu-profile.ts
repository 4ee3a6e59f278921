/** A readable summary of V8 .cpuprofile files: where a process spent its samples, by package and by function. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

function place(url: string): string {
  if (!url) return '';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(src|scripts)\/(.+)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url.replace(/^node:/, 'node:');
}

/** `labels` names processes by pid (profile files are named CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile). */
export async function summariseProfiles(dir: string, labels: ReadonlyMap<number, string> = new Map(), top = 10): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const out: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const byPlace = new Map<string, number>();
    const byFunction = new Map<string, number>();
    for (const sample of profile.samples) {
      const frame = nodes.get(sample)!.callFrame;
      const where = place(frame.url) || frame.functionName;
      byPlace.set(where, (byPlace.get(where) ?? 0) + 1);
      const fn = `${frame.functionName || '(anonymous)'}${frame.url ? ` (${place(frame.url)})` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + 1);
    }
    const idle = byPlace.get('(idle)') ?? 0;
    const busy = profile.samples.length - idle;
    if (busy / profile.samples.length < 0.05) continue; // the loader thread of each process
    const seconds = (profile.endTime - profile.startTime) / 1e6;
    const share = (n: number) => `${((100 * n) / busy).toFixed(1).padStart(5)}%`;
    const pid = Number(file.split('.')[3]);
    out.push(`${labels.get(pid) ?? file}: ${seconds.toFixed(1)} s, busy ${((100 * busy) / profile.samples.length).toFixed(0)}% of the time; shares of the busy time:`);
    const ranked = (map: Map<string, number>) => [...map].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
    out.push('  by place:    ' + ranked(byPlace).map(([k, v]) => `${k} ${share(v).trim()}`).join(', '));
    out.push('  by function: ' + ranked(byFunction).map(([k, v]) => `${k} ${share(v).trim()}`).join(', '));
  }
  return out.join('\n');
}
