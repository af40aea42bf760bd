/**
 * Logging: pino, always to stderr (stdout carries results). JSON lines; level `info` with `-v`,
 * `warn` otherwise, `silent` in tests unless asked.
 */
import pino, { type Logger } from 'pino';

/** Creates the agent's logger. `verbose` lowers the level to debug. */
export function createLogger(options: { verbose?: boolean; level?: pino.LevelWithSilent } = {}): Logger {
  const level = options.level ?? (options.verbose ? 'debug' : 'warn');
  return pino(
    {
      level,
      base: { app: 'commserve-dr' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Never let a secret reach a log line, whatever object is logged.
      redact: { paths: ['password', '*.password', 'connectionString', '*.connectionString', 'secretAccessKey', '*.secretAccessKey', 'taskToken'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
