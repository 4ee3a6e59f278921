/** Reading requests and writing answers for the sandbox's plain node:http server. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_REQUEST_BYTES = 64 * 1024;
/** Past this much discarded body the connection is simply closed. */
const MAX_DISCARDED_BYTES = 32 * 1024 * 1024;

export type BodyResult = { ok: true; body: Buffer } | { ok: false; size: number };

/**
 * Reads a body up to `maxBytes`. A larger one is read to its end and thrown away (so the client
 * can read the 413 that follows) unless it is absurdly large, in which case the socket is closed.
 */
export function readBody(request: IncomingMessage, maxBytes = MAX_REQUEST_BYTES): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (size > MAX_DISCARDED_BYTES) request.destroy();
    });
    request.on('end', () => resolve(size <= maxBytes ? { ok: true, body: Buffer.concat(chunks) } : { ok: false, size }));
    request.on('error', reject);
    request.on('close', () => {
      if (!request.complete) reject(new Error('request closed before its body was complete'));
    });
  });
}

/** A form body as a record of first values; a null prototype so no field name can reach Object.prototype. */
export function parseForm(body: Buffer): Record<string, string> {
  const form = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    if (!Object.hasOwn(form, name)) form[name] = value;
  }
  return form;
}

export function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body, 'utf8'),
    'cache-control': 'no-store',
  });
  response.end(body);
}

export const sendXml = (response: ServerResponse, body: string, status = 200): void =>
  send(response, status, 'text/xml; charset=utf-8', body);
export const sendHtml = (response: ServerResponse, status: number, body: string): void =>
  send(response, status, 'text/html; charset=utf-8', body);
export const sendText = (response: ServerResponse, status: number, body: string): void =>
  send(response, status, 'text/plain; charset=utf-8', `${body}\n`);
export const sendJson = (response: ServerResponse, status: number, value: unknown): void =>
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`);
