/**
 * Repair of one damaged or missing object of a SET at the hot-site (issue 16 item 3, issue 21 item 2, SPEC §6.1), from
 * the first intact source found. The agent's own writes are create-only, so whatever replaces an existing object is
 * copied into place by the RepairObject function (`lambdas/repair-object.ts`, `repair-function.ts`), which decides from
 * the hot-site manifest (or the manifest chain) what the object must be:
 * 1. the bucket's own history: the newest noncurrent version whose size and SHA-256 checksum match (an overwrite or a
 *    delete leaves the committed version behind), copied back from its version id;
 * 2. the phase-1 destination: the local file, re-uploaded through the same single pass as phase 1 (`streamSetFile`
 *    with the manifest's part size and SHA-256, so a local file that differs is never sent complete) — straight to
 *    its key when the object is missing (create-only), else to a new `repair/` staging key that the function checks
 *    and copies into place;
 * 3. the archive: `archive/SET_n/<file>`, checked, restored first when its class needs it (a restore still running
 *    leaves the object unrepaired *for now* and says so — the next job copies it), then copied back.
 * Every repair is then checked with HeadObject like the scrub itself: a repair is claimed only once S3 reports the
 * manifest's size and checksum.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { describeError } from '#core/errors';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import type { Manifest, ManifestFile } from '#core/manifest';
import { hexToBase64, isNotFound, sameS3Checksum, splitS3Checksum } from '#lambdas/shared/s3';
import { REPAIR_STAGING_PREFIX } from '#lambdas/repair-object';
import { sha256Base64, uploadManifest } from './hot-site';
import { inProcessRepairer, type Repairer } from './repair-function';
import { SetUploadSession, streamSetFile } from './stream-upload';

/** What one object of a SET should be: a manifest entry, or the manifest itself (its bytes as kept locally). */
export type ExpectedObject = { kind: 'file'; file: ManifestFile } | { kind: 'manifest'; size: number; sha256Base64: string | null };

/** The name of an expected object in its SET. */
export function expectedName(expected: ExpectedObject): string {
  return expected.kind === 'file' ? expected.file.name : MANIFEST_FILE;
}

/** Verdict of HeadObject on one object against what it should be; `null` when it matches. */
export function headProblem(head: HeadObjectCommandOutput, expected: ExpectedObject): string | null {
  const size = expected.kind === 'file' ? expected.file.size : expected.size;
  if (head.ContentLength !== size) return `is ${head.ContentLength ?? 'of unknown size'} bytes, the manifest says ${size}`;
  const actual = head.ChecksumSHA256;
  const accepted = expected.kind === 'file' ? [hexToBase64(expected.file.sha256), ...(expected.file.s3 ? [expected.file.s3.checksumSHA256] : [])] : expected.sha256Base64 ? [expected.sha256Base64] : [];
  if (!actual || accepted.length === 0) return null; // nothing to compare: size only (the scrub notes it)
  if (accepted.some((a) => sameS3Checksum(actual, a))) return null;
  // A composite checksum of another part size than the manifest's: not comparable, not damage.
  if (expected.kind === 'file' && !expected.file.s3 && splitS3Checksum(actual).parts !== undefined) return null;
  return `has SHA-256 checksum ${actual} at S3, the manifest says ${accepted[accepted.length - 1]}`;
}

/** Where a repair came from, or why there was none. */
export type RepairOutcome = { repaired: true; from: 'version' | 'local' | 'archive'; versionId?: string } | { repaired: false; reason: string; pending?: boolean };

/** Words for where a repair came from: "the local copy", "the archive copy", "version <id> at the hot-site". */
export function repairSource(outcome: { from: 'version' | 'local' | 'archive'; versionId?: string }): string {
  return outcome.from === 'version' ? `an earlier version at the hot-site${outcome.versionId ? ` (${outcome.versionId})` : ''}` : `the ${outcome.from} copy`;
}

/** What a repair needs. */
export interface RepairContext {
  s3: S3Client;
  bucket: string;
  /** The phase-1 destination (SET folders), or null when there is none to use. */
  phase1Destination: string | null;
  /** Who copies intact sources into place (the RepairObject function); default the handler in-process with `s3`. */
  repairer?: Repairer;
}

/**
 * Repairs `sets/SET_n/<file>` (see the module comment): first from the bucket's own history (the newest intact
 * noncurrent version, by the repair function), then the local copy, then the archive copy (by the repair function).
 * Never throws: an outcome says what happened.
 */
export async function repairObject(ctx: RepairContext, manifest: Manifest, expected: ExpectedObject): Promise<RepairOutcome> {
  const repairer = ctx.repairer ?? inProcessRepairer(ctx.s3, ctx.bucket);
  const reasons: string[] = [];
  const version = await repairFromVersions(ctx, repairer, manifest, expected).catch((error: unknown) => `versions: ${describeError(error)}`);
  if (typeof version !== 'string') return version;
  reasons.push(version);
  const local = await repairFromLocal(ctx, repairer, manifest, expected).catch((error: unknown) => `local copy: ${describeError(error)}`);
  if (local === true) return { repaired: true, from: 'local' };
  reasons.push(local);
  const archive = await repairFromArchive(ctx, repairer, manifest, expected).catch((error: unknown) => ({ reason: `archive copy: ${describeError(error)}`, pending: false }));
  if (archive === true) return { repaired: true, from: 'archive' };
  reasons.push(archive.reason);
  return { repaired: false, reason: reasons.join('; '), ...(archive.pending ? { pending: true } : {}) };
}

/** The request fields that name the object (and, for a manifest, the SHA-256 the agent keeps). */
function requestOf(manifest: Manifest, expected: ExpectedObject) {
  const manifestSha256 = expected.kind === 'manifest' && expected.sha256Base64 ? Buffer.from(expected.sha256Base64, 'base64').toString('hex') : undefined;
  return { jobId: manifest.jobId, setName: manifest.setName, file: expectedName(expected), ...(manifestSha256 ? { manifestSha256 } : {}) };
}

async function repairFromVersions(ctx: RepairContext, repairer: Repairer, manifest: Manifest, expected: ExpectedObject): Promise<RepairOutcome | string> {
  const answer = await repairer({ ...requestOf(manifest, expected), sources: ['versions'] });
  if (!answer.repaired) return answer.reason;
  const problem = await recheck(ctx, answer.key, expected);
  return problem === null ? { repaired: true, from: 'version', ...(answer.versionId ? { versionId: answer.versionId } : {}) } : `versions: restored, but ${answer.key} ${problem}`;
}

/** HeadObject of a SET object against what it should be: null when it matches, else the problem. */
async function recheck(ctx: RepairContext, key: string, expected: ExpectedObject): Promise<string | null> {
  try {
    return headProblem(await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key, ChecksumMode: 'ENABLED' })), expected);
  } catch (error) {
    return isNotFound(error) ? 'is still missing' : describeError(error);
  }
}

async function repairFromLocal(ctx: RepairContext, repairer: Repairer, manifest: Manifest, expected: ExpectedObject): Promise<true | string> {
  if (!ctx.phase1Destination) return 'local copy: no phase-1 destination';
  const setDir = join(ctx.phase1Destination, manifest.setName);
  const name = expectedName(expected);
  const path = join(setDir, name);
  if (!existsSync(path)) return `local copy: ${path} does not exist`;
  const key = setObjectKey('sets', manifest.setName, name);
  if (expected.kind === 'manifest') {
    if (expected.sha256Base64 === null) return 'local copy: no local manifest to compare with';
    // Create-only: puts a missing manifest back; one that exists and differs is refused (HOTSITE_OBJECT_EXISTS) and
    // only the repair function's sources from the bucket's history may replace it.
    await uploadManifest(ctx.s3, ctx.bucket, setDir, manifest);
  } else {
    const size = statSync(path).size;
    if (size !== expected.file.size) return `local copy: ${path} has ${size} bytes, the manifest says ${expected.file.size}`;
    // A missing object is created in place (create-only); a damaged one exists, so the local copy goes to a new
    // staging key and the repair function copies it into place after checking it against the hot-site manifest.
    const direct = await uploadLocalFile(ctx, path, name, expected.file, key);
    if (direct === 'exists') {
      const stagingKey = `${REPAIR_STAGING_PREFIX}${manifest.setName}/${name}.${Date.now()}`;
      const staged = await uploadLocalFile(ctx, path, name, expected.file, stagingKey);
      if (staged === 'exists') return `local copy: staging key ${stagingKey} already exists`;
      const answer = await repairer({ ...requestOf(manifest, expected), sources: ['staging'], stagingKey });
      if (!answer.repaired) return `local copy: ${answer.reason}`;
    }
  }
  const problem = await recheck(ctx, key, expected);
  return problem === null ? true : `local copy uploaded, but ${key} ${problem}`;
}

/** Uploads a local SET file create-only to `key` (checked against the manifest as it is read); 'exists' when the key holds other bytes. */
async function uploadLocalFile(ctx: RepairContext, path: string, name: string, file: ManifestFile, key: string): Promise<'uploaded' | 'exists'> {
  const session = new SetUploadSession(ctx.s3, ctx.bucket);
  try {
    await streamSetFile(session, { source: path, name, role: file.role, key, partSize: file.s3?.partSize, expectedSha256: file.sha256 });
    if (session.failure?.code === 'HOTSITE_OBJECT_EXISTS') return 'exists';
    if (session.failure) throw session.failure;
    return 'uploaded';
  } finally {
    await session.close();
  }
}

async function repairFromArchive(ctx: RepairContext, repairer: Repairer, manifest: Manifest, expected: ExpectedObject): Promise<true | { reason: string; pending: boolean }> {
  const answer = await repairer({ ...requestOf(manifest, expected), sources: ['archive'] });
  if (!answer.repaired) return { reason: answer.reason.startsWith('archive') ? answer.reason.replace(/^archive( copy)?:/, 'archive copy:') : `archive copy: ${answer.reason}`, pending: answer.pending ?? false };
  const after = await recheck(ctx, answer.key, expected);
  return after === null ? true : { reason: `archive copy copied back, but ${answer.key} ${after}`, pending: false };
}

/** The expected form of a manifest object kept locally: its size and base64 SHA-256. */
export function expectedManifest(bytes: Buffer | null, listedSize?: number): ExpectedObject {
  return bytes ? { kind: 'manifest', size: bytes.length, sha256Base64: sha256Base64(bytes) } : { kind: 'manifest', size: listedSize ?? 0, sha256Base64: null };
}
