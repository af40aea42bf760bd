import type { RestorablePoint } from '#core/cycles';
import type { DatabaseIdentity, Manifest } from '#core/manifest';
import { restorePointDatabase, restoreSqlServerDatabase, type SqlServerRecoveryOptions } from '#agent/commands/recover/database';
import type { StagedFile } from '#agent/commands/recover/fetch';
import { restorePrincipals } from '#agent/engines/sqlserver/principals';
import { buildMoves, differentialChainProblem } from '#agent/engines/sqlserver/restore';
import { SqlServerEngine } from '#agent/engines/sqlserver/sqlserver-engine';
import { FakeSqlServer } from './fake-sql-server';

const BACKUP_DIR = 'D:\\SQLBackup';

function manifest(setName: string, identity: DatabaseIdentity, dump: string): Manifest {
  const jobId = Number(setName.slice(4));
  return { setName, jobId, database: identity, files: [{ name: dump, role: 'database', size: 1, sha256: '0'.repeat(64) }] } as unknown as Manifest;
}

/** Takes our FULL (and a DIFFERENTIAL) on a fake "production" server, then returns what recovery has staged. */
async function stagedPoint(withDiff: boolean) {
  const production = new FakeSqlServer();
  const engine = new SqlServerEngine({
    session: production,
    target: { server: 'cs01', port: 1433, database: 'commserv' },
    backupDirectory: BACKUP_DIR,
    copyBackupFile: async () => 1,
    removeBackupFile: async () => undefined,
  });
  const full = await engine.dumpFull('/dest/SET_0000010/commserv_FULL.dmp');
  const fullManifest = manifest('SET_0000010', full.identity, 'commserv_FULL.dmp');
  const manifests = new Map<string, Manifest>([['SET_0000010', fullManifest]]);
  const files: StagedFile[] = [{ setName: 'SET_0000010', file: 'commserv_FULL.dmp', role: 'database', path: '/stage/SET_0000010/commserv_FULL.dmp', key: 'sets/SET_0000010/commserv_FULL.dmp', bytes: 1, sha256: '0'.repeat(64) }];
  const point = { cycleId: 10, full: { setName: 'SET_0000010', jobId: 10 }, jobId: 10, sets: [{ setName: 'SET_0000010' }] } as unknown as { -readonly [K in keyof RestorablePoint]: RestorablePoint[K] };
  if (withDiff) {
    const diff = await engine.dumpDifferential({ manifest: fullManifest, setDir: '/dest/SET_0000010' }, '/dest/SET_0000014/commserv_DIFF_14.dmp', 14);
    manifests.set('SET_0000014', manifest('SET_0000014', diff.identity, 'commserv_DIFF_14.dmp'));
    files.push({ setName: 'SET_0000014', file: 'commserv_DIFF_14.dmp', role: 'database', path: '/stage/SET_0000014/commserv_DIFF_14.dmp', key: 'sets/SET_0000014/commserv_DIFF_14.dmp', bytes: 1, sha256: '0'.repeat(64) });
    point.differential = { setName: 'SET_0000014', jobId: 14 } as never;
    point.jobId = 14;
  }
  // The recovery server reads the staged files; in this stand-in, it knows them under the names the backups were written to.
  const recovery = new FakeSqlServer();
  for (const [path, guid] of production.files) recovery.files.set(path, guid);
  for (const [guid, b] of production.backups) recovery.backups.set(guid, b);
  const serverPathOf = (f: StagedFile) => `${BACKUP_DIR}\\commserve-dr_${f.setName}_${f.file}`;
  const options: SqlServerRecoveryOptions = { session: recovery, dataDirectory: "E:\\SQL Data\\O'Reilly", logDirectory: 'L:\\SQLLogs', serverPathOf };
  return { production, recovery, manifests, files, point: point as RestorablePoint, options };
}

describe('SQL Server restore (SQL Server mocked: cannot run here)', () => {
  it('FULL + DIFFERENTIAL: headers checked, OFFLINE WITH ROLLBACK IMMEDIATE, NORECOVERY then RECOVERY, MULTI_USER WITH ROLLBACK IMMEDIATE, owner back, CHECKDB (SQL Server behaviour from the documentation: ALTER DATABASE termination clause, RESTORE … REPLACE)', async () => {
    const { recovery, manifests, files, point, options } = await stagedPoint(true);
    const timeouts: Array<number | undefined> = [];
    const execute = recovery.execute.bind(recovery);
    recovery.execute = async (batch, o) => {
      timeouts.push(o?.timeoutMs);
      return execute(batch, o);
    };
    const result = await restoreSqlServerDatabase(point, manifests, files, options);
    expect(recovery.statements).toEqual([
      "RESTORE HEADERONLY FROM DISK = N'D:\\SQLBackup\\commserve-dr_SET_0000010_commserv_FULL.dmp';",
      "RESTORE HEADERONLY FROM DISK = N'D:\\SQLBackup\\commserve-dr_SET_0000014_commserv_DIFF_14.dmp';",
      "RESTORE FILELISTONLY FROM DISK = N'D:\\SQLBackup\\commserve-dr_SET_0000010_commserv_FULL.dmp';",
      "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'commserv') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'commserv', 'Status')) = N'ONLINE' ALTER DATABASE [commserv] SET OFFLINE WITH ROLLBACK IMMEDIATE;",
      "SET LOCK_TIMEOUT -1;\nRESTORE DATABASE [commserv] FROM DISK = N'D:\\SQLBackup\\commserve-dr_SET_0000010_commserv_FULL.dmp' WITH NORECOVERY, REPLACE, " +
        "MOVE N'CommServ' TO N'E:\\SQL Data\\O''Reilly\\CommServ.mdf', MOVE N'CommServ_O''Data' TO N'E:\\SQL Data\\O''Reilly\\CommServ_2.ndf', MOVE N'CommServ_log' TO N'L:\\SQLLogs\\CommServ_log.ldf';",
      "SET LOCK_TIMEOUT -1;\nRESTORE DATABASE [commserv] FROM DISK = N'D:\\SQLBackup\\commserve-dr_SET_0000014_commserv_DIFF_14.dmp' WITH RECOVERY;",
      "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'commserv') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'commserv', 'Status')) = N'ONLINE' ALTER DATABASE [commserv] SET MULTI_USER WITH ROLLBACK IMMEDIATE;",
      "SET LOCK_TIMEOUT 30000;\nSELECT sp.name FROM sys.server_principals AS sp WHERE sp.name IN (N'sa');",
      'SET LOCK_TIMEOUT 30000;\nALTER AUTHORIZATION ON DATABASE::[commserv] TO [sa];',
      expect.stringContaining('AND sp.sid IS NULL'),
      "SET LANGUAGE us_english;\nSET LOCK_TIMEOUT -1;\nDBCC CHECKDB (N'commserv') WITH NO_INFOMSGS, ALL_ERRORMSGS;",
    ]);
    // Short request timeouts for metadata (60 s) and ALTER (10 min); the session's long one for RESTORE and CHECKDB.
    expect(timeouts).toEqual([60_000, 60_000, 60_000, 600_000, undefined, undefined, 600_000, 60_000, 60_000, 60_000, undefined]);
    expect(result).toMatchObject({ database: 'commserv', integrity: { status: 'ok' }, warnings: [], principals: { owner: { login: 'sa', restored: true }, trustworthy: { atBackup: false, restored: true } } });
    expect(result.statements).toEqual(recovery.statements);
  });

  it('after a restore: orphaned users re-mapped or listed, TRUSTWORTHY ON again, logins the database needs listed (SQL Server behaviour from the documentation: ALTER USER WITH LOGIN, restore leaves TRUSTWORTHY OFF)', async () => {
    const production = new FakeSqlServer();
    production.principals = {
      owner: 'CORP\\cvadmin', ownerSid: '0x0105', trustworthy: true,
      users: [
        { user_name: 'sqlexec_cv', user_type: 'S', sid: '0xAA', login_name: 'sqlexec_cv' },
        { user_name: 'CORP\\svc-cv', user_type: 'U', sid: '0x0105AA', login_name: 'CORP\\svc-cv' },
      ],
    };
    const engine = new SqlServerEngine({ session: production, target: { server: 'cs01', port: 1433, database: 'commserv' }, backupDirectory: BACKUP_DIR, copyBackupFile: async () => 1, removeBackupFile: async () => undefined });
    const full = await engine.dumpFull('/dest/SET_0000020/commserv_FULL.dmp');
    expect(full.identity.details).toMatchObject({ DatabaseOwner: 'CORP\\cvadmin', DatabaseOwnerSid: '0x0105', IsTrustworthy: true });
    expect(full.identity.databaseUsers).toEqual([
      { user: 'sqlexec_cv', type: 'S', sid: '0xAA', login: 'sqlexec_cv' },
      { user: 'CORP\\svc-cv', type: 'U', sid: '0x0105AA', login: 'CORP\\svc-cv' },
    ]);
    const recovery = new FakeSqlServer();
    recovery.logins = new Map([['sa', 'S'], ['sqlexec_cv', 'S']]); // a new server: the SQL login re-created, no Windows logins yet
    recovery.orphans = new Map([['sqlexec_cv', 'S'], ['CORP\\svc-cv', 'U']]);
    const out = await restorePrincipals(recovery, 'commserv', manifest('SET_0000020', full.identity, 'commserv_FULL.dmp'));
    expect(out).toEqual({
      owner: { login: 'CORP\\cvadmin', restored: false },
      trustworthy: { atBackup: true, restored: true },
      remapped: ['sqlexec_cv'],
      orphaned: ['CORP\\svc-cv'],
      loginsNeeded: ['CORP\\cvadmin', 'CORP\\svc-cv', 'sqlexec_cv'],
      missingLogins: ['CORP\\cvadmin', 'CORP\\svc-cv'],
      notes: [
        'logins the database needs are missing on this server: CORP\\cvadmin, CORP\\svc-cv (create them, then re-map their users: ALTER USER … WITH LOGIN = …)',
        'database owner at backup time was CORP\\cvadmin, which does not exist here: the owner is the restoring login',
        'orphaned users (no login of their SID or name on this server): CORP\\svc-cv',
      ],
    });
    expect(recovery.statements).toContain('SET LOCK_TIMEOUT 30000;\nALTER DATABASE [commserv] SET TRUSTWORTHY ON;');
    expect(recovery.statements).toContain('SET LOCK_TIMEOUT 30000;\nUSE [commserv];\nALTER USER [sqlexec_cv] WITH LOGIN = [sqlexec_cv];\nUSE [master];');
  });

  it('a FULL alone is restored WITH RECOVERY, REPLACE; under another name the files are renamed', async () => {
    const { recovery, manifests, files, point, options } = await stagedPoint(false);
    const out = await restorePointDatabase(point, manifests, files, { workFile: '/unused', sqlServer: { ...options, database: 'CommServ]Test' } });
    expect(out.engine).toBe('sqlserver');
    expect(recovery.statements[3]).toContain("RESTORE DATABASE [CommServ]]Test] FROM DISK = N'D:\\SQLBackup\\commserve-dr_SET_0000010_commserv_FULL.dmp' WITH RECOVERY, REPLACE, MOVE N'CommServ' TO N'E:\\SQL Data\\O''Reilly\\CommServ]Test_CommServ.mdf'");
    expect(recovery.statements.filter((s) => /WITH RECOVERY;$/.test(s))).toEqual([]);
  });

  it('refuses a DIFFERENTIAL whose DifferentialBaseGUID is not the FULL\'s before sending anything', async () => {
    const { recovery, manifests, files, point, options } = await stagedPoint(true);
    const diff = manifests.get('SET_0000014')!;
    manifests.set('SET_0000014', { ...diff, database: { ...diff.database, details: { ...diff.database.details, DifferentialBaseGUID: '11111111-2222-3333-4444-555555555555' } } });
    await expect(restoreSqlServerDatabase(point, manifests, files, options)).rejects.toMatchObject({
      code: 'DIFF_WRONG_BASE',
      message: expect.stringContaining('SET_0000014 is based on backup set 11111111-2222-3333-4444-555555555555, not on SET_0000010'),
    });
    expect(recovery.statements).toEqual([]);
  });

  it('an LSN disagreement at restore is a warning naming both values, the GUID decides (SQL Server behaviour from the documentation: RESTORE HEADERONLY DifferentialBaseLSN/DifferentialBaseGUID)', async () => {
    const { manifests, files, point, options } = await stagedPoint(true);
    const diff = manifests.get('SET_0000014')!;
    expect(differentialChainProblem(manifests.get('SET_0000010')!, diff)).toBeNull();
    const wrong = { ...diff, database: { ...diff.database, details: { ...diff.database.details, DifferentialBaseLSN: '1' } } };
    expect(differentialChainProblem(manifests.get('SET_0000010')!, wrong)).toBeNull();
    manifests.set('SET_0000014', wrong);
    const result = await restoreSqlServerDatabase(point, manifests, files, options);
    expect(result.warnings).toEqual([expect.stringMatching(/^SET_0000014: the DIFFERENTIAL's DifferentialBaseLSN 1 is neither the FirstLSN \(\d+\) nor the CheckpointLSN \(\d+\) of the cycle's FULL SET_0000010/)]);
  });

  it('refuses staged files whose own headers are not the manifests\' backup sets, before any RESTORE DATABASE', async () => {
    const { recovery, production, manifests, files, point, options } = await stagedPoint(true);
    const foreign = production.foreignFull(false);
    recovery.backups.set(foreign.guid, foreign);
    recovery.files.set(`${BACKUP_DIR}\\commserve-dr_SET_0000010_commserv_FULL.dmp`, foreign.guid); // the staged FULL is another backup
    await expect(restoreSqlServerDatabase(point, manifests, files, options)).rejects.toMatchObject({ code: 'DIFF_WRONG_BASE', message: expect.stringContaining(`holds backup set ${foreign.guid}`) });
    expect(recovery.statements.some((s) => /RESTORE DATABASE|ALTER DATABASE/.test(s))).toBe(false);
  });

  it('a failed RESTORE is RESTORE_FAILED with the SQL messages; the database is brought back ONLINE and MULTI_USER when possible (SQL Server behaviour from the documentation: 3159 + 3013)', async () => {
    const { recovery, manifests, files, point, options } = await stagedPoint(true);
    recovery.scripted.push({ match: /RESTORE DATABASE .* WITH NORECOVERY/, errors: [{ number: 3159, severity: 16, state: 1, message: 'The tail of the log for the database "commserv" has not been backed up.' }, { number: 3013, severity: 16, state: 1, message: 'RESTORE DATABASE is terminating abnormally.' }] });
    await expect(restoreSqlServerDatabase(point, manifests, files, options)).rejects.toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringContaining('Msg 3159, Level 16') });
    expect(recovery.statements.slice(-2)).toEqual([
      "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'commserv') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'commserv', 'Status')) = N'OFFLINE' ALTER DATABASE [commserv] SET ONLINE;",
      "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'commserv') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'commserv', 'Status')) = N'ONLINE' ALTER DATABASE [commserv] SET MULTI_USER WITH ROLLBACK IMMEDIATE;",
    ]);
  });

  it('restorePointDatabase refuses a SQL Server point without SQL Server options', async () => {
    const { manifests, files, point } = await stagedPoint(false);
    await expect(restorePointDatabase(point, manifests, files, { workFile: '/unused' })).rejects.toMatchObject({ code: 'ENGINE_UNSUPPORTED' });
  });

  it('buildMoves puts logs in the log directory and de-duplicates colliding names', () => {
    const moves = buildMoves(
      [
        { logicalName: 'a', physicalName: 'C:\\x\\data.mdf', type: 'D', fileId: 1, fileGroupName: 'PRIMARY' },
        { logicalName: 'b', physicalName: 'D:\\y\\data.mdf', type: 'D', fileId: 3, fileGroupName: 'SECONDARY' },
        { logicalName: 'fs', physicalName: '/var/opt/mssql/data/fs', type: 'S', fileId: 65537, fileGroupName: 'FS' },
        { logicalName: 'log', physicalName: 'C:\\x\\log.ldf', type: 'L', fileId: 2, fileGroupName: null },
      ],
      { dataDirectory: '/var/opt/mssql/data', logDirectory: '/var/opt/mssql/log', database: 'cs', sourceDatabase: 'CS' },
    );
    expect(moves).toEqual([
      { logicalName: 'a', physicalName: '/var/opt/mssql/data/data.mdf' },
      { logicalName: 'b', physicalName: '/var/opt/mssql/data/data_3.mdf' },
      { logicalName: 'fs', physicalName: '/var/opt/mssql/data/fs' },
      { logicalName: 'log', physicalName: '/var/opt/mssql/log/log.ldf' },
    ]);
  });
});
