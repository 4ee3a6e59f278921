/**
 * A small seeded random source (mulberry32) so fault injection repeats run after run. Not for
 * secrets: pay_id tokens use node:crypto.
 */
import { createHash, randomInt } from 'node:crypto';

export interface RandomSource {
  /** A number in [0, 1). */
  next(): number;
  /** True with probability `share` (0 never draws, so settings of 0 do not shift the sequence). */
  chance(share: number): boolean;
}

export function seededRandom(seed: number | string | undefined): RandomSource {
  let state = seedToState(seed);
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance(share) {
      if (share <= 0) return false;
      if (share >= 1) return true;
      return next() < share;
    },
  };
}

function seedToState(seed: number | string | undefined): number {
  if (seed === undefined) return randomInt(0, 2 ** 32 - 1);
  if (typeof seed === 'number') return seed | 0;
  return createHash('sha256').update(seed, 'utf8').digest().readInt32BE(0);
}
