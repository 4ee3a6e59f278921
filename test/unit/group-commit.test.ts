import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/lib/group-commit.ts';

describe('group commit', () => {
  it('handles items submitted together in one batch, each caller getting its own result', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      return items.map((i) => i * 10);
    }, { maxBatch: 100, maxWaitMs: 5 });
    expect(await Promise.all([1, 2, 3].map((i) => group.submit(i)))).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('never runs two batches at once, and caps their size', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const group = new GroupCommit<number, number>(async (items) => {
      running += 1;
      most = Math.max(most, running);
      sizes.push(items.length);
      await new Promise((r) => setTimeout(r, 10));
      running -= 1;
      return items;
    }, { maxBatch: 4, maxWaitMs: 1 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => group.submit(i)));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('a failed batch fails each of its callers, and later items still go through', async () => {
    let calls = 0;
    const group = new GroupCommit<string, string>(async (items) => {
      calls += 1;
      if (calls === 1) throw new Error('database down');
      return items;
    }, { maxBatch: 10, maxWaitMs: 1 });
    const first = await Promise.allSettled([group.submit('a'), group.submit('b')]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await group.submit('c')).toBe('c');
  });
});
