import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mapWithConcurrency } from '#lambdas/shared/concurrency';
import { InvalidInputError } from '#lambdas/shared/errors';
import { readStreamCapped, sha256OfStream } from '#lambdas/shared/hash';
import { phase1FromInput } from '#lambdas/shared/input';
import { lazyHandler } from '#lambdas/shared/lazy';
import { copySource, describeS3Error, hexToBase64, isNotFound, sameS3Checksum, splitS3Checksum } from '#lambdas/shared/s3';

describe('S3 helpers', () => {
  it('URL-encodes each key segment of a copy source, keeping the separators', () => {
    expect(copySource('b-1', 'sets/SET_0000001/commserv_FULL.dmp')).toBe('b-1/sets/SET_0000001/commserv_FULL.dmp');
    expect(copySource('b-1', 'sets/SET_0000001/my module+1 ü.reg')).toBe('b-1/sets/SET_0000001/my%20module%2B1%20%C3%BC.reg');
  });

  it('converts a hex SHA-256 to the base64 S3 uses', () => {
    const digest = createHash('sha256').update('abc').digest();
    expect(hexToBase64(digest.toString('hex'))).toBe(digest.toString('base64'));
  });

  it('splits a composite checksum into digest and part count', () => {
    expect(splitS3Checksum('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=-3')).toEqual({ digest: 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=', parts: 3 });
    expect(splitS3Checksum('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=')).toEqual({ digest: 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=', parts: undefined });
  });

  it('compares checksums by digest, and by part count when both carry one', () => {
    const d = 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=';
    const other = 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=';
    expect(sameS3Checksum(d, d)).toBe(true);
    expect(sameS3Checksum(`${d}-3`, `${d}-3`)).toBe(true);
    expect(sameS3Checksum(d, `${d}-3`)).toBe(true); // moto omits -N
    expect(sameS3Checksum(`${d}-3`, `${d}-4`)).toBe(false);
    expect(sameS3Checksum(other, d)).toBe(false);
    expect(sameS3Checksum(`${other}-3`, `${d}-3`)).toBe(false);
  });

  it('classifies not-found errors', () => {
    expect(isNotFound(Object.assign(new Error('x'), { name: 'NotFound' }))).toBe(true);
    expect(isNotFound(Object.assign(new Error('x'), { name: 'NoSuchKey' }))).toBe(true);
    expect(isNotFound(Object.assign(new Error('x'), { name: 'Unknown', $metadata: { httpStatusCode: 404 } }))).toBe(true);
    expect(isNotFound(Object.assign(new Error('x'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))).toBe(false);
  });

  it('describes SDK errors in one line', () => {
    expect(describeS3Error(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))).toBe(
      'AccessDenied: Access Denied (HTTP 403)',
    );
    expect(describeS3Error('boom')).toBe('boom');
  });
});

describe('stream hashing', () => {
  it('hashes a stream chunk by chunk', async () => {
    const chunks = [Buffer.from('hello '), Buffer.from('world'), Buffer.alloc(70_000, 1)];
    const digest = await sha256OfStream(Readable.from(chunks));
    expect(digest).toEqual({ sha256: createHash('sha256').update(Buffer.concat(chunks)).digest('hex'), bytes: 70_011 });
  });
  it('refuses a body that is not a stream', async () => {
    await expect(sha256OfStream(undefined)).rejects.toThrow(TypeError);
  });
  it('reads a small stream, refusing more than the cap', async () => {
    expect((await readStreamCapped(Readable.from([Buffer.from('ab'), Buffer.from('c')]), 3)).toString()).toBe('abc');
    await expect(readStreamCapped(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 3)).rejects.toThrow(RangeError);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });
  it('stops starting work after a failure and rejects once in-flight work settled', async () => {
    const started: number[] = [];
    let settled = 0;
    // Item 2 finishes only after item 1 has failed (an explicit gate, not two timer lengths racing).
    let releaseSecond!: () => void;
    const secondMayFinish = new Promise<void>((r) => (releaseSecond = r));
    const error = await mapWithConcurrency([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      if (n === 1) await new Promise((r) => setImmediate(r));
      else await secondMayFinish;
      if (n === 1) setImmediate(releaseSecond);
      settled++;
      if (n === 1) throw new Error('part 1 failed');
      return n;
    }).catch((e: Error) => e);
    expect((error as Error).message).toBe('part 1 failed');
    expect(started).toEqual([1, 2]);
    expect(settled).toBe(2);
  });
  it('handles an empty list', async () => {
    expect(await mapWithConcurrency([], 4, async () => 1)).toEqual([]);
  });
});

describe('phase1FromInput', () => {
  it('says that phase1 is missing', () => {
    expect(() => phase1FromInput({ backupType: 'FULL' }, 'ValidateSet')).toThrow(
      new InvalidInputError('ValidateSet input has no phase1 result: phase 1 must complete before ValidateSet runs'),
    );
  });
  it('names every offending field', () => {
    try {
      phase1FromInput({ backupType: 'WEEKLY', phase1: { jobId: 0 } }, 'ArchiveSet');
      throw new Error('not thrown');
    } catch (error) {
      expect((error as Error).name).toBe('InvalidInputError');
      expect((error as Error).message).toMatch(/^ArchiveSet input is invalid: backupType: .*; phase1\.jobId: .*; phase1\.setName: .*\(\+\d+ more\)$/);
    }
  });
  it('refuses a non-object event', () => {
    expect(() => phase1FromInput('hello', 'ValidateSet')).toThrow(/ValidateSet input is invalid: \(root\): /);
  });
});

describe('lazyHandler', () => {
  it('builds once, on first use, and retries a failed build', async () => {
    let builds = 0;
    let fail = true;
    const handler = lazyHandler(() => {
      builds++;
      if (fail) throw new Error('HOT_SITE_BUCKET is not set');
      return async (n: number) => n + 1;
    });
    expect(builds).toBe(0);
    await expect(handler(1)).rejects.toThrow('HOT_SITE_BUCKET is not set');
    fail = false;
    expect(await handler(1)).toBe(2);
    expect(await handler(2)).toBe(3);
    expect(builds).toBe(2);
  });
});
