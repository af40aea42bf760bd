/**
 * S3 access shared by the phase-2 handlers: the client from the Lambda environment, copy-source
 * encoding, error classification, and checksum comparison.
 */
import { S3Client } from '@aws-sdk/client-s3';

/**
 * An S3 client for the Lambda environment: region from `AWS_REGION` (set by Lambda), credentials from
 * the execution role. The SDK also honours `AWS_ENDPOINT_URL_S3` for S3-compatible stand-ins.
 */
export function s3ClientFromEnv(): S3Client {
  return new S3Client({});
}

/**
 * The `CopySource` value for an object: `bucket/key` with every key segment URL-encoded (S3 expects
 * the source URL-encoded; `/` separators stay as they are).
 */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Whether an S3 error means "no such object" (HeadObject answers 404 `NotFound`, GetObject `NoSuchKey`). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** One line describing an S3 SDK error: `Name: message (HTTP status)`. */
export function describeS3Error(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = error.message && error.message !== error.name ? `: ${error.message}` : '';
  return `${error.name}${message}${status ? ` (HTTP ${status})` : ''}`;
}

/** A SHA-256 digest given as lowercase hex, as base64 (the encoding S3 uses in `ChecksumSHA256`). */
export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** An S3 `ChecksumSHA256` value split into its base64 digest and, for a multipart object, its part count. */
export function splitS3Checksum(value: string): { digest: string; parts: number | undefined } {
  const match = /^([A-Za-z0-9+/]+=*)(?:-(\d+))?$/.exec(value);
  if (!match) return { digest: value, parts: undefined };
  return { digest: match[1], parts: match[2] === undefined ? undefined : Number(match[2]) };
}

/**
 * Whether two S3 `ChecksumSHA256` values denote the same checksum: the base64 digests are equal and,
 * when both carry a `-N` part-count suffix, so are the counts. A value without the suffix matches one
 * with it because moto 5.2 reports a multipart object's composite checksum without `-N` (observed;
 * AWS S3 appends it). The digest alone already identifies the content.
 */
export function sameS3Checksum(a: string, b: string): boolean {
  const x = splitS3Checksum(a);
  const y = splitS3Checksum(b);
  if (x.digest !== y.digest) return false;
  return x.parts === undefined || y.parts === undefined || x.parts === y.parts;
}
