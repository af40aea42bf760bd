/**
 * Job activity on corruption through SQL Server (issue 6 item 6): the configured T-SQL statement runs in
 * the CommServe database with the reason quoted; without one, the registry switch is used.
 */
import { handleIntegrityResult } from '#agent/commands/backup/corruption';
import { NO_METRICS } from '#agent/metrics/metrics';
import { jobActivityStatement } from '#agent/engines/sqlserver/tsql';
import { SqlServerEngine } from '#agent/engines/sqlserver/sqlserver-engine';
import type { RegistryStore } from '#agent/registry/types';
import { parseSettings } from '#core/settings';
import { FakeSqlServer } from './fake-sql-server';

const TARGET = { server: 'cs01.corp.example', port: 1433, database: 'commserv' };

function recordingStore(): RegistryStore & { imported: number } {
  const store = {
    kind: 'test',
    imported: 0,
    exportKeys: async () => ({ file: '', exportedKeys: [], missingKeys: [], bytes: 0 }),
    importFile: async () => {
      store.imported++;
      return { operations: 1 };
    },
  };
  return store;
}

const corrupt = { status: 'corrupt' as const, messages: ["Msg 8928 (severity 16): Object ID 5, page (1:153) could not be processed; O'Brien"], durationMs: 10 };

describe('job activity through SQL Server (SQL Server mocked: cannot run here)', () => {
  it('replaces {reason} with an N-string literal, quotes doubled', () => {
    expect(jobActivityStatement('EXEC dbo.DisableJobActivity @reason = {reason};', "page 1:153; O'Brien")).toBe("EXEC dbo.DisableJobActivity @reason = N'page 1:153; O''Brien';");
  });

  it('runs the configured statement on corruption instead of the registry switch', async () => {
    const server = new FakeSqlServer();
    const engine = new SqlServerEngine({ session: server, target: TARGET, jobActivityDisableStatement: 'EXEC dbo.DisableJobActivity @reason = {reason};' });
    const store = recordingStore();
    const events = await handleIntegrityResult({ integrity: corrupt, settings: parseSettings({}, 'test'), store, metrics: NO_METRICS, jobId: 12, engine });
    expect(server.statements.at(-1)).toMatch(/^EXEC dbo\.DisableJobActivity @reason = N'DR backup job 12 found database corruption: 1 problem reported; page 1:153; object ID 5; first: "Msg 8928 .*O''Brien"';$/);
    expect(store.imported).toBe(0);
    expect(events.map((e) => e.code)).toEqual(['JOB_ACTIVITY_DISABLED']);
  });

  it('falls back to the registry switch when no statement is configured', async () => {
    const server = new FakeSqlServer();
    const engine = new SqlServerEngine({ session: server, target: TARGET });
    const store = recordingStore();
    const events = await handleIntegrityResult({ integrity: corrupt, settings: parseSettings({}, 'test'), store, metrics: NO_METRICS, jobId: 12, engine });
    expect(server.statements).toEqual([]);
    expect(store.imported).toBe(1);
    expect(events.map((e) => e.code)).toEqual(['JOB_ACTIVITY_DISABLED']);
  });

  it('keeps job activity when DisableActivityOnDbCorruption is true, whatever the engine', async () => {
    const server = new FakeSqlServer();
    const engine = new SqlServerEngine({ session: server, target: TARGET, jobActivityDisableStatement: 'EXEC x {reason}' });
    const store = recordingStore();
    const events = await handleIntegrityResult({ integrity: corrupt, settings: parseSettings({ DisableActivityOnDbCorruption: true }, 'test'), store, metrics: NO_METRICS, jobId: 1, engine });
    expect(server.statements).toEqual([]);
    expect(store.imported).toBe(0);
    expect(events.map((e) => e.code)).toEqual(['JOB_ACTIVITY_KEPT']);
  });
});
