/**
 * The state every sandbox handler shares. One object per running sandbox; nothing is global, so
 * several sandboxes can run in one process (the tests do).
 */
import type { SignatureFields, TerminalCredentials } from '../sign.ts';
import type { FaultSettings } from './faults.ts';
import type { Ledger } from './ledger.ts';
import type { NoticeDispatcher } from './notice-dispatcher.ts';
import type { SandboxLogger } from './options.ts';
import type { RandomSource } from './random.ts';
import type { Timers } from './timers.ts';
import type { SandboxToken } from './tokenise.ts';

/** Where to send the results of a 3-D Secure charge once the customer has decided. */
export interface PendingCallbacks {
  readonly noticeUrl: string;
  readonly backUrl: string;
}

export interface SandboxContext {
  /** Base URL, known once the server listens. */
  baseUrl: string;
  faults: FaultSettings;
  readonly accounts: readonly TerminalCredentials[];
  readonly ledger: Ledger;
  readonly timers: Timers;
  readonly random: RandomSource;
  readonly notices: NoticeDispatcher;
  readonly logger: SandboxLogger | undefined;
  readonly timeoutHoldMs: number;
  readonly pendingNoticeDelayMs: number;
  readonly refundDelayMs: number;
  readonly businessNoticeSignatureFields: SignatureFields;
  /** Key for pay_id tokens, fresh per sandbox. */
  readonly payIdKey: Buffer;
  /** 3-D Secure charges waiting for the customer, by ledger row. */
  readonly callbacks: Map<number, PendingCallbacks>;
  /** Hosted checkouts waiting for the customer's card, by ledger row. */
  readonly checkouts: Map<number, PendingCallbacks>;
  /** Card pages opened by `/gateway/service/create`, by session id, until the card is saved. */
  readonly tokeniseSessions: Map<string, { account: string; terminal: string; customerId: string; backUrl: string }>;
  /** QuickPay IDs the card page created, by id. */
  readonly quickpayTokens: Map<string, SandboxToken>;
}

/** The secure code of an account's terminal, or undefined when the pair is unknown. */
export function secureCodeFor(context: SandboxContext, account: string, terminal: string): string | undefined {
  return context.accounts.find((entry) => entry.account === account && entry.terminal === terminal)?.secureCode;
}
