/**
 * ValidateSet — phase 2, step 1 (SPEC §4.3): checks the SET uploaded to the hot-site against its
 * manifest before it is archived. Every file must be present with the manifest's size and checksum.
 *
 * Per file: HeadObject with `ChecksumMode: 'ENABLED'` answers size and S3's stored SHA-256 checksum
 * without downloading anything. Only when S3 holds no SHA-256 checksum for the object (uploaded
 * without one), or it cannot be compared (the manifest has no `s3` entry and the object is
 * multipart), is the object streamed through SHA-256 (never buffered whole).
 *
 * Input: the state input (`DrJobInput` with `phase1`). Output: `ValidationResult` (`$.validation`).
 * Failures throw `SetValidationError` (the state's Catch records the job as Failed).
 */
import { GetObjectCommand, HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { ValidationResult } from '#core/job';
import type { ManifestFile } from '#core/manifest';
import { setObjectKey } from '#core/hotsite-layout';
import { mapWithConcurrency } from './shared/concurrency';
import { hotSiteBucketFromEnv } from './shared/env';
import { SetValidationError } from './shared/errors';
import { sha256OfStream } from './shared/hash';
import { phase1FromInput } from './shared/input';
import { lazyHandler } from './shared/lazy';
import { jsonLog, silentLog, type Log } from './shared/log';
import { describeS3Error, hexToBase64, isNotFound, s3ClientFromEnv, sameS3Checksum, splitS3Checksum } from './shared/s3';
import { loadSetManifest } from './shared/set-manifest';

/** Name of the state this handler serves. */
export const STATE_NAME = 'ValidateSet';

/** Dependencies of the ValidateSet handler. */
export interface ValidateSetDeps {
  s3: S3Client;
  /** The hot-site bucket; the phase-1 result must name the same bucket. */
  bucket: string;
  /** Files checked in parallel (HeadObject / streamed hash). Default 8. */
  concurrency?: number;
  log?: Log;
}

/** How one file was verified. */
type CheckedBy = 's3Checksum' | 'streamedHash';

/**
 * Builds the ValidateSet handler.
 * @returns `(event) => ValidationResult`: files and bytes checked (excluding the manifest) and how
 *   many files were verified by S3's stored checksum vs. by a streamed re-hash.
 * @throws InvalidInputError when the event is not a `DrJobInput` with `phase1`;
 *   SetValidationError (codes: see `SetValidationError`) naming the file and the mismatch.
 */
export function makeValidateSetHandler(deps: ValidateSetDeps): (event: unknown) => Promise<ValidationResult> {
  const { s3, bucket, concurrency = 8, log = silentLog } = deps;
  const fail = (code: string, message: string, cause?: unknown) => new SetValidationError(code, message, { cause });

  return async (event) => {
    const phase1 = phase1FromInput(event, STATE_NAME);
    const { manifest } = await loadSetManifest(s3, bucket, phase1, fail);
    const outcomes = await mapWithConcurrency(manifest.files, concurrency, (file) =>
      checkFile(s3, bucket, setObjectKey('sets', manifest.setName, file.name), file),
    );
    const result: ValidationResult = {
      files: manifest.files.length,
      bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
      checkedBy: {
        s3Checksum: outcomes.filter((o) => o === 's3Checksum').length,
        streamedHash: outcomes.filter((o) => o === 'streamedHash').length,
      },
    };
    log({ level: 'info', message: `${manifest.setName} is valid`, jobId: manifest.jobId, ...result });
    return result;
  };
}

/**
 * Verifies one object against its manifest entry.
 * S3's `ChecksumSHA256` is accepted when it equals base64(sha256) (a single PUT) or the manifest's
 * `s3.checksumSHA256` (a multipart upload); any other value is a mismatch when the manifest says what
 * S3 should report. Without a comparable S3 checksum, the object is streamed and hashed.
 */
async function checkFile(s3: S3Client, bucket: string, key: string, file: ManifestFile): Promise<CheckedBy> {
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if (isNotFound(error)) throw new SetValidationError('FILE_MISSING', `${key} is missing from bucket ${bucket} (listed in the manifest)`, { cause: error });
    throw new SetValidationError('S3_ERROR', `cannot read ${key}: ${describeS3Error(error)}`, { cause: error });
  }
  if (head.ContentLength !== file.size) {
    throw new SetValidationError('SIZE_MISMATCH', `${key} is ${head.ContentLength ?? 'of unknown size'} bytes, the manifest says ${file.size}`);
  }
  const s3Checksum = head.ChecksumSHA256;
  if (s3Checksum) {
    const wholeFile = hexToBase64(file.sha256);
    const isWholeFileChecksum = splitS3Checksum(s3Checksum).parts === undefined && s3Checksum === wholeFile;
    if (isWholeFileChecksum || (file.s3 && sameS3Checksum(s3Checksum, file.s3.checksumSHA256))) return 's3Checksum';
    if (file.s3) {
      throw new SetValidationError(
        'CHECKSUM_MISMATCH',
        `${key} has SHA-256 checksum ${s3Checksum} at S3, the manifest says ${file.s3.checksumSHA256}: the object was changed after upload`,
      );
    }
    // A composite (multipart) checksum the manifest cannot predict: fall through to a re-hash.
  }
  let digest;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: head.ETag }));
    digest = await sha256OfStream(response.Body);
  } catch (error) {
    if (isNotFound(error)) throw new SetValidationError('FILE_MISSING', `${key} disappeared during validation`, { cause: error });
    throw new SetValidationError('S3_ERROR', `cannot read ${key}: ${describeS3Error(error)}`, { cause: error });
  }
  if (digest.bytes !== file.size) {
    throw new SetValidationError('SIZE_MISMATCH', `${key} streamed ${digest.bytes} bytes, the manifest says ${file.size}`);
  }
  if (digest.sha256 !== file.sha256) {
    throw new SetValidationError('CHECKSUM_MISMATCH', `${key} has SHA-256 ${digest.sha256}, the manifest says ${file.sha256}: the content differs`);
  }
  return 'streamedHash';
}

/**
 * The Lambda entry point: `makeValidateSetHandler` over an S3 client from the Lambda environment and
 * `HOT_SITE_BUCKET`, built (and the environment validated) on the first invocation.
 * @throws EnvironmentError when `HOT_SITE_BUCKET` is missing or invalid.
 */
export const handler = lazyHandler(() =>
  makeValidateSetHandler({ s3: s3ClientFromEnv(), bucket: hotSiteBucketFromEnv(), log: jsonLog(STATE_NAME) }),
);
