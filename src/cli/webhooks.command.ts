/** `rebill webhooks add|list|remove|deliveries|replay`: where signed events go, and how they went. */
import type { WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint } from '../db/database.ts';
import { NotFoundError } from '../lib/errors.ts';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/catalogue.ts';
import { replayDelivery } from '../webhooks/deliver.ts';
import { addEndpoint, listEndpoints, removeEndpoint } from '../webhooks/endpoints.repo.ts';
import { EXIT_OK, UsageError, optional, printJson, required, wholeNumber, type Command, type Parsed } from './command.ts';
import { table } from './present.ts';

const SUBCOMMANDS = ['add', 'list', 'remove', 'deliveries', 'replay'] as const;
const DELIVERY_STATUSES: readonly WebhookDeliveryStatus[] = ['pending', 'delivered', 'failed'];

function endpointJson(row: WebhookEndpoint) {
  return { id: row.id, url: row.url, events: row.event_types.includes('*') ? ['all'] : row.event_types, created_at: row.created_at.toISOString(), removed_at: row.removed_at?.toISOString() ?? null };
}

function deliveryJson(row: WebhookDelivery) {
  return {
    id: row.id,
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    type: row.type,
    subscription_id: row.subscription_id,
    sequence: row.sequence,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    last_status: row.last_status,
    last_error: row.last_error,
    delivered_at: row.delivered_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

function idArgument(args: Parsed, what: string): number {
  const text = args.positionals[1];
  if (text === undefined || !/^\d{1,15}$/.test(text)) throw new UsageError(`give the ${what} id as a number, e.g. rebill webhooks ${args.positionals[0]} 3${text === undefined ? '' : ` (got "${text}")`}`);
  return Number(text);
}

export const webhooksCommand: Command = {
  name: 'webhooks',
  summary: "Send signed events to your app: add, list, remove endpoints; see and replay deliveries",
  help: `Usage: rebill webhooks add --url URL --events TYPES [--json]
       rebill webhooks list [--json]
       rebill webhooks remove ENDPOINT_ID [--json]
       rebill webhooks deliveries [--endpoint ID] [--status S] [--limit N] [--json]
       rebill webhooks replay DELIVERY_ID [--json]

add          sends the events named to URL (https://; plain http:// only to this machine) and
             prints the endpoint's signing secret ONCE: your app verifies every delivery's
             Rebill-Signature header with it (see the README).
list         the endpoints, without their secrets.
remove       stops sending to an endpoint; deliveries still waiting for it are not sent.
deliveries   what was sent where, newest first: status (pending, delivered, failed), tries,
             the receiver's last answer.
replay       sends a delivery again from the start (e.g. one given up after 3 days), with the
             same event id and sequence number.

Event types (or "all", which includes types added later):
  ${WEBHOOK_EVENT_TYPES.join('\n  ')}

Options:
  --url URL        where to POST events
  --events TYPES   "all" or a comma-separated list of the types above
  --endpoint ID    only deliveries to this endpoint
  --status S       ${DELIVERY_STATUSES.join(' | ')}
  --limit N        at most N deliveries (default 50)
  --json           print JSON
Examples:
  rebill webhooks add --url https://shop.example/hooks/rebill --events all
  rebill webhooks add --url https://shop.example/hooks/access --events subscription.activated,subscription.canceled
  rebill webhooks deliveries --status failed
  rebill webhooks replay 42
`,
  options: { url: { type: 'string' }, events: { type: 'string' }, endpoint: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' } },
  positionals: { min: 1, max: 2 },
  async run(args, ctx) {
    const sub = args.positionals[0]!;
    if (!SUBCOMMANDS.includes(sub as (typeof SUBCOMMANDS)[number])) throw new UsageError(`"${sub}" is not one of ${SUBCOMMANDS.join(', ')}`);
    const now = ctx.clock().now();
    if (sub === 'add') {
      const url = required(args, 'url');
      const events = required(args, 'events');
      const endpoint = await ctx.withDatabase(({ db }) => addEndpoint(db, url, events, now));
      if (args.json) printJson(ctx.stdout, { ...endpointJson(endpoint), secret: endpoint.secret });
      else {
        ctx.stdout.write(
          `Webhook endpoint ${endpoint.id} added: ${endpoint.url}\nEvents: ${endpointJson(endpoint).events.join(', ')}\n\n` +
            `Its signing secret is shown only now; store it with your app:\n\n  ${endpoint.secret}\n`,
        );
      }
      return EXIT_OK;
    }
    if (sub === 'list') {
      const rows = await ctx.withDatabase(({ db }) => listEndpoints(db));
      if (args.json) printJson(ctx.stdout, rows.map(endpointJson));
      else if (!rows.length) ctx.stdout.write('No webhook endpoints yet: rebill webhooks add --url https://shop.example/hooks --events all\n');
      else ctx.stdout.write(table(['ID', 'URL', 'EVENTS', 'CREATED', 'REMOVED'], rows.map((r) => { const j = endpointJson(r); return [j.id, j.url, j.events.join(','), j.created_at, j.removed_at]; })));
      return EXIT_OK;
    }
    if (sub === 'remove') {
      const id = idArgument(args, 'endpoint');
      const removed = await ctx.withDatabase(({ db }) => removeEndpoint(db, id, now));
      if (args.json) printJson(ctx.stdout, endpointJson(removed));
      else ctx.stdout.write(`Webhook endpoint ${removed.id} removed: nothing more is sent to ${removed.url}.\n`);
      return EXIT_OK;
    }
    if (sub === 'replay') {
      const id = idArgument(args, 'delivery');
      const replayed = await ctx.withDatabase(({ db }) => replayDelivery(db, id, now));
      if (!replayed) throw new NotFoundError(`no webhook delivery ${id} (rebill webhooks deliveries lists them)`);
      if (args.json) printJson(ctx.stdout, deliveryJson(replayed));
      else ctx.stdout.write(`Delivery ${replayed.id} (${replayed.type}, event ${replayed.event_id}) will be sent again by the worker.\n`);
      return EXIT_OK;
    }
    const status = optional(args, 'status');
    if (status !== undefined && !DELIVERY_STATUSES.includes(status as WebhookDeliveryStatus)) throw new UsageError(`--status must be one of ${DELIVERY_STATUSES.join(', ')}, got "${status}"`);
    const endpointId = args.values.endpoint === undefined ? undefined : wholeNumber(args, 'endpoint', 0, 1);
    const limit = wholeNumber(args, 'limit', 50, 1, 10_000);
    const rows = await ctx.withDatabase(async ({ db }) => {
      let query = db.selectFrom('webhook_deliveries').selectAll();
      if (status) query = query.where('status', '=', status as WebhookDeliveryStatus);
      if (endpointId !== undefined) query = query.where('endpoint_id', '=', endpointId);
      return query.orderBy('id', 'desc').limit(limit).execute();
    });
    if (args.json) printJson(ctx.stdout, rows.map(deliveryJson));
    else if (!rows.length) ctx.stdout.write('No deliveries match.\n');
    else {
      ctx.stdout.write(
        table(
          ['ID', 'ENDPOINT', 'TYPE', 'SUBSCRIPTION', 'SEQ', 'STATUS', 'TRIES', 'LAST ANSWER'],
          rows.map((r) => [r.id, r.endpoint_id, r.type, r.subscription_id, r.sequence, r.status, r.attempts, r.last_error ?? (r.last_status === null ? null : String(r.last_status))]),
        ),
      );
    }
    return EXIT_OK;
  },
};
