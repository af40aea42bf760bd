/**
 * Reading a SET's manifest from the hot-site for phase 2, after checking that the phase-1 result
 * points where it should (the configured bucket, the canonical keys of its own SET).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Phase1Result } from '#core/job';
import { MANIFEST_MAX_BYTES, parseManifest, type Manifest } from '#core/manifest';
import { MANIFEST_FILE, setObjectKey, setPrefix } from '#core/hotsite-layout';
import { legacySetName, parseSetName, setName } from '#core/set-id';
import { describeError } from '#core/errors';
import { readStreamCapped } from './hash';
import { describeS3Error, isNotFound } from './s3';

/** Builds the error a handler throws (each state has its own error name). */
export type FailWith = (code: string, message: string, cause?: unknown) => Error;

/** A manifest as read from `sets/SET_n/manifest.json`. */
export interface LoadedManifest {
  manifest: Manifest;
  /** Key of the manifest object. */
  key: string;
  /** Size of the manifest object in bytes. */
  bytes: number;
  /** SHA-256 of the manifest object as read (lowercase hex). */
  sha256: string;
}

/**
 * Checks the phase-1 result against the bucket and the SET layout, then reads, parses and checks the
 * manifest (job id, SET name and backup type must match the phase-1 result).
 * Errors (built by `fail`) carry the codes `BUCKET_MISMATCH`, `KEY_MISMATCH`, `MANIFEST_MISSING`,
 * `MANIFEST_INVALID` (not JSON, over 16 MiB or not a valid manifest), `MANIFEST_MISMATCH`, `S3_ERROR`.
 */
export async function loadSetManifest(s3: S3Client, bucket: string, phase1: Phase1Result, fail: FailWith): Promise<LoadedManifest> {
  if (phase1.bucket !== bucket) {
    throw fail('BUCKET_MISMATCH', `phase 1 uploaded ${phase1.setName} to bucket ${phase1.bucket}, but this function serves ${bucket}`);
  }
  // Either spelling of the job id (legacy SET_042 of a half-finished older SET, or new SET_0000042: core/set-id.ts).
  const nameMatches = typeof phase1.setName === 'string' && parseSetName(phase1.setName) === phase1.jobId;
  const expectedName = nameMatches ? phase1.setName : setName(phase1.jobId);
  const expectedKey = setObjectKey('sets', expectedName, MANIFEST_FILE);
  const expectedPrefix = setPrefix('sets', expectedName);
  if (!nameMatches || phase1.manifestKey !== expectedKey || phase1.setPrefix !== expectedPrefix) {
    throw fail(
      'KEY_MISMATCH',
      `phase-1 result for job ${phase1.jobId} names ${phase1.setName} at ${phase1.manifestKey} (prefix ${phase1.setPrefix}); expected ${nameMatches ? expectedName : `${setName(phase1.jobId)} or ${legacySetName(phase1.jobId)}`} at ${expectedKey}`,
    );
  }
  let response;
  try {
    response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: expectedKey }));
  } catch (error) {
    if (isNotFound(error)) throw fail('MANIFEST_MISSING', `${expectedKey} not found in bucket ${bucket}: the SET is incomplete`, error);
    throw fail('S3_ERROR', `cannot read ${expectedKey} from bucket ${bucket}: ${describeS3Error(error)}`, error);
  }
  if (response.ContentLength !== undefined && response.ContentLength > MANIFEST_MAX_BYTES) {
    (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
    throw fail('MANIFEST_INVALID', `${expectedKey} is ${response.ContentLength} bytes, over the ${MANIFEST_MAX_BYTES}-byte manifest limit`);
  }
  let body: Buffer;
  try {
    body = await readStreamCapped(response.Body, MANIFEST_MAX_BYTES);
  } catch (error) {
    if (error instanceof RangeError) throw fail('MANIFEST_INVALID', `${expectedKey} is over the ${MANIFEST_MAX_BYTES}-byte manifest limit`, error);
    throw fail('S3_ERROR', `cannot read ${expectedKey} from bucket ${bucket}: ${describeS3Error(error)}`, error);
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(body, expectedKey);
  } catch (error) {
    throw fail('MANIFEST_INVALID', describeError(error), error);
  }
  const mismatches: string[] = [];
  if (manifest.jobId !== phase1.jobId) mismatches.push(`jobId ${manifest.jobId} (phase 1 reported ${phase1.jobId})`);
  if (manifest.setName !== phase1.setName) mismatches.push(`setName ${manifest.setName} (phase 1 reported ${phase1.setName})`);
  if (manifest.backupType !== phase1.backupType) mismatches.push(`backupType ${manifest.backupType} (phase 1 reported ${phase1.backupType})`);
  if (mismatches.length > 0) {
    throw fail('MANIFEST_MISMATCH', `${expectedKey} does not describe this job: ${mismatches.join(', ')}`);
  }
  return { manifest, key: expectedKey, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}
