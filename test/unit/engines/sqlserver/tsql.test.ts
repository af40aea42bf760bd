import {
  backupSetLsnQuery,
  backupSetOriginQuery,
  backupStatement,
  checkDbStatement,
  DEFAULT_DATA_LOG_PATH_QUERY,
  differentialBaseQuery,
  dropDatabaseStatement,
  offlineStatement,
  onlineStatement,
  otherBackupsQuery,
  backupSetOfFileQuery,
  rightsQuery,
  principalsQuery,
  orphanedUsersQuery,
  remapUserStatement,
  databaseOwnerStatement,
  trustworthyStatement,
  fileListOnlyStatement,
  guidLiteral,
  headerOnlyStatement,
  multiUserStatement,
  quoteIdentifier,
  quoteString,
  restoreDatabaseStatement,
  serverBaseName,
  serverPath,
  shrinkStatement,
  singleUserStatement,
} from '#agent/engines/sqlserver/tsql';

describe('SQL Server T-SQL builders (SQL Server mocked: cannot run here)', () => {
  it('quotes identifiers with ] doubled and strings with \' doubled, N-prefixed', () => {
    expect(quoteIdentifier('commserv')).toBe('[commserv]');
    expect(quoteIdentifier('Comm]Serv[x')).toBe('[Comm]]Serv[x]');
    expect(quoteIdentifier("a]]'b")).toBe("[a]]]]'b]");
    expect(quoteString("D:\\O'Brien's\\x")).toBe("N'D:\\O''Brien''s\\x'");
    expect(quoteString('')).toBe("N''");
    expect(quoteString('x]y')).toBe("N'x]y'");
  });

  it('refuses names that cannot be quoted safely', () => {
    expect(() => quoteIdentifier('')).toThrow(expect.objectContaining({ code: 'DB_NAME_INVALID' }));
    expect(() => quoteIdentifier('x'.repeat(129))).toThrow(expect.objectContaining({ code: 'DB_NAME_INVALID' }));
    expect(() => quoteIdentifier('a\0b')).toThrow(expect.objectContaining({ code: 'DB_NAME_INVALID' }));
    expect(() => quoteString('a\0b')).toThrow(expect.objectContaining({ code: 'DB_NAME_INVALID' }));
    expect(quoteIdentifier('x'.repeat(128))).toHaveLength(130);
  });

  it('embeds only canonical GUIDs', () => {
    expect(guidLiteral('6f9619ff-8b86-d011-b42d-00c04fc964ff')).toBe("CONVERT(uniqueidentifier, N'6f9619ff-8b86-d011-b42d-00c04fc964ff')");
    expect(() => guidLiteral("x'; DROP DATABASE commserv; --")).toThrow(expect.objectContaining({ code: 'DB_GUID_INVALID' }));
  });

  it('joins server paths with the server\'s separator', () => {
    expect(serverPath('D:\\SQLBackup', 'a.bak')).toBe('D:\\SQLBackup\\a.bak');
    expect(serverPath('D:\\SQLBackup\\', 'a.bak')).toBe('D:\\SQLBackup\\a.bak');
    expect(serverPath('\\\\nas\\share', 'a.bak')).toBe('\\\\nas\\share\\a.bak');
    expect(serverPath('/var/opt/mssql/backup', 'a.bak')).toBe('/var/opt/mssql/backup/a.bak');
    expect(serverPath('/var/opt/mssql/backup/', 'a.bak')).toBe('/var/opt/mssql/backup/a.bak');
    expect(serverBaseName('C:\\Data\\CommServ.mdf')).toBe('CommServ.mdf');
    expect(serverBaseName('/var/opt/mssql/data/cs.mdf')).toBe('cs.mdf');
  });

  it('builds DBCC CHECKDB (language fixed, no lock timeout) and SHRINKDATABASE with the name as an N\'\' literal (SQL Server behaviour from the documentation: SET LANGUAGE, SET LOCK_TIMEOUT -1 waits for ever)', () => {
    expect(checkDbStatement("Comm]Serv'x")).toBe("SET LANGUAGE us_english;\nSET LOCK_TIMEOUT -1;\nDBCC CHECKDB (N'Comm]Serv''x') WITH NO_INFOMSGS, ALL_ERRORMSGS;");
    expect(shrinkStatement('commserv')).toBe("DBCC SHRINKDATABASE (N'commserv') WITH NO_INFOMSGS;");
  });

  it('builds BACKUP DATABASE for FULL and DIFFERENTIAL, compression configurable', () => {
    const file = "D:\\SQL Backup\\O'Brien\\commserve-dr_SET_0000001_commserv_FULL.dmp";
    expect(backupStatement({ database: 'Comm]Serv', file, differential: false })).toBe(
      "SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [Comm]]Serv] TO DISK = N'D:\\SQL Backup\\O''Brien\\commserve-dr_SET_0000001_commserv_FULL.dmp' WITH CHECKSUM, INIT;",
    );
    expect(backupStatement({ database: 'commserv', file: '/b/x.dmp', differential: false, compression: true })).toBe(
      "SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'/b/x.dmp' WITH CHECKSUM, INIT, COMPRESSION;",
    );
    expect(backupStatement({ database: 'commserv', file: '/b/x.dmp', differential: true, compression: true })).toBe(
      "SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'/b/x.dmp' WITH CHECKSUM, INIT, COMPRESSION, DIFFERENTIAL;",
    );
    expect(backupStatement({ database: 'commserv', file: '/b/x.dmp', differential: true, compression: false })).toBe(
      "SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'/b/x.dmp' WITH CHECKSUM, INIT, NO_COMPRESSION, DIFFERENTIAL;",
    );
    expect(backupStatement({ database: 'commserv', file: '/b/x.dmp', differential: false })).not.toMatch(/COPY_ONLY/);
  });

  it('builds HEADERONLY, FILELISTONLY and the metadata queries', () => {
    expect(headerOnlyStatement("C:\\it's.bak")).toBe("RESTORE HEADERONLY FROM DISK = N'C:\\it''s.bak';");
    expect(fileListOnlyStatement("C:\\it's.bak")).toBe("RESTORE FILELISTONLY FROM DISK = N'C:\\it''s.bak';");
    expect(differentialBaseQuery('Comm]Serv')).toContain('FROM [Comm]]Serv].sys.database_files AS f');
    expect(differentialBaseQuery('x')).toContain('CONVERT(varchar(25), f.differential_base_lsn) AS differential_base_lsn');
    expect(backupSetLsnQuery('6F9619FF-8B86-D011-B42D-00C04FC964FF')).toContain("WHERE b.backup_set_uuid = CONVERT(uniqueidentifier, N'6F9619FF-8B86-D011-B42D-00C04FC964FF');");
    expect(backupSetLsnQuery('6F9619FF-8B86-D011-B42D-00C04FC964FF')).toContain('CONVERT(varchar(25), b.checkpoint_lsn) AS checkpoint_lsn');
    expect(backupSetOriginQuery("O'Db", '6F9619FF-8B86-D011-B42D-00C04FC964FF')).toContain("WHERE b.database_name = N'O''Db' AND b.backup_set_uuid");
  });

  it('builds exclusive access and RESTORE DATABASE with a MOVE per file', () => {
    expect(singleUserStatement("Comm]Serv'x")).toBe(
      "IF DB_ID(N'Comm]Serv''x') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'Comm]Serv''x', 'Status')) = N'ONLINE' ALTER DATABASE [Comm]]Serv'x] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;",
    );
    expect(multiUserStatement('cs')).toBe("SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'cs') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'cs', 'Status')) = N'ONLINE' ALTER DATABASE [cs] SET MULTI_USER WITH ROLLBACK IMMEDIATE;");
    expect(offlineStatement("Comm]Serv'x")).toBe(
      "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'Comm]Serv''x') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'Comm]Serv''x', 'Status')) = N'ONLINE' ALTER DATABASE [Comm]]Serv'x] SET OFFLINE WITH ROLLBACK IMMEDIATE;",
    );
    expect(onlineStatement('cs')).toBe("SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'cs') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'cs', 'Status')) = N'OFFLINE' ALTER DATABASE [cs] SET ONLINE;");
    expect(
      restoreDatabaseStatement({
        database: 'Comm]Serv',
        file: "S:\\stage\\O'Neil\\commserv_FULL.dmp",
        recovery: false,
        replace: true,
        moves: [
          { logicalName: "CommServ_O'Data", physicalName: "D:\\Data\\O'x.ndf" },
          { logicalName: 'CommServ_log', physicalName: 'L:\\Logs\\CommServ_log.ldf' },
        ],
      }),
    ).toBe(
      "RESTORE DATABASE [Comm]]Serv] FROM DISK = N'S:\\stage\\O''Neil\\commserv_FULL.dmp' WITH NORECOVERY, REPLACE, MOVE N'CommServ_O''Data' TO N'D:\\Data\\O''x.ndf', MOVE N'CommServ_log' TO N'L:\\Logs\\CommServ_log.ldf';",
    );
    expect(restoreDatabaseStatement({ database: 'cs', file: '/s/d.dmp', recovery: true, replace: false, moves: [] })).toBe("RESTORE DATABASE [cs] FROM DISK = N'/s/d.dmp' WITH RECOVERY;");
  });

  it('builds the scratch-database drop and the default data/log path query', () => {
    expect(dropDatabaseStatement("cs]x'_commserve_dr_verify")).toBe(
      "SET LOCK_TIMEOUT 30000;\nIF DB_ID(N'cs]x''_commserve_dr_verify') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'cs]x''_commserve_dr_verify', 'Status')) = N'ONLINE' ALTER DATABASE [cs]]x'_commserve_dr_verify] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;\n" +
        "IF DB_ID(N'cs]x''_commserve_dr_verify') IS NOT NULL DROP DATABASE [cs]]x'_commserve_dr_verify];",
    );
    expect(DEFAULT_DATA_LOG_PATH_QUERY).toBe(
      "SELECT CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultDataPath')) AS data_path, CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultLogPath')) AS log_path;",
    );
  });

  it('builds the msdb header, other tools\' backups, rights and principal statements (SQL Server behaviour from the documentation: backupset/backupmediafamily columns, HAS_PERMS_BY_NAME, IS_ROLEMEMBER, ALTER USER WITH LOGIN)', () => {
    const q = backupSetOfFileQuery("O'Db", "D:\\b\\x's.dmp");
    expect(q).toMatch(/^SET LOCK_TIMEOUT 30000;\nSELECT TOP \(1\) CONVERT\(varchar\(36\), b\.backup_set_uuid\)/);
    expect(q).toContain('CONVERT(varchar(23), b.backup_finish_date, 126) AS backup_finish_date, b.time_zone');
    expect(q).toContain("WHERE b.database_name = N'O''Db' AND m.physical_device_name = N'D:\\b\\x''s.dmp'\nORDER BY b.backup_set_id DESC;");
    const o = otherBackupsQuery('commserv');
    expect(o).toContain("WHERE b.database_name = N'commserv' AND b.type IN ('D', 'I') AND b.is_copy_only = 0");
    expect(o).toContain("AND (m.physical_device_name IS NULL OR m.physical_device_name NOT LIKE N'%commserve-dr[_]%')");
    const r = rightsQuery("O'Db");
    expect(r).toContain("IS_ROLEMEMBER(N'db_owner') AS is_db_owner");
    expect(r).toContain("HAS_PERMS_BY_NAME(N'O''Db', N'DATABASE', N'BACKUP DATABASE') AS can_backup_database");
    expect(r).toContain("HAS_PERMS_BY_NAME(N'msdb.dbo.backupset', N'OBJECT', N'SELECT') AS can_read_backupset");
    expect(principalsQuery('c]s')).toContain('FROM [c]]s].sys.database_principals AS dp');
    expect(orphanedUsersQuery('cs')).toContain('AND sp.sid IS NULL');
    expect(remapUserStatement('cs', "o'b]", 'CORP\\x')).toBe("SET LOCK_TIMEOUT 30000;\nUSE [cs];\nALTER USER [o'b]]] WITH LOGIN = [CORP\\x];\nUSE [master];");
    expect(databaseOwnerStatement('cs', 'sa')).toBe('SET LOCK_TIMEOUT 30000;\nALTER AUTHORIZATION ON DATABASE::[cs] TO [sa];');
    expect(trustworthyStatement('cs', true)).toBe('SET LOCK_TIMEOUT 30000;\nALTER DATABASE [cs] SET TRUSTWORTHY ON;');
  });
});
