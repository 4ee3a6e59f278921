/** Reading the JSON body of the sandbox's control endpoints. */
import type { IncomingMessage } from 'node:http';
import { MAX_REQUEST_BYTES, readBody } from './http-util.ts';

export type JsonBody = { ok: true; value: Record<string, unknown> } | { ok: false; status: number; error: string };

/** The body as a JSON object, or the status and message to answer with. */
export async function readJsonObject(request: IncomingMessage, example: string): Promise<JsonBody> {
  const body = await readBody(request);
  if (!body.ok) return { ok: false, status: 413, error: `body larger than ${MAX_REQUEST_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(body.body.toString('utf8'));
  } catch {
    return { ok: false, status: 400, error: `body must be a JSON object such as ${example}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, status: 400, error: `body must be a JSON object such as ${example}` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** A string property, '' when absent, or undefined when present with another type. */
export function stringProperty(value: Record<string, unknown>, name: string): string | undefined {
  if (!Object.hasOwn(value, name) || value[name] === undefined) return '';
  const property = value[name];
  return typeof property === 'string' ? property : undefined;
}
