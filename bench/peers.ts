/**
 * Peers of the FULL in the benchmark (issue 20 item 5): what a user would pick instead, timed on the same database and
 * the same endpoint (the local moto server), when the tool is installed (a peer that is missing is left out and named
 * on stderr):
 * - `sqlite3+awscli`: `sqlite3 <db> ".backup <copy>"` (the SQLite shell's online backup), then `aws s3 cp <copy>
 *   s3://<bucket>/peer/…` (AWS CLI, its default multipart settings);
 * - `restic`: the same `.backup` copy, then `restic backup` of it into a fresh S3 repository (`restic init` is a
 *   one-time set-up and is not timed; restic ≥ 0.14 compresses with zstd by default and deduplicates by content).
 * Each figure is the wall time of the whole command sequence, `.backup` included.
 */
import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The peers, in the order they run. */
export const PEERS = ['sqlite3+awscli', 'restic'] as const;
export type PeerName = (typeof PEERS)[number];

/** One timed peer run. */
export interface PeerRun {
  /** Wall time of the whole sequence (backup copy + upload), milliseconds. */
  ms: number;
  /** Bytes the peer had to upload (the `.backup` copy's size; restic sends fewer after compression). */
  bytes: number;
}

/** Where the peers run. */
export interface PeerTarget {
  /** The live database. */
  db: string;
  /** A scratch folder (the `.backup` copy goes here and is removed). */
  work: string;
  /** S3 endpoint (`http://127.0.0.1:<port>`). */
  endpoint: string;
  /** An existing bucket at that endpoint. */
  bucket: string;
}

/** Credentials-free environment for the CLIs against moto (moto accepts any key). */
function peerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    RESTIC_PASSWORD: 'bench-only',
    RESTIC_CACHE_DIR: '',
  };
}

/** Runs a command; resolves with its exit code (127 when it cannot be started), stderr kept for the message. */
function run(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: peerEnv() });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', () => resolve({ code: 127, stderr: `${command}: not installed` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

async function must(command: string, args: string[]): Promise<void> {
  const { code, stderr } = await run(command, args);
  if (code !== 0) throw new Error(`${command} ${args[0]} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
}

/** Whether `command` can be started (`<command> --version` exits 0). */
export async function installed(command: string): Promise<boolean> {
  return (await run(command, command === 'restic' ? ['version'] : ['--version'])).code === 0;
}

async function sqliteBackup(db: string, copy: string): Promise<number> {
  rmSync(copy, { force: true });
  await must('sqlite3', [db, `.backup '${copy.replace(/'/g, "''")}'`]);
  return statSync(copy).size;
}

/**
 * Times each installed peer once on `target` (or only those in `only`); peers that are not installed are skipped with a
 * line on stderr.
 */
export async function runPeers(
  target: PeerTarget,
  say: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
  only: readonly PeerName[] = PEERS,
): Promise<Partial<Record<PeerName, PeerRun>>> {
  const out: Partial<Record<PeerName, PeerRun>> = {};
  if (!(await installed('sqlite3'))) {
    say('peers skipped: the sqlite3 shell is not installed (Debian: sqlite3)');
    return out;
  }
  const copy = join(target.work, 'peer-copy.db');
  try {
    if (!only.includes('sqlite3+awscli')) {
      // not asked for
    } else if (await installed('aws')) {
      const started = performance.now();
      const bytes = await sqliteBackup(target.db, copy);
      await must('aws', ['s3', 'cp', copy, `s3://${target.bucket}/peer/awscli/commserv.db`, '--endpoint-url', target.endpoint, '--only-show-errors']);
      out['sqlite3+awscli'] = { ms: performance.now() - started, bytes };
    } else say('peer sqlite3+awscli skipped: the AWS CLI (aws) is not installed (Debian: awscli)');
    if (!only.includes('restic')) {
      // not asked for
    } else if (await installed('restic')) {
      const repo = `s3:${target.endpoint}/${target.bucket}/peer/restic`;
      await must('restic', ['-r', repo, 'init']);
      const started = performance.now();
      const bytes = await sqliteBackup(target.db, copy);
      await must('restic', ['-r', repo, 'backup', '--no-cache', '--quiet', copy]);
      out.restic = { ms: performance.now() - started, bytes };
    } else say('peer restic skipped: restic is not installed (Debian: restic)');
  } finally {
    rmSync(copy, { force: true });
  }
  return out;
}
