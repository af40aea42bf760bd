import { DatabaseError } from '#core/errors';
import type { DatabaseIdentity, Manifest } from '#core/manifest';
import { parseSettings } from '#core/settings';
import { openEngine } from '#agent/engines/index';
import { resolveSqlServerPassword } from '#agent/engines/sqlserver/credentials';
import { withDbRetry } from '#agent/engines/sqlserver/retry';
import { connectionError, type SqlServerTarget } from '#agent/engines/sqlserver/session';
import { differentialBaseDecision, differentialLsnWarning, mssqlOptionsFor, openSqlServerEngine, openSqlServerSession, SqlServerEngine, type SqlServerEngineOptions } from '#agent/engines/sqlserver/sqlserver-engine';
import { FakeSqlServer } from './fake-sql-server';

const TARGET: SqlServerTarget = { server: 'cs01.corp.example', port: 1433, database: 'commserv' };
const SERVER_DIR = "D:\\SQL Backup\\O'Brien";
const PASSWORD = 'Pa55w0rd!-never-shown';

function engineWith(server: FakeSqlServer, extra: Partial<SqlServerEngineOptions> = {}) {
  const copies: Array<{ source: string; target: string }> = [];
  const removed: string[] = [];
  const engine = new SqlServerEngine({
    session: server,
    target: { ...TARGET, database: server.database },
    backupDirectory: SERVER_DIR,
    agentBackupDirectory: '/mnt/sqlbackup',
    compression: true,
    copyBackupFile: async (source, target, onProgress) => {
      copies.push({ source, target });
      onProgress?.(4096, 4096);
      return 4096;
    },
    removeBackupFile: async (p) => {
      removed.push(p);
    },
    ...extra,
  });
  return { engine, copies, removed };
}

function manifestOf(setName: string, identity: DatabaseIdentity): Manifest {
  return { setName, jobId: Number(setName.slice(4)), database: identity, files: [] } as unknown as Manifest;
}

describe('SQL Server engine (SQL Server mocked: cannot run here)', () => {
  it('checkIntegrity sends DBCC CHECKDB and reports a clean database as ok', async () => {
    const server = new FakeSqlServer("Comm]Serv'1");
    const { engine } = engineWith(server);
    await expect(engine.checkIntegrity()).resolves.toMatchObject({ status: 'ok', messages: [] });
    expect(server.statements).toEqual(["SET LANGUAGE us_english;\nSET LOCK_TIMEOUT -1;\nDBCC CHECKDB (N'Comm]Serv''1') WITH NO_INFOMSGS, ALL_ERRORMSGS;"]);
  });

  it('checkIntegrity collects every CHECKDB error: consistency errors are corrupt, others check-failed', async () => {
    const server = new FakeSqlServer();
    server.scripted.push({
      match: /DBCC CHECKDB/,
      once: true,
      errors: [
        { number: 8928, severity: 16, state: 1, message: 'Object ID 5, index ID 1, partition ID 1, alloc unit ID 1 (type In-row data): Page (1:153) could not be processed.' },
        { number: 8989, severity: 16, state: 1, message: "CHECKDB found 0 allocation errors and 1 consistency errors in database 'commserv'." },
      ],
    });
    server.scripted.push({ match: /DBCC CHECKDB/, once: true, errors: [{ number: 2571, severity: 14, state: 1, message: "User 'dr' does not have permission to run DBCC CHECKDB for database 'commserv'." }] });
    const { engine } = engineWith(server);
    const corrupt = await engine.checkIntegrity();
    expect(corrupt.status).toBe('corrupt');
    expect(corrupt.messages).toEqual([expect.stringMatching(/^Msg 8928 \(severity 16\) \[object 5, index 1, page 1:153\]/), expect.stringMatching(/^Msg 8989/)]);
    await expect(engine.checkIntegrity()).resolves.toMatchObject({ status: 'check-failed', messages: [expect.stringContaining('Msg 2571 (severity 14)')] });
  });

  it('dumpFull: BACKUP into the server directory, header + exact LSNs from msdb into details (SQL Server behaviour from the documentation: RESTORE HEADERONLY requires CREATE DATABASE, backupset needs only SELECT), streamed into the SET, removed', async () => {
    const server = new FakeSqlServer();
    const { engine, copies, removed } = engineWith(server);
    const progress: number[] = [];
    const dump = await engine.dumpFull('/dest/SET_0000007/commserv_FULL.dmp', (done) => progress.push(done));
    const serverFile = "D:\\SQL Backup\\O'Brien\\commserve-dr_SET_0000007_commserv_FULL.dmp";
    const backup = [...server.backups.values()][0]!;
    expect(server.statements.slice(0, 2)).toEqual([
      "SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'D:\\SQL Backup\\O''Brien\\commserve-dr_SET_0000007_commserv_FULL.dmp' WITH CHECKSUM, INIT, COMPRESSION;",
      expect.stringContaining("WHERE b.database_name = N'commserv' AND m.physical_device_name = N'D:\\SQL Backup\\O''Brien\\commserve-dr_SET_0000007_commserv_FULL.dmp'\nORDER BY b.backup_set_id DESC;"),
    ]);
    expect(server.statements[1]).toMatch(/^SET LOCK_TIMEOUT 30000;\nSELECT TOP \(1\)/);
    expect(server.statements.some((st) => /RESTORE HEADERONLY/.test(st))).toBe(false);
    expect(server.files.has(serverFile)).toBe(true);
    expect(copies).toEqual([{ source: '/mnt/sqlbackup/commserve-dr_SET_0000007_commserv_FULL.dmp', target: '/dest/SET_0000007/commserv_FULL.dmp' }]);
    expect(removed).toEqual(['/mnt/sqlbackup/commserve-dr_SET_0000007_commserv_FULL.dmp']);
    expect(progress).toEqual([4096]);
    expect(dump).toMatchObject({ file: '/dest/SET_0000007/commserv_FULL.dmp', bytes: 4096 });
    expect(dump.identity).toMatchObject({
      engine: 'sqlserver',
      name: 'commserv',
      details: {
        BackupType: 1,
        BackupSetGUID: backup.guid,
        IsCopyOnly: false,
        FirstLSN: backup.firstLsn.toString(),
        LastLSN: backup.lastLsn.toString(),
        CheckpointLSN: backup.checkpointLsn.toString(),
        DatabaseBackupLSN: '0',
        DifferentialBaseLSN: null,
        DifferentialBaseGUID: null,
        lsnSource: 'msdb',
        // datetime columns converted on the server with backupset.time_zone (4 × 15 min): the server's offset, never "Z"
        BackupFinishDate: '2025-01-02T18:05:00.000+01:00',
        BackupStartDate: '2025-01-02T18:04:00.000+01:00',
        Compressed: true,
        DatabaseOwner: 'sa',
        IsTrustworthy: false,
      },
    });
    expect(backup.checkpointLsn > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    const cycle = await engine.prepareCycle('/dest/SET_0000007/commserv_FULL.dmp', '/dest/SET_0000007', 7);
    expect(cycle).toEqual({ sidecars: [], details: { differentialBaseOf: 'BackupSetGUID+CheckpointLSN', differentialBaseAfterFull: backup.guid, differentialBaseIsThisFull: true } });
  });

  it('dumpFull without SELECT on msdb fails with DB_PERMISSION_DENIED naming the right (SQL Server behaviour from the documentation: error 229, SELECT permission denied)', async () => {
    const server = new FakeSqlServer();
    server.msdbDenied = true;
    const { engine, removed } = engineWith(server);
    await expect(engine.dumpFull('/dest/SET_0000001/commserv_FULL.dmp')).rejects.toMatchObject({ code: 'DB_PERMISSION_DENIED', message: expect.stringContaining("Msg 229, Level 14, State 5: The SELECT permission was denied on the object 'backupset'") });
    expect(removed).toEqual(['/mnt/sqlbackup/commserve-dr_SET_0000001_commserv_FULL.dmp']);
  });

  it('a failed BACKUP is a DatabaseError with the SQL messages; the backup directory unreadable by the agent is DUMP_NOT_READABLE', async () => {
    const server = new FakeSqlServer();
    server.scripted.push({
      match: /BACKUP DATABASE/,
      once: true,
      errors: [
        { number: 3201, severity: 16, state: 1, message: "Cannot open backup device 'D:\\SQL Backup\\x.dmp'. Operating system error 5(Access is denied.)." },
        { number: 3013, severity: 16, state: 1, message: 'BACKUP DATABASE is terminating abnormally.' },
      ],
    });
    const { engine } = engineWith(server, {
      copyBackupFile: async () => {
        throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
      },
    });
    await expect(engine.dumpFull('/d/SET_0000001/commserv_FULL.dmp')).rejects.toMatchObject({ code: 'DUMP_FAILED', message: expect.stringContaining('Msg 3201, Level 16') });
    await expect(engine.dumpFull('/d/SET_0000001/commserv_FULL.dmp')).rejects.toMatchObject({ code: 'DUMP_NOT_READABLE', message: expect.stringContaining('/mnt/sqlbackup/commserve-dr_SET_0000001_commserv_FULL.dmp') });
  });

  it('uses the server\'s default backup directory when none is configured', async () => {
    const server = new FakeSqlServer();
    server.scripted.push({ match: /InstanceDefaultBackupPath/, result: { recordsets: [[{ path: '/var/opt/mssql/backup' }]], messages: [] } });
    const { engine, copies } = engineWith(server, { backupDirectory: undefined, agentBackupDirectory: undefined });
    await engine.dumpFull('/d/SET_0000002/commserv_FULL.dmp');
    expect(server.statements[1]).toBe("SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'/var/opt/mssql/backup/commserve-dr_SET_0000002_commserv_FULL.dmp' WITH CHECKSUM, INIT, COMPRESSION;");
    expect(copies[0]!.source).toBe('/var/opt/mssql/backup/commserve-dr_SET_0000002_commserv_FULL.dmp');
  });

  describe('chain safety', () => {
    async function fullThenBase(server: FakeSqlServer) {
      const { engine, copies, removed } = engineWith(server);
      const full = await engine.dumpFull('/d/SET_0000010/commserv_FULL.dmp');
      return { engine, copies, removed, base: { manifest: manifestOf('SET_0000010', full.identity), setDir: '/d/SET_0000010' } };
    }

    it('our FULL is the base: a DIFFERENTIAL is taken against it and records DifferentialBaseGUID/LSN = the FULL\'s', async () => {
      const server = new FakeSqlServer();
      const { engine, base } = await fullThenBase(server);
      await expect(engine.differentialBaseProblem(base)).resolves.toBeNull();
      const diff = await engine.dumpDifferential(base, '/d/SET_0000011/commserv_DIFF_11.dmp', 11);
      expect(server.statements).toContain("SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'D:\\SQL Backup\\O''Brien\\commserve-dr_SET_0000011_commserv_DIFF_11.dmp' WITH CHECKSUM, INIT, COMPRESSION, DIFFERENTIAL;");
      expect(diff.identity.details).toMatchObject({
        BackupType: 5,
        DifferentialBaseGUID: base.manifest.database.details.BackupSetGUID,
        DifferentialBaseLSN: base.manifest.database.details.CheckpointLSN,
      });
    });

    it('a foreign COPY_ONLY full backup does not move the base: no promotion', async () => {
      const server = new FakeSqlServer();
      const { engine, base } = await fullThenBase(server);
      server.foreignFull(true);
      await expect(engine.differentialBaseProblem(base)).resolves.toBeNull();
    });

    it('a foreign full backup that is not COPY_ONLY promotes to FULL, saying who, when and where', async () => {
      const server = new FakeSqlServer();
      const { engine, base } = await fullThenBase(server);
      const foreign = server.foreignFull(false);
      const reason = await engine.differentialBaseProblem(base);
      expect(reason).toContain(`a full backup not taken by commserve-dr, not COPY_ONLY, is now the differential base of commserv (BackupSetGUID ${foreign.guid})`);
      expect(reason).toContain('by CORP\\svc-othertool to \\\\nas\\othertool\\commserv.bak');
      expect(reason).toContain(`instead of the cycle's FULL SET_0000010 (${base.manifest.database.details.BackupSetGUID})`);
      await expect(engine.dumpDifferential(base, '/d/SET_0000012/commserv_DIFF_12.dmp', 12)).rejects.toMatchObject({ code: 'DIFF_BASE_MISMATCH' });
      expect(server.statements.filter((s) => /DIFFERENTIAL;$/.test(s))).toEqual([]);
    });

    it('without msdb access the reason still names both backup sets', async () => {
      const server = new FakeSqlServer();
      const { engine, base } = await fullThenBase(server);
      server.foreignFull(false);
      server.msdbDenied = true;
      await expect(engine.differentialBaseProblem(base)).resolves.toMatch(/not in this server's msdb backup history/);
    });

    it('a foreign full between the check and the dump is caught from the DIFFERENTIAL\'s header (DIFF_BASE_MISMATCH, file removed)', async () => {
      const server = new FakeSqlServer();
      const { engine, base, copies, removed } = await fullThenBase(server);
      const ours = { guid: server.base!.guid, lsn: server.base!.lsn.toString() };
      server.foreignFull(false);
      server.scripted.push({ match: /sys\.database_files/, once: true, result: { recordsets: [[{ file_id: 1, name: 'CommServ', differential_base_lsn: ours.lsn, differential_base_guid: ours.guid }]], messages: [] } });
      await expect(engine.dumpDifferential(base, '/d/SET_0000013/commserv_DIFF_13.dmp', 13)).rejects.toMatchObject({ code: 'DIFF_BASE_MISMATCH', message: expect.stringContaining('another full backup ran meanwhile') });
      expect(copies).toHaveLength(1); // only the FULL was copied
      expect(removed.at(-1)).toBe('/mnt/sqlbackup/commserve-dr_SET_0000013_commserv_DIFF_13.dmp');
    });

    it('decides from the recorded FULL alone: other engine, other database, copy-only or missing GUID', () => {
      const ok: DatabaseIdentity = { engine: 'sqlserver', name: 'commserv', details: { BackupType: 1, BackupSetGUID: 'A-B', CheckpointLSN: '100', IsCopyOnly: false } };
      const files = [{ fileId: 1, name: 'a', guid: 'A-B', lsn: '100' }];
      expect(differentialBaseDecision('SET_0000001', ok, 'commserv', files)).toBeNull();
      expect(differentialBaseDecision('SET_0000001', { ...ok, engine: 'sqlite' }, 'commserv', files)).toMatch(/sqlite engine/);
      expect(differentialBaseDecision('SET_0000001', ok, 'other', files)).toMatch(/database commserv, this is other/);
      expect(differentialBaseDecision('SET_0000001', { ...ok, details: { ...ok.details, IsCopyOnly: true } }, 'commserv', files)).toMatch(/COPY_ONLY/);
      expect(differentialBaseDecision('SET_0000001', { ...ok, details: {} }, 'commserv', files)).toMatch(/no BackupSetGUID/);
      expect(differentialBaseDecision('SET_0000001', ok, 'commserv', [{ ...files[0]!, guid: null }])).toMatch(/has no differential base/);
      expect(differentialBaseDecision('SET_0000001', ok, 'commserv', [files[0]!, { ...files[0]!, fileId: 3, guid: 'C-D' }])).toMatch(/different differential bases/);
      // An LSN disagreement alone is not a refusal: the backup-set GUID decides.
      expect(differentialBaseDecision('SET_0000001', ok, 'commserv', [{ ...files[0]!, lsn: '101' }])).toBeNull();
    });

    it('an LSN disagreement is a warning naming both values, never a refusal (SQL Server behaviour from the documentation: HEADERONLY DifferentialBaseLSN = the base\'s FirstLSN; Ola/dbatools compare CheckpointLSN; a wrong base is refused by SQL Server with 3136)', async () => {
      const full = { FirstLSN: '34000000012300100', CheckpointLSN: '34000000012300117' };
      expect(differentialLsnWarning('SET_0000010', full, '34000000012300100')).toBeNull();
      expect(differentialLsnWarning('SET_0000010', full, '34000000012300117')).toBeNull();
      expect(differentialLsnWarning('SET_0000010', full, null)).toBeNull();
      expect(differentialLsnWarning('SET_0000010', full, '34000000012300999')).toBe(
        "the DIFFERENTIAL's DifferentialBaseLSN 34000000012300999 is neither the FirstLSN (34000000012300100) nor the CheckpointLSN (34000000012300117) of the cycle's FULL SET_0000010; the backup-set GUID matches, so the chain stands (SQL Server refuses a wrong base with error 3136)",
      );
      // Through the engine: the DIFFERENTIAL is taken, the warning travels with the dump (job record).
      const server = new FakeSqlServer();
      const { engine, base } = await fullThenBase(server);
      const recorded = { ...base, manifest: manifestOf('SET_0000010', { ...base.manifest.database, details: { ...base.manifest.database.details, FirstLSN: '1', CheckpointLSN: '2' } }) };
      const diff = await engine.dumpDifferential(recorded, '/d/SET_0000011/commserv_DIFF_11.dmp', 11);
      expect(diff.identity.details.BackupType).toBe(5);
      expect(diff.warnings).toEqual([expect.stringMatching(/^the DIFFERENTIAL's DifferentialBaseLSN \d+ is neither the FirstLSN \(1\) nor the CheckpointLSN \(2\) of the cycle's FULL SET_0000010/)]);
    });
  });

  it('shrink sends DBCC SHRINKDATABASE; close is idempotent', async () => {
    const server = new FakeSqlServer('Comm]Serv');
    const { engine } = engineWith(server);
    await engine.shrink();
    expect(server.statements).toEqual(["DBCC SHRINKDATABASE (N'Comm]Serv') WITH NO_INFOMSGS;"]);
    await engine.close();
    await engine.close();
    expect(server.closed).toBe(true);
  });
});

describe('SQL Server credentials, connection errors and retries (SQL Server mocked: cannot run here)', () => {
  const db = { engine: 'sqlserver' as const, server: 'cs01', port: 1433, database: 'commserv', user: 'dr', passwordEnv: 'CS_DR_PW', passwordParameter: '/commserve-dr/prod/DbPassword', trustServerCertificate: false };

  it('reads the password from the environment variable, else the SecureString WithDecryption', async () => {
    await expect(resolveSqlServerPassword(db, { env: { CS_DR_PW: PASSWORD } })).resolves.toEqual({ user: 'dr', password: PASSWORD, source: 'environment variable CS_DR_PW' });
    const sent: unknown[] = [];
    const ssm = { send: async (command: { input: unknown }) => (sent.push(command.input), { Parameter: { Value: PASSWORD } }) };
    await expect(resolveSqlServerPassword(db, { env: {}, ssm: ssm as never })).resolves.toMatchObject({ password: PASSWORD, source: 'SSM parameter /commserve-dr/prod/DbPassword' });
    expect(sent).toEqual([{ Name: '/commserve-dr/prod/DbPassword', WithDecryption: true }]);
  });

  it('a missing secret fails with the variable or parameter name, never a value', async () => {
    await expect(resolveSqlServerPassword({ ...db, passwordParameter: undefined }, { env: {} })).rejects.toMatchObject({ code: 'DB_SECRET_UNAVAILABLE', message: expect.stringContaining('CS_DR_PW') });
    const ssm = { send: async () => Promise.reject(Object.assign(new Error(`denied ${PASSWORD}`), { name: 'AccessDeniedException' })) };
    const error = (await resolveSqlServerPassword(db, { env: {}, ssm: ssm as never }).catch((e: unknown) => e)) as DatabaseError;
    expect(error).toMatchObject({ code: 'DB_SECRET_UNAVAILABLE', message: 'cannot read the SQL Server password from SSM parameter /commserve-dr/prod/DbPassword (AccessDeniedException)' });
    expect(error.cause).toBeUndefined();
    await expect(resolveSqlServerPassword({ ...db, user: undefined }, {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(resolveSqlServerPassword({ ...db, passwordEnv: undefined, passwordParameter: undefined }, {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('maps driver failures: ELOGIN → DB_LOGIN_FAILED, ESOCKET/ETIMEOUT → DB_UNREACHABLE, certificate → DB_TLS_FAILED; one line, no secret', () => {
    const login = connectionError(Object.assign(new Error("Login failed for user 'dr'."), { code: 'ELOGIN' }), TARGET, [PASSWORD]);
    expect(login).toMatchObject({ code: 'DB_LOGIN_FAILED' });
    expect(login.message).toMatch(/^login to SQL Server cs01\.corp\.example:1433 \(database commserv\) failed/);
    const socket = connectionError(Object.assign(new Error(`Failed to connect to cs01:1433 - connect ECONNREFUSED; Password=${PASSWORD}`), { code: 'ESOCKET' }), TARGET, [PASSWORD]);
    expect(socket).toMatchObject({ code: 'DB_UNREACHABLE', message: 'SQL Server cs01.corp.example:1433 (database commserv) is unreachable: connection refused' });
    expect(JSON.stringify(socket.context)).not.toContain(PASSWORD);
    expect(connectionError(Object.assign(new Error('Failed to connect to cs01:1433 in 30000ms'), { code: 'ETIMEOUT' }), TARGET)).toMatchObject({ code: 'DB_UNREACHABLE', message: expect.stringContaining('no answer within the connection timeout') });
    expect(connectionError(Object.assign(new Error('Failed to connect: self-signed certificate'), { code: 'ESOCKET' }), TARGET)).toMatchObject({ code: 'DB_TLS_FAILED' });
    expect(connectionError(Object.assign(new Error('x'), { code: 'ESOCKET' }), { ...TARGET, server: 'cs01\\COMMVAULT' }).message).toContain('SQL Server cs01\\COMMVAULT (database commserv)');
  });

  it('retries DB_UNREACHABLE only, count times, interval apart, reporting each attempt', async () => {
    const slept: number[] = [];
    const retries: string[] = [];
    let calls = 0;
    const value = await withDbRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw new DatabaseError('DB_UNREACHABLE', 'down');
        return 'up';
      },
      { count: 10, intervalMs: 1_800_000, sleep: async (ms) => void slept.push(ms), onRetry: (r) => void retries.push(`${r.attempt}/${r.attempts}`) },
    );
    expect(value).toBe('up');
    expect(slept).toEqual([1_800_000, 1_800_000]);
    expect(retries).toEqual(['1/11', '2/11']);

    calls = 0;
    const exhausted = await withDbRetry(async () => { calls += 1; throw new DatabaseError('DB_UNREACHABLE', 'down'); }, { count: 2, intervalMs: 1, sleep: async () => undefined }).catch((e: unknown) => e as DatabaseError);
    expect(calls).toBe(3);
    expect(exhausted).toMatchObject({ code: 'DB_UNREACHABLE', context: { attempts: 3 } });

    calls = 0;
    await expect(withDbRetry(async () => { calls += 1; throw new DatabaseError('DB_LOGIN_FAILED', 'no'); }, { count: 5, intervalMs: 1, sleep: async () => undefined })).rejects.toMatchObject({ code: 'DB_LOGIN_FAILED' });
    expect(calls).toBe(1);
  });

  it('openEngine picks SQL Server, connects with the resolved login, retries unreachable connects, not login failures', async () => {
    const settings = parseSettings({ Database: { ...db, backupDirectory: 'D:\\SQLBackup' } }, 'test');
    const seen: Array<{ target: SqlServerTarget; user: string; password: string }> = [];
    let failures = 2;
    const engine = await openEngine(settings, {
      env: { CS_DR_PW: PASSWORD },
      retry: { count: 5, intervalMs: 10, sleep: async () => undefined },
      connect: async (target, login) => {
        seen.push({ target, ...login });
        if (failures-- > 0) throw Object.assign(new Error('Failed to connect - Could not connect (sequence)'), { code: 'ESOCKET' });
        return new FakeSqlServer();
      },
    });
    expect(engine).toBeInstanceOf(SqlServerEngine);
    expect(engine.displayName).toBe('commserv');
    expect(seen).toHaveLength(3);
    expect(seen[0]).toEqual({ target: { server: 'cs01', port: 1433, database: 'commserv' }, user: 'dr', password: PASSWORD });
    await engine.close();

    let attempts = 0;
    const error = (await openSqlServerEngine(db, {
      env: { CS_DR_PW: PASSWORD },
      retry: { count: 5, intervalMs: 10, sleep: async () => undefined },
      connect: async () => {
        attempts += 1;
        throw Object.assign(new Error("Login failed for user 'dr'."), { code: 'ELOGIN' });
      },
    }).catch((e: unknown) => e)) as DatabaseError;
    expect(attempts).toBe(1);
    expect(error).toMatchObject({ code: 'DB_LOGIN_FAILED' });
    expect(error.message).not.toContain(PASSWORD);
  });

  it('openEngine passes the settings\' compression, agentBackupDirectory and trustServerCertificate through', async () => {
    const settings = parseSettings(
      { Database: { ...db, backupDirectory: 'D:\\SQLBackup', agentBackupDirectory: '/mnt/sqlbackup', compression: false, trustServerCertificate: true } },
      'test',
    );
    const server = new FakeSqlServer();
    const copies: string[] = [];
    const engine = await openEngine(settings, {
      env: { CS_DR_PW: PASSWORD },
      connect: async () => server,
      engine: { copyBackupFile: async (source) => (copies.push(source), 1), removeBackupFile: async () => undefined },
    });
    await engine.dumpFull('/dest/SET_0000009/commserv_FULL.dmp');
    expect(server.statements[0]).toBe("SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'D:\\SQLBackup\\commserve-dr_SET_0000009_commserv_FULL.dmp' WITH CHECKSUM, INIT, NO_COMPRESSION;");
    expect(copies).toEqual(['/mnt/sqlbackup/commserve-dr_SET_0000009_commserv_FULL.dmp']);
    await engine.close();
    if (settings.Database.engine !== 'sqlserver') throw new Error('unreachable');
    expect(mssqlOptionsFor(settings.Database)).toEqual({ trustServerCertificate: true });
    expect(mssqlOptionsFor(settings.Database, { mssql: { trustServerCertificate: false, connectionTimeoutMs: 5 } })).toEqual({ trustServerCertificate: false, connectionTimeoutMs: 5 });
    expect(parseSettings({ Database: db }, 'test').Database).toMatchObject({ trustServerCertificate: false });
  });

  it('openSqlServerSession connects to the database asked for (recovery: master)', async () => {
    const seen: SqlServerTarget[] = [];
    const { session, target } = await openSqlServerSession(db, { env: { CS_DR_PW: PASSWORD }, connect: async (t) => (seen.push(t), new FakeSqlServer()) }, 'master');
    expect(target).toEqual({ server: 'cs01', port: 1433, database: 'master' });
    expect(seen).toEqual([target]);
    await session.close();
  });
});
