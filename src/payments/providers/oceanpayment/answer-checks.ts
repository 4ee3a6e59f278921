/**
 * Checks shared by the answers of the order-management host (refund, refund query, order lists).
 * Their signValue formulas are unknown (§1.6), so an answer is trusted through TLS and our signed
 * request, and believed only when it names our account and terminal and echoes what we asked.
 */
import { escapeControlCharacters } from '../../../lib/printable.ts';
import type { MerchantCredentials } from './sign.ts';
import { secureCodeForTerminal } from './sign.ts';

/**
 * Why an answer is not about our account, or null. A field that is absent is not held against it
 * (which fields each answer carries is partly inferred); one that is present must be ours. With
 * `anyTerminal`, any terminal of the merchant is accepted (list rows); otherwise only the one
 * that sent the request.
 */
export function foreignAccountProblem(
  fields: Readonly<Record<string, string | undefined>>,
  credentials: MerchantCredentials,
  options: { readonly anyTerminal?: boolean } = {},
): string | null {
  const account = fields.account;
  const terminal = fields.terminal;
  if (account !== undefined && account !== credentials.account) {
    return `it names account "${shown(account)}", not ours (${credentials.account})`;
  }
  if (terminal !== undefined) {
    const ours = options.anyTerminal ? secureCodeForTerminal(credentials, terminal) !== undefined : terminal === credentials.terminal;
    if (!ours) return `it names terminal "${shown(terminal)}", not ${options.anyTerminal ? 'one of ours' : `ours (${credentials.terminal})`}`;
  }
  return null;
}

/** Why an echoed field differs from what we sent, or null (absent or empty echoes are not held against it). */
export function echoProblem(fields: Readonly<Record<string, string | undefined>>, name: string, sent: string): string | null {
  const echoed = (fields[name] ?? '').trim();
  return echoed !== '' && sent !== '' && echoed !== sent ? `its ${name} is "${shown(echoed)}", we sent "${sent}"` : null;
}

/** A value from the gateway as it may appear in a reason: short, control characters escaped. */
export function shown(value: string, max = 120): string {
  return escapeControlCharacters(value.length > max ? `${value.slice(0, max)}…` : value);
}
