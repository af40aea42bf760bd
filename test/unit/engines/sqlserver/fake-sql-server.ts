/**
 * A stand-in for SQL Server behind the engine's SqlSession interface (SQL Server cannot run here): it records every
 * batch and simulates what the engine relies on — BACKUP DATABASE (FULL, DIFFERENTIAL, COPY_ONLY) moving the
 * database's differential base, RESTORE HEADERONLY / FILELISTONLY rows shaped as SQL Server returns them through
 * `mssql` (numeric LSNs as JS numbers, bigint FileId as a string, bit as boolean), msdb backupset rows with LSNs
 * converted to text, sys.database_files differential-base rows, and scripted errors.
 *
 * With `writeBackupFiles`, BACKUP writes a small stand-in backup file (its first line names the backup set GUID) at
 * the path it was given — a real local path in the tests — and RESTORE HEADERONLY / RESTORE DATABASE of a path it
 * does not know read that line from disk: the recovery tests thereby check that the dumps really are where the
 * "server" reads them. RESTORE DATABASE and DROP DATABASE keep `databases` up to date.
 */
import { closeSync, existsSync, openSync, readSync, writeFileSync } from 'node:fs';
import { SqlBatchError, type BatchOptions, type SqlBatchResult, type SqlMessage, type SqlSession } from '#agent/engines/sqlserver/session';

/** One backup set the fake server knows. */
export interface FakeBackup {
  guid: string;
  /** 1 database (FULL), 5 differential, 2 log. */
  type: 1 | 2 | 5;
  copyOnly: boolean;
  database: string;
  firstLsn: bigint;
  lastLsn: bigint;
  checkpointLsn: bigint;
  databaseBackupLsn: bigint;
  diffBaseLsn: bigint | null;
  diffBaseGuid: string | null;
  userName: string;
  device: string;
  finished: Date;
}

/** Unescapes an N'…' literal's body. */
function literal(sql: string, after: RegExp): string {
  const m = new RegExp(`${after.source}\\s*N'((?:[^']|'')*)'`, 'i').exec(sql);
  if (!m) throw new Error(`fake: no literal after ${after} in ${sql}`);
  return m[1]!.replace(/''/g, "'");
}

let guidCounter = 0;
function nextGuid(): string {
  guidCounter += 1;
  return `6F9619FF-8B86-D011-B42D-${guidCounter.toString(16).toUpperCase().padStart(12, '0')}`;
}

/** The fake server. `database` is the CommServe database; LSNs start above 2^53 on purpose. */
export class FakeSqlServer implements SqlSession {
  readonly statements: string[] = [];
  readonly backups = new Map<string, FakeBackup>();
  /** Backup file (server path) → backup set GUID. */
  readonly files = new Map<string, string>();
  /** The database's current differential base (what sys.database_files reports for both data files). */
  base: { guid: string; lsn: bigint } | null = null;
  /** Rows for RESTORE FILELISTONLY. */
  fileList: Array<Record<string, unknown>> = [
    { LogicalName: 'CommServ', PhysicalName: 'C:\\Program Files\\Microsoft SQL Server\\MSSQL\\DATA\\CommServ.mdf', Type: 'D', FileGroupName: 'PRIMARY', Size: 1073741824, MaxSize: 35184372080640, FileId: '1', CreateLSN: 0, DropLSN: 0, IsReadOnly: false, IsPresent: true },
    { LogicalName: "CommServ_O'Data", PhysicalName: 'E:\\Data\\CommServ_2.ndf', Type: 'D', FileGroupName: 'SECONDARY', Size: 1048576, MaxSize: -1, FileId: '3', CreateLSN: 0, DropLSN: 0, IsReadOnly: false, IsPresent: true },
    { LogicalName: 'CommServ_log', PhysicalName: 'L:\\Logs\\CommServ_log.ldf', Type: 'L', FileGroupName: null, Size: 524288000, MaxSize: 2199023255552, FileId: '2', CreateLSN: 0, DropLSN: 0, IsReadOnly: false, IsPresent: true },
  ];
  /** When set, msdb queries fail with a permission error (msdb not readable by the login). */
  msdbDenied = false;
  /** Scripted result of the next batch matching a pattern: rows/messages, or errors to throw. */
  readonly scripted: Array<{ match: RegExp; result?: SqlBatchResult; errors?: SqlMessage[]; messages?: SqlMessage[]; driverCode?: string; once?: boolean }> = [];
  closed = false;
  /** Write a stand-in backup file at the BACKUP's path (a real local path in the tests). */
  writeBackupFiles = false;
  /** Where a server path is on this machine's disk (a share: `B:\\SQLBackup\\x` → `/tmp/…/x`); default itself. */
  localPathOf: (serverPath: string) => string = (p) => p;
  /** Databases on this server (RESTORE DATABASE adds, DROP DATABASE removes). */
  readonly databases = new Set<string>();
  /** SERVERPROPERTY('InstanceDefaultBackupPath' / 'InstanceDefaultDataPath' / 'InstanceDefaultLogPath'). */
  defaultPaths: { backup: string | null; data: string | null; log: string | null } = { backup: null, data: null, log: null };
  private lsn = 34_000_000_012_300_001n;
  /** The answer to the rights query (IS_SRVROLEMEMBER / IS_ROLEMEMBER / HAS_PERMS_BY_NAME: 1, 0 or NULL). */
  rights: Record<string, number | null> = { is_sysadmin: 0, is_dbcreator: 0, is_db_owner: 1, can_backup_database: 1, can_read_backupset: 1, can_read_backupmediafamily: 1, can_create_database: 0, can_view_server_state: 0 };
  /** sys.databases owner / TRUSTWORTHY and the mapped users (principalsQuery), as SQL Server returns them. */
  principals: { owner: string | null; ownerSid: string | null; trustworthy: boolean; users: Array<{ user_name: string; user_type: string; sid: string; login_name: string | null }> } = {
    owner: 'sa', ownerSid: '0x01', trustworthy: false, users: [],
  };
  /** Logins on this server (sys.server_principals): name → type (S SQL login, U Windows login, G Windows group). */
  logins = new Map<string, string>([['sa', 'S']]);
  /** Orphaned users of the restored database: name → type. */
  orphans = new Map<string, string>();
  /** `backupset.time_zone` of new rows (15-minute steps from UTC; 4 = UTC+01:00). */
  timeZone = 4;
  /** `sys.databases.recovery_model_desc` of the CommServe database (FULL, BULK_LOGGED, SIMPLE). */
  recoveryModel = 'FULL';
  /** Where the next log backup starts (the log chain: each BACKUP LOG starts where the previous one ended). */
  private logChainStart = 34_000_000_012_300_001n;
  /** The clock of new backups (backup_finish_date); each backup moves it 1 min on. */
  clock = new Date(Date.UTC(2025, 0, 2, 17, 5, 0));

  constructor(readonly database = 'commserv') {
    this.databases.add(database);
  }

  /** The content of a stand-in backup file of `guid` (first line `FAKE-SQLSERVER-BACKUP <GUID>`, then filler). */
  static backupFileContent(guid: string, bytes = 64 * 1024): Buffer {
    const head = Buffer.from(`FAKE-SQLSERVER-BACKUP ${guid}\n`, 'ascii');
    const body = Buffer.alloc(Math.max(bytes - head.length, 0));
    for (let i = 0; i < body.length; i += 1) body[i] = (i * 31 + guid.charCodeAt(i % guid.length)) & 0xff;
    return Buffer.concat([head, body]);
  }

  /** The backup set of a known path, or of a stand-in backup file on disk. */
  private backupSetOf(path: string): string | undefined {
    const known = this.files.get(path);
    const local = this.localPathOf(path);
    if (known || !existsSync(local)) return known;
    const fd = openSync(local, 'r');
    try {
      const head = Buffer.alloc(80);
      const n = readSync(fd, head, 0, head.length, 0);
      const m = /^FAKE-SQLSERVER-BACKUP ([0-9A-F-]{36})\n/.exec(head.subarray(0, n).toString('ascii'));
      return m && this.backups.has(m[1]!) ? m[1] : undefined;
    } finally {
      closeSync(fd);
    }
  }

  private cannotOpen(statement: string): never {
    throw new SqlBatchError([{ number: 3201, severity: 16, state: 2, message: 'Cannot open backup device. Operating system error 2(The system cannot find the file specified.).' }, { number: 3013, severity: 16, state: 1, message: `${statement} is terminating abnormally.` }], [], 'EREQUEST');
  }

  /** Another tool takes a full backup (COPY_ONLY or not). */
  foreignFull(copyOnly: boolean, userName = 'CORP\\svc-othertool'): FakeBackup {
    return this.takeBackup(this.database, `\\\\nas\\othertool\\${this.database}.bak`, false, copyOnly, userName);
  }

  /** Another tool takes a DIFFERENTIAL (against whatever the differential base is now). */
  foreignDifferential(userName = 'CORP\\svc-othertool'): FakeBackup {
    return this.takeBackup(this.database, `\\\\nas\\othertool\\${this.database}_diff.bak`, true, false, userName);
  }

  /** Another tool takes a log backup (the chain moves on: the next LOG starts after it). */
  foreignLog(userName = 'CORP\\svc-othertool'): FakeBackup {
    return this.takeLogBackup(this.database, `\\\\nas\\othertool\\${this.database}.trn`, userName);
  }

  /** BACKUP LOG: from where the previous log backup ended to now; refused under the SIMPLE recovery model (error 4208). */
  private takeLogBackup(database: string, device: string, userName: string): FakeBackup {
    if (this.recoveryModel === 'SIMPLE') {
      throw new SqlBatchError([{ number: 4208, severity: 16, state: 1, message: `The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP DATABASE or change the recovery model using ALTER DATABASE.` }, { number: 3013, severity: 16, state: 1, message: 'BACKUP LOG is terminating abnormally.' }], [], 'EREQUEST');
    }
    const first = this.logChainStart;
    const last = (this.lsn += 1_000_000n);
    this.logChainStart = last;
    this.clock = new Date(this.clock.getTime() + 60_000);
    const backup: FakeBackup = {
      guid: nextGuid(), type: 2, copyOnly: false, database, firstLsn: first, lastLsn: last, checkpointLsn: this.base?.lsn ?? 0n, databaseBackupLsn: this.base?.lsn ?? 0n,
      diffBaseLsn: null, diffBaseGuid: null, userName, device, finished: this.clock,
    };
    this.backups.set(backup.guid, backup);
    this.files.set(device, backup.guid);
    if (this.writeBackupFiles && !device.startsWith('\\\\')) writeFileSync(this.localPathOf(device), FakeSqlServer.backupFileContent(backup.guid));
    return backup;
  }

  private takeBackup(database: string, device: string, differential: boolean, copyOnly: boolean, userName: string): FakeBackup {
    const first = (this.lsn += 1_000_000n);
    const checkpoint = (this.lsn += 17n);
    const last = (this.lsn += 5n);
    if (differential && !this.base) throw new SqlBatchError([{ number: 3035, severity: 16, state: 1, message: `Cannot perform a differential backup for database "${database}", because a current database backup does not exist.` }], [], 'EREQUEST');
    const backup: FakeBackup = {
      guid: nextGuid(),
      type: differential ? 5 : 1,
      copyOnly,
      database,
      firstLsn: first,
      lastLsn: last,
      checkpointLsn: checkpoint,
      databaseBackupLsn: this.base?.lsn ?? 0n,
      diffBaseLsn: differential ? this.base!.lsn : null,
      diffBaseGuid: differential ? this.base!.guid : null,
      userName,
      device,
      finished: new Date(Date.UTC(2025, 0, 2, 17, 5, 0)),
    };
    this.backups.set(backup.guid, backup);
    this.files.set(device, backup.guid);
    if (this.writeBackupFiles && !device.startsWith('\\\\')) writeFileSync(this.localPathOf(device), FakeSqlServer.backupFileContent(backup.guid));
    if (!differential && !copyOnly) this.base = { guid: backup.guid, lsn: checkpoint };
    return backup;
  }

  /** The RESTORE HEADERONLY row of a backup, as `mssql` returns it. */
  headerRow(b: FakeBackup): Record<string, unknown> {
    return {
      BackupName: null, BackupDescription: null, BackupType: b.type, ExpirationDate: null, Compressed: 1, Position: 1, DeviceType: 2,
      UserName: b.userName, ServerName: 'CS01', DatabaseName: b.database, DatabaseVersion: 957, DatabaseCreationDate: new Date(Date.UTC(2020, 0, 1)),
      BackupSize: 123456789, FirstLSN: Number(b.firstLsn), LastLSN: Number(b.lastLsn), CheckpointLSN: Number(b.checkpointLsn),
      DatabaseBackupLSN: Number(b.databaseBackupLsn), BackupStartDate: new Date(b.finished.getTime() - 60_000), BackupFinishDate: b.finished,
      SortOrder: 0, CodePage: 0, UnicodeLocaleId: 1033, UnicodeComparisonStyle: 196609, CompatibilityLevel: 150,
      SoftwareVendorId: 4608, SoftwareVersionMajor: 15, SoftwareVersionMinor: 0, SoftwareVersionBuild: 4355, MachineName: 'CS01',
      Flags: 512, BindingID: '00000000-0000-0000-0000-000000000000', RecoveryForkID: 'A1B2C3D4-0000-0000-0000-000000000001', Collation: 'SQL_Latin1_General_CP1_CI_AS',
      FamilyGUID: 'A1B2C3D4-0000-0000-0000-000000000002', HasBulkLoggedData: false, IsSnapshot: false, IsReadOnly: false, IsSingleUser: false,
      HasBackupChecksums: true, IsDamaged: false, BeginsLogChain: false, HasIncompleteMetaData: false, IsForceOffline: false, IsCopyOnly: b.copyOnly,
      FirstRecoveryForkID: 'A1B2C3D4-0000-0000-0000-000000000001', ForkPointLSN: null, RecoveryModel: 'FULL',
      DifferentialBaseLSN: b.diffBaseLsn === null ? null : Number(b.diffBaseLsn), DifferentialBaseGUID: b.diffBaseGuid?.toLowerCase() ?? null,
      BackupTypeDescription: b.type === 1 ? 'Database' : b.type === 2 ? 'Transaction Log' : 'Database Differential', BackupSetGUID: b.guid.toLowerCase(),
      CompressedBackupSize: 23456789, Containment: 0, KeyAlgorithm: null, EncryptorThumbprint: null, EncryptorType: null,
    };
  }

  /** The msdb.dbo.backupset (+ backupmediafamily) row of a backup, columns as `backupSetOfFileQuery` selects them. */
  backupSetRow(b: FakeBackup): Record<string, unknown> {
    const lsn = (v: bigint | null) => (v === null ? null : v.toString());
    const local = (d: Date) => new Date(d.getTime() + this.timeZone * 15 * 60_000).toISOString().slice(0, 23);
    return {
      backup_set_uuid: b.guid, type: b.type === 1 ? 'D' : b.type === 2 ? 'L' : 'I', is_copy_only: b.copyOnly, database_name: b.database, server_name: 'CS01', user_name: b.userName,
      software_major_version: 15, software_minor_version: 0, software_build_version: 4355, database_version: 957, backup_size: 123456789, compressed_backup_size: 23456789,
      has_backup_checksums: true, first_lsn: lsn(b.firstLsn), last_lsn: lsn(b.lastLsn), checkpoint_lsn: lsn(b.checkpointLsn), database_backup_lsn: lsn(b.databaseBackupLsn),
      differential_base_lsn: lsn(b.diffBaseLsn), differential_base_guid: b.diffBaseGuid, backup_start_date: local(new Date(b.finished.getTime() - 60_000)),
      backup_finish_date: local(b.finished), time_zone: this.timeZone, physical_device_name: b.device,
    };
  }

  private ok(rows: Array<Record<string, unknown>> = [], messages: SqlMessage[] = []): SqlBatchResult {
    return { recordsets: [rows], messages };
  }

  private denied(): never {
    throw new SqlBatchError([{ number: 229, severity: 14, state: 5, message: "The SELECT permission was denied on the object 'backupset', database 'msdb', schema 'dbo'." }], [], 'EREQUEST');
  }

  async execute(batch: string, _options?: BatchOptions): Promise<SqlBatchResult> {
    if (this.closed) throw new SqlBatchError([], [], 'ENOTOPEN');
    this.statements.push(batch);
    const i = this.scripted.findIndex((s) => s.match.test(batch));
    if (i >= 0) {
      const s = this.scripted[i]!;
      if (s.once) this.scripted.splice(i, 1);
      if (s.errors || s.driverCode) throw new SqlBatchError(s.errors ?? [], s.messages ?? [], s.driverCode ?? 'EREQUEST');
      return s.result ?? this.ok([], s.messages ?? []);
    }
    if (/^BACKUP LOG/m.test(batch)) {
      const db = /^BACKUP LOG \[((?:[^\]]|\]\])*)\]/m.exec(batch)![1]!.replace(/\]\]/g, ']');
      this.takeLogBackup(db, literal(batch, /TO DISK =/), 'commserve-dr');
      return this.ok([], [{ number: 4035, severity: 0, state: 1, message: 'Processed 12 pages for database, file on file 1.' }, { number: 3014, severity: 0, state: 1, message: 'BACKUP LOG successfully processed 12 pages in 0.010 seconds (9.375 MB/sec).' }]);
    }
    if (/SELECT d\.recovery_model_desc FROM sys\.databases/.test(batch)) {
      return this.ok(this.databases.has(literal(batch, /WHERE d\.name =/)) ? [{ recovery_model_desc: this.recoveryModel }] : []);
    }
    if (/^BACKUP DATABASE/m.test(batch)) {
      const db = /^BACKUP DATABASE \[((?:[^\]]|\]\])*)\]/m.exec(batch)![1]!.replace(/\]\]/g, ']');
      const file = literal(batch, /TO DISK =/);
      this.takeBackup(db, file, /DIFFERENTIAL/.test(batch), /COPY_ONLY/.test(batch), 'commserve-dr');
      return this.ok([], [{ number: 3014, severity: 0, state: 1, message: 'BACKUP DATABASE successfully processed 1000 pages in 0.100 seconds (78.125 MB/sec).' }]);
    }
    if (/^RESTORE HEADERONLY/m.test(batch)) {
      const guid = this.backupSetOf(literal(batch, /FROM DISK =/));
      if (!guid) this.cannotOpen('RESTORE HEADERONLY');
      return this.ok([this.headerRow(this.backups.get(guid)!)]);
    }
    if (/^RESTORE FILELISTONLY/m.test(batch)) {
      if (!this.backupSetOf(literal(batch, /FROM DISK =/))) this.cannotOpen('RESTORE FILELISTONLY');
      return this.ok(this.fileList);
    }
    const restore = /^RESTORE DATABASE \[((?:[^\]]|\]\])*)\]/m.exec(batch);
    if (restore) {
      if (!this.backupSetOf(literal(batch, /FROM DISK =/))) this.cannotOpen('RESTORE DATABASE');
      this.databases.add(restore[1]!.replace(/\]\]/g, ']'));
      return this.ok([], [{ number: 3014, severity: 0, state: 1, message: 'RESTORE DATABASE successfully processed 1000 pages in 0.100 seconds (78.125 MB/sec).' }]);
    }
    const drop = /DROP DATABASE \[((?:[^\]]|\]\])*)\];$/.exec(batch);
    if (drop) {
      this.databases.delete(drop[1]!.replace(/\]\]/g, ']'));
      return this.ok();
    }
    if (/SERVERPROPERTY\('InstanceDefaultBackupPath'\)/.test(batch)) return this.ok([{ path: this.defaultPaths.backup }]);
    if (/SERVERPROPERTY\('InstanceDefaultDataPath'\)/.test(batch)) return this.ok([{ data_path: this.defaultPaths.data, log_path: this.defaultPaths.log }]);
    if (/IS_SRVROLEMEMBER\(N'sysadmin'\)/.test(batch)) return this.ok([{ ...this.rights }]);
    if (/SELECT SUSER_SNAME\(d\.owner_sid\)/.test(batch)) {
      const p = this.principals;
      return { recordsets: [[{ owner_login: p.owner, owner_sid: p.ownerSid, is_trustworthy_on: p.trustworthy }], p.users.map((u) => ({ ...u }))], messages: [] };
    }
    if (/FROM sys\.server_principals AS sp WHERE sp\.name IN/.test(batch)) {
      const names = [...batch.matchAll(/N'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));
      return this.ok(names.filter((n) => this.logins.has(n)).map((name) => ({ name })));
    }
    if (/AND sp\.sid IS NULL/.test(batch)) {
      return this.ok([...this.orphans].map(([user_name, user_type]) => ({ user_name, user_type, same_name_login: this.logins.has(user_name) ? user_name : null, login_type: this.logins.get(user_name) ?? null })));
    }
    if (/AND m\.physical_device_name = N'/.test(batch)) {
      if (this.msdbDenied) this.denied();
      const file = literal(batch, /AND m\.physical_device_name =/);
      const found = [...this.backups.values()].filter((b) => b.device === file).at(-1);
      return this.ok(found ? [this.backupSetRow(found)] : []);
    }
    if (/b\.type IN \('D', 'I'\) AND b\.is_copy_only = 0/.test(batch)) {
      if (this.msdbDenied) this.denied();
      const rows = [...this.backups.values()].filter((b) => !b.copyOnly && !b.device.includes('commserve-dr_')).reverse();
      return this.ok(rows.map((b) => this.backupSetRow(b)));
    }
    if (/FROM msdb\.dbo\.backupset AS b\nWHERE b\.backup_set_uuid/.test(batch)) {
      if (this.msdbDenied) this.denied();
      const b = this.backups.get(literal(batch, /CONVERT\(uniqueidentifier,/).toUpperCase());
      const lsn = (v: bigint | null) => (v === null ? null : v.toString());
      return this.ok(b ? [{ backup_set_uuid: b.guid, first_lsn: lsn(b.firstLsn), last_lsn: lsn(b.lastLsn), checkpoint_lsn: lsn(b.checkpointLsn), database_backup_lsn: lsn(b.databaseBackupLsn), differential_base_lsn: lsn(b.diffBaseLsn), differential_base_guid: b.diffBaseGuid }] : []);
    }
    if (/LEFT JOIN msdb\.dbo\.backupmediafamily/.test(batch)) {
      if (this.msdbDenied) this.denied();
      const b = this.backups.get(literal(batch, /CONVERT\(uniqueidentifier,/).toUpperCase());
      return this.ok(b ? [{ backup_set_uuid: b.guid, type: 'D', is_copy_only: b.copyOnly, backup_finish_date: this.backupSetRow(b).backup_finish_date, time_zone: this.timeZone, user_name: b.userName, physical_device_name: b.device }] : []);
    }
    if (/sys\.database_files AS f/.test(batch)) {
      const row = (file_id: number, name: string) => ({ file_id, name, type_desc: 'ROWS', differential_base_lsn: this.base?.lsn.toString() ?? null, differential_base_guid: this.base?.guid ?? null, differential_base_time: null });
      return this.ok([row(1, 'CommServ'), row(3, 'CommServ_2')]);
    }
    return this.ok();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
