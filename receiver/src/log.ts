import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The root logger. Signature and credential headers are redacted wherever they appear, so a
 * request object logged by mistake still leaks no secret (pino docs/redaction.md).
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'unicop-receiver' },
      redact: {
        paths: [
          'headers["x-hook-signature"]',
          'headers.authorization',
          'req.headers["x-hook-signature"]',
          'req.headers.authorization',
          '*.secret',
          '*.token',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as DestinationStream | undefined,
  );
}
