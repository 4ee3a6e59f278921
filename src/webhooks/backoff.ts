/**
 * When a failed delivery is tried again: 30 s, doubling each time up to 6 h between tries, until
 * the tries have spanned `retryForMs` (3 days by default); then it is given up (`failed`) and the
 * next event of the subscription goes. `rebill webhooks replay` starts a delivery over.
 */
const FIRST_DELAY_MS = 30_000;
const LONGEST_DELAY_MS = 6 * 3_600_000;

export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** Math.max(0, attempts - 1), LONGEST_DELAY_MS);
}

/** After `attempts` failed tries: when to try again, or null to give up. */
export function nextTryAfter(attempts: number, retryForMs: number): number | null {
  let waited = 0;
  for (let n = 1; n < attempts; n++) waited += retryDelayMs(n);
  return waited >= retryForMs ? null : retryDelayMs(attempts);
}
