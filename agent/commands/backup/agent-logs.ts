/**
 * Agent logs in the SET (SPEC §4.2 step 8, issue 16 item 6): the job's own log, and the CommServe's rotated
 * ("non-active") log files from `AgentLogDirectory`, each listed in the manifest with role `log` and its SHA-256.
 * Together they never exceed `AgentLogMaxBytes`. Recovery restores them only when asked (they are not part of any
 * restore by default: filter on `role === 'log'`).
 *
 * - The job log ({@link JobLog}) keeps every line the job logs at `info` and above — whatever the console's level —
 *   as JSON lines (secrets redacted as on the console), from the job's start up to the moment the SET files are
 *   streamed; it is written into the SET as {@link JOB_LOG_FILE}.
 * - Rotated logs ({@link collectRotatedLogs}): regular files of `AgentLogDirectory` (not its sub-folders) whose name
 *   shows they were rolled over — `CVD_1.log`, `CVD.log.1`, `CVD.1.log`, or compressed `*.gz|*.bz2|*.zip|*.7z` — the
 *   active logs (`CVD.log`) are being written and are never taken. Newest first while they fit the budget; the rest
 *   are skipped and the job says how many. Each is copied into the SET as `log.<name>`.
 */
import { copyFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { JobEvent } from '#core/manifest';
import { REDACTED_PATHS } from '#agent/log';
import type { SetFile } from './set-files';

/** Name of the job's own log in a SET. */
export const JOB_LOG_FILE = 'commserve-dr-job.log';

/** Prefix of a CommServe log copied into a SET (`log.CVD_1.log`): never collides with the SET's own files. */
export const AGENT_LOG_PREFIX = 'log.';

/** Whether a log file name is a rolled-over (non-active) log. */
export function isRotatedLogName(name: string): boolean {
  return /_\d+\.log$/i.test(name) || /\.log\.\d+$/i.test(name) || /\.\d+\.log$/i.test(name) || /\.(gz|bz2|zip|7z)$/i.test(name);
}

/** Words of the job log kept in memory until they are written into the SET: at most `maxBytes` (the rest is counted). */
export class JobLog {
  private readonly lines: string[] = [];
  private bytes = 0;
  private dropped = 0;
  /** The logger that writes both to the job's logger and to this log. */
  readonly logger: Logger;

  private readonly maxBytes: number;

  /** @param maxBytes bound of the file {@link writeTo} writes (its closing line included). */
  constructor(console: Logger, maxBytes: number) {
    this.maxBytes = Math.max(0, maxBytes - 256); // room for the closing "lines not kept" line
    const file = pino(
      { level: 'info', base: { app: 'commserve-dr' }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
      { write: (line: string) => this.keep(line) },
    );
    this.logger = teeLogger(console, file);
  }

  private keep(line: string): void {
    const size = Buffer.byteLength(line);
    if (this.bytes + size > this.maxBytes) {
      this.dropped += 1;
      return;
    }
    this.lines.push(line);
    this.bytes += size;
  }

  /** Bytes kept so far. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Writes the lines so far into `path` (one JSON object per line; a last line says how many did not fit).
   * @returns bytes written.
   */
  writeTo(path: string): number {
    const tail = this.dropped > 0 ? `${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: `${this.dropped} later line(s) not kept: AgentLogMaxBytes reached` })}\n` : '';
    const text = this.lines.join('') + tail;
    writeFileSync(path, text);
    return Buffer.byteLength(text);
  }
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** A logger whose level methods log to both `a` and `b` (children, flush and the rest are `a`'s). */
function teeLogger(a: Logger, b: Logger): Logger {
  return new Proxy(a, {
    get(target, prop, receiver) {
      if ((LEVELS as readonly (string | symbol)[]).includes(prop)) {
        const level = prop as (typeof LEVELS)[number];
        return (...args: unknown[]) => {
          (b[level] as (...a: unknown[]) => void)(...args);
          (target[level] as (...a: unknown[]) => void)(...args);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

/** What {@link collectRotatedLogs} copied into the SET. */
export interface CollectedLogs {
  files: SetFile[];
  events: JobEvent[];
  bytes: number;
}

function event(level: JobEvent['level'], code: string, message: string): JobEvent {
  return { time: new Date().toISOString(), level, code, message };
}

/**
 * Copies the rotated logs of `dir` into `setDir` (newest first) while the total stays within `budgetBytes`.
 * An absent directory or an unreadable file is noted (a warning), never fails the job; a failure to write into
 * the SET (destination full) is thrown, as for any SET file.
 * @param dir `AgentLogDirectory`, or null (nothing collected).
 * @param budgetBytes bytes the rotated logs may take (what `AgentLogMaxBytes` leaves after the job log).
 * @param limitBytes `AgentLogMaxBytes` itself, for the message.
 */
export function collectRotatedLogs(dir: string | null, setDir: string, budgetBytes: number, limitBytes = budgetBytes): CollectedLogs {
  const out: CollectedLogs = { files: [], events: [], bytes: 0 };
  if (!dir) return out;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    out.events.push(event('warning', 'AGENT_LOGS_ABSENT', `AgentLogDirectory ${dir} is not a directory: no CommServe logs in the SET`));
    return out;
  }
  const candidates = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && isRotatedLogName(e.name))
    .map((e) => ({ name: e.name, stat: statSync(join(dir, e.name)) }))
    .sort((x, y) => y.stat.mtimeMs - x.stat.mtimeMs || x.name.localeCompare(y.name));
  const skipped: string[] = [];
  for (const c of candidates) {
    if (out.bytes + c.stat.size > budgetBytes) {
      skipped.push(c.name);
      continue;
    }
    const name = `${AGENT_LOG_PREFIX}${c.name}`;
    try {
      copyFileSync(join(dir, c.name), join(setDir, name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'EBUSY') {
        out.events.push(event('warning', 'AGENT_LOG_UNREADABLE', `CommServe log ${join(dir, c.name)} not copied: ${(error as Error).message}`));
        continue;
      }
      throw error;
    }
    out.files.push({ name, role: 'log' });
    out.bytes += c.stat.size;
  }
  if (skipped.length > 0) {
    out.events.push(
      event('warning', 'AGENT_LOGS_TRUNCATED', `${skipped.length} older rotated log(s) of ${dir} not in the SET: AgentLogMaxBytes (${limitBytes} bytes, the job log included) reached (e.g. ${skipped.slice(0, 3).join(', ')})`),
    );
  }
  if (out.files.length > 0) out.events.push(event('info', 'AGENT_LOGS_COLLECTED', `${out.files.length} rotated CommServe log(s) from ${dir} in the SET (${out.bytes} bytes)`));
  return out;
}
