/**
 * SET fixtures for the phase-2 handler tests: a small, valid SET (manifest built with core's
 * `serializeManifest`) uploaded to a moto bucket as a single PUT, as a lib-storage multipart upload,
 * or without a SHA-256 checksum, plus the matching phase-1 result.
 */
import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Phase1Result } from '#core/job';
import { serializeManifest, type FileRole, type ManifestInput } from '#core/manifest';
import { MANIFEST_FILE, setObjectKey, setPrefix } from '#core/hotsite-layout';
import { setName } from '#core/set-id';
import { MiB, partRanges } from '#core/transfer-plan';

export const BUCKET = 'commserve-dr-test-hot-site';

/** How a file is uploaded. */
export type UploadMode =
  /** PutObject with `ChecksumAlgorithm: 'SHA256'`. */
  | 'single'
  /** lib-storage `Upload`, 5 MiB parts, `ChecksumAlgorithm: 'SHA256'`. */
  | 'multipart'
  /** PutObject without a SHA-256 checksum (the SDK's default CRC32 only). */
  | 'no-sha256';

export interface FixtureFile {
  name: string;
  role: FileRole;
  content: Buffer;
  mode?: UploadMode;
  /** Record the S3 checksum in the manifest (default true for single/multipart). */
  recordS3?: boolean;
}

export interface FixtureSet {
  jobId: number;
  files: FixtureFile[];
  manifest: Buffer;
  phase1: Phase1Result;
}

export const MULTIPART_PART_BYTES = 5 * MiB;

export const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
export const sha256Base64 = (data: Buffer): string => createHash('sha256').update(data).digest('base64');

/** The composite checksum AWS S3 reports for a multipart upload with SHA-256: `base64(sha256(part digests))-N`. */
export function compositeSha256(data: Buffer, partSize: number): string {
  const ranges = partRanges(data.length, partSize);
  const digests = ranges.map((r) => createHash('sha256').update(data.subarray(r.start, r.end + 1)).digest());
  return `${createHash('sha256').update(Buffer.concat(digests)).digest('base64')}-${ranges.length}`;
}

/** Deterministic pseudo-random bytes (a seeded xorshift), so failures are reproducible. */
export function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A small FULL SET: a database dump, a registry export and a firewall file. */
export function defaultFiles(mode: UploadMode = 'single'): FixtureFile[] {
  return [
    { name: 'commserv_FULL.dmp', role: 'database', content: bytes(200_000, 7), mode },
    { name: 'commserv_hive.reg', role: 'registry', content: Buffer.from('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\CommServe]\r\n"a"=dword:00000001\r\n'), mode },
    { name: 'FwPorts.txt', role: 'firewall', content: Buffer.from('8400-8403\n'), mode },
  ];
}

/** Builds the manifest and phase-1 result of a SET (nothing uploaded). */
export function makeSet(jobId: number, files: FixtureFile[], overrides: Partial<ManifestInput> = {}): FixtureSet {
  const name = setName(jobId);
  const manifestInput: ManifestInput = {
    formatVersion: 1,
    product: 'commserve-dr',
    jobId,
    setName: name,
    backupType: 'FULL',
    cycleId: jobId,
    baseFullSet: null,
    promotion: null,
    startTime: '2026-11-29T17:00:00.000Z',
    endTime: '2026-11-29T17:05:00.000Z',
    agentVersion: '0.1.0',
    hostname: 'commserve01',
    database: { engine: 'sqlite', name: 'commserv.db', pageSize: 4096, pageCount: 49, details: {} },
    integrity: { status: 'ok', messages: [], durationMs: 12 },
    registry: { store: 'file-hive', exportedKeys: ['HKEY_LOCAL_MACHINE\\SOFTWARE\\CommServe'], missingKeys: [] },
    firewall: { present: ['FwPorts.txt'], missing: ['FwPeers.txt', 'FwHosts.txt'] },
    files: files.map((f) => {
      const mode = f.mode ?? 'single';
      const record = f.recordS3 ?? mode !== 'no-sha256';
      const s3 =
        mode === 'multipart'
          ? { partSize: MULTIPART_PART_BYTES, checksumSHA256: compositeSha256(f.content, MULTIPART_PART_BYTES) }
          : { partSize: Math.max(f.content.length, 1), checksumSHA256: sha256Base64(f.content) };
      return { name: f.name, role: f.role, size: f.content.length, sha256: sha256Hex(f.content), ...(record ? { s3 } : {}) };
    }),
    events: [],
    ...overrides,
  };
  const manifest = serializeManifest(manifestInput);
  const phase1: Phase1Result = {
    jobId,
    setName: name,
    backupType: 'FULL',
    requestedType: 'FULL',
    cycleId: jobId,
    bucket: BUCKET,
    setPrefix: setPrefix('sets', jobId),
    manifestKey: setObjectKey('sets', jobId, MANIFEST_FILE),
    files: files.length,
    bytes: files.reduce((sum, f) => sum + f.content.length, 0),
    phase1Destination: null,
    integrity: 'ok',
    status: 'Completed',
    startTime: '2026-11-29T17:00:00.000Z',
    endTime: '2026-11-29T17:05:00.000Z',
    durationsMs: {},
    events: [],
  };
  return { jobId, files, manifest, phase1 };
}

/** Uploads one object as `mode` says. */
export async function putObject(s3: S3Client, key: string, content: Buffer, mode: UploadMode): Promise<void> {
  if (mode === 'multipart') {
    await new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: key, Body: content, ChecksumAlgorithm: 'SHA256' },
      partSize: MULTIPART_PART_BYTES,
      queueSize: 2,
    }).done();
  } else {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: content, ...(mode === 'single' ? { ChecksumAlgorithm: 'SHA256' as const } : {}) }));
  }
}

/** Creates the bucket (versioned like the real one is not needed here). */
export async function createBucket(s3: S3Client): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
}

/** Uploads the SET's files, then its manifest (last, as phase 1 does). */
export async function uploadSet(s3: S3Client, set: FixtureSet): Promise<void> {
  for (const f of set.files) await putObject(s3, setObjectKey('sets', set.jobId, f.name), f.content, f.mode ?? 'single');
  await putObject(s3, setObjectKey('sets', set.jobId, MANIFEST_FILE), set.manifest, 'single');
}

/** Records every command an S3 client sends, and lets a test make chosen commands fail. */
export function recordCommands(s3: S3Client): {
  calls: Array<{ name: string; input: Record<string, unknown> }>;
  failWhen: (predicate: (name: string, input: Record<string, unknown>) => boolean, error?: Error) => void;
} {
  const calls: Array<{ name: string; input: Record<string, unknown> }> = [];
  let failure: { predicate: (name: string, input: Record<string, unknown>) => boolean; error: Error } | undefined;
  const original = s3.send.bind(s3) as (command: unknown) => Promise<unknown>;
  (s3 as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command: unknown) => {
    const name = (command as { constructor: { name: string } }).constructor.name;
    const input = (command as { input: Record<string, unknown> }).input;
    calls.push({ name, input });
    if (failure?.predicate(name, input)) throw failure.error;
    return original(command);
  };
  return {
    calls,
    failWhen: (predicate, error = Object.assign(new Error('injected failure'), { name: 'InternalError' })) => {
      failure = { predicate, error };
    },
  };
}
