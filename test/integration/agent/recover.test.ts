/**
 * Hot-site recovery (issue 5) on real components: SETs from the real phase 1 (SQLite, file hive), the hot-site on
 * moto, recovery into temp directories.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, RestoreObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRecover, REPORT_JSON } from '#agent/commands/recover/recover';
import { FileHiveStore } from '#agent/registry/index';
import { SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';
import { archiveOnly, buildFixture, freshHotSite, logger, type RecoverFixture } from './recover-fixture';

const noProcesses = { processNames: [] as string[] };

describe('recover (real SQLite, file hive, moto)', () => {
  const tempDir = useTempDirs('commserve-dr-recover-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    fixture = await buildFixture(tempDir());
  });

  async function setup() {
    const dir = tempDir();
    const hot = await freshHotSite(fixture, join(dir, 'state'));
    return { ...hot, to: join(dir, 'new-commserve') };
  }

  it('restores the newest point (FULL + newest DIFFERENTIAL): every table equals the source at the last DIFFERENTIAL', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    const doc = result.document;
    expect(doc.status).toBe('recovered');
    expect(doc.point).toMatchObject({ sets: ['SET_0000001', 'SET_0000003'], full: 'SET_0000001', differential: 'SET_0000003' });
    expect(doc.point!.pointInTime).toMatch(/Z$/);
    const db = join(to, 'commserv.db');
    expect(tableDigests(db)).toEqual(fixture.digestsAtLastDiff);
    const check = new Database(db, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    expect(doc.database).toMatchObject({ integrity: 'ok' });
    expect(doc.database!.appliedPages).toBeGreaterThan(0);
    // Registry imported from the DIFFERENTIAL's complete export.
    expect(doc.registry!.imported.map((r) => r.file)).toContain('commserv_hive_3.reg');
    const hive = await new FileHiveStore(join(to, 'registry', 'commserv_hive.reg')).load();
    expect(hive.getKey(SAMPLE_REGISTRY_ROOT)).toBeDefined();
    // Firewall files are left alone without the flag.
    expect(existsSync(join(to, 'firewall'))).toBe(false);
    expect(doc.firewall).toMatchObject({ restored: false });
    expect(doc.firewall!.skipped.length).toBeGreaterThan(0);
    // Checksums and report; staging removed.
    expect(doc.checksums.every((c) => /^[0-9a-f]{64}$/.test(c.sha256))).toBe(true);
    expect(doc.checksums.map((c) => `${c.set}/${c.file}`)).toEqual(expect.arrayContaining(['SET_0000001/commserv_FULL.dmp', 'SET_0000003/commserv_DIFF_3.dmp']));
    expect(JSON.parse(readFileSync(join(to, REPORT_JSON), 'utf8')).status).toBe('recovered');
    expect(readdirSync(to).sort()).toEqual(['commserv.db', 'commserve-dr-recovery-report.json', 'commserve-dr-recovery-report.txt', 'registry']);
    expect(result.text).toMatch(/CommServe recovered/);
  });

  it('restores a named FULL alone', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000001', preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.point).toMatchObject({ sets: ['SET_0000001'], differential: null });
    expect(tableDigests(join(to, 'commserv.db'))).toEqual(fixture.digestsAtFull);
    expect(result.document.registry!.imported.map((r) => r.file)).toContain('commserv_hive.reg');
  });

  it('restores a named DIFFERENTIAL with its FULL', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000002', preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.point!.sets).toEqual(['SET_0000001', 'SET_0000002']);
  });

  it('an unknown SET is a usage error (exit 2)', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000099', preflight: noProcesses });
    expect(result.exitCode).toBe(2);
    expect(result.document.error!.code).toBe('SET_NOT_FOUND');
  });

  it('copies the firewall files only with firewall: true', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, firewall: true, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.firewall!.copied.length).toBeGreaterThan(0);
    for (const name of result.document.firewall!.copied) {
      expect(readFileSync(join(to, 'firewall', name))).toEqual(readFileSync(join(fixture.firewallDir, name)));
    }
  });

  it('recovers from archive/ only: GLACIER objects are restored (RestoreObject, HeadObject polled) and then read', async () => {
    const { s3, bucket, settings, to } = await setup();
    await archiveOnly(s3, bucket, 'GLACIER');
    // GetObject on an unrestored GLACIER object is refused by S3 (moto): recovery must restore first.
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'archive/SET_0000003/manifest.json' }))).rejects.toMatchObject({ name: 'InvalidObjectState' });
    const result = await runRecover({ settings, s3, logger, to, wait: true, tier: 'Expedited', waitOptions: { pollIntervalMs: 5 }, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.plan!.objects.every((o) => o.area === 'archive' && o.storageClass === 'GLACIER')).toBe(true);
    expect(result.document.point!.sets).toEqual(['SET_0000001', 'SET_0000003']);
    expect(tableDigests(join(to, 'commserv.db'))).toEqual(fixture.digestsAtLastDiff);
  });

  it('GLACIER_IR archive objects are read directly (no restore)', async () => {
    const { s3, bucket, settings, to } = await setup();
    await archiveOnly(s3, bucket, 'GLACIER_IR');
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.plan!.pendingObjects).toBe(0);
    expect(result.document.plan!.objects.every((o) => o.storageClass === 'GLACIER_IR' && o.state === 'readable')).toBe(true);
  });

  /** A client over moto whose archive restores stay "ongoing" (moto restores instantly) for `pollsBeforeDone` polls per key. */
  function slowRestores(real: S3Client, pollsBeforeDone = Infinity): { client: S3Client; restores: string[] } {
    const polls = new Map<string, number>();
    const restores: string[] = [];
    const client = {
      send: async (command: unknown) => {
        if (command instanceof RestoreObjectCommand) {
          restores.push(command.input.Key!);
          await real.send(command);
          return { $metadata: { httpStatusCode: 202 } };
        }
        if (command instanceof HeadObjectCommand && command.input.Key!.startsWith('archive/')) {
          const out = await real.send(command);
          if (!restores.includes(command.input.Key!)) return out;
          const n = (polls.get(command.input.Key!) ?? 0) + 1;
          polls.set(command.input.Key!, n);
          return n <= pollsBeforeDone ? { ...out, Restore: 'ongoing-request="true"' } : out;
        }
        return real.send(command as never);
      },
    } as unknown as S3Client;
    return { client, restores };
  }

  it('pending restores without wait (stubbed slow restore): says what is pending, exit 3, target untouched', async () => {
    const { s3, bucket, settings, to } = await setup();
    const archived = await archiveOnly(s3, bucket, 'GLACIER');
    const { client, restores } = slowRestores(s3);
    const result = await runRecover({ settings, s3: client, logger, to, preflight: noProcesses });
    expect(result.exitCode).toBe(3);
    expect(result.document.status).toBe('pending');
    expect(result.document.pending.map((p) => p.key)).toEqual(expect.arrayContaining(['archive/SET_0000001/manifest.json', 'archive/SET_0000003/commserv_DIFF_3.dmp']));
    expect(restores.length).toBeGreaterThan(0);
    expect(restores.every((k) => archived.includes(k))).toBe(true);
    expect(result.document.plan!.estimatedWait.text).toMatch(/3–5 h \(GLACIER, Standard/);
    expect(result.text).toMatch(/being restored|Pending archive restores/);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
  });

  it('wait polls HeadObject until ongoing-request="false" (stubbed slow restore), then recovers', async () => {
    const { s3, bucket, settings, to } = await setup();
    await archiveOnly(s3, bucket, 'GLACIER');
    const { client } = slowRestores(s3, 2);
    let rounds = 0;
    const result = await runRecover({ settings, s3: client, logger, to, wait: true, waitOptions: { pollIntervalMs: 1, onPoll: () => rounds++ }, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(tableDigests(join(to, 'commserv.db'))).toEqual(fixture.digestsAtLastDiff);
  });

  it('a tampered object (one byte changed) is refused before the target exists', async () => {
    const { s3, bucket, settings, to } = await setup();
    const key = 'sets/SET_0000003/commserv_DIFF_3.dmp';
    const bytes = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    bytes[200] ^= 0x01;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    // The only copy read is damaged: no intact copy; the hot-site's SHA-256 mismatch named, the older points offered.
    expect(result.document.error!.code).toBe('NO_INTACT_COPY');
    expect(result.document.error!.skipped).toEqual([expect.objectContaining({ copy: 'hot-site', key, code: 'CHECKSUM_MISMATCH' })]);
    expect(result.document.error!.message).toMatch(/sets\/SET_0000003\/commserv_DIFF_3\.dmp: SHA-256 .*changed or damaged/);
    expect(result.document.error!.olderPoints!.map((p) => p.sets)).toEqual([['SET_0000001', 'SET_0000002'], ['SET_0000001']]);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
    expect(existsSync(join(to, 'registry'))).toBe(false);
    expect(existsSync(join(to, '.commserve-dr-staging'))).toBe(false);
  });

  it('a manifest naming a path outside the staging directory is refused', async () => {
    const { s3, bucket, settings, to } = await setup();
    const key = 'sets/SET_0000003/manifest.json';
    const manifest = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString());
    manifest.files.find((f: { role: string }) => f.role === 'registry').name = '../../evil.reg';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(manifest) }));
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000003', preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    expect(result.document.error!.code).toBe('MANIFEST_INVALID');
    expect(result.document.error!.message).toMatch(/plain file name/);
    expect(existsSync(to)).toBe(false);
  });

  it('a malformed manifest of the newest SET is skipped with a warning (older point restored); named, it is refused', async () => {
    const { s3, bucket, settings, to } = await setup();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sets/SET_0000003/manifest.json', Body: '{"formatVersion": 1, "files": [' }));
    const named = await runRecover({ settings, s3, logger, to, setName: 'SET_0000003', preflight: noProcesses });
    expect(named.exitCode).toBe(1);
    expect(named.document.error!.code).toBe('MANIFEST_INVALID');
    expect(named.document.error!.message).toMatch(/not valid JSON/);
    const newest = await runRecover({ settings, s3, logger, to, dryRun: true, preflight: noProcesses });
    expect(newest.document.point!.sets).toEqual(['SET_0000001', 'SET_0000002']);
    expect(newest.document.warnings.join('\n')).toMatch(/SET_0000003 skipped: .*not valid JSON/);
  });

  it('a DIFFERENTIAL whose base is another FULL is refused before the target is touched', async () => {
    const { s3, bucket, settings, to } = await setup();
    // SET_0000002 claims SET_0000001 as its base, but SET_0000001's dump is replaced by another (valid) database with a matching manifest.
    const other = join(to, '..', 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    db.close();
    const bytes = readFileSync(other);
    const sha = createHash('sha256').update(bytes).digest('hex');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sets/SET_0000001/commserv_FULL.dmp', Body: bytes }));
    const mKey = 'sets/SET_0000001/manifest.json';
    const manifest = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: mKey }))).Body!.transformToString());
    const entry = manifest.files.find((f: { name: string }) => f.name === 'commserv_FULL.dmp');
    Object.assign(entry, { size: bytes.length, sha256: sha });
    delete entry.s3;
    delete entry.compression; // the forged FULL is a plain file (the dumps are brotli-compressed by default)
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: mKey, Body: JSON.stringify(manifest) }));
    // Manifests written before the manifest chain (none records a predecessor), so the chain check
    // (test/integration/agent/manifest-chain.test.ts) does not stop it first: the base check must.
    for (const o of (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/' }))).Contents ?? []) {
      if (!o.Key!.endsWith('/manifest.json') || o.Key === mKey) continue;
      const later = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }))).Body!.transformToString());
      delete later.previousManifest;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: o.Key, Body: JSON.stringify(later) }));
    }
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000002', preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    expect(result.document.error!.code).toBe('DIFF_WRONG_BASE');
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
    expect(existsSync(join(to, 'registry'))).toBe(false);
  });

  it('preflight: refuses when another platform component is installed or services run; force overrides with a warning', async () => {
    const { s3, settings, to } = await setup();
    mkdirSync(join(to, 'MediaAgent'), { recursive: true });
    writeFileSync(join(to, '.commserve-dr-services.pid'), `${process.pid}\n`);
    const refused = await runRecover({ settings, s3, logger, to, preflight: { processNames: ['EvMgrS'], listProcesses: async () => ['init', 'EvMgrS.exe'] } });
    expect(refused.exitCode).toBe(1);
    expect(refused.document.status).toBe('refused');
    expect(refused.document.preflight!.findings.map((f) => f.kind).sort()).toEqual(['component-installed', 'service-running', 'service-running']);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);

    const forced = await runRecover({ settings, s3, logger, to, force: true, preflight: noProcesses });
    expect(forced.exitCode).toBe(0);
    expect(forced.document.preflight!.forced).toBe(true);
    expect(forced.document.warnings.join('\n')).toMatch(/--force: another platform component is installed/);
    expect(JSON.parse(readFileSync(join(to, REPORT_JSON), 'utf8')).warnings.length).toBeGreaterThan(0);
  });

  it('dry run: prints the plan and the registry diff, changes nothing', async () => {
    const { s3, settings, to } = await setup();
    const result = await runRecover({ settings, s3, logger, to, dryRun: true, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.status).toBe('planned');
    expect(result.document.plan!.objects.map((o) => o.key)).toEqual(expect.arrayContaining(['sets/SET_0000001/commserv_FULL.dmp', 'sets/SET_0000003/commserv_DIFF_3.dmp']));
    expect(result.document.registryDiff!.some((c) => c.kind === 'key-added' && c.key.toLowerCase() === SAMPLE_REGISTRY_ROOT.toLowerCase())).toBe(true);
    expect(result.text).toMatch(/dry run: nothing changed/);
    expect(existsSync(to)).toBe(false);
  });
});
