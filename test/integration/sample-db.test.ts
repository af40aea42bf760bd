import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  MIN_SAMPLE_SIZE_BYTES,
  SAMPLE_REGISTRY_ROOT,
  SAMPLE_TABLES,
  generateSampleCommServe,
  mutateSampleCommServe,
  sampleRegistryOperations,
  type SampleCommServe,
} from '#agent/local/sample-db/index';
import { parseReg } from '#agent/registry/reg-format';
import { DatabaseError, UsageError } from '#core/errors';
import { useTempDirs } from '../support/tmp';

const MiB = 1024 * 1024;
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('sample CommServe generator', () => {
  const tempDir = useTempDirs('commserve-dr-sample-db-');
  let sample: SampleCommServe;
  const progress: number[] = [];

  beforeAll(async () => {
    sample = await generateSampleCommServe({ dir: tempDir(), sizeBytes: 5 * MiB, seed: 1, onProgress: (b) => progress.push(b) });
  });

  describe('database schema', () => {
    it('has every CommServe table, with declared foreign keys and indexes', () => {
      const db = new Database(sample.dbPath, { readonly: true });
      try {
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((t) => t.name);
        expect(tables.sort()).toEqual([...SAMPLE_TABLES].sort());

        const references = (table: string): string[] =>
          (db.pragma(`foreign_key_list(${table})`) as Array<{ table: string }>).map((fk) => fk.table).sort();
        expect(references('clients')).toEqual(['client_groups', 'commcell']);
        expect(references('client_group_members')).toEqual(['client_groups', 'clients']);
        expect(references('storage_policy_copies')).toEqual(['libraries', 'media_agents', 'storage_policies']);
        expect(references('subclients')).toEqual(['clients', 'schedule_policies', 'storage_policies']);
        expect(references('job_history')).toEqual(['clients', 'media_agents', 'storage_policies', 'subclients']);
        expect(references('events')).toEqual(['clients', 'job_history']);
        expect(references('alert_recipients')).toEqual(['alerts', 'user_groups', 'users']);

        const indexes = (db.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as Array<{ name: string; tbl_name: string }>);
        const indexed = new Set(indexes.map((i) => i.tbl_name));
        for (const table of ['clients', 'mount_paths', 'job_history', 'events', 'subclients', 'user_group_members']) expect(indexed).toContain(table);
        expect(indexes.filter((i) => i.tbl_name === 'job_history').map((i) => i.name)).toEqual(
          expect.arrayContaining(['ix_job_history_client_start', 'ix_job_history_start', 'ix_job_history_status']),
        );
      } finally {
        db.close();
      }
    });

    it('passes foreign_key_check and integrity_check', () => {
      const db = new Database(sample.dbPath, { readonly: true });
      try {
        expect(db.pragma('foreign_key_check')).toEqual([]);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    });

    it('is a closed rollback-journal database with 4096-byte pages', () => {
      const header = readFileSync(sample.dbPath).subarray(0, 100);
      expect(header.readUInt16BE(16)).toBe(4096);
      expect(header[18]).toBe(1); // file format write version 1 = legacy (not WAL)
      expect(header.readUInt32BE(28) * 4096).toBe(statSync(sample.dbPath).size);
      const leftovers = readdirSync(join(sample.dbPath, '..')).filter((f) => f.includes('journal') || f.endsWith('-wal') || f.endsWith('.partial'));
      expect(leftovers).toEqual([]);
    });
  });

  describe('content', () => {
    it('has thousands of jobs with CommServe statuses, levels and hostnames', () => {
      expect(sample.tables.job_history).toBeGreaterThan(2000);
      expect(sample.tables.events).toBeGreaterThan(sample.tables.job_history);
      const db = new Database(sample.dbPath, { readonly: true });
      try {
        const statuses = (db.prepare('SELECT DISTINCT status FROM job_history').all() as Array<{ status: string }>).map((r) => r.status);
        expect(statuses).toEqual(expect.arrayContaining(['Completed', 'Completed w/ one or more errors', 'Failed', 'Killed']));
        const levels = (db.prepare('SELECT DISTINCT backup_level FROM job_history WHERE backup_level IS NOT NULL').all() as Array<{ backup_level: string }>).map((r) => r.backup_level);
        expect(levels).toEqual(expect.arrayContaining(['Full', 'Incremental', 'Synthetic Full']));
        const hostnames = (db.prepare('SELECT hostname FROM clients').all() as Array<{ hostname: string }>).map((r) => r.hostname);
        for (const h of hostnames) expect(h).toMatch(/^[a-z]+-[a-z0-9]+-\d{2,3}\.corp\.example$/);
        const failed = db.prepare("SELECT count(*) AS n FROM job_history WHERE status = 'Failed' AND (failure_reason IS NULL OR error_code IS NULL)").get() as { n: number };
        expect(failed.n).toBe(0);
        expect(db.pragma('application_id', { simple: true })).toBe(0x43534452);
      } finally {
        db.close();
      }
    });

    it('reports row counts and progress', () => {
      expect(sample.tables.clients).toBeGreaterThanOrEqual(20);
      expect(sample.tables.commcell).toBe(1);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[progress.length - 1]).toBe(sample.sizeBytes);
      expect(sample.seed).toBe(1);
    });

    it('writes the registry hive as REGEDIT5 with the module keys, readable by the .reg parser', () => {
      expect(sample.registryRoot).toBe(SAMPLE_REGISTRY_ROOT);
      expect(sample.moduleKeys).toEqual([`${SAMPLE_REGISTRY_ROOT}\\MediaAgent`, `${SAMPLE_REGISTRY_ROOT}\\Cvd`]);
      const bytes = readFileSync(sample.registryHivePath);
      expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]); // UTF-16LE BOM
      const parsed = parseReg(bytes);
      expect(parsed.format).toBe('REGEDIT5');
      expect(parsed.operations).toEqual(sampleRegistryOperations(1));
      const keys = parsed.operations.map((op) => op.key);
      for (const k of sample.moduleKeys) expect(keys).toContain(k);
      const types = new Set(parsed.operations.flatMap((op) => (op.op === 'setKey' ? op.values.map((v) => ('type' in v ? v.type : 'delete')) : [])));
      for (const t of ['REG_SZ', 'REG_EXPAND_SZ', 'REG_DWORD', 'REG_QWORD', 'REG_MULTI_SZ', 'REG_BINARY']) expect(types).toContain(t);
    });

    it('writes non-empty firewall files naming the clients', () => {
      for (const name of ['FwPeers.txt', 'FwHosts.txt', 'FwPorts.txt']) {
        const text = readFileSync(join(sample.firewallDir, name), 'latin1');
        expect(text.length).toBeGreaterThan(100);
      }
      expect(readFileSync(join(sample.firewallDir, 'FwPeers.txt'), 'latin1')).toMatch(/ma-dc1-01\.corp\.example\s+BOTH\s+8403/);
      expect(readFileSync(join(sample.firewallDir, 'FwPorts.txt'), 'latin1')).toMatch(/^\d{4}-\d{4}\s+tcp/m);
    });
  });

  describe('determinism and size', () => {
    it('gives a byte-identical database for the same seed and size, a different one for another seed', async () => {
      const again = await generateSampleCommServe({ dir: tempDir(), sizeBytes: 5 * MiB, seed: 1 });
      const other = await generateSampleCommServe({ dir: tempDir(), sizeBytes: 5 * MiB, seed: 2 });
      expect(sha256(again.dbPath)).toBe(sha256(sample.dbPath));
      expect(sha256(again.registryHivePath)).toBe(sha256(sample.registryHivePath));
      expect(readFileSync(join(again.firewallDir, 'FwPeers.txt'))).toEqual(readFileSync(join(sample.firewallDir, 'FwPeers.txt')));
      expect(sha256(other.dbPath)).not.toBe(sha256(sample.dbPath));
    });

    it.each([5, 20])('ends within ±10 %% of %i MiB', async (mib) => {
      const result = mib === 5 ? sample : await generateSampleCommServe({ dir: tempDir(), sizeBytes: mib * MiB, seed: 3 });
      const size = statSync(result.dbPath).size;
      expect(result.sizeBytes).toBe(size);
      expect(Math.abs(size - mib * MiB)).toBeLessThanOrEqual(0.1 * mib * MiB);
    });

    it('replaces an existing sample in the same directory', async () => {
      const dir = tempDir();
      await generateSampleCommServe({ dir, sizeBytes: MIN_SAMPLE_SIZE_BYTES, seed: 5 });
      const second = await generateSampleCommServe({ dir, sizeBytes: MIN_SAMPLE_SIZE_BYTES, seed: 6 });
      const db = new Database(second.dbPath, { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    });

    it('refuses a size below 1 MiB or a non-integer seed with a UsageError', async () => {
      await expect(generateSampleCommServe({ dir: tempDir(), sizeBytes: 1000 })).rejects.toBeInstanceOf(UsageError);
      await expect(generateSampleCommServe({ dir: tempDir(), sizeBytes: 2 * MiB, seed: 1.5 })).rejects.toBeInstanceOf(UsageError);
    });
  });

  describe('mutateSampleCommServe', () => {
    /** Rows that differ between two databases: updated + inserted + deleted, over all tables. */
    function changedRows(beforePath: string, afterPath: string): number {
      const db = new Database(afterPath, { readonly: true });
      try {
        db.prepare('ATTACH DATABASE ? AS b').run(beforePath);
        let changed = 0;
        const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
        for (const table of SAMPLE_TABLES) {
          const key = (db.pragma(`table_info(${table})`) as Array<{ name: string; pk: number }>).filter((c) => c.pk > 0).map((c) => c.name).join(', ');
          changed += count(`SELECT count(*) AS n FROM (SELECT * FROM main.${table} EXCEPT SELECT * FROM b.${table})`); // updated + inserted
          changed += count(`SELECT count(*) AS n FROM (SELECT ${key} FROM b.${table} EXCEPT SELECT ${key} FROM main.${table})`); // deleted
        }
        return changed;
      } finally {
        db.close();
      }
    }

    it('changes about the requested fraction of the rows, keeping the database consistent', () => {
      const dir = tempDir();
      const path = join(dir, 'mutated.db');
      copyFileSync(sample.dbPath, path);
      const totalRows = Object.values(sample.tables).reduce((a, b) => a + b, 0);

      const changed = mutateSampleCommServe(path, { fraction: 0.05, seed: 9 });

      expect(changed).toBeGreaterThan(0.04 * totalRows);
      expect(changed).toBeLessThan(0.06 * totalRows);
      expect(changedRows(sample.dbPath, path)).toBe(changed);
      const db = new Database(path, { readonly: true });
      try {
        expect(db.pragma('foreign_key_check')).toEqual([]);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect((db.prepare('SELECT count(*) AS n FROM job_history').get() as { n: number }).n).toBeGreaterThan(sample.tables.job_history);
      } finally {
        db.close();
      }
      expect(existsSync(`${path}-journal`)).toBe(false);
    });

    it('is deterministic for a seed', () => {
      const dir = tempDir();
      const [a, b] = [join(dir, 'a.db'), join(dir, 'b.db')];
      copyFileSync(sample.dbPath, a);
      copyFileSync(sample.dbPath, b);
      mutateSampleCommServe(a, { fraction: 0.01, seed: 4 });
      mutateSampleCommServe(b, { fraction: 0.01, seed: 4 });
      expect(sha256(a)).toBe(sha256(b));
    });

    it('rejects a missing database and a bad fraction', () => {
      const missing = join(tempDir(), 'none.db');
      expect(() => mutateSampleCommServe(missing, { fraction: 0.1, seed: 1 })).toThrow(DatabaseError);
      expect(() => mutateSampleCommServe(sample.dbPath, { fraction: 0, seed: 1 })).toThrow(UsageError);
      expect(() => mutateSampleCommServe(sample.dbPath, { fraction: 1.5, seed: 1 })).toThrow(UsageError);
    });
  });
});
