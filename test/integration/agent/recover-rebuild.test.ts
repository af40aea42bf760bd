/**
 * The database rebuild of `recover` (issue 10) on real components (SETs from the real phase 1, moto, SQLite): the
 * staged FULL renamed into the work file and the DIFFERENTIAL applied in place, the integrity check chosen (none for
 * the image a backup-time check passed on, as its manifest records; the full check otherwise), and a failed rebuild
 * leaving the target as it was.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { choosePoint } from '#core/recovery';
import type { Manifest } from '#core/manifest';
import { rebuildDatabase, StreamedRebuild } from '#agent/commands/recover/database';
import { stagePoint } from '#agent/commands/recover/fetch';
import { discoverHotSite } from '#agent/commands/recover/plan';
import { runRecover, REPORT_TEXT } from '#agent/commands/recover/recover';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, freshHotSite, logger, type RecoverFixture } from './recover-fixture';

const noProcesses = { processNames: [] as string[] };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('recover: database rebuild and integrity check (real SQLite, moto)', () => {
  const tempDir = useTempDirs('commserve-dr-rebuild-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    // Plain dumps: these tests pin the plain FULL's verification through the rebuilt image and the backup-time check
    // of that image (a compressed FULL is hashed as it is decompressed: recover-compressed.test.ts).
    fixture = await buildFixture(tempDir(), { DumpCompression: 'none' });
  });

  async function setup() {
    const dir = tempDir();
    const hot = await freshHotSite(fixture, join(dir, 'state'));
    const manifestOf = async (set: string) =>
      JSON.parse(await (await hot.s3.send(new GetObjectCommand({ Bucket: hot.bucket, Key: `sets/${set}/manifest.json` }))).Body!.transformToString()) as Manifest;
    const putManifest = (manifest: Manifest) => hot.s3.send(new PutObjectCommand({ Bucket: hot.bucket, Key: `sets/${manifest.setName}/manifest.json`, Body: JSON.stringify(manifest) }));
    return { ...hot, to: join(dir, 'new-commserve'), manifestOf, putManifest };
  }

  it('by default runs no check on the image whose full PRAGMA integrity_check passed at backup time, and names the SHA-256 and the job', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    const database = result.document.database!;
    // The DIFFERENTIAL's check ran on the live database in the same state its dump read (same file change counter):
    // its manifest records the reconstructed image as the one the check passed on.
    const diffManifest = JSON.parse(readFileSync(join(fixture.phase1, 'SET_0000003', 'manifest.json'), 'utf8')) as Manifest;
    const image = diffManifest.database.details.reconstructedSha256 as string;
    expect(diffManifest.integrity).toMatchObject({ status: 'ok', checkedSha256: image });
    expect(database).toMatchObject({ integrity: 'ok', integrityCheck: 'none', sha256: image });
    expect(database.integrityCheckReason).toBe(
      `not re-run: the rebuilt database's SHA-256 ${image} is the image on which PRAGMA integrity_check passed in backup job 3 (SET_0000003, DIFFERENTIAL); --integrity-check full runs it again`,
    );
    // The installed file is that image.
    expect(sha(readFileSync(join(to, 'commserv.db')))).toBe(image);
    expect(tableDigests(join(to, 'commserv.db'))).toEqual(fixture.digestsAtLastDiff);
    const line = `Integrity check: none (not re-run: the rebuilt database's SHA-256 ${image} is the image on which PRAGMA integrity_check passed in backup job 3`;
    expect(result.text).toContain(line);
    expect(readFileSync(join(to, REPORT_TEXT), 'utf8')).toContain(line);
    // The FULL was verified through the rebuilt image (one SHA-256 per byte), and the report says so.
    const fullChecksum = result.document.checksums.find((c) => c.file === 'commserv_FULL.dmp')!;
    expect(fullChecksum.verifiedThrough).toBe(`its bytes with SET_0000003's pages give the SHA-256 of the database SET_0000003 recorded (${image})`);
    expect(result.text).toContain('(verified through the rebuilt image: its bytes with SET_0000003');
    // Per-phase durations for the benchmark.
    expect(Object.keys(result.document.durationsMs)).toEqual(expect.arrayContaining(['download', 'database', 'rebuild', 'integrity', 'install', 'total']));
  });

  it('runs the full PRAGMA integrity_check when asked (integrityCheck: full), PRAGMA quick_check with integrityCheck: quick', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses, integrityCheck: 'full' });
    expect(result.exitCode).toBe(0);
    expect(result.document.database).toMatchObject({ integrity: 'ok', integrityCheck: 'full', integrityCheckReason: 'PRAGMA integrity_check: full check requested' });
    expect(result.text).toMatch(/^Integrity check: full \(PRAGMA integrity_check: full check requested\)$/m);
    const quick = await runRecover({ settings, s3, logger, to: join(to, '..', 'quick'), preflight: noProcesses, integrityCheck: 'quick' });
    expect(quick.document.database).toMatchObject({ integrity: 'ok', integrityCheck: 'quick', integrityCheckReason: 'PRAGMA quick_check: requested (--integrity-check quick)' });
  });

  it('runs the full check when the backup-time verdict of the SET was not ok, or its check covered no recorded image', async () => {
    const { s3, settings, to, manifestOf, putManifest } = await setup();
    const manifest = await manifestOf('SET_0000003');
    const covered = manifest.integrity;
    manifest.integrity = { status: 'check-failed', messages: ['SQLITE_BUSY: database is locked'], durationMs: 5 };
    await putManifest(manifest);
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.database).toMatchObject({
      integrityCheck: 'full',
      integrityCheckReason: 'PRAGMA integrity_check: the backup-time integrity check of SET_0000003 was check-failed',
    });
    // A check that passed but recorded no image (an older agent; a DIFFERENTIAL whose dump read another state): the full check.
    manifest.integrity = { status: 'ok', messages: [], durationMs: covered.durationMs };
    await putManifest(manifest);
    const uncovered = await runRecover({ settings, s3, logger, to: join(to, '..', 'uncovered'), preflight: noProcesses });
    expect(uncovered.document.database).toMatchObject({
      integrity: 'ok',
      integrityCheck: 'full',
      integrityCheckReason: 'PRAGMA integrity_check: no backup-time check covered this image (SET_0000003, DIFFERENTIAL: its check recorded no image it ran on)',
    });
    // A FULL alone is judged by its own check, which ran on its dump: exactly the bytes recovered.
    const fullManifest = await manifestOf('SET_0000001');
    const dumpSha = fullManifest.files.find((f) => f.role === 'database')!.sha256;
    expect(fullManifest.integrity).toMatchObject({ status: 'ok', checkedSha256: dumpSha });
    const full = await runRecover({ settings, s3, logger, to: join(to, '..', 'full-only'), setName: 'SET_0000001', preflight: noProcesses });
    expect(full.document.database).toMatchObject({ integrityCheck: 'none', sha256: dumpSha, integrityCheckReason: expect.stringContaining(`SHA-256 ${dumpSha} is the image on which PRAGMA integrity_check passed in backup job 1 (SET_0000001, FULL);`) });
    expect(tableDigests(join(to, '..', 'full-only', 'commserv.db'))).toEqual(fixture.digestsAtFull);
  });

  it('rebuilds without the streamed SHA-256 too (the FULL read once), to the same database', async () => {
    const { s3, bucket } = await setup();
    const view = await discoverHotSite(s3, bucket);
    const point = choosePoint([...view.values()].map((v) => v.summary));
    const stagingDir = join(tempDir(), 'staging');
    const outcome = await stagePoint({ view, point, stagingDir, filter: (_m, f) => f.role === 'database' || f.role === 'sidecar', checkChain: true });
    if (outcome.kind !== 'staged') throw new Error('not staged');
    const fullDump = outcome.files.find((f) => f.file === 'commserv_FULL.dmp')!.path;
    const rebuilt = await rebuildDatabase(point, outcome.manifests, outcome.files, join(stagingDir, 'work', 'commserv.db'));
    expect(rebuilt.integrityCheck.mode).toBe('none');
    expect(existsSync(fullDump)).toBe(false); // renamed into the work file, not copied
    expect(sha(readFileSync(rebuilt.file))).toBe(rebuilt.sha256);
    expect(tableDigests(rebuilt.file)).toEqual(fixture.digestsAtLastDiff);
  });

  it('stages the DIFFERENTIAL before the FULL and hashes FULL + DIFF while the FULL downloads', async () => {
    const { s3, bucket } = await setup();
    const view = await discoverHotSite(s3, bucket);
    const point = choosePoint([...view.values()].map((v) => v.summary));
    const streamed = new StreamedRebuild(point);
    const seen: string[] = [];
    const stagingDir = join(tempDir(), 'staging');
    const outcome = await stagePoint({
      view,
      point,
      stagingDir,
      filter: (_m, f) => f.role === 'database',
      checkChain: true,
      observe: async (target) => {
        seen.push(`${target.setName}/${target.file.name}`);
        return streamed.observe(target);
      },
    });
    if (outcome.kind !== 'staged') throw new Error('not staged');
    expect(seen).toEqual(['SET_0000003/commserv_DIFF_3.dmp', 'SET_0000001/commserv_FULL.dmp']);
    expect(outcome.files.map((f) => f.file)).toEqual(['commserv_FULL.dmp', 'commserv_DIFF_3.dmp']); // reported in plan order
    const diffManifest = outcome.manifests.get('SET_0000003')!;
    expect(streamed.result).toMatchObject({ sha256: diffManifest.database.details.reconstructedSha256, fullPath: outcome.files[0].path, diffPath: outcome.files[1].path });
    const rebuilt = await rebuildDatabase(point, outcome.manifests, outcome.files, join(stagingDir, 'work', 'commserv.db'), { streamed });
    expect(sha(readFileSync(rebuilt.file))).toBe(streamed.result!.sha256);
    expect(tableDigests(rebuilt.file)).toEqual(fixture.digestsAtLastDiff);
  });

  it('a failed rebuild leaves the target as it was: damaged DIFF (trailer) and a manifest disagreeing with the DIFF', async () => {
    const { s3, bucket, settings, to, manifestOf, putManifest } = await setup();
    mkdirSync(to, { recursive: true });
    const before = join(to, 'commserv.db');
    const old = new Database(before);
    old.exec("CREATE TABLE previous (x); INSERT INTO previous VALUES ('the database that was here')");
    old.close();
    const oldBytes = readFileSync(before);

    // 1. The DIFF's reconstructed SHA-256 in its manifest is not the DIFF's own.
    const manifest = await manifestOf('SET_0000003');
    const recorded = manifest.database.details.reconstructedSha256;
    manifest.database.details.reconstructedSha256 = '0'.repeat(64);
    await putManifest(manifest);
    // --force: the existing database would be moved aside at the install — the failed rebuild stops before it.
    const r1 = await runRecover({ settings, s3, logger, to, force: true, preflight: noProcesses });
    expect(r1.exitCode).toBe(1);
    expect(r1.document.error).toMatchObject({ code: 'DIFF_CORRUPT', message: expect.stringMatching(/SET_0000003\/commserv_DIFF_3\.dmp records the reconstructed SHA-256 .*, its manifest 000000000000…/) });
    expect(readFileSync(before).equals(oldBytes)).toBe(true);
    expect(readdirSync(to).sort()).toEqual(['commserv.db']);

    // 2. A DIFF damaged before it was uploaded (its manifest entry matches the damaged bytes): the trailer catches it.
    manifest.database.details.reconstructedSha256 = recorded;
    const key = 'sets/SET_0000003/commserv_DIFF_3.dmp';
    const entry = manifest.files.find((f) => f.name === 'commserv_DIFF_3.dmp')!;
    const stored = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    // Damaged content: stored brotli-compressed (the default), the damaged DIFF is compressed again, as the pass would have.
    const diff = entry.compression ? brotliDecompressSync(stored) : stored;
    diff[diff.length - 100] ^= 0x01;
    const body = entry.compression ? brotliCompressSync(diff) : diff;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    Object.assign(entry, { size: body.length, sha256: sha(body) });
    if (entry.compression) Object.assign(entry.compression, { contentSize: diff.length, contentSha256: sha(diff) });
    delete entry.s3;
    await putManifest(manifest);
    const r2 = await runRecover({ settings, s3, logger, to, force: true, preflight: noProcesses });
    expect(r2.exitCode).toBe(1);
    expect(r2.document.error).toMatchObject({ code: 'DIFF_CORRUPT', message: expect.stringMatching(/trailer SHA-256 does not match/) });
    expect(readFileSync(before).equals(oldBytes)).toBe(true);
    expect(readdirSync(to).sort()).toEqual(['commserv.db']);
  });
});
