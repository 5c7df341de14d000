import { pino, symbols, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

const CENSOR = '[redacted]';

/**
 * The root logger. Two layers keep secrets out of log lines:
 * - redaction of the paths where credentials live (signature and authorization headers, `*.secret`,
 *   `*.token`), so a request object logged by mistake leaks nothing (pino docs/redaction.md);
 * - a scrub of every finished line against the secret values the receiver holds (`secrets`: webhook
 *   secrets, NetBox/AWX tokens, the notify token, API tokens), so no object — an HTTP client's error
 *   with its request options, a nested header, a message that quotes one — can carry one out,
 *   whatever its shape. The scrub also covers each secret's JSON-escaped and Base64 (HTTP Basic) forms.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, secrets: readonly string[] = []): Logger {
  const scrub = secretScrubber(secrets);
  return pino(
    {
      level,
      base: { service: 'unicop-receiver' },
      redact: {
        paths: ['headers["x-hook-signature"]', 'headers.authorization', 'req.headers["x-hook-signature"]', 'req.headers.authorization', '*.secret', '*.token'],
        censor: CENSOR,
      },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(scrub && { hooks: { streamWrite: scrub } }),
    },
    destination as DestinationStream | undefined,
  );
}

/** Replaces every form of every secret in a finished log line; null when there is nothing to hide. */
export function secretScrubber(secrets: readonly string[]): ((line: string) => string) | null {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    // `Basic base64(user:secret)` does not contain base64(secret) at a fixed offset; the three
    // alignments of the secret inside any Base64 text cover it wherever it sits.
    for (let pad = 0; pad < 3; pad++) {
      const encoded = Buffer.from('\0'.repeat(pad) + secret).toString('base64');
      const stable = encoded.slice(Math.ceil((pad * 4) / 3) + 1, -4);
      if (stable.length >= 8) forms.add(stable);
    }
  }
  if (forms.size === 0) return null;
  const pattern = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  );
  return (line) => line.replace(pattern, CENSOR);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Writes finished log lines (another thread's, already redacted) to `log`'s own destination, so that
 * they land where this thread's lines do (stdout, or the stream a test gave).
 */
export function lineWriter(log: Logger): (line: string) => void {
  const stream = Reflect.get(log, symbols.streamSym) as { write(line: string): unknown };
  return (line) => void stream.write(line);
}
