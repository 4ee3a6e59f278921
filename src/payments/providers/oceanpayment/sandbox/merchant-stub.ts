/**
 * A stand-in for the merchant's side of the gateway, for demos and tests: it records what the
 * sandbox sends to noticeUrl (`/notice`) and what a browser posts to backUrl (`/return`), and
 * answers notices with `receive-ok` unless told otherwise.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, send } from './http-util.ts';

export interface ReceivedRequest {
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
  readonly at: number;
}

export interface MerchantStub {
  readonly url: string;
  readonly noticeUrl: string;
  readonly backUrl: string;
  readonly received: readonly ReceivedRequest[];
  /** Resolves with the requests to `path` once `count` have arrived; rejects after `timeoutMs`. */
  waitFor(path: '/notice' | '/return', count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export interface MerchantStubOptions {
  /** The body to answer the n-th notice with (n counts from 1); `receive-ok` by default. */
  readonly noticeReply?: (attempt: number, body: string) => string;
}

const MAX_BODY_BYTES = 256 * 1024;

export async function startMerchantStub(options: MerchantStubOptions = {}): Promise<MerchantStub> {
  const received: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  let notices = 0;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://merchant.invalid').pathname;
    void readBody(request, MAX_BODY_BYTES).then(
      (result) => {
        if (!result.ok) return send(response, 413, 'text/plain', 'too large');
        const body = result.body.toString('utf8');
        received.push({ path, contentType: String(request.headers['content-type'] ?? ''), body, at: Date.now() });
        for (const wake of waiters) wake();
        if (path === '/notice') {
          notices += 1;
          return send(response, 200, 'text/plain', options.noticeReply?.(notices, body) ?? 'receive-ok');
        }
        return send(response, 200, 'text/html; charset=utf-8', '<p>Thank you.</p>');
      },
      () => response.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    noticeUrl: `${url}/notice`,
    backUrl: `${url}/return`,
    received,
    waitFor(path, count, timeoutMs = 5_000) {
      const matching = () => received.filter((item) => item.path === path);
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = matching();
          if (found.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} request(s) to ${path} within ${timeoutMs} ms, got ${matching().length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
