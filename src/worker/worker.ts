/**
 * `rebill worker`: migrates, serves HTTP (health now; notices, metrics and payment links as they
 * land), and shuts down cleanly on SIGTERM/SIGINT.
 */
import type { Config } from '../config.ts';
import { openDatabase, type OpenedDatabase } from '../deps.ts';
import { sql } from 'kysely';
import { send, startHttpServer, type RunningServer } from '../http/server.ts';
import type { Logger } from '../lib/logger.ts';

export interface RunningWorker {
  readonly port: number;
  stop(reason: string): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const database: OpenedDatabase = await openDatabase(config, logger, { migrate: 'always', applicationName: 'rebill-worker' });
  let http: RunningServer;
  try {
    http = await startHttpServer(
      [
        {
          method: 'GET',
          path: '/healthz',
          handler: async (_req, res) => {
            try {
              await sql`select 1`.execute(database.db);
              send(res, 200, JSON.stringify({ status: 'ok', database: 'ok' }), 'application/json');
            } catch (error) {
              send(res, 503, JSON.stringify({ status: 'unavailable', database: String(error) }), 'application/json');
            }
          },
        },
      ],
      config.http.port,
      logger,
    );
  } catch (error) {
    await database.close();
    throw error;
  }
  logger.info({ port: http.port, embedded_database: database.embedded }, 'worker started');
  let stopping: Promise<void> | null = null;
  return {
    port: http.port,
    stop: (reason) =>
      (stopping ??= (async () => {
        logger.info({ reason }, 'worker stopping');
        await http.close();
        await database.close();
        logger.info('worker stopped');
      })()),
  };
}
