/**
 * What a sandbox is started with, and the defaults shared with the worker: the public sample
 * account, terminal and secure code from Oceanpayment's documentation.
 */
import type { SignatureFields, TerminalCredentials } from '../sign.ts';
import type { FaultSettings } from './faults.ts';

export const SANDBOX_DEFAULT_ACCOUNT = '995149';
export const SANDBOX_DEFAULT_TERMINAL = '99514901';
export const SANDBOX_DEFAULT_SECURE_CODE = '12345678';

/** 0 s, then about 1 min, 5 min, 30 min and 2 h: five attempts in all (§2; the intervals are placeholders). */
export const DEFAULT_NOTICE_RETRY_DELAYS_MS: readonly number[] = [0, 60_000, 300_000, 1_800_000, 7_200_000];
export const MAX_NOTICE_ATTEMPTS = 5;
export const DEFAULT_TIMEOUT_HOLD_MS = 120_000;
export const DEFAULT_PENDING_NOTICE_DELAY_MS = 2_000;
export const DEFAULT_REFUND_DELAY_MS = 2_000;
export const DEFAULT_NOTICE_TIMEOUT_MS = 10_000;

/** The subset of a pino logger the sandbox uses. */
export interface SandboxLogger {
  info(details: object, message?: string): void;
  warn(details: object, message?: string): void;
  error(details: object, message?: string): void;
}

export interface SandboxOptions extends Partial<FaultSettings> {
  /** One entry per terminal; several entries may share an account. */
  readonly accounts: readonly TerminalCredentials[];
  readonly port?: number;
  readonly host?: string;
  /** Delays before each notice attempt (the first is usually 0); at most 5 entries. */
  readonly noticeRetryDelaysMs?: readonly number[];
  /** How long a held ("timeout") request stays open unless the client gives up first. */
  readonly timeoutHoldMs?: number;
  /** How long the `pending` behaviour waits before approving and sending the notice. */
  readonly pendingNoticeDelayMs?: number;
  /** How long an accepted refund (default behaviour) stays pending before it is refunded and its notice sent. */
  readonly refundDelayMs?: number;
  /**
   * The fields whose values sign refund and chargeback notices. The real formula is unpublished
   * (§1.5), so the sandbox uses its own (SANDBOX_BUSINESS_NOTICE_SIGN_FIELDS) and lets it be
   * changed; rebill never verifies these notices.
   */
  readonly businessNoticeSignatureFields?: SignatureFields;
  /** Per-attempt limit when delivering a notice. */
  readonly noticeTimeoutMs?: number;
  /** Seed for every random choice (faults, forgeries) so runs repeat; random when absent. */
  readonly seed?: number | string;
  readonly logger?: SandboxLogger;
}

/**
 * Options from the same variables the worker reads, with the documentation's sample values when
 * they are unset, so `rebill sandbox` and `rebill worker` agree out of the box.
 */
export function sandboxOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): SandboxOptions {
  return {
    accounts: [
      {
        account: nonEmpty(env.OCEANPAYMENT_ACCOUNT) ?? SANDBOX_DEFAULT_ACCOUNT,
        terminal: nonEmpty(env.OCEANPAYMENT_TERMINAL) ?? SANDBOX_DEFAULT_TERMINAL,
        secureCode: nonEmpty(env.OCEANPAYMENT_SECURE_CODE) ?? SANDBOX_DEFAULT_SECURE_CODE,
      },
    ],
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
