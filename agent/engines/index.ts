/**
 * Opening the configured CommServe database engine (SPEC §7): SQLite (embedded default) or SQL Server (production).
 */
import type { Settings } from '#core/settings';
import { openSqliteEngine } from './sqlite/sqlite-engine';
import { openSqlServerEngine, type OpenSqlServerDeps } from './sqlserver/sqlserver-engine';
import type { DatabaseEngine } from './types';

export { withDbRetry, isRetryableDbError, type DbRetryOptions } from './sqlserver/retry';
export { openSqlServerSession } from './sqlserver/sqlserver-engine';
export type { DatabaseEngine } from './types';

/** What {@link openEngine} may be given: used by the SQL Server engine only (SQLite needs nothing). */
export type OpenEngineDeps = OpenSqlServerDeps;

/**
 * Opens `settings.Database`: an SQLite file, or a SQL Server connection (password from `passwordEnv` or the
 * `passwordParameter` SecureString through `deps.ssm`; TLS with the setting's `trustServerCertificate`; backups into
 * `backupDirectory`, read by the agent from `agentBackupDirectory`, with `compression` — `deps.mssql` / `deps.engine`
 * override these; connection retried while unreachable only when `deps.retry` is given — e.g.
 * `{ count: settings.DbRetryCount, intervalMs: settings.DbRetryIntervalMinutes * 60_000, onRetry }`).
 * @throws DatabaseError (SQLite: missing, not SQLite; SQL Server: `DB_UNREACHABLE`, `DB_LOGIN_FAILED`,
 *   `DB_SECRET_UNAVAILABLE` …), ConfigError (SQL Server user or password source not configured).
 */
export async function openEngine(settings: Settings, deps: OpenEngineDeps = {}): Promise<DatabaseEngine> {
  const db = settings.Database;
  if (db.engine === 'sqlite') return openSqliteEngine(db.path);
  return openSqlServerEngine(db, deps);
}
