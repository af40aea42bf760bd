/**
 * The S3 drivers of the copy interface: the hot-site's `sets/` (phase-1 copy, read directly) and its `archive/`
 * (phase-2 copy in a Glacier class: GLACIER/DEEP_ARCHIVE objects are restored — RestoreObject, then HeadObject polled —
 * before they are read, GLACIER_IR is read directly; the restore flow itself is in `agent/hotsite/download.ts`).
 * Read-only: nothing at the hot-site is written or removed here.
 */
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { describeError, HotSiteError } from '#core/errors';
import { ARCHIVE_PREFIX, MANIFEST_FILE, parseSetObjectKey, SETS_PREFIX, type SetArea } from '#core/hotsite-layout';
import { parseManifest, type ManifestFile } from '#core/manifest';
import { needsRestore } from '#core/recovery';
import { getObjectBody, objectState, readSmallObject } from '#agent/hotsite/download';
import { hotSiteError } from '#agent/hotsite/hot-site';
import type { Copy, CopyKind, CopyObject, CopySetFiles, FileCheck, ManifestRead, ObjectReadiness } from './types';

const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
/** A multipart object's checksum carries `-<parts>` at real S3 (not at moto): compare the digest part. */
const digestOf = (checksum: string) => checksum.replace(/-\d+$/, '');

/** One area (`sets/` or `archive/`) of the hot-site bucket as a copy. */
abstract class S3AreaCopy implements Copy {
  abstract readonly kind: CopyKind;
  readonly label: string;

  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
    readonly area: SetArea,
  ) {
    this.label = `${area === 'sets' ? 'hot-site' : 'archive'} s3://${bucket}/${area}/`;
  }

  keyOf(setName: string, file: string): string {
    return `${this.area}/${setName}/${file}`;
  }

  /** @throws HotSiteError (`HOTSITE_UNREACHABLE`, access denied …) naming the bucket. */
  async listSets(): Promise<Map<number, CopySetFiles>> {
    const out = new Map<number, CopySetFiles>();
    const prefix = this.area === 'sets' ? SETS_PREFIX : ARCHIVE_PREFIX;
    let token: string | undefined;
    try {
      do {
        const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const parsed = object.Key ? parseSetObjectKey(object.Key) : undefined;
          if (!parsed || parsed.area !== this.area) continue;
          const files = out.get(parsed.jobId) ?? new Map();
          files.set(parsed.file, { copy: this.kind, jobId: parsed.jobId, setName: parsed.setName, file: parsed.file, size: object.Size ?? 0, storageClass: object.StorageClass ?? 'STANDARD', key: object.Key! });
          out.set(parsed.jobId, files);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw hotSiteError(`list ${prefix}`, this.bucket, error);
    }
    return out;
  }

  async readManifest(setName: string, files: CopySetFiles): Promise<ManifestRead> {
    const object = files.get(MANIFEST_FILE);
    if (!object) return { manifest: null, manifestState: 'missing', problems: [] };
    if (needsRestore(object.storageClass)) {
      const state = await objectState(this.s3, this.bucket, object.key);
      if (state !== 'restored' && state !== 'readable') return { manifest: null, manifestState: 'pending', problems: [] };
    }
    let bytes: Buffer;
    try {
      bytes = await readSmallObject(this.s3, this.bucket, object.key);
    } catch (error) {
      if (error instanceof HotSiteError && error.code === 'OBJECT_ARCHIVED') return { manifest: null, manifestState: 'pending', problems: [] };
      if (error instanceof HotSiteError && error.code === 'OBJECT_TOO_LARGE') return { manifest: null, manifestState: 'invalid', problems: [error.message] };
      throw error;
    }
    try {
      const manifest = parseManifest(bytes, `s3://${this.bucket}/${object.key}`);
      if (manifest.setName !== setName) return { manifest: null, manifestState: 'invalid', problems: [`${object.key} describes ${manifest.setName}, not ${setName}`] };
      return { manifest, manifestState: 'read', problems: [] };
    } catch (error) {
      return { manifest: null, manifestState: 'invalid', problems: [describeError(error)] };
    }
  }

  async readiness(object: CopyObject): Promise<ObjectReadiness> {
    return needsRestore(object.storageClass) ? objectState(this.s3, this.bucket, object.key) : 'readable';
  }

  open(object: CopyObject): Promise<Readable> {
    return getObjectBody(this.s3, this.bucket, object.key);
  }

  /**
   * HeadObject (`ChecksumMode: ENABLED`): size, and S3's stored SHA-256 checksum against the manifest's (its recorded
   * S3 checksum, or base64 of the file's SHA-256). Without a stored checksum, or for an archived object not restored,
   * only the size is proven (`method: 'size'`). `deep` changes nothing here: a re-hash would download the object.
   */
  async check(object: CopyObject | undefined, entry: ManifestFile): Promise<FileCheck> {
    if (!object) return { ok: false, method: 'size', detail: 'missing' };
    let head;
    try {
      head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: object.key, ChecksumMode: 'ENABLED' }));
    } catch (error) {
      const e = hotSiteError(`look at ${object.key}`, this.bucket, error);
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return { ok: false, method: 'size', detail: 'missing' };
      throw e;
    }
    const bytes = head.ContentLength ?? -1;
    if (bytes !== entry.size) return { ok: false, method: 'size', detail: `size ${bytes}, manifest ${entry.size}` };
    if (!head.ChecksumSHA256) return { ok: true, method: 'size' };
    const expected = entry.s3?.checksumSHA256 ?? hexToBase64(entry.sha256);
    const ok = digestOf(head.ChecksumSHA256) === digestOf(expected) || digestOf(head.ChecksumSHA256) === hexToBase64(entry.sha256);
    return ok ? { ok, method: 's3-checksum' } : { ok, method: 's3-checksum', detail: `S3 checksum ${head.ChecksumSHA256} ≠ manifest ${expected}` };
  }
}

/** The hot-site's `sets/` (see the module comment). */
export class HotSiteCopy extends S3AreaCopy {
  readonly kind: CopyKind = 'hot-site';
  constructor(s3: S3Client, bucket: string) {
    super(s3, bucket, 'sets');
  }
}

/** The hot-site's `archive/` (see the module comment). */
export class ArchiveCopy extends S3AreaCopy {
  readonly kind: CopyKind = 'archive';
  constructor(s3: S3Client, bucket: string) {
    super(s3, bucket, 'archive');
  }
}
