/**
 * The small query interface the SQL Server engine and restore talk through ({@link SqlSession}), its `mssql`
 * implementation ({@link connectMssql}, one `ConnectionPool` of a single connection), and the mapping of driver
 * failures to DatabaseErrors whose messages name `server:port` and the database only — never the password, the
 * user or a connection string.
 */
import sql from 'mssql';
import { DatabaseError } from '#core/errors';
import { driverSecurity, TLS_FAILURE_HELP, type SqlServerSecuritySettings } from './tls';

/** One message SQL Server sent with a batch: an informational message (severity ≤ 10) or an error. */
export interface SqlMessage {
  /** Message number, e.g. 8928. */
  number: number;
  /** Severity ("class"): ≤ 10 informational, 11–16 user-correctable errors, ≥ 17 resource or system errors. */
  severity: number;
  state: number;
  message: string;
}

/** What one batch returned: its result sets (rows keyed by column name) and its informational messages. */
export interface SqlBatchResult {
  recordsets: Array<Array<Record<string, unknown>>>;
  messages: SqlMessage[];
}

/**
 * A batch failed: every error message SQL Server sent (in order), the informational ones, and the driver's code
 * (`EREQUEST` for a server error; `ECONNCLOSED`/`ESOCKET` when the connection was lost; `ETIMEOUT` for a request timeout).
 */
export class SqlBatchError extends Error {
  constructor(
    readonly errors: SqlMessage[],
    readonly messages: SqlMessage[],
    readonly driverCode: string,
  ) {
    super(errors.length ? errors.map(formatSqlMessage).join(' | ') : `SQL batch failed (${driverCode})`);
    this.name = 'SqlBatchError';
  }
}

/** `Msg 3201, Level 16, State 1: Cannot open backup device …` */
export function formatSqlMessage(m: SqlMessage): string {
  return `Msg ${m.number}, Level ${m.severity}, State ${m.state}: ${m.message}`;
}

/** An open connection to one SQL Server. Batches run one at a time, on one connection, in order. */
export interface SqlSession {
  /**
   * Runs one T-SQL batch.
   * @param options.timeoutMs request timeout of this batch (default the session's long one, for BACKUP/RESTORE/CHECKDB);
   *   short statements pass {@link SHORT_REQUEST_TIMEOUT_MS} or {@link ALTER_REQUEST_TIMEOUT_MS}.
   * @throws SqlBatchError when SQL Server reports an error or the connection fails (`ETIMEOUT` after the timeout).
   */
  execute(batch: string, options?: BatchOptions): Promise<SqlBatchResult>;
  /** Closes the connection. Idempotent. */
  close(): Promise<void>;
}

/** Per-batch options of {@link SqlSession.execute}. */
export interface BatchOptions {
  /** Request timeout in milliseconds. */
  timeoutMs?: number;
}

/** Request timeout of metadata reads (msdb, sys.* views, rights): 60 s. */
export const SHORT_REQUEST_TIMEOUT_MS = 60_000;
/**
 * Request timeout of `ALTER DATABASE … WITH ROLLBACK IMMEDIATE` and other short changes: 10 min — the ALTER itself is
 * quick, but it waits while the sessions it terminates roll back their open transactions.
 */
export const ALTER_REQUEST_TIMEOUT_MS = 10 * 60_000;
/** The long request timeout of BACKUP, RESTORE and DBCC CHECKDB (a large database takes hours): 12 h. */
export const LONG_REQUEST_TIMEOUT_MS = 12 * 3600_000;

/** Where to connect: settings' `server` (`host` or `host\instance`), `port` and `database`. No secret. */
export interface SqlServerTarget {
  server: string;
  port: number;
  database: string;
}

/** What {@link connectMssql} needs beyond the target: the login (the password is only handed to the driver). */
export interface SqlServerLogin {
  user: string;
  password: string;
}

/** Driver options of {@link connectMssql}. */
export interface MssqlOptions {
  /** Fail a connection attempt after this long (default 30 s). */
  connectionTimeoutMs?: number;
  /** Fail a batch after this long (default 12 h: CHECKDB, BACKUP and RESTORE of a large database take hours). */
  requestTimeoutMs?: number;
  /** TLS is always requested; accept a self-signed server certificate (default false). */
  trustServerCertificate?: boolean;
  /** Certificate pinning, server name and authentication mode (see `tls.ts`); `trustServerCertificate` above wins when set. */
  security?: SqlServerSecuritySettings;
}

/** `host:port` or `host\instance` as shown in messages. */
export function targetLabel(target: SqlServerTarget): string {
  return target.server.includes('\\') ? target.server : `${target.server}:${target.port}`;
}

/** Driver codes that mean "the server did not answer" (retried per SPEC §4.2 step 7). */
const UNREACHABLE_CODES = new Set(['ESOCKET', 'ETIMEOUT', 'EINSTLOOKUP', 'ECLOSE', 'ECONNCLOSED', 'ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function why(code: string, text: string): string {
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(text) || code === 'ENOTFOUND') return 'host not found';
  if (code === 'ETIMEOUT' || /timeout|timed out/i.test(text)) return 'no answer within the connection timeout';
  if (code === 'EINSTLOOKUP') return 'the named instance was not found (SQL Server Browser)';
  if (/ECONNREFUSED|Could not connect/i.test(text)) return 'connection refused';
  if (/ECONNRESET|ECONNCLOSED|closed/i.test(text) || code === 'ECONNCLOSED') return 'connection closed by the server';
  return 'network error';
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out.replace(/(password|pwd)\s*=\s*[^;]*/gi, '$1=***');
}

/**
 * Maps a failure to connect (an `mssql` ConnectionError or anything with a driver `code`) to a DatabaseError:
 * `DB_LOGIN_FAILED` (ELOGIN: wrong user/password, or the login cannot open the database — not retried),
 * `DB_TLS_FAILED` (certificate refused — not retried), `DB_UNREACHABLE` (ESOCKET, ETIMEOUT … — retried),
 * `DB_CONNECT_FAILED` otherwise. The message is one line naming `server:port` and the database; the driver's
 * code and (redacted) text go into `context` only, and the driver error is not attached as `cause`.
 */
export function connectionError(error: unknown, target: SqlServerTarget, secrets: readonly string[] = []): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = String((error as { code?: unknown })?.code ?? (error as { originalError?: { code?: unknown } })?.originalError?.code ?? 'ERROR');
  const text = redact(error instanceof Error ? error.message : String(error), secrets);
  const where = `SQL Server ${targetLabel(target)} (database ${target.database})`;
  const context = { server: target.server, port: target.port, database: target.database, driverCode: code, driverMessage: text };
  if (code === 'ELOGIN') {
    return new DatabaseError('DB_LOGIN_FAILED', `login to ${where} failed: check Database.user and its password (passwordEnv / passwordParameter) and that the login may open the database`, { context });
  }
  if (/certificate|self[- ]signed|SSL|TLS|CertificatePinError/i.test(text) && code !== 'ETIMEOUT') {
    return new DatabaseError('DB_TLS_FAILED', `the TLS certificate of ${where} is not trusted: ${TLS_FAILURE_HELP}`, { context });
  }
  if (UNREACHABLE_CODES.has(code)) return new DatabaseError('DB_UNREACHABLE', `${where} is unreachable: ${why(code, text)}`, { context });
  return new DatabaseError('DB_CONNECT_FAILED', `cannot connect to ${where} (${code})`, { context });
}

function toMessage(m: { number?: unknown; class?: unknown; state?: unknown; message?: unknown }): SqlMessage {
  return { number: Number(m.number ?? 0), severity: Number(m.class ?? 0), state: Number(m.state ?? 0), message: String(m.message ?? '') };
}

/** Converts what `mssql` throws for a batch into a {@link SqlBatchError} with every error message in order. */
export function batchError(error: unknown, messages: SqlMessage[]): SqlBatchError {
  if (error instanceof SqlBatchError) return error;
  const e = error as { code?: string; number?: unknown; precedingErrors?: unknown[]; message?: string };
  const code = e?.code ?? 'ERROR';
  const all = [...(Array.isArray(e?.precedingErrors) ? e.precedingErrors : []), error] as Array<{ number?: unknown; message?: string }>;
  const errors = all.filter((x) => x && typeof x.number === 'number' && x.number > 0).map((x) => toMessage(x as never));
  if (errors.length === 0) errors.push({ number: 0, severity: 0, state: 0, message: String(e?.message ?? error) });
  return new SqlBatchError(errors, messages, code);
}

/** mssql's `Request(parent, { requestTimeout })` (a per-request timeout; not in the package's type declarations). */
type RequestWithTimeout = new (pool: sql.ConnectionPool, overrides: { requestTimeout: number }) => sql.Request;

/**
 * Connects with `mssql` (tedious): one `ConnectionPool` of at most one connection, so every batch of a session runs
 * on the same connection in order (a restore's `SINGLE_USER` and `RESTORE` are one batch anyway). TLS requested.
 * `host\instance` servers use the instance name (SQL Server Browser) instead of the port.
 * @throws DatabaseError as {@link connectionError}.
 */
export async function connectMssql(target: SqlServerTarget, login: SqlServerLogin, options: MssqlOptions = {}): Promise<SqlSession> {
  const [host, instanceName] = target.server.split('\\', 2) as [string, string | undefined];
  const security = driverSecurity({ ...options.security, ...(options.trustServerCertificate !== undefined ? { trustServerCertificate: options.trustServerCertificate } : {}) }, login);
  const pool = new sql.ConnectionPool({
    server: host,
    ...(instanceName ? {} : { port: target.port }),
    database: target.database,
    ...(security.authentication ? {} : { user: login.user, password: login.password }),
    ...(security.authentication ? { authentication: security.authentication } : {}),
    ...(security.beforeConnect ? { beforeConnect: security.beforeConnect } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 30_000,
    requestTimeout: options.requestTimeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
    pool: { max: 1, min: 0, idleTimeoutMillis: 60_000 },
    options: {
      ...security.options,
      appName: 'commserve-dr',
      enableArithAbort: true,
      useUTC: true, // dates the engine records are converted to text on the server with their offset (msdb time_zone)
      ...(instanceName ? { instanceName } : {}),
    },
  } as sql.config);
  pool.on('error', () => undefined); // idle-connection errors surface on the next batch
  try {
    await pool.connect();
  } catch (error) {
    await pool.close().catch(() => undefined);
    throw connectionError(error, target, [login.password]);
  }
  let closed = false;
  return {
    async execute(batch: string, batchOptions?: BatchOptions): Promise<SqlBatchResult> {
      const request = batchOptions?.timeoutMs === undefined ? pool.request() : new (sql.Request as unknown as RequestWithTimeout)(pool, { requestTimeout: batchOptions.timeoutMs });
      const messages: SqlMessage[] = [];
      request.on('info', (m: { number?: unknown; class?: unknown; state?: unknown; message?: unknown }) => messages.push(toMessage(m)));
      try {
        const result = await request.query(batch);
        return { recordsets: (result.recordsets as unknown as Array<Array<Record<string, unknown>>>) ?? [], messages };
      } catch (error) {
        throw batchError(error, messages);
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.close().catch(() => undefined);
    },
  };
}
