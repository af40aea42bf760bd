import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseError } from '#core/errors';
import { openSqliteEngine, readSqliteHeader } from '#agent/engines/sqlite/sqlite-engine';
import { corruptPage, makeDatabase, tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

describe('SQLite engine (real SQLite)', () => {
  const tempDir = useTempDirs();

  it('refuses a missing database with a clear error', () => {
    const dir = tempDir();
    expect(() => openSqliteEngine(join(dir, 'nope.db'))).toThrow(expect.objectContaining({ code: 'DB_NOT_FOUND', message: expect.stringContaining('CommServe database not found') }));
  });

  it('refuses a file that is not SQLite', () => {
    const file = join(tempDir(), 'fake.db');
    writeFileSync(file, 'this is a text file, not a database'.repeat(10));
    expect(() => openSqliteEngine(file)).toThrow(expect.objectContaining({ code: 'DB_NOT_SQLITE' }));
    expect(() => openSqliteEngine(file)).toThrow(DatabaseError);
  });

  it('reports a healthy database as ok and dumps an identical, consistent FULL copy', async () => {
    const dir = tempDir();
    const source = join(dir, 'commserv.db');
    makeDatabase(source, 3000);
    const engine = openSqliteEngine(source);
    try {
      const integrity = await engine.checkIntegrity();
      expect(integrity).toMatchObject({ status: 'ok', messages: [] });
      const progress: number[] = [];
      const dump = await engine.dumpFull(join(dir, 'commserv_FULL.dmp'), (done) => progress.push(done));
      const header = readSqliteHeader(dump.file);
      expect(dump.identity).toEqual({ engine: 'sqlite', name: 'commserv.db', pageSize: 4096, pageCount: header.pageCount, details: {} });
      expect(dump.bytes).toBe(header.pageCount * 4096);
      expect(progress.length).toBeGreaterThan(0);
      expect(tableDigests(dump.file)).toEqual(tableDigests(source));
    } finally {
      await engine.close();
    }
  });

  it('reports a damaged b-tree page as corrupt, naming the page, and can still dump it', async () => {
    const dir = tempDir();
    const source = join(dir, 'commserv.db');
    makeDatabase(source, 3000);
    corruptPage(source, 3);
    const engine = openSqliteEngine(source);
    try {
      const integrity = await engine.checkIntegrity();
      expect(integrity.status).toBe('corrupt');
      expect(integrity.messages.join('\n')).toMatch(/page 3|malformed|corrupt/i);
      const dump = await engine.dumpFull(join(dir, 'dump.dmp'));
      expect(dump.bytes).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
  });
});
