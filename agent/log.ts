/**
 * Logging: pino, always to stderr (stdout carries results). On a terminal, one readable line per
 * entry (pino-pretty, no colour); JSON lines when stderr is not a terminal or with `--log-format json`.
 * Level: `info` with `-v`… `debug`; `warn` otherwise. Secrets are redacted whatever object is logged.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { Writable } from 'node:stream';

/** `pretty` (human lines) or `json`. */
export type LogFormat = 'pretty' | 'json';

/** Keys never written to a log line. */
export const REDACTED_PATHS = ['password', '*.password', 'connectionString', '*.connectionString', 'secretAccessKey', '*.secretAccessKey', 'taskToken', '*.taskToken'];

/**
 * Creates the agent's logger.
 * @param options.format default: `pretty` when stderr is a TTY, else `json`.
 * @param options.write where the lines go (default: file descriptor 2, synchronously).
 */
export function createLogger(options: { verbose?: boolean; level?: pino.LevelWithSilent; format?: LogFormat; write?: (text: string) => void } = {}): Logger {
  const level = options.level ?? (options.verbose ? 'debug' : 'warn');
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const config: pino.LoggerOptions = {
    level,
    base: { app: 'commserve-dr' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const write = options.write;
  if (format === 'pretty') {
    const destination = write ? new Writable({ write: (chunk: Buffer, _encoding, done) => (write(chunk.toString('utf8')), done()) }) : 2;
    return pino(config, pretty({ destination, sync: true, colorize: false, ignore: 'pid,hostname,app', translateTime: 'SYS:HH:MM:ss' }));
  }
  return pino(config, write ? { write } : pino.destination({ dest: 2, sync: true }));
}
