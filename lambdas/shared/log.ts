/**
 * Structured logging of the handlers: one JSON object per line on stdout (CloudWatch Logs).
 * Entries carry keys, sizes and outcomes, never object contents or credentials.
 */

/** A log sink: receives one structured entry. */
export type Log = (entry: Record<string, unknown>) => void;

/** A sink that drops everything (the factories' default, so tests stay quiet). */
export const silentLog: Log = () => undefined;

/** A sink writing `{"time":…,"state":…,…}` lines to stdout for the state `state`. */
export function jsonLog(state: string): Log {
  return (entry) => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), state, ...entry })}\n`);
  };
}
