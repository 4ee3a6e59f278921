/**
 * What the Glocash sandbox does, by name. On the payment page the card number decides the
 * payment (Glocash's own test cards, seed 003 §5); the customer's e-mail, by how it starts,
 * decides how the notices behave. Documented in the README.
 */
import type { SandboxStatus } from './ledger.ts';

export const TEST_CARDS: ReadonlyArray<{ readonly card: string; readonly status: SandboxStatus; readonly description: string }> = [
  { card: '4000000000000002', status: 'paid', description: 'paid (3-D Secure passed)' },
  { card: '5200000000000023', status: 'failed', description: 'failed (3-D Secure failed)' },
  { card: '5200000000000106', status: 'pending', description: 'pending; paid after pendingDelayMs, with a second notice' },
];

/** Any other card number: failed, as an unknown card would be. */
export function statusForCard(card: string): SandboxStatus {
  return TEST_CARDS.find((row) => row.card === card.replace(/[\s-]/g, ''))?.status ?? 'failed';
}

export type NoticeBehaviour = 'notify' | 'no-notice' | 'duplicate-notice';

export const NOTICE_BEHAVIOURS: ReadonlyArray<{ readonly prefix: string; readonly behaviour: NoticeBehaviour; readonly description: string }> = [
  { prefix: 'no-notice', behaviour: 'no-notice', description: 'no notice is ever sent: only a query reveals the outcome' },
  { prefix: 'duplicate-notice', behaviour: 'duplicate-notice', description: 'every notice is sent twice' },
];

/** Everything else: one notice per status change, retried until answered 200. */
export function noticeBehaviourFor(customerEmail: string): NoticeBehaviour {
  const email = customerEmail.toLowerCase();
  return NOTICE_BEHAVIOURS.find((row) => email.startsWith(row.prefix))?.behaviour ?? 'notify';
}
