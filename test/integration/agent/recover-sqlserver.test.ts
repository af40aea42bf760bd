/**
 * Hot-site recovery and verify of SQL Server points (SQL Server mocked: cannot run here). The SETs are made the way
 * phase 1 makes them — the SQL Server engine takes the FULL and DIFFERENTIALs on a fake server that writes stand-in
 * backup files, which the engine streams into the SET folders; manifests carry the engine's HEADERONLY details — and
 * uploaded to moto. Recovery then runs for real (plan, download, SHA-256 checks, registry import, report) against a
 * fake target server, which reads the dumps from disk only where recovery copied them (the backup directory).
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackupType, setName as setNameOf } from '#core/set-id';
import { parseManifest, serializeManifest, type Manifest, type ManifestInput } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { REPORT_JSON, REPORT_TEXT, runRecover } from '#agent/commands/recover/recover';
import { readVerifications, runVerify } from '#agent/commands/recover/verify';
import { SqlServerEngine } from '#agent/engines/sqlserver/sqlserver-engine';
import type { SqlServerTarget } from '#agent/engines/sqlserver/session';
import { checksumFile } from '../../support/checksums';
import { uploadSet } from '#agent/hotsite/stream-upload';
import { FileHiveStore } from '#agent/registry/index';
import { motoEndpoint, motoS3Client } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';
import { FakeSqlServer, type FakeBackup } from '../../unit/engines/sqlserver/fake-sql-server';
import { logger } from './recover-fixture';

const ROOT_KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\CommVault Systems\\Galaxy\\Instance001\\CommServe';
const PASSWORD = 'recovery-Pa55';
/** The target server's backup directory as it sees it (a share mapped to a temp directory for the agent). */
const SERVER_BACKUP_DIR = 'B:\\SQLBackup';
const noProcesses = { processNames: [] as string[] };

let bucketCounter = 0;

function regFile(values: Record<string, string>): Buffer {
  const lines = ['REGEDIT4', '', `[${ROOT_KEY}]`, ...Object.entries(values).map(([k, v]) => `"${k}"="${v}"`), ''];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

describe('recover and verify SQL Server points (SQL Server mocked: cannot run here)', () => {
  const tempDir = useTempDirs('commserve-dr-recover-sql-');
  let phase1: string;
  let production: FakeSqlServer;
  const manifests = new Map<string, Manifest>();

  /** One SET folder: the engine's dump, a registry export, a firewall file, then the manifest (last). */
  async function writeSet(jobId: number, type: 'FULL' | 'DIFFERENTIAL', engine: SqlServerEngine, full?: Manifest): Promise<Manifest> {
    const setName = setNameOf(jobId);
    const dir = join(phase1, setName);
    mkdirSync(dir, { recursive: true });
    const startTime = new Date(Date.UTC(2026, 10, jobId, 17, 0, 0)).toISOString();
    const dumpName = type === 'FULL' ? 'commserv_FULL.dmp' : `commserv_DIFF_${jobId}.dmp`;
    let identity;
    if (type === 'FULL') {
      const dump = await engine.dumpFull(join(dir, dumpName));
      const cycle = await engine.prepareCycle(join(dir, dumpName), dir, jobId);
      identity = { ...dump.identity, details: { ...dump.identity.details, ...cycle.details } };
    } else {
      identity = (await engine.dumpDifferential({ manifest: full!, setDir: join(phase1, full!.setName) }, join(dir, dumpName), jobId)).identity;
    }
    const regName = type === 'FULL' ? 'commserv_hive.reg' : `commserv_hive_${jobId}.reg`;
    writeFileSync(join(dir, regName), regFile({ sCSHOSTNAME: 'cs01', sLastJob: setName }));
    writeFileSync(join(dir, 'FwPorts.txt'), '8400-8403\r\n');
    const files: ManifestInput['files'] = [];
    for (const [name, role] of [[dumpName, 'database'], [regName, 'registry'], ['FwPorts.txt', 'firewall']] as const) {
      const sums = await checksumFile(join(dir, name));
      files.push({ name, role, size: sums.size, sha256: sums.sha256, s3: { partSize: sums.partSize, checksumSHA256: sums.s3ChecksumSHA256 } });
    }
    const input: ManifestInput = {
      formatVersion: 1,
      product: 'commserve-dr',
      jobId,
      setName,
      backupType: type === 'FULL' ? BackupType.Full : BackupType.Differential,
      cycleId: type === 'FULL' ? jobId : full!.jobId,
      baseFullSet: type === 'FULL' ? null : full!.setName,
      startTime,
      endTime: new Date(Date.parse(startTime) + 300_000).toISOString(),
      agentVersion: 'test',
      hostname: 'cs01',
      database: identity,
      integrity: { status: 'ok', messages: [], durationMs: 1 },
      registry: { store: 'windows', exportedKeys: [ROOT_KEY], missingKeys: [] },
      firewall: { present: ['FwPorts.txt'], missing: ['FwHosts.txt', 'FwPeers.txt'] },
      files,
    };
    const bytes = serializeManifest(input);
    writeFileSync(join(dir, 'manifest.json'), bytes);
    return parseManifest(bytes);
  }

  beforeAll(async () => {
    const root = tempDir();
    phase1 = join(root, 'dr');
    const backupDir = join(root, 'prod-sqlbackup');
    mkdirSync(backupDir);
    production = new FakeSqlServer('CommServ');
    production.writeBackupFiles = true;
    // Phase 1 on the production CommServe: the agent on the SQL Server machine, backup directory local to both.
    const engine = new SqlServerEngine({ session: production, target: { server: 'cs01', port: 1433, database: 'CommServ' }, backupDirectory: backupDir, compression: true });
    const full = await writeSet(1, 'FULL', engine);
    manifests.set(full.setName, full);
    manifests.set('SET_0000002', await writeSet(2, 'DIFFERENTIAL', engine, full));
    manifests.set('SET_0000003', await writeSet(3, 'DIFFERENTIAL', engine, full));
    expect(readdirSync(backupDir)).toEqual([]); // the engine removed its backup files
  });

  /** A fresh bucket with the SETs, settings naming the target SQL Server (or not), and a fake target server. */
  async function setup(database: 'sqlserver' | 'sqlite' = 'sqlserver', extra: Record<string, unknown> = {}) {
    const dir = tempDir();
    const s3: S3Client = motoS3Client();
    const bucket = `recover-sql-${process.pid}-${++bucketCounter}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const set of readdirSync(phase1).filter((n) => n.startsWith('SET_')).sort()) await uploadSet(s3, bucket, join(phase1, set), manifests.get(set)!);
    const agentBackupDir = join(dir, 'share-sqlbackup');
    mkdirSync(agentBackupDir);
    const settings: Settings = parseSettings(
      {
        HotSite: { bucket, endpoint: motoEndpoint() },
        StateDirectory: join(dir, 'state'),
        Phase1Destination: join(dir, 'dr'),
        ...(database === 'sqlserver'
          ? {
              Database: {
                engine: 'sqlserver',
                server: 'cs-new.corp.example',
                database: 'CommServ',
                user: 'commserve_dr',
                passwordEnv: 'CS_DR_RECOVERY_PW',
                backupDirectory: SERVER_BACKUP_DIR,
                agentBackupDirectory: agentBackupDir,
                restoreDataDirectory: "D:\\SQL Data\\O'Brien",
                restoreLogDirectory: 'L:\\SQLLogs',
                ...extra,
              },
            }
          : {}),
      },
      'test',
    );
    // The new server: knows the backup sets (as any server reads a backup file's header), reads files from disk only.
    const target = new FakeSqlServer('CommServ');
    for (const [guid, b] of production.backups) target.backups.set(guid, b);
    target.localPathOf = (p) => (p.startsWith(`${SERVER_BACKUP_DIR}\\`) ? join(agentBackupDir, p.slice(SERVER_BACKUP_DIR.length + 1)) : p);
    const connects: Array<{ target: SqlServerTarget; user: string; password: string }> = [];
    const sqlServer = {
      env: { CS_DR_RECOVERY_PW: PASSWORD },
      connect: async (t: SqlServerTarget, login: { user: string; password: string }) => {
        connects.push({ target: t, ...login });
        return target;
      },
    };
    return { s3, bucket, settings, to: join(dir, 'new-commserve'), agentBackupDir, target, connects, sqlServer };
  }

  const full = () => manifests.get('SET_0000001')!;
  const guidOf = (m: Manifest) => String(m.database.details.BackupSetGUID);
  const copy = (set: string, file: string) => `${SERVER_BACKUP_DIR}\\commserve-dr_restore_${set}_${file}`;
  const q = (s: string) => s.replace(/'/g, "''");
  const MOVES = [
    "MOVE N'CommServ' TO N'D:\\SQL Data\\O''Brien\\CommServ.mdf'",
    "MOVE N'CommServ_O''Data' TO N'D:\\SQL Data\\O''Brien\\CommServ_2.ndf'",
    "MOVE N'CommServ_log' TO N'L:\\SQLLogs\\CommServ_log.ldf'",
  ].join(', ');
  const OFFLINE = "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'CommServ') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'CommServ', 'Status')) = N'ONLINE' ALTER DATABASE [CommServ] SET OFFLINE WITH ROLLBACK IMMEDIATE;";
  const MULTI_USER = "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'CommServ') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'CommServ', 'Status')) = N'ONLINE' ALTER DATABASE [CommServ] SET MULTI_USER WITH ROLLBACK IMMEDIATE;";
  const AFTER = [MULTI_USER, "SET LOCK_TIMEOUT 30000;\nSELECT sp.name FROM sys.server_principals AS sp WHERE sp.name IN (N'sa');", 'SET LOCK_TIMEOUT 30000;\nALTER AUTHORIZATION ON DATABASE::[CommServ] TO [sa];', expect.stringContaining('AND sp.sid IS NULL')];
  const CHECKDB = "SET LANGUAGE us_english;\nSET LOCK_TIMEOUT -1;\nDBCC CHECKDB (N'CommServ') WITH NO_INFOMSGS, ALL_ERRORMSGS;";

  it('the SETs carry realistic HEADERONLY details: FULL type 1, DIFFERENTIALs type 5 based on the FULL', () => {
    const f = full().database;
    expect(f).toMatchObject({ engine: 'sqlserver', name: 'CommServ', details: { BackupType: 1, IsCopyOnly: false, lsnSource: 'msdb', differentialBaseIsThisFull: true } });
    expect(String(f.details.CheckpointLSN)).toMatch(/^\d{17}$/);
    for (const set of ['SET_0000002', 'SET_0000003']) {
      const d = manifests.get(set)!.database.details;
      expect(d).toMatchObject({ BackupType: 5, DifferentialBaseGUID: guidOf(full()), DifferentialBaseLSN: f.details.CheckpointLSN });
    }
  });

  it('restores FULL + newest DIFFERENTIAL: dumps copied to the backup directory, exact RESTORE sequence, CHECKDB, registry, report', async () => {
    const { s3, settings, to, agentBackupDir, target, connects, sqlServer } = await setup();
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses, sqlServer });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(connects).toEqual([{ target: { server: 'cs-new.corp.example', port: 1433, database: 'master' }, user: 'commserve_dr', password: PASSWORD }]);
    const fullCopy = copy('SET_0000001', 'commserv_FULL.dmp');
    const diffCopy = copy('SET_0000003', 'commserv_DIFF_3.dmp');
    expect(target.statements).toEqual([
      `RESTORE HEADERONLY FROM DISK = N'${fullCopy}';`,
      `RESTORE HEADERONLY FROM DISK = N'${diffCopy}';`,
      `RESTORE FILELISTONLY FROM DISK = N'${fullCopy}';`,
      OFFLINE,
      `SET LOCK_TIMEOUT -1;\nRESTORE DATABASE [CommServ] FROM DISK = N'${fullCopy}' WITH NORECOVERY, REPLACE, ${MOVES};`,
      `SET LOCK_TIMEOUT -1;\nRESTORE DATABASE [CommServ] FROM DISK = N'${diffCopy}' WITH RECOVERY;`,
      ...AFTER,
      CHECKDB,
    ]);
    expect(target.closed).toBe(true);
    // The copies the server read are gone; nothing SQLite-like was written into the target directory.
    expect(readdirSync(agentBackupDir)).toEqual([]);
    expect(readdirSync(to).sort()).toEqual([REPORT_JSON, REPORT_TEXT, 'registry']);
    const doc = result.document;
    expect(doc.status).toBe('recovered');
    expect(doc.point).toMatchObject({ sets: ['SET_0000001', 'SET_0000003'], full: 'SET_0000001', differential: 'SET_0000003' });
    expect(doc.target.database).toBe('SQL Server cs-new.corp.example:1433, database [CommServ]');
    expect(doc.database).toMatchObject({ integrity: 'ok', appliedPages: 0, sha256: manifests.get('SET_0000003')!.files[0]!.sha256 });
    expect(doc.sqlServer).toMatchObject({
      server: 'cs-new.corp.example:1433',
      database: 'CommServ',
      sourceDatabase: 'CommServ',
      dataDirectory: "D:\\SQL Data\\O'Brien",
      logDirectory: 'L:\\SQLLogs',
      directoriesFrom: 'settings',
      integrity: 'ok',
      dumps: [
        { set: 'SET_0000001', file: 'commserv_FULL.dmp', serverPath: fullCopy },
        { set: 'SET_0000003', file: 'commserv_DIFF_3.dmp', serverPath: diffCopy },
      ],
    });
    expect(doc.sqlServer!.moves).toHaveLength(3);
    expect(doc.sqlServer!.statements).toEqual(target.statements);
    // Registry from the DIFFERENTIAL's complete export; firewall left alone.
    expect(doc.registry!.imported.map((r) => r.file)).toEqual(['commserv_hive_3.reg']);
    const hive = await new FileHiveStore(join(to, 'registry', 'commserv_hive.reg')).load();
    expect(hive.getKey(ROOT_KEY)).toBeDefined();
    expect(doc.firewall).toMatchObject({ restored: false, skipped: ['FwPorts.txt'] });
    // The report (JSON and text) says what was restored where.
    const json = JSON.parse(readFileSync(join(to, REPORT_JSON), 'utf8'));
    expect(json.sqlServer.statements).toHaveLength(11);
    const text = readFileSync(join(to, REPORT_TEXT), 'utf8');
    expect(text).toContain('SQL Server: cs-new.corp.example:1433, database [CommServ] restored; DBCC CHECKDB ok');
    expect(text).toContain(`MOVE CommServ_log → L:\\SQLLogs\\CommServ_log.ldf`);
    expect(result.text).toContain(`from SET_0000003/commserv_DIFF_3.dmp (read by the server as ${diffCopy})`);
  });

  it('a named FULL alone is restored WITH RECOVERY, REPLACE and a MOVE per file', async () => {
    const { s3, settings, to, target, sqlServer } = await setup();
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000001', preflight: noProcesses, sqlServer });
    expect(result.exitCode).toBe(0);
    const fullCopy = copy('SET_0000001', 'commserv_FULL.dmp');
    expect(target.statements).toEqual([
      `RESTORE HEADERONLY FROM DISK = N'${fullCopy}';`,
      `RESTORE FILELISTONLY FROM DISK = N'${fullCopy}';`,
      OFFLINE,
      `SET LOCK_TIMEOUT -1;\nRESTORE DATABASE [CommServ] FROM DISK = N'${fullCopy}' WITH RECOVERY, REPLACE, ${MOVES};`,
      ...AFTER,
      CHECKDB,
    ]);
    expect(result.document.registry!.imported.map((r) => r.file)).toEqual(['commserv_hive.reg']);
  });

  it.each([
    ['DifferentialBaseGUID', '11111111-2222-3333-4444-555555555555', /SET_0000003 is based on backup set 11111111-2222-3333-4444-555555555555, not on SET_0000001/],
  ])('refuses a DIFFERENTIAL whose %s is not the FULL\'s before connecting: no RESTORE, target untouched', async (field, value, message) => {
    const { s3, bucket, settings, to, agentBackupDir, target, connects, sqlServer } = await setup();
    const diff = manifests.get('SET_0000003')!;
    const wrong = { ...diff, database: { ...diff.database, details: { ...diff.database.details, [field]: value } } };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sets/SET_0000003/manifest.json', Body: serializeManifest(wrong) }));
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses, sqlServer });
    expect(result.exitCode).toBe(1);
    expect(result.document.error).toMatchObject({ code: 'DIFF_WRONG_BASE', message: expect.stringMatching(message) });
    expect(connects).toEqual([]);
    expect(target.statements).toEqual([]);
    expect(readdirSync(agentBackupDir)).toEqual([]);
    expect(existsSync(join(to, 'registry'))).toBe(false);
    expect(existsSync(join(to, REPORT_JSON))).toBe(false);
    expect(result.text).toMatch(/Recovery FAILED\nThe target was not changed\./);
  });

  it('refuses a staged dump whose own header is another backup set, before any RESTORE DATABASE', async () => {
    const { s3, settings, to, target, sqlServer } = await setup();
    // The server reads a different backup from the FULL's copy (e.g. a file replaced in the backup directory).
    const foreign: FakeBackup = production.foreignFull(false);
    target.backups.set(foreign.guid, foreign);
    target.files.set(copy('SET_0000001', 'commserv_FULL.dmp'), foreign.guid);
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses, sqlServer });
    expect(result.exitCode).toBe(1);
    expect(result.document.error).toMatchObject({ code: 'DIFF_WRONG_BASE', message: expect.stringContaining(`holds backup set ${foreign.guid}`) });
    expect(target.statements.some((s) => /RESTORE DATABASE|ALTER DATABASE/.test(s))).toBe(false);
    expect(existsSync(join(to, 'registry'))).toBe(false);
  });

  it('CHECKDB finding corruption after the restore fails the recovery before the registry (report written, says so)', async () => {
    const { s3, settings, to, target, sqlServer } = await setup();
    target.scripted.push({
      match: /DBCC CHECKDB/,
      errors: [
        { number: 8928, severity: 16, state: 1, message: 'Object ID 5, index ID 1, partition ID 1, alloc unit ID 1 (type In-row data): Page (1:153) could not be processed.' },
        { number: 8989, severity: 16, state: 1, message: "CHECKDB found 0 allocation errors and 1 consistency errors in database 'CommServ'." },
      ],
    });
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses, sqlServer });
    expect(result.exitCode).toBe(1);
    expect(result.document.error).toMatchObject({ code: 'RESTORE_INTEGRITY_FAILED', message: expect.stringContaining('fails DBCC CHECKDB (corrupt)') });
    expect(result.document.sqlServer).toMatchObject({ integrity: 'corrupt' });
    expect(existsSync(join(to, 'registry'))).toBe(false);
    expect(JSON.parse(readFileSync(join(to, REPORT_JSON), 'utf8')).status).toBe('failed');
  });

  it('takes the backup, data and log directories from the server when the settings do not name them', async () => {
    const { s3, settings, to, agentBackupDir, target, sqlServer } = await setup('sqlserver', {
      backupDirectory: undefined,
      agentBackupDirectory: undefined,
      restoreDataDirectory: undefined,
      restoreLogDirectory: undefined,
    });
    target.defaultPaths = { backup: agentBackupDir, data: '/var/opt/mssql/data/', log: '/var/opt/mssql/log' };
    target.localPathOf = (p) => p;
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000002', preflight: noProcesses, sqlServer });
    expect(result.document.error).toBeNull();
    expect(target.statements.slice(0, 2)).toEqual([
      "SELECT CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultDataPath')) AS data_path, CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultLogPath')) AS log_path;",
      "SELECT CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultBackupPath')) AS path;",
    ]);
    expect(target.statements[2]).toBe(`RESTORE HEADERONLY FROM DISK = N'${q(agentBackupDir)}/commserve-dr_restore_SET_0000001_commserv_FULL.dmp';`);
    expect(target.statements[6]).toContain("MOVE N'CommServ' TO N'/var/opt/mssql/data/CommServ.mdf'");
    expect(target.statements[6]).toContain("MOVE N'CommServ_log' TO N'/var/opt/mssql/log/CommServ_log.ldf'");
    expect(result.document.sqlServer).toMatchObject({ directoriesFrom: 'server' });
    expect(readdirSync(agentBackupDir)).toEqual([]);
  });

  it('a SQL Server point with settings naming no SQL Server is ENGINE_UNSUPPORTED, nothing changed', async () => {
    const { s3, settings, to, connects, sqlServer } = await setup('sqlite');
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses, sqlServer });
    expect(result.exitCode).toBe(1);
    expect(result.document.error).toMatchObject({ code: 'ENGINE_UNSUPPORTED' });
    expect(connects).toEqual([]);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
  });

  it('verify trial-restores as <db>_commserve_dr_verify with scratch file names, checks it and drops it', async () => {
    const { s3, settings, target, agentBackupDir, sqlServer } = await setup();
    const result = await runVerify({ settings, s3, logger, sqlServer });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    const scratch = 'CommServ_commserve_dr_verify';
    const touched = target.statements.filter((s) => /(RESTORE|DROP) DATABASE \[|CHECKDB/.test(s));
    expect(touched).toEqual([
      expect.stringContaining(`RESTORE DATABASE [${scratch}] FROM DISK = N'${copy('SET_0000001', 'commserv_FULL.dmp')}' WITH NORECOVERY, REPLACE, MOVE N'CommServ' TO N'D:\\SQL Data\\O''Brien\\${scratch}_CommServ.mdf', MOVE N'CommServ_O''Data' TO N'D:\\SQL Data\\O''Brien\\${scratch}_CommServ_2.ndf', MOVE N'CommServ_log' TO N'L:\\SQLLogs\\${scratch}_CommServ_log.ldf';`),
      `SET LOCK_TIMEOUT -1;\nRESTORE DATABASE [${scratch}] FROM DISK = N'${copy('SET_0000003', 'commserv_DIFF_3.dmp')}' WITH RECOVERY;`,
      `SET LANGUAGE us_english;\nSET LOCK_TIMEOUT -1;\nDBCC CHECKDB (N'${scratch}') WITH NO_INFOMSGS, ALL_ERRORMSGS;`,
      `SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'${scratch}') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'${scratch}', 'Status')) = N'ONLINE' ALTER DATABASE [${scratch}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;\nIF DB_ID(N'${scratch}') IS NOT NULL DROP DATABASE [${scratch}];`,
    ]);
    expect(target.statements.some((s) => s.includes('[CommServ]') || s.includes("N'CommServ')"))).toBe(false); // the CommServe database is never touched
    expect([...target.databases]).toEqual(['CommServ']);
    expect(readdirSync(agentBackupDir)).toEqual([]);
    const v = result.document.verification!;
    expect(v).toMatchObject({ result: 'restorable', scope: 'checksums-and-trial-restore', sets: ['SET_0000001', 'SET_0000003'] });
    expect(v.trialRestore).toMatchObject({ engine: 'sqlserver', server: 'cs-new.corp.example:1433', database: scratch, integrity: 'ok' });
    expect(readVerifications(settings).get('SET_0000003')).toMatchObject({ result: 'restorable' });
    expect(result.text).toContain(`trial restore: cs-new.corp.example:1433 as [${scratch}] (dropped), DBCC CHECKDB ok`);
  });

  it('verify without a SQL Server in the settings records checksums only: not proven restorable', async () => {
    const { s3, settings, connects, sqlServer } = await setup('sqlite');
    const result = await runVerify({ settings, s3, logger, sqlServer });
    expect(result.exitCode).toBe(1);
    expect(result.document.status).toBe('checksums-only');
    const v = result.document.verification!;
    expect(v).toMatchObject({ result: 'failed', scope: 'checksums-only', trialRestore: null });
    expect(v.checksums.every((c) => c.ok)).toBe(true);
    expect(v.note).toMatch(/trial restore not possible: SET_0000001 is a SQL Server backup/);
    expect(v.problems).toEqual([v.note]);
    expect(connects).toEqual([]);
    expect(readVerifications(settings).get('SET_0000003')).toMatchObject({ result: 'failed', scope: 'checksums-only' });
    expect(result.text).toContain('CHECKSUMS OK, NOT PROVEN RESTORABLE (no trial restore)');
  });
});
