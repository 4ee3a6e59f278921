/** `rebill api-key create|list|revoke`: keys for the HTTP API. */
import { createApiKey, listApiKeys, revokeApiKey } from '../api/api-keys.ts';
import type { ApiKey } from '../db/database.ts';
import { EXIT_OK, UsageError, printJson, required, type Command } from './command.ts';
import { table } from './present.ts';

const SUBCOMMANDS = ['create', 'list', 'revoke'] as const;

function keyJson(row: ApiKey) {
  return {
    name: row.name,
    prefix: `rbk_${row.lookup_id}`,
    read_only: row.read_only,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
  };
}

export const apiKeyCommand: Command = {
  name: 'api-key',
  summary: 'Create, list and revoke keys for the HTTP API',
  help: `Usage: rebill api-key create --name NAME [--read-only] [--json]
       rebill api-key list [--json]
       rebill api-key revoke NAME [--json]

create   makes a key for your shop's app and prints it ONCE: only a hash of it is kept, so
         store it in your app's secrets now. Changes made with it are recorded in the event
         log as "api:NAME". A --read-only key can read everything and change nothing.
list     shows every key: name, prefix, read-only, created, last used, revoked.
revoke   refuses the named key from its next request on (a new key may reuse the name).

Options:
  --name NAME     1 to 50 characters: letters, digits and . _ -
  --read-only     the key can only read (GET)
  --json          print JSON
Examples:
  rebill api-key create --name shop
  rebill api-key create --name reports --read-only
  rebill api-key revoke shop
`,
  options: { name: { type: 'string' }, 'read-only': { type: 'boolean' } },
  positionals: { min: 1, max: 2 },
  async run(args, ctx) {
    const [sub, name] = args.positionals;
    if (!SUBCOMMANDS.includes(sub as (typeof SUBCOMMANDS)[number])) throw new UsageError(`"${sub}" is not one of ${SUBCOMMANDS.join(', ')}`);
    const now = ctx.clock().now();
    if (sub === 'create') {
      if (name !== undefined) throw new UsageError('give the name as --name NAME');
      const keyName = required(args, 'name');
      const created = await ctx.withDatabase(({ db }) => createApiKey(db, keyName, args.values['read-only'] === true, now));
      if (args.json) printJson(ctx.stdout, { ...keyJson(created.row), key: created.key });
      else {
        ctx.stdout.write(
          `API key "${created.row.name}"${created.row.read_only ? ' (read-only)' : ''} created. It is shown only now; store it in your app's secrets:\n\n  ${created.key}\n\n` +
            'Send it as "Authorization: Bearer <key>" to /api/v1 on the worker.\n',
        );
      }
      return EXIT_OK;
    }
    if (args.values.name !== undefined || args.values['read-only'] !== undefined) throw new UsageError(`--name and --read-only are options of "create", not "${sub}"`);
    if (sub === 'list') {
      if (name !== undefined) throw new UsageError('list takes no name');
      const rows = await ctx.withDatabase(({ db }) => listApiKeys(db));
      if (args.json) printJson(ctx.stdout, rows.map(keyJson));
      else if (!rows.length) ctx.stdout.write('No API keys yet: rebill api-key create --name shop\n');
      else {
        ctx.stdout.write(
          table(
            ['NAME', 'PREFIX', 'ACCESS', 'CREATED', 'LAST USED', 'REVOKED'],
            rows.map((r) => {
              const json = keyJson(r);
              return [json.name, json.prefix, r.read_only ? 'read-only' : 'read-write', json.created_at, json.last_used_at, json.revoked_at];
            }),
          ),
        );
      }
      return EXIT_OK;
    }
    if (name === undefined) throw new UsageError('name the key to revoke: rebill api-key revoke NAME');
    const revoked = await ctx.withDatabase(({ db }) => revokeApiKey(db, name, now));
    if (args.json) printJson(ctx.stdout, keyJson(revoked));
    else ctx.stdout.write(`API key "${revoked.name}" revoked: its next request is refused.\n`);
    return EXIT_OK;
  },
};
