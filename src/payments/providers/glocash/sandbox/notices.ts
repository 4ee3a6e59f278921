/**
 * Payment status notices (PSN) from the sandbox to the merchant's URL_NOTIFY: form-encoded and
 * signed, retried until the merchant answers 200 (Glocash retries "minutes later"; the sandbox
 * sooner, on its retry schedule).
 */
import { formatAmount } from '../../../../lib/money.ts';
import type { SandboxTransaction } from './ledger.ts';
import { noticeBehaviourFor } from './behaviours.ts';
import { sandboxSign } from './signing.ts';

/** The PSN fields of a transaction as it stands (also what a query returns). */
export function psnFields(transaction: SandboxTransaction, secretKey: string, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const price = transaction.price;
  const fields: Record<string, string> = {
    REQ_INVOICE: transaction.invoice,
    CUS_EMAIL: transaction.customerEmail,
    BIL_METHOD: transaction.method,
    BIL_PRICE: price,
    BIL_CURRENCY: transaction.currency,
    REQ_EMAIL: transaction.merchantEmail,
    REQ_SANDBOX: 'ON',
    TNS_UTIMES: (transaction.createdAt / 1000).toFixed(3),
    TNS_GCID: transaction.gcid,
    REQ_REFERER: '',
    BIL_IPADDR: '127.0.0.1',
    PGW_PRICE: price,
    PGW_CURRENCY: transaction.currency,
    FDL_DECISION: 'ACP',
    BIL_STATUS: transaction.status,
    PGW_NOTIFYTYPE: transaction.status === 'refunded' ? 'refunded' : 'transaction',
    REQ_TIMES: String(nowSeconds),
  };
  fields.REQ_SIGN = sandboxSign('psn', fields, secretKey);
  return fields;
}

export function refundedPrice(transaction: SandboxTransaction): string {
  return formatAmount({ amountMinor: transaction.refundedMinor, currency: transaction.currency });
}

export interface Delivery {
  readonly gcid: string;
  readonly status: string;
  readonly url: string;
  attempts: number;
  delivered: boolean;
}

export class NoticeSender {
  readonly deliveries: Delivery[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(private readonly retryDelaysMs: readonly number[], private readonly secretKey: (merchantEmail: string) => string) {}

  /** Sends the transaction's current status, as its customer's notice behaviour says. */
  send(transaction: SandboxTransaction): void {
    const behaviour = noticeBehaviourFor(transaction.customerEmail);
    if (behaviour === 'no-notice' || !transaction.urls.notify) return;
    const body = new URLSearchParams(psnFields(transaction, this.secretKey(transaction.merchantEmail))).toString();
    for (let copy = 0; copy < (behaviour === 'duplicate-notice' ? 2 : 1); copy++) {
      const delivery: Delivery = { gcid: transaction.gcid, status: transaction.status, url: transaction.urls.notify, attempts: 0, delivered: false };
      this.deliveries.push(delivery);
      this.#track(this.#deliver(delivery, body));
    }
  }

  async #deliver(delivery: Delivery, body: string): Promise<void> {
    for (const delay of this.retryDelaysMs) {
      if (this.#closed) return;
      if (delay > 0) await this.#sleep(delay);
      if (this.#closed) return;
      delivery.attempts += 1;
      try {
        const response = await fetch(delivery.url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, signal: AbortSignal.timeout(10_000) });
        await response.arrayBuffer();
        if (response.status === 200) {
          delivery.delivered = true;
          return;
        }
      } catch {
        // Not reached: retried on the schedule.
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  /** Resolves once every notice sent so far is delivered or given up. */
  async idle(): Promise<void> {
    while (this.#inFlight.size) await Promise.all([...this.#inFlight]);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
