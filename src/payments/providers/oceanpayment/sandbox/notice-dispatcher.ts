/**
 * Delivers XML notices to a merchant's noticeUrl like the gateway (§2): POST, application/xml,
 * retried until the answer is exactly `receive-ok` (HTTP 2xx), at most five attempts. The notices
 * of one charge go out one after the other, so "a stale pending after the approval" really
 * arrives after it. Every attempt is written to the ledger; bodies are never logged.
 */
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'undici';
import { noticeXml } from './gateway-messages.ts';
import type { Ledger, NoticeKind } from './ledger.ts';
import type { SandboxLogger } from './options.ts';
import { SandboxClosedError } from './timers.ts';
import type { Timers } from './timers.ts';

export const NOTICE_ACKNOWLEDGEMENT = 'receive-ok';
/** Enough to hold `receive-ok` and a little more; the rest of a long answer is not read. */
const MAX_ANSWER_BYTES = 1024;

export interface NoticeToSend {
  readonly kind: NoticeKind;
  /** Signed payment-result fields; notice_type, push_dateTime and response_type are added per attempt. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  /** The body for an attempt pushed at `pushedAt`, for notices that are not payment results (refunds, chargebacks). */
  readonly body?: (pushedAt: number) => string;
}

export interface NoticeDispatcherOptions {
  readonly ledger: Ledger;
  readonly timers: Timers;
  readonly retryDelaysMs: readonly number[];
  readonly attemptTimeoutMs: number;
  readonly logger?: SandboxLogger;
}

export class NoticeDispatcher {
  readonly #options: NoticeDispatcherOptions;
  readonly #agent: Agent;
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<void>>();

  constructor(options: NoticeDispatcherOptions) {
    this.#options = options;
    // Every notice in flight listens on this one signal (to stop on close); hundreds is normal.
    setMaxListeners(0, this.#abort.signal);
    this.#agent = new Agent({
      connect: { timeout: options.attemptTimeoutMs },
      headersTimeout: options.attemptTimeoutMs,
      bodyTimeout: options.attemptTimeoutMs,
    });
  }

  /** Sends the notices of one charge in order, after `initialDelayMs`. Returns at once. */
  send(chargeIndex: number, noticeUrl: string, notices: readonly NoticeToSend[], initialDelayMs = 0): void {
    if (noticeUrl === '' || notices.length === 0 || this.#abort.signal.aborted) return;
    const run = this.#deliverAll(chargeIndex, noticeUrl, notices, initialDelayMs).catch((error: unknown) => {
      if (!(error instanceof SandboxClosedError)) {
        this.#options.logger?.error({ err: error, chargeIndex }, 'notice delivery crashed');
      }
    });
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  /** Resolves when every notice sent so far has been delivered or given up (for tests and demos). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#running]);
    await this.#agent.close().catch(() => {});
  }

  async #deliverAll(chargeIndex: number, noticeUrl: string, notices: readonly NoticeToSend[], initialDelayMs: number): Promise<void> {
    await this.#options.timers.sleep(initialDelayMs);
    for (const notice of notices) await this.#deliver(chargeIndex, noticeUrl, notice);
  }

  async #deliver(chargeIndex: number, noticeUrl: string, notice: NoticeToSend): Promise<void> {
    const { ledger, timers, retryDelaysMs, logger } = this.#options;
    const status = notice.fields.find(([name]) => name === 'payment_status') ?? notice.fields.find(([name]) => name === 'push_status');
    const paymentStatus = Number(status?.[1] ?? 0);
    for (const [position, delay] of retryDelaysMs.entries()) {
      await timers.sleep(delay);
      const at = Date.now();
      const answer = await this.#post(noticeUrl, notice.body ? notice.body(at) : noticeXml(notice.fields, at));
      if (this.#abort.signal.aborted) throw new SandboxClosedError();
      const attempt = position + 1;
      ledger.recordDelivery(chargeIndex, { at, kind: notice.kind, paymentStatus, attempt, ...answer });
      const charge = ledger.get(chargeIndex);
      logger?.info(
        { orderNumber: charge.orderNumber, paymentId: charge.paymentId, kind: notice.kind, attempt, httpStatus: answer.httpStatus, acknowledged: answer.acknowledged },
        answer.acknowledged ? 'notice acknowledged' : 'notice not acknowledged',
      );
      if (answer.acknowledged) return;
    }
  }

  async #post(url: string, body: string): Promise<{ httpStatus: number; acknowledged: boolean }> {
    try {
      const response = await request(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/xml; charset=utf-8' },
        dispatcher: this.#agent,
        // The agent's connect, headers and body timeouts bound each attempt; this signal only stops them on close.
        signal: this.#abort.signal,
      });
      const text = await readCapped(response.body, MAX_ANSWER_BYTES);
      const ok = response.statusCode >= 200 && response.statusCode <= 299;
      return { httpStatus: response.statusCode, acknowledged: ok && text === NOTICE_ACKNOWLEDGEMENT };
    } catch {
      return { httpStatus: 0, acknowledged: false };
    }
  }
}

async function readCapped(body: AsyncIterable<unknown> & { destroy(): unknown }, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    chunks.push(buffer);
    if (size > maxBytes) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
