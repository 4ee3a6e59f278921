/** JSON-lines logs (pino). Secrets and message bodies never reach a log line. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level: string; name?: string; toStderr?: boolean }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.name ?? 'rebill' },
      redact: { paths: ['secureCode', '*.secureCode', 'signValue', '*.signValue', 'body', '*.body'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: options.toStderr ? 2 : 1, sync: true }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
