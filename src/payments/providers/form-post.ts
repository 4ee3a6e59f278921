/**
 * One form POST to a provider's gateway (every provider here speaks form-encoded requests), with every way it can go wrong turned into a sentence: the
 * callers decide what a failure means (for a charge, always "outcome unknown").
 */
import { request } from 'undici';
import type { Dispatcher } from 'undici';

export type PostResult =
  | { ok: true; status: number; body: Buffer }
  /** `reachedGateway` is false only when no connection was ever made (nothing was sent). */
  | { ok: false; reason: string; reachedGateway: boolean };

export interface PostFormOptions {
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** What the gateway answers in (default XML, as Oceanpayment does). */
  readonly accept?: string;
}

export async function postForm(
  url: string,
  fields: ReadonlyArray<readonly [string, string]>,
  options: PostFormOptions,
): Promise<PostResult> {
  const body = new URLSearchParams(fields.map(([name, value]): [string, string] => [name, value])).toString();
  return post(url, body, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: options.accept ?? 'application/xml, text/xml' }, options);
}

/** One JSON POST (Oceanpayment's QuickPay API), with `headers` besides the content type. */
export async function postJson(url: string, value: unknown, headers: Readonly<Record<string, string>>, options: PostFormOptions): Promise<PostResult> {
  return post(url, JSON.stringify(value), { ...headers, 'content-type': 'application/json', accept: 'application/json' }, options);
}

async function post(url: string, body: string, headers: Record<string, string>, options: PostFormOptions): Promise<PostResult> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: 'POST',
      body,
      headers,
      dispatcher: options.dispatcher,
      signal: AbortSignal.timeout(options.timeoutMs),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  } catch (error) {
    return { ok: false, reason: describeNetworkError(error, options.timeoutMs, 'before it answered'), reachedGateway: !isConnectFailure(error) };
  }
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > options.maxResponseBytes) {
    response.body.destroy();
    return { ok: false, reason: `the answer is ${declared} bytes, more than the ${options.maxResponseBytes}-byte limit`, reachedGateway: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > options.maxResponseBytes) {
        response.body.destroy();
        return { ok: false, reason: `the answer is more than the ${options.maxResponseBytes}-byte limit`, reachedGateway: true };
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    return { ok: false, reason: describeNetworkError(error, options.timeoutMs, 'while sending its answer'), reachedGateway: true };
  }
  return { ok: true, status: response.statusCode, body: Buffer.concat(chunks) };
}

/** A reason a person understands, from undici's and Node's error codes. */
export function describeNetworkError(error: unknown, timeoutMs: number, when: string): string {
  const code = errorCode(error);
  const name = error instanceof Error ? error.name : '';
  if (
    name === 'TimeoutError' || name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_ABORTED'
  ) {
    return `no complete answer within ${timeoutMs} ms (timed out ${when})`;
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'could not connect to the gateway (connection timed out)';
  if (code === 'ECONNREFUSED') return 'could not connect to the gateway (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'could not resolve the gateway host name';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return `the connection was closed ${when}`;
  const message = error instanceof Error ? error.message : String(error);
  return `network error ${when}: ${code ? `${code} ` : ''}${message}`;
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function isConnectFailure(error: unknown): boolean {
  return CONNECT_FAILURES.has(errorCode(error));
}

function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (error as { cause?: unknown }).cause;
  return cause === error ? '' : errorCode(cause);
}
