/**
 * SQL Server LOG points (issue 17) against the stand-in session (SQL Server mocked: cannot run here): FULL recovery
 * model preflight, BACKUP LOG WITH CHECKSUM, the log-chain link (a foreign log backup is a gap), the point's moment,
 * and the RESTORE LOG … STOPAT statements. What only a real server can prove is listed in docs/SQLSERVER.md.
 */
import type { DatabaseIdentity, Manifest } from '#core/manifest';
import { setName } from '#core/set-id';
import type { LogBase } from '#agent/engines/types';
import { logLinkProblem, recoveryModelProblem, restoreLogStatements, serverLocalStopAt } from '#agent/engines/sqlserver/log-backup';
import { SqlServerEngine } from '#agent/engines/sqlserver/sqlserver-engine';
import { FakeSqlServer } from './fake-sql-server';

const SERVER_DIR = 'D:\\SQLBackup';

function engineWith(server: FakeSqlServer) {
  return new SqlServerEngine({
    session: server,
    target: { server: 'cs01.corp.example', port: 1433, database: server.database },
    backupDirectory: SERVER_DIR,
    agentBackupDirectory: '/mnt/sqlbackup',
    copyBackupFile: async () => 4096,
    removeBackupFile: async () => undefined,
  });
}

const manifestOf = (jobId: number, identity: DatabaseIdentity): Manifest => ({ setName: setName(jobId), jobId, database: identity, files: [] }) as unknown as Manifest;
const base = (full: Manifest, previous: Manifest = full): LogBase => ({ full: { manifest: full, setDir: `/d/${full.setName}` }, previous: { manifest: previous, setDir: `/d/${previous.setName}` } });
const dumpPath = (jobId: number) => `/d/${setName(jobId)}/commserv_LOG_${jobId}.dmp`;

describe('SQL Server LOG points (SQL Server mocked: cannot run here)', () => {
  it('FULL, then two LOGs: BACKUP LOG WITH CHECKSUM, each continuing the previous point; the moment is the log backup end in UTC', async () => {
    const server = new FakeSqlServer();
    const engine = engineWith(server);
    const full = manifestOf(1, (await engine.dumpFull(`/d/${setName(1)}/commserv_FULL.dmp`)).identity);

    await expect(engine.logBaseProblem(base(full))).resolves.toBeNull();
    const log2 = await engine.dumpLog(base(full), dumpPath(2), 2);
    const m2 = manifestOf(2, log2.identity);
    const log3 = await engine.dumpLog(base(full, m2), dumpPath(3), 3);

    const backups = server.statements.filter((s) => /^BACKUP LOG/m.test(s));
    expect(backups).toEqual([
      `SET LOCK_TIMEOUT -1;\nBACKUP LOG [commserv] TO DISK = N'${SERVER_DIR}\\commserve-dr_${setName(2)}_commserv_LOG_2.dmp' WITH CHECKSUM, INIT;`,
      `SET LOCK_TIMEOUT -1;\nBACKUP LOG [commserv] TO DISK = N'${SERVER_DIR}\\commserve-dr_${setName(3)}_commserv_LOG_3.dmp' WITH CHECKSUM, INIT;`,
    ].map((s) => expect.stringContaining(s.split('\n')[1]!)));
    expect(log2.identity.details).toMatchObject({ BackupType: 2, BackupTypeDescription: 'Transaction Log', HasBackupChecksums: true, lsnSource: 'msdb' });
    // LOG 3 starts exactly where LOG 2 ended; LOG 2 starts at or before the FULL's end.
    expect(log3.identity.details.FirstLSN).toBe(log2.identity.details.LastLSN);
    expect(BigInt(log2.identity.details.FirstLSN as string) <= BigInt(full.database.details.LastLSN as string)).toBe(true);
    // msdb's finish time 18:06 at UTC+01:00 (time_zone 4) → 17:06 UTC.
    expect(log2.pointTime).toBe('2025-01-02T17:06:00.000Z');
    expect(log3.pointTime).toBe('2025-01-02T17:07:00.000Z');
    expect(log2.sidecars).toEqual([]);
  });

  it('refuses a LOG under the SIMPLE recovery model with the ALTER DATABASE to run, before any BACKUP LOG; FULL still works', async () => {
    const server = new FakeSqlServer();
    const engine = engineWith(server);
    const full = manifestOf(1, (await engine.dumpFull(`/d/${setName(1)}/commserv_FULL.dmp`)).identity);
    server.recoveryModel = 'SIMPLE';

    const problem = await engine.logBaseProblem(base(full));
    expect(problem).toBe(
      'database commserv uses the SIMPLE recovery model: LOG points need FULL (SIMPLE keeps no log to back up). Run ALTER DATABASE [commserv] SET RECOVERY FULL; then a FULL DR backup (the log chain starts at a full backup). FULL and DIFFERENTIAL jobs are unaffected.',
    );
    await expect(engine.dumpLog(base(full), dumpPath(2), 2)).rejects.toMatchObject({ code: 'LOG_BASE_UNUSABLE', message: problem });
    expect(server.statements.some((s) => /BACKUP LOG/.test(s))).toBe(false);
    await expect(engine.dumpFull(`/d/${setName(3)}/commserv_FULL.dmp`)).resolves.toMatchObject({ identity: { engine: 'sqlserver' } });
    expect(recoveryModelProblem('commserv', 'BULK_LOGGED')).toContain('BULK_LOGGED loses point-in-time inside minimally logged operations');
  });

  it("refuses a LOG after another tool's log backup: the gap is named with both LSNs, never recorded as a link", async () => {
    const server = new FakeSqlServer();
    const engine = engineWith(server);
    const full = manifestOf(1, (await engine.dumpFull(`/d/${setName(1)}/commserv_FULL.dmp`)).identity);
    const m2 = manifestOf(2, (await engine.dumpLog(base(full), dumpPath(2), 2)).identity);
    server.foreignLog();

    const refused = (await engine.dumpLog(base(full, m2), dumpPath(3), 3).catch((e: unknown) => e)) as Error & { code?: string };
    expect(refused).toMatchObject({ code: 'LOG_BASE_UNUSABLE' });
    expect(refused.message).toMatch(new RegExp(`^LOG point refused: the log backup starts at LSN \\d+ but ${setName(2)} ends at LSN ${m2.database.details.LastLSN}: another log backup ran in between`));
  });

  it('logLinkProblem: after a LOG the first LSN must equal its last; after a FULL/DIFFERENTIAL it must cover its end; unknown LSNs warn', () => {
    expect(logLinkProblem({ setName: setName(2), backupType: 2, lastLsn: '100' }, { FirstLSN: '100', LastLSN: '200' })).toBeNull();
    expect(logLinkProblem({ setName: setName(2), backupType: 2, lastLsn: '100' }, { FirstLSN: '150', LastLSN: '200' })?.gap).toBe(true);
    expect(logLinkProblem({ setName: setName(1), backupType: 1, lastLsn: '120' }, { FirstLSN: '100', LastLSN: '200' })).toBeNull();
    expect(logLinkProblem({ setName: setName(1), backupType: 5, lastLsn: '120' }, { FirstLSN: '130', LastLSN: '200' })?.gap).toBe(true);
    expect(logLinkProblem({ setName: setName(1), backupType: 1, lastLsn: null }, { FirstLSN: '1', LastLSN: '2' })).toEqual({ gap: false, message: expect.stringContaining('was not checked') });
  });

  it('RESTORE LOG: every LOG WITH NORECOVERY, the last WITH STOPAT in the server local time and RECOVERY', () => {
    const stopAt = serverLocalStopAt('2025-01-02T17:06:30.250Z', 60);
    expect(stopAt).toBe('2025-01-02T18:06:30.250');
    expect(restoreLogStatements("Comm]Serv'1", ['D:\\r\\a.trn', 'D:\\r\\b.trn'], stopAt)).toEqual([
      "RESTORE LOG [Comm]]Serv'1] FROM DISK = N'D:\\r\\a.trn' WITH CHECKSUM, NORECOVERY;",
      "RESTORE LOG [Comm]]Serv'1] FROM DISK = N'D:\\r\\b.trn' WITH CHECKSUM, STOPAT = N'2025-01-02T18:06:30.250', RECOVERY;",
    ]);
    expect(restoreLogStatements('commserv', ['D:\\r\\a.trn'])).toEqual(["RESTORE LOG [commserv] FROM DISK = N'D:\\r\\a.trn' WITH CHECKSUM, RECOVERY;"]);
    expect(() => restoreLogStatements('commserv', [])).toThrow('no LOG backup to restore');
  });
});
