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
import type { RestorablePoint } from '#core/cycles';
import { restoreSqlServerDatabase, type SqlServerRecoveryOptions } from '#agent/commands/recover/database';
import type { StagedFile } from '#agent/commands/recover/fetch';
import { choosePointAt, formatAt } from '#agent/commands/recover/at';
import type { HotSiteView } from '#agent/commands/recover/plan';

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

describe('SQL Server recovery of a LOG point (SQL Server mocked: cannot run here)', () => {
  /** FULL 1, DIFFERENTIAL 2, LOGs 3 and 4 taken on a stand-in "production" server; what recovery has staged. */
  async function stagedLogPoint() {
    const production = new FakeSqlServer();
    const engine = engineWith(production);
    const dumpName = (jobId: number, kind: string) => (kind === 'FULL' ? 'commserv_FULL.dmp' : `commserv_${kind}_${jobId}.dmp`);
    const manifests = new Map<string, Manifest>();
    const files: StagedFile[] = [];
    const keep = (jobId: number, kind: string, identity: DatabaseIdentity) => {
      const name = dumpName(jobId, kind);
      const m = { ...manifestOf(jobId, identity), files: [{ name, role: 'database', size: 1, sha256: '0'.repeat(64) }] } as unknown as Manifest;
      manifests.set(setName(jobId), m);
      files.push({ setName: setName(jobId), file: name, role: 'database', path: `/stage/${setName(jobId)}/${name}`, key: `sets/${setName(jobId)}/${name}`, bytes: 1, sha256: '0'.repeat(64) });
      return m;
    };
    const full = keep(1, 'FULL', (await engine.dumpFull(`/d/${setName(1)}/${dumpName(1, 'FULL')}`)).identity);
    const diff = keep(2, 'DIFF', (await engine.dumpDifferential({ manifest: full, setDir: '/d' }, `/d/${setName(2)}/${dumpName(2, 'DIFF')}`, 2)).identity);
    const log3 = keep(3, 'LOG', (await engine.dumpLog(base(full, diff), `/d/${setName(3)}/${dumpName(3, 'LOG')}`, 3)).identity);
    keep(4, 'LOG', (await engine.dumpLog(base(full, log3), `/d/${setName(4)}/${dumpName(4, 'LOG')}`, 4)).identity);
    const point = {
      cycleId: 1, jobId: 4, full: { setName: setName(1), jobId: 1 }, differential: { setName: setName(2), jobId: 2 },
      logs: [{ setName: setName(3), jobId: 3 }, { setName: setName(4), jobId: 4 }], sets: [],
    } as unknown as RestorablePoint;
    const recovery = new FakeSqlServer();
    for (const [path, guid] of production.files) recovery.files.set(path, guid);
    for (const [guid, b] of production.backups) recovery.backups.set(guid, b);
    const serverPathOf = (f: StagedFile) => `${SERVER_DIR}\\commserve-dr_${f.setName}_${f.file}`;
    const options: SqlServerRecoveryOptions = { session: recovery, dataDirectory: 'E:\\Data', logDirectory: 'L:\\Logs', serverPathOf, checkIntegrity: false };
    return { recovery, manifests, files, point, options, serverPathOf };
  }

  it('FULL and DIFFERENTIAL WITH NORECOVERY, then RESTORE LOG for each LOG, the last WITH RECOVERY; every header checked first', async () => {
    const { recovery, manifests, files, point, options, serverPathOf } = await stagedLogPoint();
    await restoreSqlServerDatabase(point, manifests, files, options);
    const path = (jobId: number) => serverPathOf(files.find((f) => f.setName === setName(jobId))!);
    const restores = recovery.statements.filter((s) => /RESTORE (DATABASE|LOG|HEADERONLY)/.test(s)).map((s) => s.split('\n').find((l) => /^RESTORE|^IF DB_ID/.test(l) && /RESTORE/.test(l)) ?? s);
    expect(restores.filter((s) => s.startsWith('RESTORE HEADERONLY'))).toEqual([1, 2, 3, 4].map((j) => `RESTORE HEADERONLY FROM DISK = N'${path(j)}';`));
    const sequence = recovery.statements.flatMap((s) => s.split('\n')).filter((l) => /^RESTORE (DATABASE|LOG)/.test(l));
    expect(sequence).toEqual([
      expect.stringMatching(new RegExp(`^RESTORE DATABASE \\[commserv\\] FROM DISK = N'${path(1).replace(/\\/g, '\\\\')}' WITH NORECOVERY, REPLACE, MOVE `)),
      `RESTORE DATABASE [commserv] FROM DISK = N'${path(2)}' WITH NORECOVERY;`,
      `RESTORE LOG [commserv] FROM DISK = N'${path(3)}' WITH CHECKSUM, NORECOVERY;`,
      `RESTORE LOG [commserv] FROM DISK = N'${path(4)}' WITH CHECKSUM, RECOVERY;`,
    ]);
  });

  it('recover --at: the last LOG WITH STOPAT the moment, in the server local time its recorded end gives (+01:00)', async () => {
    const { recovery, manifests, files, point, options, serverPathOf } = await stagedLogPoint();
    await restoreSqlServerDatabase(point, manifests, files, { ...options, stopAt: '2025-01-02T17:06:30.000Z' });
    const path = serverPathOf(files.find((f) => f.setName === setName(4))!);
    expect(recovery.statements.flatMap((s) => s.split('\n')).filter((l) => l.startsWith('RESTORE LOG')).at(-1)).toBe(
      `RESTORE LOG [commserv] FROM DISK = N'${path}' WITH CHECKSUM, STOPAT = N'2025-01-02T18:06:30.000', RECOVERY;`,
    );
  });

  it('refuses before any statement when a LOG dump of the chain was not staged', async () => {
    const { recovery, manifests, files, point, options } = await stagedLogPoint();
    const without = files.filter((f) => f.setName !== setName(3));
    await expect(restoreSqlServerDatabase(point, manifests, without, options)).rejects.toMatchObject({ code: 'DUMP_MISSING', message: `${setName(3)}: the LOG dump was not staged` });
    expect(recovery.statements).toEqual([]);
  });
});

describe('recover --at on SQL Server: STOPAT to the moment itself (SQL Server mocked: cannot run here)', () => {
  /** A view of FULL 1 (17:00), LOG 2 (17:10), LOG 3 (17:20): the LOGs' recorded ends with or without an offset. */
  function view(engine: 'sqlserver' | 'sqlite', offset: string | null) {
    const at = (min: number) => `2025-01-02T17:${String(min).padStart(2, '0')}:00.000Z`;
    const local = (min: number) => (offset === null ? `2025-01-02T18:${String(min).padStart(2, '0')}:00.000` : `2025-01-02T18:${String(min).padStart(2, '0')}:00.000${offset}`);
    const entries: Array<[number, 'FULL' | 'LOG', number]> = [
      [1, 'FULL', 0],
      [2, 'LOG', 10],
      [3, 'LOG', 20],
    ];
    const map = new Map(
      entries.map(([jobId, type, min]) => {
        const manifest = { setName: setName(jobId), jobId, backupType: type, cycleId: 1, pointTime: at(min), database: { engine, name: 'commserv', details: { BackupFinishDate: local(min) } }, files: [{ name: `dump_${jobId}`, role: 'database', size: 10, sha256: '0'.repeat(64) }] };
        const summary = { jobId, setName: setName(jobId), backupType: type, status: 'Completed', complete: true, cycleId: 1, endTime: at(min + 1), pointTime: at(min), ...(type === 'LOG' ? { previousJobId: jobId - 1 } : {}) };
        return [jobId, { listed: { jobId, setName: setName(jobId), byCopy: new Map([['hot-site', new Map([[`dump_${jobId}`, { size: 10 }]])]]) }, manifest, manifestState: 'read', manifestFrom: 'hot-site', record: null, problems: [], summary }];
      }),
    );
    return Object.assign(map, { copies: {}, unreachable: [] }) as unknown as HotSiteView;
  }

  it('adds the LOG after the moment and stops at the moment: reached = asked, gap 0', () => {
    const chosen = choosePointAt(view('sqlserver', '+01:00'), '2025-01-02T17:14:30Z');
    expect(chosen.point.logs?.map((l) => l.setName)).toEqual([setName(2), setName(3)]);
    expect(chosen.at).toEqual({ requested: '2025-01-02T17:14:30.000Z', reached: '2025-01-02T17:14:30.000Z', exact: true, gapMs: 0, set: setName(3), stopAt: '2025-01-02T17:14:30.000Z' });
    expect(formatAt(chosen.at)).toContain(`(SQL Server RESTORE LOG … WITH STOPAT inside ${setName(3)}) — exactly the moment asked for`);
  });

  it('stays at the newest LOG at or before the moment for SQLite, and for SQL Server when the LOG records no offset', () => {
    for (const v of [view('sqlite', '+01:00'), view('sqlserver', null)]) {
      const chosen = choosePointAt(v, '2025-01-02T17:14:30Z');
      expect(chosen.point.logs?.map((l) => l.setName)).toEqual([setName(2)]);
      expect(chosen.at).toMatchObject({ reached: '2025-01-02T17:10:00.000Z', gapMs: 270_000, set: setName(2) });
      expect(chosen.at.stopAt).toBeUndefined();
    }
  });
});
