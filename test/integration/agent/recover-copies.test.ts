/**
 * Recovery from every copy (issue 15 items 1–3, SPEC §6.1) on real components: SETs made by the real phase 1
 * (SQLite, file hive), the hot-site and its archive on moto, a phase-1 destination on disk. Each recovery is compared
 * row for row with a saved copy of the source after that job (`sqldiff`), and its integrity checked.
 */
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, RestoreObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Client as RealS3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRecover } from '#agent/commands/recover/recover';
import { freeLoopbackPort } from '#agent/local/moto-server';
import { setName } from '#core/set-id';
import { parseSettings, type Settings } from '#core/settings';
import { rowDifferences } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, freshHotSite, logger, type RecoverFixture } from './recover-fixture';

const noProcesses = { processNames: [] as string[] };
const FULL = 'commserv_FULL.dmp';
const diffFile = (n: number) => `commserv_DIFF_${n}.dmp`;

describe('recover from every copy, cheapest intact first (real SQLite, moto, phase-1 folder)', () => {
  const tempDir = useTempDirs('commserve-dr-copies-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    // Plain dumps: the damaged-FULL cases pin how a plain FULL with a DIFFERENTIAL is verified (through the SHA-256
    // of the rebuilt image); a compressed FULL's stored bytes are checked on their own (recover-compressed).
    fixture = await buildFixture(tempDir(), { DumpCompression: 'none' });
  });

  /** The saved source database after job n. */
  const sourceAt = (n: number) => (fixture.dbAt as Record<string, string>)[setName(n)];

  /** A bucket with every SET under `sets/`; with `local`, the phase-1 destination holds the SETs too. */
  async function setup(opts: { local?: boolean } = {}) {
    const dir = tempDir();
    const hot = await freshHotSite(fixture, join(dir, 'state'));
    if (opts.local) cpSync(fixture.phase1, hot.settings.Phase1Destination, { recursive: true });
    return { ...hot, to: join(dir, 'new-commserve') };
  }

  /** The recovered database holds exactly the rows of the source after job n, and passes its integrity check. */
  function expectRecoveredAt(to: string, n: number) {
    const db = join(to, 'commserv.db');
    expect(rowDifferences(db, sourceAt(n))).toBe('');
    const check = new Database(db, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
  }

  async function getObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
    return Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  }

  /** Flips one byte of an object (same size: only a SHA-256 finds it). */
  async function flipByte(s3: S3Client, bucket: string, key: string): Promise<void> {
    const bytes = await getObject(s3, bucket, key);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
  }

  /** Copies every `sets/` object to `archive/` in a Glacier class (the hot copy stays). */
  async function archiveCopy(s3: S3Client, bucket: string, storageClass: 'GLACIER' | 'DEEP_ARCHIVE' = 'GLACIER'): Promise<void> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/' }));
    for (const object of listed.Contents ?? []) {
      await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `archive/${object.Key!.slice('sets/'.length)}`, CopySource: `${bucket}/${object.Key}`, StorageClass: storageClass }));
    }
  }

  function flipFileByte(path: string): void {
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(path, bytes);
  }

  it('hot-site object damaged, phase-1 destination intact → every file served from the local copy; the report says so', async () => {
    const { s3, bucket, settings, to } = await setup({ local: true });
    await flipByte(s3, bucket, `sets/${setName(3)}/${diffFile(3)}`);
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.point!.sets).toEqual([setName(1), setName(3)]);
    expect(result.document.plan!.objects.every((o) => o.copy === 'local' && o.key.startsWith(settings.Phase1Destination))).toBe(true);
    expect(result.text).toContain(`${setName(3)}/${diffFile(3)}`);
    expect(result.text).toMatch(new RegExp(`from local +${settings.Phase1Destination.replace(/[/.]/g, '\\$&')}`));
    expect(result.text).toMatch(/Copies read \(cheapest first\): local .*, hot-site s3:\/\/.*\/sets\/, archive s3:\/\/.*\/archive\//);
    expectRecoveredAt(to, 3);
  });

  it('local copy damaged (one byte, same size) → found while reading, the hot-site copy serves it; the warning names the local file', async () => {
    const { s3, settings, to } = await setup({ local: true });
    const damaged = join(settings.Phase1Destination, setName(3), diffFile(3));
    flipFileByte(damaged);
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    const diff = result.document.plan!.objects.find((o) => o.file === diffFile(3))!;
    expect(diff).toMatchObject({ copy: 'hot-site', key: `sets/${setName(3)}/${diffFile(3)}` });
    expect(diff.skipped).toEqual([expect.objectContaining({ copy: 'local', key: damaged, code: 'CHECKSUM_MISMATCH' })]);
    expect(result.document.plan!.objects.find((o) => o.file === FULL)!.copy).toBe('local');
    expect(result.document.warnings).toContainEqual(expect.stringMatching(new RegExp(`local copy ${damaged.replace(/[/.]/g, '\\$&')} of ${setName(3)}/${diffFile(3)} skipped \\(.*SHA-256.*\\); served from the hot-site copy`)));
    expectRecoveredAt(to, 3);
  });

  it('dry run checks every copy before any download: the damaged local file (SHA-256) and the copy that will serve it are named', async () => {
    const { s3, settings, to } = await setup({ local: true });
    const damaged = join(settings.Phase1Destination, setName(1), FULL);
    flipFileByte(damaged);
    const result = await runRecover({ settings, s3, logger, to, dryRun: true, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    const full = result.document.plan!.objects.find((o) => o.file === FULL)!;
    expect(full).toMatchObject({ copy: 'hot-site', skipped: [expect.objectContaining({ copy: 'local', key: damaged, code: 'CHECKSUM_MISMATCH' })] });
    expect(result.text).toContain(`skipped local copy ${damaged}: SHA-256`);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
  });

  it('local gone, hot-site object damaged → read from archive/ (GLACIER restored first): exit 3 while pending, then recovered with --wait', async () => {
    const { s3, bucket, settings, to } = await setup();
    await archiveCopy(s3, bucket, 'GLACIER');
    // Shorter at the hot-site: the plan sees it before any download.
    const key = `sets/${setName(3)}/${diffFile(3)}`;
    const bytes = await getObject(s3, bucket, key);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes.subarray(1) }));
    // A slow restore: the first run only requests it (exit 3), nothing in the target.
    const first = await runRecover({ settings, s3: neverRestored(s3), logger, to, preflight: noProcesses });
    expect(first.exitCode).toBe(3);
    expect(first.document.status).toBe('pending');
    expect(first.document.pending.map((p) => p.key)).toEqual([`archive/${setName(3)}/${diffFile(3)}`]);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
    const result = await runRecover({ settings, s3, logger, to, wait: true, waitOptions: { pollIntervalMs: 1 }, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    const diff = result.document.plan!.objects.find((o) => o.file === diffFile(3))!;
    expect(diff).toMatchObject({ copy: 'archive', key: `archive/${setName(3)}/${diffFile(3)}`, storageClass: 'GLACIER', state: 'restored' });
    expect(diff.skipped).toEqual([{ copy: 'hot-site', key, detail: `size ${bytes.length - 1}, manifest ${bytes.length}`, code: 'SIZE_MISMATCH' }]);
    expect(result.document.plan!.objects.filter((o) => o.file !== diffFile(3)).every((o) => o.copy === 'hot-site')).toBe(true);
    expectRecoveredAt(to, 3);
  });

  it('local gone, hot-site damaged in a way only the SHA-256 shows → the download falls back to the GLACIER archive copy (restored, waited for)', async () => {
    const { s3, bucket, settings, to } = await setup();
    await archiveCopy(s3, bucket, 'GLACIER');
    await flipByte(s3, bucket, `sets/${setName(1)}/${FULL}`);
    const result = await runRecover({ settings, s3, logger, to, wait: true, waitOptions: { pollIntervalMs: 1 }, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    const full = result.document.plan!.objects.find((o) => o.file === FULL)!;
    expect(full).toMatchObject({ copy: 'archive', key: `archive/${setName(1)}/${FULL}`, storageClass: 'GLACIER' });
    // The FULL is verified through the SHA-256 of FULL + DIFF (one hash per byte): the flipped byte shows there.
    expect(full.skipped).toEqual([
      expect.objectContaining({ copy: 'hot-site', code: 'CHECKSUM_MISMATCH', detail: expect.stringMatching(new RegExp(`with the pages of ${setName(3)}/${diffFile(3)} \\(verified\\) it gives SHA-256 .*: this copy of the FULL is damaged`)) }),
    ]);
    expect(result.document.warnings).toContainEqual(expect.stringMatching(/hot-site copy sets\/.*commserv_FULL\.dmp .*skipped .*served from the archive copy archive\//));
    expectRecoveredAt(to, 3);
  });

  it('every copy of the asked point damaged → exit 1, every copy named with its problem, older intact points with the exact --set command', async () => {
    const { s3, bucket, settings, to } = await setup({ local: true });
    const key = `sets/${setName(3)}/${diffFile(3)}`;
    const bytes = await getObject(s3, bucket, key);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes.subarray(1) }));
    const local = join(settings.Phase1Destination, setName(3), diffFile(3));
    writeFileSync(local, readFileSync(local).subarray(2));
    const result = await runRecover({ settings, s3, logger, to, setName: setName(3), preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    expect(result.document.error!.code).toBe('NO_INTACT_COPY');
    expect(result.document.error!.message).toContain(`${setName(3)}/${diffFile(3)} has no intact copy: local ${local}: size ${bytes.length - 2}, manifest ${bytes.length}; hot-site ${key}: size ${bytes.length - 1}, manifest ${bytes.length}`);
    expect(result.document.error!.olderPoints).toEqual([
      { sets: [setName(1), setName(2)], command: `commserve-dr recover --set ${setName(2)} --to ${to}` },
      { sets: [setName(1)], command: `commserve-dr recover --set ${setName(1)} --to ${to}` },
    ]);
    expect(result.text).toContain(`${setName(1)} + ${setName(2)}: commserve-dr recover --set ${setName(2)} --to ${to}`);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
    // By default that point is passed over with its reason, and the newest intact one is recovered.
    const byDefault = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(byDefault.document.error).toBeNull();
    expect(byDefault.document.point!.sets).toEqual([setName(1), setName(2)]);
    expect(byDefault.document.passedOver).toEqual([{ sets: [setName(1), setName(3)], reason: expect.stringContaining(`${setName(3)}/${diffFile(3)} has no intact copy`) }]);
    expect(byDefault.text).toContain(`Passed over: ${setName(1)} + ${setName(3)}: `);
    expectRecoveredAt(to, 2);
  });

  it('no cloud: --from DIR with the hot-site endpoint on a closed port → recovered from the folder, nothing sent anywhere', async () => {
    const dir = tempDir();
    const closed = await freeLoopbackPort();
    const settings = offlineSettings(dir, closed);
    const s3 = new RealS3Client({ endpoint: `http://127.0.0.1:${closed}`, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    const from = join(dir, 'usb-disk');
    cpSync(fixture.phase1, from, { recursive: true });
    const to = join(dir, 'new-commserve');
    const result = await runRecover({ settings, s3, logger, to, from, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.copies).toEqual({ read: [`local ${from}`], unreachable: [] });
    expect(result.document.plan!.objects.every((o) => o.copy === 'local' && o.key.startsWith(from))).toBe(true);
    expectRecoveredAt(to, 3);
  });

  it('hot-site unreachable (closed port) without --from → the phase-1 destination serves, the unreachable copy is named in a warning', async () => {
    const dir = tempDir();
    const closed = await freeLoopbackPort();
    const settings = offlineSettings(dir, closed);
    cpSync(fixture.phase1, settings.Phase1Destination, { recursive: true });
    const s3 = new RealS3Client({ endpoint: `http://127.0.0.1:${closed}`, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    const to = join(dir, 'new-commserve');
    const result = await runRecover({ settings, s3, logger, to, setName: setName(2), preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.copies!.read).toEqual([`local ${settings.Phase1Destination}`]);
    expect(result.document.copies!.unreachable).toEqual([expect.stringMatching(new RegExp(`^hot-site s3://offline-bucket/sets/ \\(.*127\\.0\\.0\\.1:${closed}`)), expect.stringMatching(/^archive s3:\/\/offline-bucket\/archive\//)]);
    expect(result.document.warnings).toContainEqual(expect.stringMatching(/hot-site s3:\/\/offline-bucket\/sets\/ could not be read .*only the other copies were used/));
    expectRecoveredAt(to, 2);
  });

  it('--from a folder holding DIFFERENTIALs but not their FULL → refused, naming the folder and the missing FULL; nothing written', async () => {
    const dir = tempDir();
    const from = join(dir, 'share');
    cpSync(fixture.phase1, from, { recursive: true });
    rmSync(join(from, setName(1)), { recursive: true });
    const settings = offlineSettings(dir, await freeLoopbackPort());
    const to = join(dir, 'new-commserve');
    const result = await runRecover({ settings, s3: null as unknown as S3Client, logger, to, from, preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    expect(result.document.error!.code).toBe('NO_RESTORABLE_POINT');
    expect(result.document.error!.message).toContain(`no restorable point in the copies read (local ${from}): no successful complete FULL`);
    expect(result.document.error!.message).toMatch(new RegExp(`DIFFERENTIAL ${setName(3)} .*its FULL ${setName(1)} is not listed`));
    const named = await runRecover({ settings, s3: null as unknown as S3Client, logger, to, from, setName: setName(2), preflight: noProcesses });
    expect(named.exitCode).toBe(1);
    expect(named.document.error).toMatchObject({ code: 'SET_NOT_RESTORABLE', message: expect.stringContaining(`its FULL ${setName(1)} is not listed`) });
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
  });

  it('a day with an unwritable phase-1 destination (that FULL only at the hot-site) followed by normal jobs → the newest SET is chosen, each file from its cheapest copy', async () => {
    // Simulated: the FULL's folder is absent from the phase-1 destination, as after phase 1 wrote it straight to the hot-site.
    const { s3, settings, to } = await setup({ local: true });
    rmSync(join(settings.Phase1Destination, setName(1)), { recursive: true });
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.document.point!.sets).toEqual([setName(1), setName(3)]);
    const served = Object.fromEntries(result.document.plan!.objects.filter((o) => o.file === FULL || o.file === diffFile(3)).map((o) => [o.file, o.copy]));
    expect(served).toEqual({ [FULL]: 'hot-site', [diffFile(3)]: 'local' });
    expectRecoveredAt(to, 3);
  });
});

/** Settings whose hot-site endpoint is a closed loopback port (the cloud is gone). */
function offlineSettings(dir: string, port: number): Settings {
  return parseSettings({ HotSite: { bucket: 'offline-bucket', endpoint: `http://127.0.0.1:${port}` }, StateDirectory: join(dir, 'state'), Phase1Destination: join(dir, 'state', 'dr') }, 'test');
}

/** The client as a slow Glacier restore: once RestoreObject was asked for a key, HeadObject says it is still ongoing. */
function neverRestored(s3: S3Client): S3Client {
  const requested = new Set<string>();
  return {
    send: async (command: unknown) => {
      if (command instanceof RestoreObjectCommand) requested.add(command.input.Key!);
      const out = (await s3.send(command as never)) as unknown as Record<string, unknown>;
      if (command instanceof HeadObjectCommand && requested.has(command.input.Key!)) return { ...out, Restore: 'ongoing-request="true"' };
      return out;
    },
  } as unknown as S3Client;
}
