import { parseDurationList } from '../lib/durations.ts';
import { createLogger } from '../lib/logger.ts';
import { sandboxOptionsFromEnv, startSandbox } from '../payments/providers/oceanpayment/sandbox/index.ts';
import { EXIT_OK, UsageError, optional, wholeNumber, type Command } from './command.ts';

export const sandboxCommand: Command = {
  name: 'sandbox',
  summary: 'Run the Oceanpayment sandbox gateway on its own',
  help: `Usage: rebill sandbox [--port N] [--latency-ms L] [--notice-retry-delays LIST] [--seed S]

Runs the gateway sandbox (the one the worker starts by itself when no account is configured)
as a separate process, until Ctrl-C. It uses OCEANPAYMENT_ACCOUNT, OCEANPAYMENT_TERMINAL and
OCEANPAYMENT_SECURE_CODE like the worker (the documentation's sample values when unset), so a
worker pointed at it with OCEANPAYMENT_GATEWAY_URL talks to it. Faults can be changed while it
runs with POST /sandbox/faults; the ledger is at GET /sandbox/ledger and /sandbox/ledger/summary.

Options:
  --port N                     port to listen on (default REBILL_SANDBOX_PORT, 8081)
  --host H                     address to listen on (default 127.0.0.1)
  --latency-ms L               added to every charge and query answer (default 0)
  --notice-retry-delays LIST   delays of the 5 notice attempts (default 0s,1m,5m,30m,2h)
  --seed S                     seed for random faults, so runs repeat
Example:
  rebill sandbox --port 9000 --latency-ms 200
  OCEANPAYMENT_GATEWAY_URL=http://127.0.0.1:9000 npm start
`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'latency-ms': { type: 'string' },
    'notice-retry-delays': { type: 'string' },
    seed: { type: 'string' },
  },
  async run(args, ctx) {
    const port = wholeNumber(args, 'port', Number(ctx.env.REBILL_SANDBOX_PORT ?? 8081), 0, 65535);
    const latencyMs = wholeNumber(args, 'latency-ms', 0, 0, 600_000);
    const delaysText = optional(args, 'notice-retry-delays');
    const noticeRetryDelaysMs = delaysText === undefined ? undefined : parseDurationList(delaysText);
    if (noticeRetryDelaysMs === null || (noticeRetryDelaysMs && noticeRetryDelaysMs.length > 5)) {
      throw new UsageError(`--notice-retry-delays must be at most 5 durations such as 0s,1m,5m, got "${delaysText}"`);
    }
    const seed = optional(args, 'seed');
    const logger = createLogger({ level: ctx.env.LOG_LEVEL ?? 'info', name: 'rebill-sandbox' });
    const sandbox = await startSandbox({
      ...sandboxOptionsFromEnv(ctx.env),
      port,
      host: optional(args, 'host') ?? '127.0.0.1',
      latencyMs,
      ...(noticeRetryDelaysMs ? { noticeRetryDelaysMs } : {}),
      ...(seed !== undefined ? { seed } : {}),
      logger,
    });
    ctx.stdout.write(`Oceanpayment sandbox listening on ${sandbox.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void sandbox.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return EXIT_OK;
  },
};
