import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, type DatabaseError } from '#core/errors';
import { parseSettings } from '#core/settings';
import { freeLoopbackPort } from '#agent/local/moto-server';
import { openEngine, withDbRetry } from '#agent/engines/index';
import { connectMssql } from '#agent/engines/sqlserver/session';
import { SqlServerEngine, streamCopy } from '#agent/engines/sqlserver/sqlserver-engine';
import { useTempDirs } from '../../support/tmp';

const PASSWORD = "S3cr3t-Pa55'word;Server=evil";

describe('SQL Server engine with the real mssql driver against a closed loopback port (no SQL Server can run here)', () => {
  it('fails fast with DB_UNREACHABLE naming server:port and database only, no password or connection string', async () => {
    const port = await freeLoopbackPort();
    const settings = parseSettings({ Database: { engine: 'sqlserver', server: '127.0.0.1', port, database: 'commserv', user: 'dr_agent', passwordEnv: 'CS_DR_TEST_PW' } }, 'test');
    const error = (await openEngine(settings, { env: { CS_DR_TEST_PW: PASSWORD } }).catch((e: unknown) => e)) as DatabaseError;
    expect(error).toMatchObject({ name: 'DatabaseError', code: 'DB_UNREACHABLE', message: `SQL Server 127.0.0.1:${port} (database commserv) is unreachable: connection refused` });
    const everything = [error.message, describeError(error), JSON.stringify(error.context), String(error.stack)].join('\n');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toMatch(/password|pwd=|user id=|Server=|dr_agent/i);
    expect(error.cause).toBeUndefined();
    expect(error.context).toMatchObject({ server: '127.0.0.1', port, database: 'commserv', driverCode: 'ESOCKET' });
  });

  it('withDbRetry retries the real connection DbRetryCount times, DbRetryInterval apart, then gives up', async () => {
    const port = await freeLoopbackPort();
    const attempts: number[] = [];
    const retries: string[] = [];
    const waits: number[] = [];
    const error = await withDbRetry(
      (attempt) => {
        attempts.push(attempt);
        return connectMssql({ server: '127.0.0.1', port, database: 'commserv' }, { user: 'dr', password: PASSWORD }, { connectionTimeoutMs: 2000 });
      },
      {
        count: 3,
        intervalMs: 50,
        sleep: async (ms) => {
          waits.push(ms);
          await new Promise((r) => setTimeout(r, ms));
        },
        onRetry: (r) => void retries.push(`attempt ${r.attempt} of ${r.attempts} failed (${r.error.code}), next in ${r.delayMs} ms`),
      },
    ).catch((e: unknown) => e as DatabaseError);
    expect(error).toMatchObject({ code: 'DB_UNREACHABLE', context: { attempts: 4 } });
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(retries).toEqual([1, 2, 3].map((n) => `attempt ${n} of 4 failed (DB_UNREACHABLE), next in 50 ms`));
    expect(waits).toEqual([50, 50, 50]); // DbRetryIntervalMinutes between attempts, none after the last
  });

  it('an unresolvable host is DB_UNREACHABLE (host not found)', async () => {
    const error = await connectMssql({ server: 'no-such-host.invalid', port: 1433, database: 'commserv' }, { user: 'dr', password: PASSWORD }, { connectionTimeoutMs: 5000 }).catch((e: unknown) => e as DatabaseError);
    expect(error).toMatchObject({ code: 'DB_UNREACHABLE', message: 'SQL Server no-such-host.invalid:1433 (database commserv) is unreachable: host not found' });
  });
});

describe('SQL Server backup file streaming (real files; the SQL side mocked: SQL Server cannot run here)', () => {
  const tempDir = useTempDirs();

  it('streams the server\'s backup file into the SET with progress and removes it from the backup directory', async () => {
    const backupDir = tempDir();
    const setDir = tempDir();
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const calls: string[] = [];
    const session = {
      async execute(batch: string) {
        calls.push(batch);
        if (/^BACKUP DATABASE/m.test(batch)) writeFileSync(join(backupDir, 'commserve-dr_SET_0000001_commserv_FULL.dmp'), payload);
        if (/AND m\.physical_device_name = N'/.test(batch)) {
          return { recordsets: [[{ type: 'D', database_name: 'commserv', backup_set_uuid: '6f9619ff-8b86-d011-b42d-00c04fc964ff', is_copy_only: false, first_lsn: '42000000001', checkpoint_lsn: '42000000017' }]], messages: [] };
        }
        return { recordsets: [[]], messages: [] };
      },
      async close() {},
    };
    const engine = new SqlServerEngine({ session, target: { server: 'localhost', port: 1433, database: 'commserv' }, backupDirectory: backupDir });
    const progress: Array<[number, number]> = [];
    mkdirSync(join(setDir, 'SET_0000001'));
    const dump = await engine.dumpFull(join(setDir, 'SET_0000001', 'commserv_FULL.dmp'), (d, t) => progress.push([d, t]));
    expect(dump.bytes).toBe(payload.length);
    expect(readFileSync(dump.file).equals(payload)).toBe(true);
    expect(progress.at(-1)).toEqual([payload.length, payload.length]);
    expect(dump.identity.details).toMatchObject({ BackupSetGUID: '6F9619FF-8B86-D011-B42D-00C04FC964FF', CheckpointLSN: '42000000017', lsnSource: 'msdb' });
    expect(existsSync(join(backupDir, 'commserve-dr_SET_0000001_commserv_FULL.dmp'))).toBe(false);
    expect(calls[0]).toBe(`SET LOCK_TIMEOUT -1;\nBACKUP DATABASE [commserv] TO DISK = N'${backupDir}/commserve-dr_SET_0000001_commserv_FULL.dmp' WITH CHECKSUM, INIT;`);
    await expect(streamCopy(join(backupDir, 'missing'), join(setDir, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
