/**
 * Faults the sandbox can inject, settable at start, with `setFaults` and with
 * `POST /sandbox/faults`. Shares are probabilities between 0 and 1, drawn from the seeded random
 * source so a run repeats.
 */
import { ValidationError } from '../../../../lib/errors.ts';

export interface FaultSettings {
  /** Added before every gateway answer (charge, query, refund and order list). */
  readonly latencyMs: number;
  /** Share of charges answered with HTTP 502 (the charge is still booked). */
  readonly serverErrorShare: number;
  /** Share of charges held open with no answer, like the `timeout` token (the charge is booked). */
  readonly timeoutShare: number;
  /** Share of charges answered with truncated XML (the charge is booked). */
  readonly garbledShare: number;
  /** Share of final notices sent twice. */
  readonly noticeDuplicateShare: number;
  /** Share of final notices followed by a stale pending notice for the same payment. */
  readonly noticeReorderShare: number;
  /** Added before the first attempt of every notice. */
  readonly noticeDelayMs: number;
  /** Share of final notices preceded by a forged copy (wrong signValue, or an altered amount). */
  readonly noticeForgeShare: number;
}

export const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  serverErrorShare: 0,
  timeoutShare: 0,
  garbledShare: 0,
  noticeDuplicateShare: 0,
  noticeReorderShare: 0,
  noticeDelayMs: 0,
  noticeForgeShare: 0,
};

const SHARES = ['serverErrorShare', 'timeoutShare', 'garbledShare', 'noticeDuplicateShare', 'noticeReorderShare', 'noticeForgeShare'] as const;
const DELAYS = ['latencyMs', 'noticeDelayMs'] as const;
/** A day: long enough for any demo, short enough that a typo does not hang a process for ever. */
const MAX_DELAY_MS = 86_400_000;

/** Problems with a partial fault update (unknown names, out-of-range values), or an empty list. */
export function faultProblems(update: unknown): string[] {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) return ['faults must be a JSON object'];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(update)) {
    if ((SHARES as readonly string[]).includes(name)) {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) problems.push(`${name} must be a number from 0 to 1`);
    } else if ((DELAYS as readonly string[]).includes(name)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DELAY_MS) {
        problems.push(`${name} must be a number of milliseconds from 0 to ${MAX_DELAY_MS}`);
      }
    } else {
      problems.push(`unknown fault "${name}"; known: ${[...DELAYS, ...SHARES].join(', ')}`);
    }
  }
  return problems;
}

/** Applies a partial update, throwing a ValidationError listing every problem. */
export function mergeFaults(current: FaultSettings, update: Partial<FaultSettings>): FaultSettings {
  const problems = faultProblems(update);
  if (problems.length > 0) throw new ValidationError(problems);
  return { ...current, ...update };
}

/** Picks the fault options out of the sandbox options. */
export function faultsFromOptions(options: Partial<FaultSettings>): FaultSettings {
  const picked: Partial<Record<keyof FaultSettings, number>> = {};
  for (const name of [...SHARES, ...DELAYS]) {
    const value = options[name];
    if (value !== undefined) picked[name] = value;
  }
  return mergeFaults(NO_FAULTS, picked);
}
