/**
 * Step 1 of `verify` (SPEC §6.1, newcomer review finding 1): every copy of every file of a point is checked against
 * the manifest — the phase-1 destination (or `--from` folder) by the SHA-256 of every byte, the hot-site's `sets/` by
 * HeadObject's size and stored SHA-256 checksum (a streamed re-hash when S3 has none and no cheaper copy proved the
 * file), the archive by HeadObject (size, and the stored checksum when S3 has one). A file is verified when at least
 * one copy is intact; a damaged or missing copy beside an intact one is named as damage to that copy (verify exits 3,
 * "completed with errors"), never as a failed point. Only a file with no intact copy at all fails the point.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RestorablePoint } from '#core/cycles';
import { describeError } from '#core/errors';
import type { ManifestFile } from '#core/manifest';
import { needsRestore } from '#core/recovery';
import { COPY_ORDER, type CopyKind, type CopyObject } from '#agent/copies/index';
import { hashObject } from '#agent/hotsite/download';
import { hotSiteError } from '#agent/hotsite/hot-site';
import type { HotSiteView, ListedSet } from './plan';

/** How a copy of a file was checked: every byte hashed, S3's stored checksum, or only the size. */
export type CheckMethod = 's3-checksum' | 'streamed-hash' | 'size';

/** One file of the point: verified when a copy is intact (`copy` names the one that proved it). */
export interface FileVerdict {
  set: string;
  file: string;
  bytes: number;
  method: CheckMethod;
  ok: boolean;
  /** The copy that proved the file intact. */
  copy?: CopyKind;
  detail?: string;
}

/** One copy of one file that is damaged or missing (another copy may be intact). */
export interface DamagedCopy {
  set: string;
  file: string;
  copy: CopyKind;
  /** The path on disk or the S3 key of that copy of the file. */
  key: string;
  /** What was found: `missing`, `size 12, manifest 13`, `SHA-256 … ≠ manifest …`. */
  detail: string;
}

/** What step 1 found. */
export interface PointCopiesCheck {
  checksums: FileVerdict[];
  /** Copies of files found damaged or missing. */
  damagedCopies: DamagedCopy[];
  /** Files with no intact copy at all: the point cannot be proven restorable. */
  problems: string[];
}

interface CopyResult {
  ok: boolean;
  method: CheckMethod;
  detail?: string;
}

/**
 * Checks every copy of every file of `point` whose manifest is known (an archived manifest not yet restored is
 * checked by the staging that follows). Read-only.
 * @throws HotSiteError when the hot-site cannot be asked (unreachable, access denied): not a finding about a copy.
 */
export async function checkPointCopies(view: HotSiteView, point: RestorablePoint, s3: S3Client, bucket: string): Promise<PointCopiesCheck> {
  const out: PointCopiesCheck = { checksums: [], damagedCopies: [], problems: [] };
  for (const set of point.sets) {
    const entry = view.get(set.jobId)!;
    if (!entry.manifest) continue;
    for (const file of entry.manifest.files) await checkFile(view, entry.listed, file, { s3, bucket }, out);
  }
  return out;
}

/** Every copy holding the SET, for one file: the verdict, and each damaged copy named. */
async function checkFile(view: HotSiteView, listed: ListedSet, file: ManifestFile, hot: { s3: S3Client; bucket: string }, out: PointCopiesCheck): Promise<void> {
  let proof: { copy: CopyKind; result: CopyResult } | undefined;
  const damaged: DamagedCopy[] = [];
  for (const kind of COPY_ORDER) {
    const copy = view.copies.get(kind);
    const files = listed.byCopy.get(kind);
    if (!copy || !files) continue;
    const object = files.get(file.name);
    const result = object ? await checkCopy(view, object, file, hot, proof !== undefined) : { ok: false, method: 'size' as const, detail: 'missing' };
    if (!result.ok) damaged.push({ set: listed.setName, file: file.name, copy: kind, key: object?.key ?? copy.keyOf(listed.setName, file.name), detail: result.detail ?? 'damaged' });
    else proof ??= { copy: kind, result };
  }
  out.damagedCopies.push(...damaged);
  if (proof) {
    out.checksums.push({ set: listed.setName, file: file.name, bytes: file.size, method: proof.result.method, ok: true, copy: proof.copy });
    return;
  }
  const detail = damaged.length ? damaged.map((d) => `${d.copy} ${d.key}: ${d.detail}`).join('; ') : 'in no copy read';
  out.checksums.push({ set: listed.setName, file: file.name, bytes: 0, method: 'size', ok: false, detail });
  out.problems.push(`${listed.setName}/${file.name} has no intact copy: ${detail}`);
}

/** One copy of one file against its manifest entry; `proven`: a cheaper copy already proved the file (no re-download). */
async function checkCopy(view: HotSiteView, object: CopyObject, file: ManifestFile, hot: { s3: S3Client; bucket: string }, proven: boolean): Promise<CopyResult> {
  if (object.copy === 'hot-site') return checkHotSiteObject(hot.s3, hot.bucket, object.key, file, proven);
  const check = await view.copies.get(object.copy)!.check(object, file, true);
  const method: CheckMethod = check.method === 'sha256' ? 'streamed-hash' : check.method;
  return { ok: check.ok, method, ...(check.detail ? { detail: check.detail } : {}) };
}

const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
/** A multipart object's checksum carries `-<parts>` at real S3 (not at moto): compare the digest part. */
const digestOf = (checksum: string) => checksum.replace(/-\d+$/, '');

/**
 * HeadObject (`ChecksumMode: ENABLED`): size, then S3's stored SHA-256 against the manifest's; without a stored
 * checksum the object is re-hashed (streamed), unless `proven` (another copy is intact: the size is enough to name it
 * not damaged, and nothing is downloaded twice).
 */
async function checkHotSiteObject(s3: S3Client, bucket: string, key: string, file: ManifestFile, proven: boolean): Promise<CopyResult> {
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return { ok: false, method: 'size', detail: 'missing' };
    throw hotSiteError(`look at ${key}`, bucket, error);
  }
  const bytes = head.ContentLength ?? -1;
  if (bytes !== file.size) return { ok: false, method: 's3-checksum', detail: `size ${bytes}, manifest ${file.size}` };
  if (head.ChecksumSHA256) {
    const expected = file.s3?.checksumSHA256 ?? hexToBase64(file.sha256);
    const ok = digestOf(head.ChecksumSHA256) === digestOf(expected) || digestOf(head.ChecksumSHA256) === hexToBase64(file.sha256);
    return ok ? { ok, method: 's3-checksum' } : { ok, method: 's3-checksum', detail: `S3 checksum ${head.ChecksumSHA256} ≠ manifest ${expected}` };
  }
  if (proven || needsRestore(head.StorageClass)) return { ok: true, method: 'size' };
  try {
    const hashed = await hashObject(s3, bucket, key);
    const ok = hashed.sha256 === file.sha256 && hashed.bytes === file.size;
    return ok ? { ok, method: 'streamed-hash' } : { ok, method: 'streamed-hash', detail: `SHA-256 ${hashed.sha256.slice(0, 16)}… ≠ manifest ${file.sha256.slice(0, 16)}…` };
  } catch (error) {
    return { ok: false, method: 'streamed-hash', detail: `not readable: ${describeError(error)}` };
  }
}

/** Lines naming each damaged copy of a file that is intact in another copy, where, and the command that mends it. */
export function damagedCopyLines(damaged: readonly DamagedCopy[], checksums: ReadonlyArray<Pick<FileVerdict, 'set' | 'file' | 'ok' | 'copy'>>): string[] {
  // A file with no intact copy is the point's problem (its own line); here only the copies an intact one can mend.
  const mendable = damaged.flatMap((d) => {
    const intact = checksums.find((c) => c.set === d.set && c.file === d.file && c.ok);
    return intact ? [{ ...d, intactIn: intact.copy }] : [];
  });
  if (mendable.length === 0) return [];
  damaged = mendable;
  const lines = mendable.map((d) => `  damaged copy: ${d.copy} ${d.key}: ${d.detail}${d.intactIn ? ` (${d.set}/${d.file} is intact in the ${d.intactIn} copy)` : ''}`);
  const sets = [...new Set(damaged.map((d) => d.set))];
  const repair = sets.length === 1 ? `commserve-dr verify --repair ${sets[0]}` : 'commserve-dr verify --repair';
  lines.push(`  ${damaged.length} damaged or missing cop${damaged.length === 1 ? 'y' : 'ies'} (exit 3): run ${repair} to mend ${damaged.length === 1 ? 'it' : 'them'} from an intact copy`);
  return lines;
}
