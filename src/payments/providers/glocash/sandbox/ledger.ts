/** The Glocash sandbox's transactions, in memory: what was asked, paid and refunded. */
import { randomBytes } from 'node:crypto';

export type SandboxStatus = 'unpaid' | 'paid' | 'pending' | 'cancelled' | 'failed' | 'refunding' | 'refunded' | 'chargeback';

export interface SandboxTransaction {
  readonly gcid: string;
  /** The payment page's token (the last part of URL_PAYMENT). */
  readonly token: string;
  readonly merchantEmail: string;
  readonly invoice: string;
  readonly customerEmail: string;
  /** As sent (BIL_PRICE), and in minor units for sums. */
  readonly price: string;
  readonly priceMinor: number;
  readonly currency: string;
  readonly urls: { readonly success: string; readonly pending: string; readonly failed: string; readonly notify: string };
  status: SandboxStatus;
  method: string;
  refundedMinor: number;
  readonly createdAt: number;
  paidAt: number | null;
}

const GCID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export class GlocashLedger {
  readonly #byGcid = new Map<string, SandboxTransaction>();
  readonly #byToken = new Map<string, SandboxTransaction>();

  add(fields: Omit<SandboxTransaction, 'gcid' | 'token' | 'status' | 'method' | 'refundedMinor' | 'createdAt' | 'paidAt'>): SandboxTransaction {
    let gcid: string;
    do {
      gcid = [...randomBytes(16)].map((b) => GCID_ALPHABET[b % GCID_ALPHABET.length]).join('');
    } while (this.#byGcid.has(gcid));
    const transaction: SandboxTransaction = { ...fields, gcid, token: randomBytes(16).toString('hex'), status: 'unpaid', method: '', refundedMinor: 0, createdAt: Date.now(), paidAt: null };
    this.#byGcid.set(gcid, transaction);
    this.#byToken.set(transaction.token, transaction);
    return transaction;
  }

  byGcid(gcid: string): SandboxTransaction | undefined {
    return this.#byGcid.get(gcid);
  }

  byToken(token: string): SandboxTransaction | undefined {
    return this.#byToken.get(token);
  }

  all(): SandboxTransaction[] {
    return [...this.#byGcid.values()];
  }
}
