/**
 * Job history kept on the agent side (SPEC §4.4): one JSON record per job in `<StateDirectory>/history/`,
 * the same record ReportJob writes to `jobs/<jobId>.json` at the hot-site.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { JobRecordSchema, type JobRecord } from '#core/job';

/** Directory of the history records. */
export function historyDir(stateDir: string): string {
  return join(stateDir, 'history');
}

/** Writes a job record atomically; a record without a job id (phase 1 never allocated one) is named by its end time. */
export function recordJob(stateDir: string, record: JobRecord): string {
  const dir = historyDir(stateDir);
  mkdirSync(dir, { recursive: true });
  const name = record.jobId !== null ? `${String(record.jobId).padStart(6, '0')}.json` : `failed-${record.endTime.replace(/[:.]/g, '-')}.json`;
  const file = join(dir, name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Reads every valid record, oldest first; unreadable files are skipped and reported through `onInvalid`. */
export function readHistory(stateDir: string, onInvalid: (file: string, error: unknown) => void = () => undefined): JobRecord[] {
  const dir = historyDir(stateDir);
  if (!existsSync(dir)) return [];
  const records: JobRecord[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try {
      records.push(JobRecordSchema.parse(JSON.parse(readFileSync(join(dir, name), 'utf8'))));
    } catch (error) {
      onInvalid(join(dir, name), error);
    }
  }
  return records.sort((a, b) => a.endTime.localeCompare(b.endTime));
}
