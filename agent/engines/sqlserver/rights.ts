/**
 * The rights the SQL Server login needs, checked on the server (issue 23 item 1): one query
 * ({@link rightsQuery}) and a verdict per right, for preflight and for `commserve-dr doctor`. Phase-1 rights and the
 * recovery/verify rights are separate lists (docs/SQLSERVER.md, "Permissions").
 */
import { DatabaseError } from '#core/errors';
import { SHORT_REQUEST_TIMEOUT_MS, SqlBatchError, type SqlSession } from './session';
import { rightsQuery } from './tsql';

/** One right and whether the login has it. */
export interface RightVerdict {
  /** What is checked, e.g. `db_owner in [CommServ]`. */
  right: string;
  /** `phase1` (every backup job) or `recovery` (recover and verify, on the target server). */
  scope: 'phase1' | 'recovery';
  /** Which statements need it. */
  neededFor: string;
  /** `granted`, `missing`, or `unknown` (the server answered NULL: the securable is not visible to the login). */
  status: 'granted' | 'missing' | 'unknown';
  /** Whether a job fails without it (`required`) or only loses detail (`optional`). */
  need: 'required' | 'optional';
  /** T-SQL an administrator runs to grant it (`<login>` to fill in). */
  grant: string;
}

function flag(value: unknown): boolean | null {
  if (value === null || value === undefined) return null;
  return Number(value) === 1 || value === true;
}

function status(value: boolean | null): RightVerdict['status'] {
  return value === null ? 'unknown' : value ? 'granted' : 'missing';
}

/**
 * The verdicts for one {@link rightsQuery} row. A sysadmin has every right.
 * - phase 1: `db_owner` in the CommServe database (DBCC CHECKDB "requires membership in the sysadmin fixed server role
 *   or the db_owner fixed database role"; also DBCC SHRINKDATABASE), BACKUP DATABASE (in db_owner and
 *   db_backupoperator), SELECT on `msdb.dbo.backupset` and `msdb.dbo.backupmediafamily` (the header of the backup just
 *   taken, exact LSNs, other tools' backups — phase 1 reads these instead of RESTORE HEADERONLY, which needs CREATE
 *   DATABASE), VIEW SERVER STATE (optional: diagnosing blocking and progress);
 * - recovery and verify: sysadmin, or dbcreator (CREATE ANY DATABASE: RESTORE, RESTORE HEADERONLY/FILELISTONLY, ALTER
 *   DATABASE … OFFLINE/MULTI_USER, DROP of the scratch database; the restoring login can run CHECKDB on the database it
 *   created). Restoring TRUSTWORTHY ON and the recorded owner needs sysadmin (ALTER DATABASE SET TRUSTWORTHY).
 */
export function rightVerdicts(row: Record<string, unknown> | undefined, database: string): RightVerdict[] {
  const r = row ?? {};
  const sysadmin = flag(r.is_sysadmin) === true;
  const or = (v: boolean | null) => (sysadmin ? true : v);
  const dbOwner = or(flag(r.is_db_owner));
  const backup = or(flag(r.can_backup_database));
  const createDb = or(flag(r.can_create_database) ?? flag(r.is_dbcreator));
  return [
    { right: `db_owner in [${database}]`, scope: 'phase1', need: 'required', neededFor: 'DBCC CHECKDB, DBCC SHRINKDATABASE, reading sys.database_files', status: status(dbOwner), grant: `USE [${database}]; ALTER ROLE db_owner ADD MEMBER [<login>];` },
    { right: `BACKUP DATABASE on [${database}]`, scope: 'phase1', need: 'required', neededFor: 'BACKUP DATABASE (FULL, DIFFERENTIAL)', status: status(backup), grant: `USE [${database}]; ALTER ROLE db_backupoperator ADD MEMBER [<login>];` },
    { right: 'SELECT on msdb.dbo.backupset', scope: 'phase1', need: 'required', neededFor: 'the header of each backup (LSNs, backup set GUID), the differential base\'s origin, other tools\' backups', status: status(or(flag(r.can_read_backupset))), grant: 'USE [msdb]; CREATE USER [<login>] FOR LOGIN [<login>]; GRANT SELECT ON dbo.backupset TO [<login>];' },
    { right: 'SELECT on msdb.dbo.backupmediafamily', scope: 'phase1', need: 'required', neededFor: 'finding the history row of the file just written; who wrote another tool\'s backup', status: status(or(flag(r.can_read_backupmediafamily))), grant: 'USE [msdb]; GRANT SELECT ON dbo.backupmediafamily TO [<login>];' },
    { right: 'VIEW SERVER STATE', scope: 'phase1', need: 'optional', neededFor: 'diagnosing blocking and progress (sys.dm_exec_requests)', status: status(or(flag(r.can_view_server_state))), grant: 'USE [master]; GRANT VIEW SERVER STATE TO [<login>];' },
    { right: 'sysadmin or dbcreator (CREATE ANY DATABASE)', scope: 'recovery', need: 'required', neededFor: 'RESTORE HEADERONLY/FILELISTONLY/DATABASE, ALTER DATABASE OFFLINE/MULTI_USER, DROP DATABASE of the verify scratch database, DBCC CHECKDB of the restored copy', status: status(createDb), grant: 'ALTER SERVER ROLE dbcreator ADD MEMBER [<login>];' },
    { right: 'sysadmin', scope: 'recovery', need: 'optional', neededFor: 'restoring TRUSTWORTHY ON and the recorded database owner (otherwise listed in the report as to do by hand)', status: status(flag(r.is_sysadmin)), grant: 'ALTER SERVER ROLE sysadmin ADD MEMBER [<login>];' },
  ];
}

/**
 * Checks the login's rights on the server (the session must be connected to the CommServe database for the
 * `db_owner` verdict). Use it from preflight and `commserve-dr doctor`.
 * @param scope which list to return (default both).
 * @returns one verdict per right; `missing` + `required` means that job step will fail.
 * @throws DatabaseError `DB_QUERY_FAILED` when the query itself fails (connection lost: `DB_UNREACHABLE`).
 */
export async function checkSqlServerRights(session: SqlSession, database: string, scope?: RightVerdict['scope']): Promise<RightVerdict[]> {
  let row: Record<string, unknown> | undefined;
  try {
    row = (await session.execute(rightsQuery(database), { timeoutMs: SHORT_REQUEST_TIMEOUT_MS })).recordsets[0]?.[0];
  } catch (error) {
    const lost = error instanceof SqlBatchError && ['ECLOSE', 'ESOCKET', 'ECONNCLOSED', 'ECONNRESET', 'ENOTOPEN'].includes(error.driverCode);
    throw new DatabaseError(lost ? 'DB_UNREACHABLE' : 'DB_QUERY_FAILED', `checking the login's rights on database ${database} failed: ${(error as Error).message}`);
  }
  const all = rightVerdicts(row, database);
  return scope ? all.filter((v) => v.scope === scope) : all;
}

/** One line per verdict: `missing  required  SELECT on msdb.dbo.backupset — …; grant: …`. */
export function formatRightVerdicts(verdicts: readonly RightVerdict[]): string[] {
  return verdicts.map((v) => `${v.status.padEnd(7)} ${v.need.padEnd(8)} ${v.scope.padEnd(8)} ${v.right} — ${v.neededFor}${v.status === 'granted' ? '' : `; grant: ${v.grant}`}`);
}
