/**
 * Issue 23: each behaviour the engine relies on, against the stand-in session with the exact statements and the answers
 * Microsoft documents (error numbers, column sets). SQL Server cannot run here: every test says so in its name.
 */
import { EventEmitter } from 'node:events';
import type { DatabaseIdentity, Manifest } from '#core/manifest';
import { classifyCheckDb, DAMAGE_ERRORS, isConsistencyError } from '#agent/engines/sqlserver/parse';
import { checkSqlServerRights, formatRightVerdicts, rightVerdicts } from '#agent/engines/sqlserver/rights';
import { connectionError, SqlBatchError } from '#agent/engines/sqlserver/session';
import { classifyOtherBackups, describeOtherBackup, isDiskFull, SqlServerEngine } from '#agent/engines/sqlserver/sqlserver-engine';
import { CertificatePinError, certificateMatchesThumbprint, driverSecurity } from '#agent/engines/sqlserver/tls';
import { FakeSqlServer } from './fake-sql-server';
import { setsDocument, formatSets } from '#agent/commands/sets/sets';
import { setName } from '#core/set-id';
import { JobStatus } from '#core/job-status';

const msg = (number: number, severity: number, message: string) => ({ number, severity, state: 1, message });

function engineOf(server: FakeSqlServer) {
  return new SqlServerEngine({ session: server, target: { server: 'cs01', port: 1433, database: server.database }, backupDirectory: 'D:\\SQLBackup', copyBackupFile: async () => 1, removeBackupFile: async () => undefined });
}

describe('SQL Server behaviour per its documentation (SQL Server mocked: cannot run here)', () => {
  describe('item 1: rights', () => {
    it('names each phase-1 and recovery right and what is missing (SQL Server behaviour from the documentation: IS_SRVROLEMEMBER / IS_ROLEMEMBER / HAS_PERMS_BY_NAME return 1, 0 or NULL)', async () => {
      const server = new FakeSqlServer('CommServ');
      server.rights = { is_sysadmin: 0, is_dbcreator: 0, is_db_owner: 1, can_backup_database: 1, can_read_backupset: 0, can_read_backupmediafamily: null, can_create_database: 0, can_view_server_state: 0 };
      const verdicts = await checkSqlServerRights(server, 'CommServ');
      expect(server.statements[0]).toMatch(/^SET LOCK_TIMEOUT 30000;\nSELECT IS_SRVROLEMEMBER\(N'sysadmin'\) AS is_sysadmin/);
      expect(verdicts.map((v) => [v.scope, v.right, v.status])).toEqual([
        ['phase1', 'db_owner in [CommServ]', 'granted'],
        ['phase1', 'BACKUP DATABASE on [CommServ]', 'granted'],
        ['phase1', 'SELECT on msdb.dbo.backupset', 'missing'],
        ['phase1', 'SELECT on msdb.dbo.backupmediafamily', 'unknown'],
        ['phase1', 'VIEW SERVER STATE', 'missing'],
        ['recovery', 'sysadmin or dbcreator (CREATE ANY DATABASE)', 'missing'],
        ['recovery', 'sysadmin', 'missing'],
      ]);
      expect(formatRightVerdicts(verdicts)[2]).toBe(
        "missing required phase1   SELECT on msdb.dbo.backupset — the header of each backup (LSNs, backup set GUID), the differential base's origin, other tools' backups; grant: USE [msdb]; CREATE USER [<login>] FOR LOGIN [<login>]; GRANT SELECT ON dbo.backupset TO [<login>];",
      );
      expect((await checkSqlServerRights(server, 'CommServ', 'recovery')).map((v) => v.scope)).toEqual(['recovery', 'recovery']);
      // A sysadmin has every right.
      expect(rightVerdicts({ is_sysadmin: 1, is_db_owner: 0, can_read_backupset: 0 }, 'x').every((v) => v.status === 'granted')).toBe(true);
      // Through the engine (what preflight and `doctor` call).
      expect((await engineOf(server).checkRights('phase1')).filter((v) => v.status !== 'granted' && v.need === 'required').map((v) => v.right)).toEqual([
        'SELECT on msdb.dbo.backupset',
        'SELECT on msdb.dbo.backupmediafamily',
      ]);
    });

    it('a phase-1 FULL sends no RESTORE HEADERONLY (SQL Server behaviour from the documentation: RESTORE HEADERONLY requires CREATE DATABASE permission)', async () => {
      const server = new FakeSqlServer();
      await engineOf(server).dumpFull('/d/SET_0000001/commserv_FULL.dmp');
      expect(server.statements.filter((s) => /RESTORE (HEADERONLY|FILELISTONLY)/.test(s))).toEqual([]);
    });
  });

  describe('item 4: CHECKDB classification and lost connections', () => {
    it('only the listed damage errors are corrupt; 8902, 8907, 8908, 8920, 8921, 8967, 8975 and 8999 are "check failed — not corruption" (SQL Server behaviour from the documentation: messages 8000–8999)', () => {
      for (const [n, sev, text] of [
        [8902, 17, 'Memory allocation error during DBCC processing.'],
        [8907, 16, "The spatial index, XML index or indexed view 'v' (object ID 5) contains rows that were not produced by the view definition. This does not necessarily represent an integrity issue with the data in this database."],
        [8908, 16, "The spatial index, XML index or indexed view 'v' (object ID 5) does not contain all rows that the view definition produces. This does not necessarily represent an integrity issue with the data in this database."],
        [8920, 16, 'Cannot perform a CHECKDB operation inside a user transaction. Terminate the transaction and reissue the statement.'],
        [8921, 16, 'Check terminated. A failure was detected while collecting facts. Possibly tempdb out of space or a system table is inconsistent. Check previous errors.'],
        [8967, 16, 'An internal error occurred in DBCC that prevented further processing. Contact Customer Support Services.'],
        [8975, 10, "DBCC cross-rowset check failed for object 'x' (object ID 5) due to internal query error 1105, severity 17, state 2."],
        [8999, 10, 'Database tempdb allocation errors prevent further CHECKDB processing.'],
      ] as Array<[number, number, string]>) {
        const verdict = classifyCheckDb([msg(n, sev, text)], n !== 8975 && n !== 8999, 1);
        expect([n, verdict.status]).toEqual([n, 'check-failed']);
        expect(verdict.messages[0]).toMatch(new RegExp(`^check failed — not corruption: Msg ${n} \\(severity ${sev}\\)`));
        expect(isConsistencyError(n)).toBe(false);
      }
      for (const n of [8928, 8939, 8909, 8965, 8976, 8978, 8979, 8992, 2511, 2533, 2570, 2575, 7985, 605, 823, 824]) {
        expect([n, DAMAGE_ERRORS.get(n)?.source]).toEqual([n, expect.stringMatching(/^https:\/\/learn\.microsoft\.com\/sql\/relational-databases\/errors-events\//)]);
      }
      expect(classifyCheckDb([msg(8909, 16, 'Table error: Object ID 0, index ID -1, partition ID 0, alloc unit ID 0 (type Unknown), page ID (1:78859) contains an incorrect page ID in its page header. The PageId in the page header = (0:0).')], true, 1).status).toBe('corrupt');
      // The summary (severity 10) counts only as CHECKDB's own number, not as free text from another message.
      expect(classifyCheckDb([msg(8989, 10, "CHECKDB found 0 allocation errors and 3 consistency errors in database 'commserv'.")], false, 1).status).toBe('corrupt');
      expect(classifyCheckDb([msg(50000, 16, 'CHECKDB found 1 allocation errors and 2 consistency errors (raised by a trigger)')], true, 1).status).toBe('check-failed');
    });

    it('sends SET LANGUAGE us_english with CHECKDB and ignores its 5703 answer (SQL Server behaviour from the documentation: SET LANGUAGE returns message 5703)', async () => {
      const server = new FakeSqlServer();
      server.scripted.push({ match: /DBCC CHECKDB/, once: true, result: { recordsets: [], messages: [msg(5703, 10, 'Changed language setting to us_english.')] } });
      await expect(engineOf(server).checkIntegrity()).resolves.toMatchObject({ status: 'ok', messages: [] });
      expect(server.statements[0]).toBe("SET LANGUAGE us_english;\nSET LOCK_TIMEOUT -1;\nDBCC CHECKDB (N'commserv') WITH NO_INFOMSGS, ALL_ERRORMSGS;");
    });

    it('a connection closed during CHECKDB or BACKUP (tedious ECLOSE) is DB_UNREACHABLE, retried by the DB rule, not a verdict (SQL Server behaviour from the documentation: tedious "Connection closed before request completed", ECLOSE)', async () => {
      const server = new FakeSqlServer();
      server.scripted.push({ match: /DBCC CHECKDB/, once: true, driverCode: 'ECLOSE' });
      server.scripted.push({ match: /BACKUP DATABASE/, once: true, driverCode: 'ECLOSE' });
      const engine = engineOf(server);
      await expect(engine.checkIntegrity()).rejects.toMatchObject({ code: 'DB_UNREACHABLE', message: expect.stringContaining('stopped answering during DBCC CHECKDB') });
      await expect(engine.dumpFull('/d/SET_0000002/commserv_FULL.dmp')).rejects.toMatchObject({ code: 'DB_UNREACHABLE' });
      expect(connectionError({ code: 'ECLOSE', message: 'Connection closed before request completed.' }, { server: 'cs01', port: 1433, database: 'commserv' }).code).toBe('DB_UNREACHABLE');
    });

    it('disk full is recognised by error number, in any language (SQL Server behaviour from the documentation: 3202 with operating-system error 112, 1105, 9002)', async () => {
      expect(isDiskFull([msg(3202, 16, "Échec de l'écriture sur « D:\\b.bak » : 112(Espace insuffisant sur le disque.)")])).toBe(true);
      expect(isDiskFull([msg(9002, 17, "Le journal des transactions de la base de données 'commserv' est plein.")])).toBe(true);
      expect(isDiskFull([msg(3201, 16, 'Cannot open backup device. Operating system error 5(Access is denied.).')])).toBe(false);
      const server = new FakeSqlServer();
      server.scripted.push({ match: /BACKUP DATABASE/, once: true, errors: [msg(3202, 16, 'Write on "D:\\SQLBackup\\x.dmp" failed: 112(failed to retrieve text for this error. Reason: 15105)'), msg(3013, 16, 'BACKUP DATABASE is terminating abnormally.')] });
      await expect(engineOf(server).dumpFull('/d/SET_0000003/commserv_FULL.dmp')).rejects.toMatchObject({ code: 'DUMP_DISK_FULL' });
    });
  });

  describe('item 5: TLS and authentication', () => {
    const login = { user: 'commserve_dr', password: 'secret-pw' };

    it('maps the settings to tedious options: trustServerCertificate, CA pin, serverName, NTLM (SQL Server behaviour from the documentation: tedious encrypt/trustServerCertificate/cryptoCredentialsDetails/serverName/authentication ntlm)', () => {
      expect(driverSecurity({}, login)).toEqual({ options: { encrypt: true, trustServerCertificate: false } });
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      expect(driverSecurity({ tlsCaFile: '/etc/cs01.pem', tlsServerName: 'cs01.corp.example', trustServerCertificate: true }, login, () => pem)).toEqual({
        options: { encrypt: true, trustServerCertificate: false, serverName: 'cs01.corp.example', cryptoCredentialsDetails: { ca: pem } },
      });
      expect(driverSecurity({ authentication: 'ntlm', domain: 'CORP' }, login).authentication).toEqual({ type: 'ntlm', options: { userName: 'commserve_dr', password: 'secret-pw', domain: 'CORP' } });
      expect(() => driverSecurity({ authentication: 'ntlm' }, login)).toThrow(/needs Database.domain/);
      expect(() => driverSecurity({ tlsCaFile: '/x.pem' }, login, () => 'not a certificate')).toThrow(/holds no PEM certificate/);
      expect(() => driverSecurity({ tlsCaFile: '/x.pem', tlsCertificateThumbprint: 'AB'.repeat(20) }, login, () => pem)).toThrow(/set one/);
    });

    it('pins a thumbprint: the socket is destroyed on the secure event before the login is sent when the fingerprint differs', () => {
      const pin = 'A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34';
      const security = driverSecurity({ tlsCertificateThumbprint: pin }, login);
      expect(security.options.trustServerCertificate).toBe(true);
      const connection = new EventEmitter();
      security.beforeConnect!(connection as never);
      const destroyed: Error[] = [];
      connection.emit('secure', { getPeerCertificate: () => ({ fingerprint: 'FF:00:FF:00:FF:00:FF:00:FF:00:FF:00:FF:00:FF:00:FF:00:FF:00' }), destroy: (e: Error) => destroyed.push(e) });
      connection.emit('secure', { getPeerCertificate: () => ({ fingerprint: pin.toLowerCase() }), destroy: (e: Error) => destroyed.push(e) });
      expect(destroyed).toHaveLength(1);
      expect(destroyed[0]).toBeInstanceOf(CertificatePinError);
      expect(certificateMatchesThumbprint({ fingerprint256: 'ab'.repeat(32) }, 'AB'.repeat(32))).toBe(true);
      expect(() => certificateMatchesThumbprint({}, '1234')).toThrow(/40 hex digits/);
    });

    it('a refused self-signed certificate explains the default and the ways out (SQL Server behaviour from the documentation: without an installed certificate SQL Server uses a self-signed one)', () => {
      const e = connectionError(Object.assign(new Error('Failed to connect to cs01:1433 - self-signed certificate'), { code: 'ESOCKET' }), { server: 'cs01', port: 1433, database: 'commserv' }, ['secret-pw']);
      expect(e.code).toBe('DB_TLS_FAILED');
      expect(e.message).toContain('presents a self-signed one that no machine trusts');
      expect(e.message).toContain('Database.tlsCaFile');
      expect(e.message).toContain('Database.trustServerCertificate true');
      expect(connectionError(new CertificatePinError('FF00'), { server: 'cs01', port: 1433, database: 'commserv' }).code).toBe('DB_TLS_FAILED');
    });
  });

  describe('item 6: coexistence with other tools', () => {
    it('records other tools\' non-COPY_ONLY FULLs and DIFFERENTIALs and whose chain each belongs to (SQL Server behaviour from the documentation: backupset.type D/I, is_copy_only, differential_base_guid)', async () => {
      const server = new FakeSqlServer();
      const engine = engineOf(server);
      const full = await engine.dumpFull('/d/SET_0000010/commserv_FULL.dmp');
      const theirsOnOurs = server.foreignDifferential(); // the vendor's DIFFERENTIAL, based on our FULL
      server.foreignFull(true); // COPY_ONLY: ignored
      const theirFull = server.foreignFull(false);
      const theirsOnTheirs = server.foreignDifferential();
      const base = { manifest: { setName: 'SET_0000010', jobId: 10, database: full.identity, files: [] } as unknown as Manifest, setDir: '/d/SET_0000010' };
      await expect(engine.dumpDifferential(base, '/d/SET_0000011/commserv_DIFF_11.dmp', 11)).rejects.toMatchObject({ code: 'DIFF_BASE_MISMATCH' });
      const promoted = await engine.dumpFull('/d/SET_0000011/commserv_FULL.dmp');
      const other = (promoted.identity as DatabaseIdentity).otherBackups!;
      expect(other.map((b) => [b.type, b.backupSetGuid, b.chain])).toEqual([
        ['DIFFERENTIAL', theirsOnTheirs.guid, 'other'],
        ['FULL', theirFull.guid, 'other'],
        ['DIFFERENTIAL', theirsOnOurs.guid, 'commserve-dr'],
      ]);
      expect(promoted.identity.details.OtherBackupsNotCopyOnly).toBe(3);
      expect(promoted.warnings).toEqual(other.map(describeOtherBackup));
      expect(describeOtherBackup(other[2]!)).toBe(
        `another tool took a DIFFERENTIAL by CORP\\svc-othertool to \\\\nas\\othertool\\commserv_diff.bak at 2025-01-02T18:05:00.000+01:00 (BackupSetGUID ${theirsOnOurs.guid}) based on commserve-dr's FULL ${full.identity.details.BackupSetGUID}: it belongs to commserve-dr's chain and cannot be restored without that FULL`,
      );
      expect(describeOtherBackup(other[1]!)).toMatch(/^another tool took a FULL backup that is not COPY_ONLY by CORP\\svc-othertool .*moves the differential base away/);
      expect(server.statements.find((s) => /b\.type IN \('D', 'I'\)/.test(s))).toContain("NOT LIKE N'%commserve-dr[_]%'");
      expect(classifyOtherBackups([{ backup_set_uuid: 'x', type: 'L' }], new Set())).toEqual([]);
    });

    it('`sets` says under the SET whose chain each other tool\'s backup belongs to (SQL Server behaviour from the documentation: backupset.type D/I, is_copy_only, differential_base_guid)', async () => {
      const server = new FakeSqlServer();
      const engine = engineOf(server);
      await engine.dumpFull('/d/SET_0000010/commserv_FULL.dmp');
      server.foreignDifferential();
      server.foreignFull(false);
      const promoted = await engine.dumpFull('/d/SET_0000011/commserv_FULL.dmp');
      const other = (promoted.identity as DatabaseIdentity).otherBackups!;
      const words = other.map(describeOtherBackup);
      const summary = { jobId: 11, setName: setName(11), backupType: 'FULL' as const, status: JobStatus.Completed, complete: true, cycleId: 11, endTime: '2025-01-02T18:10:00.000Z', pointTime: '2025-01-02T18:09:00.000Z', bytes: 100 };
      const inventory = { entries: [{ summary, locations: { local: { path: `/d/${setName(11)}`, complete: true, bytes: 100 }, hotSite: null }, integrity: 'ok' as const, record: null, problems: [], otherBackups: words }], hotSiteUnavailable: null };
      const { document } = setsDocument(inventory, new Map(), new Date('2025-01-02T18:20:00.000Z'));
      expect(document.cycles[0]!.sets[0]!.otherBackups).toEqual(words);
      const text = formatSets(document).split('\n');
      const row = text.findIndex((l) => l.trimStart().startsWith(setName(11)));
      expect(text.slice(row + 1, row + 1 + words.length)).toEqual(words.map((w) => `    ${w}`));
      expect(words.some((w) => w.includes("belongs to commserve-dr's chain"))).toBe(true);
      expect(words.some((w) => w.includes("starts that tool's own chain"))).toBe(true);
    });

    it('msdb not readable: the dump still works, nothing is claimed about other tools', async () => {
      const server = new FakeSqlServer();
      const engine = engineOf(server);
      server.scripted.push({ match: /b\.type IN \('D', 'I'\)/, errors: [msg(229, 14, "The SELECT permission was denied on the object 'backupset', database 'msdb', schema 'dbo'.")] });
      const full = await engine.dumpFull('/d/SET_0000012/commserv_FULL.dmp');
      expect(full.identity.otherBackups).toBeUndefined();
      expect(full.warnings).toBeUndefined();
    });
  });

  it('SqlBatchError keeps every message number in order (what the classification reads)', () => {
    const e = new SqlBatchError([msg(3202, 16, 'a'), msg(3013, 16, 'b')], [], 'EREQUEST');
    expect(e.message).toBe('Msg 3202, Level 16, State 1: a | Msg 3013, Level 16, State 1: b');
  });
});
