/** Where webhooks go: endpoints added by the operator, each with its own signing secret. */
import { isIP } from 'node:net';
import type { DbOrTx } from '../db/connect.ts';
import type { WebhookEndpoint } from '../db/database.ts';
import { NotFoundError, ValidationError } from '../lib/errors.ts';
import { controlCharacterProblem } from '../lib/printable.ts';
import { WEBHOOK_EVENT_TYPES } from './catalogue.ts';
import { newSigningSecret } from './signature.ts';

/** Plain http only to this machine (a receiver in development or beside the worker). */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export function checkedEndpointUrl(text: string): string {
  const unprintable = controlCharacterProblem('url', text);
  if (unprintable) throw new ValidationError(unprintable);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ValidationError(`url "${text}" is not a URL such as https://shop.example/hooks/rebill`);
  }
  if (url.username || url.password) throw new ValidationError('url must not carry a user or password: the signature proves the sender');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new ValidationError(`url "${text}" must be https:// (plain http:// only to this machine, e.g. http://127.0.0.1:3000/hooks)`);
  }
  return url.toString();
}

/** `all`, or a comma-separated list of event types. */
export function checkedEventTypes(text: string): string[] {
  if (text.trim() === 'all') return ['*'];
  const types = [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
  const unknown = types.filter((t) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(t));
  if (!types.length || unknown.length) {
    throw new ValidationError(`events ${unknown.length ? `"${unknown.join(', ')}" are` : 'is'} not known: give "all" or some of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  }
  return types;
}

export async function addEndpoint(db: DbOrTx, urlText: string, eventsText: string, now: Date): Promise<WebhookEndpoint> {
  const url = checkedEndpointUrl(urlText);
  const eventTypes = checkedEventTypes(eventsText);
  return db.insertInto('webhook_endpoints').values({ url, event_types: eventTypes, secret: newSigningSecret(), created_at: now }).returningAll().executeTakeFirstOrThrow();
}

export function liveEndpoints(db: DbOrTx): Promise<WebhookEndpoint[]> {
  return db.selectFrom('webhook_endpoints').selectAll().where('removed_at', 'is', null).orderBy('id').execute();
}

export function listEndpoints(db: DbOrTx): Promise<WebhookEndpoint[]> {
  return db.selectFrom('webhook_endpoints').selectAll().orderBy('id').execute();
}

/** Stops sending to the endpoint: nothing new is written for it, and what waits is not sent. */
export async function removeEndpoint(db: DbOrTx, id: number, now: Date): Promise<WebhookEndpoint> {
  const row = await db.updateTable('webhook_endpoints').set({ removed_at: now }).where('id', '=', id).where('removed_at', 'is', null).returningAll().executeTakeFirst();
  if (!row) throw new NotFoundError(`no webhook endpoint ${id} is live (rebill webhooks list shows them)`);
  return row;
}
