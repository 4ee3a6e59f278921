/** Opaque page cursors: the last row's sort key, so a page never repeats or skips a row already there. */
import { InvalidRequest } from './problems.ts';

export interface Cursor {
  /** The creation instant as PostgreSQL keeps it (microseconds); empty when ids alone order the rows. */
  at: string;
  id: string;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string | null): Cursor | null {
  if (text === null) return null;
  try {
    const [at, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    const instant = at === '' || (typeof at === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(at));
    const key = typeof id === 'string' && (/^\d{1,18}$/.test(id) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id));
    if (instant && key) return { at: at as string, id: id as string };
  } catch {
    // reported below
  }
  throw InvalidRequest.of('cursor', `cursor "${text}" is not one this API gave: pass the previous page's next_cursor unchanged`);
}

export function pageLimit(query: URLSearchParams): number {
  const text = query.get('limit');
  if (text === null) return DEFAULT_LIMIT;
  const value = Number(text);
  if (!/^\d{1,3}$/.test(text) || value < 1 || value > MAX_LIMIT) throw InvalidRequest.of('limit', `limit "${text}" must be a whole number from 1 to ${MAX_LIMIT}`);
  return value;
}
