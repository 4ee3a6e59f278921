import { createLogger } from '../lib/logger.ts';
import { startWorker } from '../worker/worker.ts';
import { EXIT_OK, type Command } from './command.ts';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Run the renewal worker (what `npm start` runs)',
  help: `Usage: rebill worker

Runs until SIGTERM or SIGINT: migrates the database, renews due subscriptions, reconciles the
gateway's notices and serves HTTP on REBILL_PORT (GET /healthz). Logs are JSON lines on stdout.
Configuration comes from the environment (see the README).
`,
  options: {},
  async run(_args, ctx) {
    const config = ctx.config();
    const logger = createLogger({ level: config.logLevel, name: 'rebill-worker' });
    const worker = await startWorker(config, logger);
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        worker.stop(signal).then(resolve, (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve();
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    return EXIT_OK;
  },
};
