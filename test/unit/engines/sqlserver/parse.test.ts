import { classifyCheckDb, isConsistencyError, lsnText, parseFileList, parseHeaderOnly, withExactLsns } from '#agent/engines/sqlserver/parse';
import type { SqlMessage } from '#agent/engines/sqlserver/session';
import { FakeSqlServer } from './fake-sql-server';

const msg = (number: number, severity: number, message: string): SqlMessage => ({ number, severity, state: 1, message });

describe('SQL Server result parsers (SQL Server mocked: cannot run here)', () => {
  it('parses a RESTORE HEADERONLY row as the driver returns it, keeping LSNs beyond 2^53 out rather than wrong', async () => {
    const server = new FakeSqlServer();
    await server.execute("BACKUP DATABASE [commserv] TO DISK = N'D:\\b\\full.bak' WITH CHECKSUM, INIT;");
    const backup = [...server.backups.values()][0]!;
    const header = parseHeaderOnly([server.headerRow(backup)], 'full.bak');
    expect(header).toMatchObject({
      BackupType: 1,
      BackupTypeDescription: 'Database',
      DatabaseName: 'commserv',
      IsCopyOnly: false,
      BackupSetGUID: backup.guid, // upper-cased
      DifferentialBaseGUID: null,
      HasBackupChecksums: true,
      Compressed: true,
      SoftwareVersion: '15.0.4355',
      BackupFinishDate: '2025-01-02T17:05:00.000Z',
      lsnSource: 'headeronly',
    });
    // 34000000013300018 > 2^53: the driver's number is not exact, so it is not recorded.
    expect(header.CheckpointLSN).toBeNull();
    const exact = withExactLsns(header, (await server.execute(`SELECT 1\nFROM msdb.dbo.backupset AS b\nWHERE b.backup_set_uuid = CONVERT(uniqueidentifier, N'${backup.guid}');`)).recordsets[0]![0]);
    expect(exact).toMatchObject({ CheckpointLSN: backup.checkpointLsn.toString(), FirstLSN: backup.firstLsn.toString(), LastLSN: backup.lastLsn.toString(), lsnSource: 'msdb' });
    expect(withExactLsns(header, { backup_set_uuid: '00000000-0000-0000-0000-000000000000', checkpoint_lsn: '1' })).toBe(header);
  });

  it('converts LSN values exactly: strings and bigints kept, safe numbers only', () => {
    expect(lsnText('00034000000012300001')).toBe('34000000012300001');
    expect(lsnText(34000000012300001n)).toBe('34000000012300001');
    expect(lsnText(123456789)).toBe('123456789');
    expect(lsnText(34000000012300001)).toBeNull();
    expect(lsnText(null)).toBeNull();
    expect(lsnText('12a')).toBeNull();
  });

  it('refuses a HEADERONLY result that is not exactly one backup set', () => {
    expect(() => parseHeaderOnly([], 'x.bak')).toThrow(expect.objectContaining({ code: 'DUMP_HEADER_INVALID' }));
    expect(() => parseHeaderOnly([{ BackupType: 1 }, { BackupType: 5 }], 'x.bak')).toThrow(/2 backup sets/);
    expect(() => parseHeaderOnly([{ BackupType: 1 }], 'x.bak')).toThrow(/BackupSetGUID/);
  });

  it('parses RESTORE FILELISTONLY rows (bigint FileId as a string)', () => {
    const files = parseFileList(new FakeSqlServer().fileList, 'x.bak');
    expect(files).toEqual([
      { logicalName: 'CommServ', physicalName: 'C:\\Program Files\\Microsoft SQL Server\\MSSQL\\DATA\\CommServ.mdf', type: 'D', fileId: 1, fileGroupName: 'PRIMARY' },
      { logicalName: "CommServ_O'Data", physicalName: 'E:\\Data\\CommServ_2.ndf', type: 'D', fileId: 3, fileGroupName: 'SECONDARY' },
      { logicalName: 'CommServ_log', physicalName: 'L:\\Logs\\CommServ_log.ldf', type: 'L', fileId: 2, fileGroupName: null },
    ]);
    expect(() => parseFileList([], 'x.bak')).toThrow(expect.objectContaining({ code: 'DUMP_HEADER_INVALID' }));
    expect(() => parseFileList([{ LogicalName: 'a' }], 'x.bak')).toThrow(/row 1/);
  });

  describe('DBCC CHECKDB classification', () => {
    it('no message is ok', () => {
      expect(classifyCheckDb([], false, 5)).toEqual({ status: 'ok', messages: [], durationMs: 5 });
    });

    it('consistency errors are corrupt, with number, severity, object, index and page ids', () => {
      const messages = [
        msg(8928, 16, 'Object ID 2073058421, index ID 0, partition ID 72057594038321152, alloc unit ID 72057594042318848 (type In-row data): Page (1:153) could not be processed.  See other errors for details.'),
        msg(8939, 16, 'Table error: Object ID 2073058421, index ID 0, partition ID 72057594038321152, alloc unit ID 72057594042318848 (type In-row data), page (1:153). Test (IS_OFF (BUF_IOERR, pBUF->bstat)) failed. Values are 12716041 and -4.'),
        msg(8989, 16, "CHECKDB found 0 allocation errors and 2 consistency errors in database 'commserv'."),
        msg(8958, 10, 'repair_allow_data_loss is the minimum repair level for the errors found by DBCC CHECKDB (commserv).'),
      ];
      const integrity = classifyCheckDb(messages, true, 1);
      expect(integrity.status).toBe('corrupt');
      expect(integrity.messages[0]).toBe(
        'Msg 8928 (severity 16) [object 2073058421, index 0, page 1:153]: Object ID 2073058421, index ID 0, partition ID 72057594038321152, alloc unit ID 72057594042318848 (type In-row data): Page (1:153) could not be processed.  See other errors for details.',
      );
      expect(integrity.messages[1]).toMatch(/^Msg 8939 \(severity 16\) \[object 2073058421, index 0, page 1:153\]/);
      expect(integrity.messages[2]).toMatch(/^Msg 8989 \(severity 16\): CHECKDB found 0 allocation errors and 2 consistency errors/);
      expect(integrity.messages).toHaveLength(3); // the informational 8958 is not an error
    });

    it.each([
      [8976, 'Table error: Object ID 5, index ID 1, partition ID 1, alloc unit ID 1 (type In-row data). Page (1:300) was not seen in the scan although its parent (1:299) and previous (1:298) refer to it.'],
      [2533, 'Table error: page (1:80) allocated to object ID 5, index ID 1, partition ID 1, alloc unit ID 1 (type In-row data) was not seen. The page may be invalid or may have an incorrect alloc unit ID in its header.'],
      [824, "SQL Server detected a logical consistency-based I/O error: incorrect checksum (expected: 0x1; actual: 0x2). It occurred during a read of page (1:153) in database ID 5 at offset 0x00000000132000 in file 'D:\\Data\\CommServ.mdf'."],
      [2570, 'Page (1:400), slot 3 in object ID 7, index ID 1, partition ID 1, alloc unit ID 1 (type "In-row data"). Column "x" value is out of range for data type "datetime".'],
      [8921, 'Check terminated. A failure was detected while collecting facts. Possibly tempdb out of space or a system table is inconsistent.'],
    ])('Msg %i is classified', (number, text) => {
      const status = classifyCheckDb([msg(number, number === 824 ? 24 : 16, text)], true, 1).status;
      expect(status).toBe(number === 8921 ? 'check-failed' : 'corrupt');
    });

    it('a summary with counts is corrupt; 8921 with a consistency error is corrupt', () => {
      expect(classifyCheckDb([msg(8989, 16, "CHECKDB found 1 allocation errors and 0 consistency errors in database 'x'.")], true, 1).status).toBe('corrupt');
      expect(classifyCheckDb([msg(8921, 16, 'Check terminated.'), msg(8906, 16, 'Page (1:9) in database ID 5 is allocated in the SGAM …')], true, 1).status).toBe('corrupt');
      expect(classifyCheckDb([msg(8989, 0, "CHECKDB found 0 allocation errors and 0 consistency errors in database 'x'.")], false, 1).status).toBe('ok');
    });

    it('other failures are check-failed: permissions, snapshot, database missing, lock timeout', () => {
      for (const [n, text] of [
        [2571, "User 'dr' does not have permission to run DBCC CHECKDB for database 'commserv'."],
        [7928, "The database snapshot for online checks could not be created. Either the reason is given in a previous error or one of the underlying volumes does not support sparse files or alternate streams. Attempting to get exclusive access to run checks offline."],
        [5030, 'The database could not be exclusively locked to perform the operation.'],
        [2520, "Could not find database 'commserv'. The database either does not exist, or was dropped before a statement tried to use it."],
        [1222, 'Lock request time out period exceeded.'],
      ] as Array<[number, string]>) {
        const integrity = classifyCheckDb([msg(n, 16, text)], true, 1);
        expect(integrity.status).toBe('check-failed');
        expect(integrity.messages[0]).toContain(`Msg ${n} (severity 16)`);
      }
      expect(classifyCheckDb([], true, 1)).toMatchObject({ status: 'check-failed', messages: ['check failed — not corruption: DBCC CHECKDB failed without a message'] });
    });

    it('caps the messages at 1000', () => {
      const many = Array.from({ length: 1500 }, (_, i) => msg(8928, 16, `Object ID ${i}: Page (1:${i}) could not be processed.`));
      const integrity = classifyCheckDb(many, true, 1);
      expect(integrity.messages).toHaveLength(1000);
      expect(integrity.messages[999]).toBe('… 501 more messages');
    });

    it('documents its consistency list', () => {
      expect([8928, 8939, 8976, 2533, 824, 823, 8906, 8978].every(isConsistencyError)).toBe(true);
      expect([8921, 8989, 8958, 2571, 7928, 5030, 1222, 2520, 0].some(isConsistencyError)).toBe(false);
    });
  });
});
