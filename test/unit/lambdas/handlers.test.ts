import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { GiB, MiB } from '#core/transfer-plan';
import { makeArchiveSetHandler, handler as archiveSetHandler } from '#lambdas/archive-set';
import { reportInput, reportKey, handler as reportJobHandler } from '#lambdas/report-job';
import { makeValidateSetHandler, handler as validateSetHandler } from '#lambdas/validate-set';
import { compositeSha256, bytes, makeSet, type FixtureSet } from '../../integration/lambdas/fixtures';

type Sent = { name: string; input: Record<string, unknown> };
type Responder = (name: string, input: Record<string, unknown>) => unknown;

/** A stand-in S3 client: records commands and answers them with `respond` (a thrown error rejects). */
function stubS3(respond: Responder): { s3: S3Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.push({ name, input: command.input });
      return respond(name, command.input);
    },
  } as unknown as S3Client;
  return { s3, sent };
}

const notFound = () => Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
const noS3 = stubS3(() => {
  throw new Error('no S3 call expected');
});

/** A SET whose manifest lists one database file of `size` bytes (content never materialised). */
function largeSet(size: number): FixtureSet {
  const set = makeSet(1, [{ name: 'commserv_FULL.dmp', role: 'database', content: Buffer.alloc(0), mode: 'no-sha256' }]);
  const manifest = JSON.parse(set.manifest.toString());
  manifest.files[0].size = size;
  manifest.files[0].sha256 = 'a'.repeat(64);
  return { ...set, manifest: Buffer.from(JSON.stringify(manifest)) };
}

function manifestResponse(set: FixtureSet) {
  return { ContentLength: set.manifest.length, Body: Readable.from([set.manifest]) };
}

describe('handler modules', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it.each([
    ['ValidateSet', validateSetHandler],
    ['ArchiveSet', archiveSetHandler],
    ['ReportJob', reportJobHandler],
  ])('%s: importing does not read the environment; the first call names the missing variable', async (_, handler) => {
    delete process.env.HOT_SITE_BUCKET;
    await expect(handler({})).rejects.toMatchObject({
      name: 'EnvironmentError',
      message: 'environment variable HOT_SITE_BUCKET is not set (the hot-site bucket name)',
    });
  });

  it('ArchiveSet: an invalid ARCHIVE_STORAGE_CLASS is named on the first call', async () => {
    process.env.HOT_SITE_BUCKET = 'commserve-dr-hot-site';
    process.env.ARCHIVE_STORAGE_CLASS = 'ONEZONE_IA';
    await expect(archiveSetHandler({})).rejects.toThrow(/ARCHIVE_STORAGE_CLASS must be one of GLACIER, DEEP_ARCHIVE, GLACIER_IR/);
  });
});

describe('ValidateSet', () => {
  it.each([
    [{}, /ValidateSet input has no phase1 result/],
    [{ phase1: { jobId: 1 } }, /ValidateSet input is invalid: phase1\.setName/],
    [null, /ValidateSet input is invalid/],
  ])('refuses bad input %j before touching S3', async (event, message) => {
    const validate = makeValidateSetHandler({ s3: noS3.s3, bucket: 'commserve-dr-test-hot-site' });
    await expect(validate(event)).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(message) });
  });

  const content = bytes(12 * MiB, 9);
  const set = makeSet(1, [{ name: 'commserv_FULL.dmp', role: 'database', content, mode: 'multipart' }]);
  const composite = compositeSha256(content, 5 * MiB);

  it('accepts the AWS form of a composite checksum (base64-N) without downloading', async () => {
    const { s3, sent } = stubS3((name) => (name === 'GetObject' ? manifestResponse(set) : { ContentLength: content.length, ChecksumSHA256: composite }));
    const result = await makeValidateSetHandler({ s3, bucket: set.phase1.bucket })({ phase1: set.phase1 });
    expect(result.checkedBy).toEqual({ s3Checksum: 1, streamedHash: 0 });
    expect(sent.map((s) => s.name)).toEqual(['GetObject', 'HeadObject']);
    expect(sent[1].input).toMatchObject({ Key: 'sets/SET_0000001/commserv_FULL.dmp', ChecksumMode: 'ENABLED' });
  });

  it('rejects a composite checksum with another part count', async () => {
    const { s3 } = stubS3((name) =>
      name === 'GetObject' ? manifestResponse(set) : { ContentLength: content.length, ChecksumSHA256: composite.replace(/-3$/, '-4') },
    );
    await expect(makeValidateSetHandler({ s3, bucket: set.phase1.bucket })({ phase1: set.phase1 })).rejects.toMatchObject({
      name: 'SetValidationError',
      code: 'CHECKSUM_MISMATCH',
    });
  });

  it('reports an S3 error other than not-found as S3_ERROR naming the key', async () => {
    const { s3 } = stubS3((name) => {
      if (name === 'GetObject') return manifestResponse(set);
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    });
    await expect(makeValidateSetHandler({ s3, bucket: set.phase1.bucket })({ phase1: set.phase1 })).rejects.toMatchObject({
      code: 'S3_ERROR',
      message: 'cannot read sets/SET_0000001/commserv_FULL.dmp: AccessDenied: Access Denied (HTTP 403)',
    });
  });
});

describe('ArchiveSet', () => {
  it('refuses a multipart threshold above the 5 GiB CopyObject limit', () => {
    expect(() => makeArchiveSetHandler({ s3: noS3.s3, bucket: 'b-1', multipartThresholdBytes: 5 * GiB + 1 })).toThrow(RangeError);
  });

  it('refuses bad input before touching S3', async () => {
    await expect(makeArchiveSetHandler({ s3: noS3.s3, bucket: 'b-1' })({ backupType: 'FULL' })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/ArchiveSet input has no phase1 result/),
    });
  });

  function archiveStub(set: FixtureSet, size: number, options: { failPart?: number; failAbort?: boolean } = {}) {
    let inFlight = 0;
    let peak = 0;
    const stub = stubS3(async (name, input) => {
      switch (name) {
        case 'GetObject':
          return manifestResponse(set);
        case 'HeadObject':
          if (String(input.Key).startsWith('archive/')) throw notFound();
          return String(input.Key).endsWith('manifest.json')
            ? { ContentLength: set.manifest.length, ETag: '"m"' }
            : { ContentLength: size, ETag: '"src"', ContentType: 'application/octet-stream', Metadata: { agent: '0.1.0' } };
        case 'CreateMultipartUpload':
          return { UploadId: 'upload-1' };
        case 'UploadPartCopy': {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, 2));
          inFlight--;
          if (input.PartNumber === options.failPart) throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
          return { CopyPartResult: { ETag: `"p${String(input.PartNumber)}"`, ChecksumSHA256: `c${String(input.PartNumber)}` } };
        }
        case 'AbortMultipartUpload':
          if (options.failAbort) throw Object.assign(new Error('no'), { name: 'AccessDenied' });
          return {};
        default:
          return {};
      }
    });
    return { ...stub, peak: () => peak };
  }

  it('copies an object over 5 GiB with multipart copy: contiguous ranges, ≤ 4 in flight, storage class and metadata kept', async () => {
    const size = 6 * GiB + 123;
    const set = largeSet(size);
    const { s3, sent, peak } = archiveStub(set, size);

    const result = await makeArchiveSetHandler({ s3, bucket: set.phase1.bucket, storageClass: 'DEEP_ARCHIVE' })({ phase1: set.phase1 });

    expect(result).toMatchObject({ storageClass: 'DEEP_ARCHIVE', objects: 2, multipartCopies: 1, bytes: size + set.manifest.length });
    const create = sent.find((s) => s.name === 'CreateMultipartUpload')!;
    expect(create.input).toMatchObject({
      Key: 'archive/SET_0000001/commserv_FULL.dmp',
      StorageClass: 'DEEP_ARCHIVE',
      ChecksumAlgorithm: 'SHA256',
      ContentType: 'application/octet-stream',
      Metadata: { agent: '0.1.0' },
    });
    const parts = sent.filter((s) => s.name === 'UploadPartCopy').map((s) => s.input);
    expect(parts).toHaveLength(13); // 512 MiB parts
    let next = 0;
    for (const part of [...parts].sort((a, b) => Number(a.PartNumber) - Number(b.PartNumber))) {
      const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(String(part.CopySourceRange))!.map(Number);
      expect(start).toBe(next);
      next = end + 1;
      expect(part).toMatchObject({ CopySource: 'commserve-dr-test-hot-site/sets/SET_0000001/commserv_FULL.dmp', CopySourceIfMatch: '"src"', UploadId: 'upload-1' });
    }
    expect(next).toBe(size);
    expect(peak()).toBeLessThanOrEqual(4);
    const complete = sent.find((s) => s.name === 'CompleteMultipartUpload')!;
    const completed = (complete.input.MultipartUpload as { Parts: Array<{ PartNumber: number; ChecksumSHA256: string }> }).Parts;
    expect(completed.map((p) => p.PartNumber)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(completed[0].ChecksumSHA256).toBe('c1');
    // The manifest is copied last, with CopyObject.
    expect(sent.filter((s) => s.name === 'CopyObject').map((s) => s.input.Key)).toEqual(['archive/SET_0000001/manifest.json']);
    expect(sent.findIndex((s) => s.name === 'CopyObject')).toBeGreaterThan(sent.findIndex((s) => s.name === 'CompleteMultipartUpload'));
  });

  it('copies an object of exactly 5 GiB with CopyObject', async () => {
    const set = largeSet(5 * GiB);
    const { s3, sent } = archiveStub(set, 5 * GiB);
    const result = await makeArchiveSetHandler({ s3, bucket: set.phase1.bucket })({ phase1: set.phase1 });
    expect(result.multipartCopies).toBe(0);
    expect(sent.filter((s) => s.name === 'CopyObject')).toHaveLength(2);
  });

  it('aborts the upload when a part fails and reports the first failure', async () => {
    const set = largeSet(6 * GiB);
    const { s3, sent } = archiveStub(set, 6 * GiB, { failPart: 3 });
    await expect(makeArchiveSetHandler({ s3, bucket: set.phase1.bucket })({ phase1: set.phase1 })).rejects.toMatchObject({
      name: 'ArchiveCopyError',
      code: 'COPY_FAILED',
      message: 'copying sets/SET_0000001/commserv_FULL.dmp to archive/SET_0000001/commserv_FULL.dmp failed: SlowDown: slow down',
    });
    expect(sent.filter((s) => s.name === 'AbortMultipartUpload').map((s) => s.input.UploadId)).toEqual(['upload-1']);
    expect(sent.some((s) => s.name === 'CompleteMultipartUpload' || s.name === 'CopyObject')).toBe(false);
  });

  it('says so when aborting the failed upload fails too', async () => {
    const set = largeSet(6 * GiB);
    const { s3 } = archiveStub(set, 6 * GiB, { failPart: 1, failAbort: true });
    await expect(makeArchiveSetHandler({ s3, bucket: set.phase1.bucket })({ phase1: set.phase1 })).rejects.toThrow(
      /aborting upload upload-1 failed too \(AccessDenied: no\); the bucket's lifecycle rule removes its parts/,
    );
  });

  it('detects a copy whose checksum does not match the source', async () => {
    const content = Buffer.from('firewall ports\n');
    const set = makeSet(1, [{ name: 'commserv_FULL.dmp', role: 'database', content, mode: 'single' }]);
    const { s3 } = stubS3((name, input) => {
      if (name === 'GetObject') return manifestResponse(set);
      if (name === 'HeadObject') {
        if (String(input.Key).startsWith('archive/')) throw notFound();
        return { ContentLength: String(input.Key).endsWith('manifest.json') ? set.manifest.length : content.length };
      }
      if (name === 'CopyObject') return { CopyObjectResult: { ChecksumSHA256: 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=' } };
      return {};
    });
    await expect(makeArchiveSetHandler({ s3, bucket: set.phase1.bucket })({ phase1: set.phase1 })).rejects.toMatchObject({
      code: 'COPY_CHECKSUM_MISMATCH',
      message: expect.stringMatching(/^archive\/SET_0000001\/commserv_FULL\.dmp was copied with SHA-256 checksum LPJNul/),
    });
  });
});

describe('ReportJob', () => {
  it('keys a record by job id, or by time when there is none', () => {
    expect(reportKey({ jobId: 12, endTime: 'x' } as never)).toBe('jobs/012.json');
    expect(reportKey({ jobId: 1234, endTime: 'x' } as never)).toBe('jobs/1234.json');
    expect(reportKey({ jobId: null, endTime: '2026-11-29T17:30:00.000Z' } as never)).toBe('jobs/failed-2026-11-29T17:30:00.000Z.json');
  });

  it('turns an invalid input into a failed-job input naming the fields', () => {
    expect(reportInput({ backupType: 'DIFFERENTIAL', validation: { files: -1 } })).toEqual({
      backupType: 'DIFFERENTIAL',
      error: { Error: 'InvalidInputError', Cause: expect.stringMatching(/^ReportJob input is invalid: validation\.files: /) },
    });
    expect(reportInput('garbage')).toMatchObject({ backupType: 'FULL', error: { Error: 'InvalidInputError' } });
  });

  it('passes a valid input through, with schema defaults', () => {
    expect(reportInput({})).toEqual({ backupType: 'FULL' });
  });
});
