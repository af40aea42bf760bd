/**
 * Repair of one damaged or missing object of a SET at the hot-site (issue 16 item 3, SPEC §6.1), from the first intact
 * copy found:
 * 1. the phase-1 destination: the local file, re-uploaded through the same single pass as phase 1 (`streamSetFile`
 *    with the manifest's part size and SHA-256): its bytes are checked against the manifest as they are sent, and a
 *    local file that differs is never made the hot-site copy (its upload is aborted before completion);
 * 2. the archive: `archive/SET_n/<file>`, first checked with HeadObject (size and SHA-256 checksum against the
 *    manifest), restored first when its class needs it (GLACIER, DEEP_ARCHIVE; a restore that is still running leaves
 *    the object unrepaired *for now* and says so — the next job copies it), then copied back server-side (CopyObject,
 *    STANDARD, SHA-256 checksum requested).
 * Every repair is then checked with HeadObject like the scrub itself: a repair is claimed only once S3 reports the
 * manifest's size and checksum.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CopyObjectCommand, HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { describeError } from '#core/errors';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import type { Manifest, ManifestFile } from '#core/manifest';
import { S3_MAX_COPY_OBJECT_BYTES } from '#core/transfer-plan';
import { copySource, hexToBase64, isNotFound, sameS3Checksum, splitS3Checksum } from '#lambdas/shared/s3';
import { objectState, requestRestore } from './download';
import { sha256Base64, uploadManifest } from './hot-site';
import { SetUploadSession, streamSetFile } from './stream-upload';

/** Days a restored archive copy stays readable for a repair (it is copied right away; 1 is the S3 minimum). */
const REPAIR_RESTORE_DAYS = 1;

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
export type RepairOutcome = { repaired: true; from: 'local' | 'archive' } | { repaired: false; reason: string; pending?: boolean };

/** What a repair needs. */
export interface RepairContext {
  s3: S3Client;
  bucket: string;
  /** The phase-1 destination (SET folders), or null when there is none to use. */
  phase1Destination: string | null;
}

/**
 * Repairs `sets/SET_n/<file>` from the local copy, else the archive copy (see the module comment).
 * Never throws: an outcome says what happened.
 */
export async function repairObject(ctx: RepairContext, manifest: Manifest, expected: ExpectedObject): Promise<RepairOutcome> {
  const reasons: string[] = [];
  const local = await repairFromLocal(ctx, manifest, expected).catch((error: unknown) => `local copy: ${describeError(error)}`);
  if (local === true) return { repaired: true, from: 'local' };
  reasons.push(local);
  const archive = await repairFromArchive(ctx, manifest, expected).catch((error: unknown) => ({ reason: `archive copy: ${describeError(error)}`, pending: false }));
  if (archive === true) return { repaired: true, from: 'archive' };
  reasons.push(archive.reason);
  return { repaired: false, reason: reasons.join('; '), ...(archive.pending ? { pending: true } : {}) };
}

/** HeadObject of a SET object against what it should be: null when it matches, else the problem. */
async function recheck(ctx: RepairContext, key: string, expected: ExpectedObject): Promise<string | null> {
  try {
    return headProblem(await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key, ChecksumMode: 'ENABLED' })), expected);
  } catch (error) {
    return isNotFound(error) ? 'is still missing' : describeError(error);
  }
}

async function repairFromLocal(ctx: RepairContext, manifest: Manifest, expected: ExpectedObject): Promise<true | string> {
  if (!ctx.phase1Destination) return 'local copy: no phase-1 destination';
  const setDir = join(ctx.phase1Destination, manifest.setName);
  const name = expectedName(expected);
  const path = join(setDir, name);
  if (!existsSync(path)) return `local copy: ${path} does not exist`;
  const key = setObjectKey('sets', manifest.jobId, name);
  if (expected.kind === 'manifest') {
    if (expected.sha256Base64 === null) return 'local copy: no local manifest to compare with';
    await uploadManifest(ctx.s3, ctx.bucket, setDir, manifest);
  } else {
    const size = statSync(path).size;
    if (size !== expected.file.size) return `local copy: ${path} has ${size} bytes, the manifest says ${expected.file.size}`;
    const session = new SetUploadSession(ctx.s3, ctx.bucket);
    try {
      await streamSetFile(session, { source: path, name, role: expected.file.role, key, partSize: expected.file.s3?.partSize, expectedSha256: expected.file.sha256, existing: 'overwrite' });
      if (session.failure) throw session.failure;
    } finally {
      await session.close();
    }
  }
  const problem = await recheck(ctx, key, expected);
  return problem === null ? true : `local copy uploaded, but ${key} ${problem}`;
}

async function repairFromArchive(ctx: RepairContext, manifest: Manifest, expected: ExpectedObject): Promise<true | { reason: string; pending: boolean }> {
  const name = expectedName(expected);
  const source = setObjectKey('archive', manifest.jobId, name);
  const target = setObjectKey('sets', manifest.jobId, name);
  let head: HeadObjectCommandOutput;
  try {
    head = await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: source, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    return { reason: isNotFound(error) ? `archive copy: ${source} does not exist` : `archive copy: ${describeError(error)}`, pending: false };
  }
  const problem = headProblem(head, expected);
  if (problem) return { reason: `archive copy: ${source} ${problem}`, pending: false };
  if ((head.ContentLength ?? 0) > S3_MAX_COPY_OBJECT_BYTES) {
    return { reason: `archive copy: ${source} is over the 5 GiB CopyObject limit; fetch it with \`commserve-dr fetch ${manifest.setName}\` and re-upload it`, pending: false };
  }
  const state = await objectState(ctx.s3, ctx.bucket, source);
  if (state === 'restore-needed' || state === 'restoring') {
    const storageClass = head.StorageClass === 'DEEP_ARCHIVE' ? 'DEEP_ARCHIVE' : 'GLACIER';
    const now = state === 'restoring' ? 'restoring' : await requestRestore(ctx.s3, ctx.bucket, source, storageClass, 'Standard', REPAIR_RESTORE_DAYS);
    if (now === 'restoring' && (await objectState(ctx.s3, ctx.bucket, source)) !== 'restored') {
      return { reason: `archive copy: ${source} (${storageClass}) is being restored; the next job copies it back`, pending: true };
    }
  }
  await ctx.s3.send(
    new CopyObjectCommand({
      Bucket: ctx.bucket,
      Key: target,
      CopySource: copySource(ctx.bucket, source),
      CopySourceIfMatch: head.ETag,
      StorageClass: 'STANDARD',
      MetadataDirective: 'COPY',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  const after = await recheck(ctx, target, expected);
  return after === null ? true : { reason: `archive copy copied back, but ${target} ${after}`, pending: false };
}

/** The expected form of a manifest object kept locally: its size and base64 SHA-256. */
export function expectedManifest(bytes: Buffer | null, listedSize?: number): ExpectedObject {
  return bytes ? { kind: 'manifest', size: bytes.length, sha256Base64: sha256Base64(bytes) } : { kind: 'manifest', size: listedSize ?? 0, sha256Base64: null };
}
