/**
 * Newcomer review, findings 1, 2 and 3 (SPEC §6.1, §10): a damaged or missing file in one copy of a SET, with another copy
 * intact, is damage to that copy — not a failed point. Real components: SETs made by the real phase 1 (SQLite, file
 * hive), the hot-site on moto, the phase-1 destination on disk, the CLI run in-process.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { exec } from '#agent/cli';
import { recordJob } from '#agent/history/history';
import type { JobRecord } from '#core/job';
import { setName } from '#core/set-id';
import { capture } from '../../support/cli';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, freshHotSite, type RecoverFixture } from './recover-fixture';

const diffFile = (n: number) => `commserv_DIFF_${n}.dmp`;
const FULL = 'commserv_FULL.dmp';
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('one damaged copy of a SET, another intact (real SQLite, moto, phase-1 folder, CLI)', () => {
  const tempDir = useTempDirs('commserve-dr-copy-damage-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    fixture = await buildFixture(tempDir(), { DumpCompression: 'none' });
  });

  /** A bucket holding every SET, the phase-1 destination holding them too, and a config file for the CLI. */
  async function setup() {
    const dir = tempDir();
    const hot = await freshHotSite(fixture, join(dir, 'state'));
    cpSync(fixture.phase1, hot.settings.Phase1Destination, { recursive: true });
    const config = join(dir, 'commserve-dr.config.json');
    writeFileSync(config, JSON.stringify({ HotSite: hot.settings.HotSite, StateDirectory: hot.settings.StateDirectory, Phase1Destination: hot.settings.Phase1Destination }));
    const cli = async (...args: string[]) => {
      const io = capture(dir);
      const code = await exec(['--config', config, '--log-format', 'json', ...args], io);
      return { code, out: io.out(), err: io.err() };
    };
    return { ...hot, dir, cli, local: (n: number, file: string) => join(hot.settings.Phase1Destination, setName(n), file) };
  }

  function flipFileByte(path: string): void {
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(path, bytes);
  }

  it('verify: a damaged local file with the hot-site copy intact → point restorable, the damaged copy named, exit 3; the default point does not regress', async () => {
    const { cli, local } = await setup();
    const damaged = local(3, diffFile(3));
    flipFileByte(damaged);

    const verify = await cli('--json', 'verify');
    expect(verify.code).toBe(3);
    const doc = JSON.parse(verify.out);
    expect(doc.status).toBe('restorable');
    expect(doc.verification).toMatchObject({ setName: setName(3), result: 'restorable', problems: [] });
    expect(doc.verification.damagedCopies).toEqual([expect.objectContaining({ set: setName(3), file: diffFile(3), copy: 'local', key: damaged, detail: expect.stringMatching(/SHA-256/) })]);
    const text = await cli('verify');
    expect(text.code).toBe(3);
    expect(text.out).toContain(`damaged copy: local ${damaged}`);
    expect(text.out).toContain('verify --repair');

    // The default point is still the newest one (its last verify passed: an intact copy of every file exists).
    const plan = await cli('--json', 'recover', '--to', join(tempDir(), 'target'), '--dry-run', '--force');
    expect(JSON.parse(plan.out).point.sets).toEqual([setName(1), setName(3)]);
  });

  it('verify --repair: a damaged and a missing local file are restored from the hot-site (SHA-256 checked, temp + rename); intact files untouched', async () => {
    const { cli, local, settings } = await setup();
    const damaged = local(3, diffFile(3));
    const missing = local(1, 'commserv_hive.reg');
    const expected = { damaged: sha256(damaged), missing: sha256(missing) };
    flipFileByte(damaged);
    rmSync(missing);
    const intact = local(1, FULL);
    const before = statSync(intact);

    const repair = await cli('verify', '--repair');
    expect(repair.err).toContain(`${damaged}`);
    expect(repair.err).toMatch(new RegExp(`local copy ${damaged.replace(/[/.]/g, '\\$&')} .*repaired from the hot-site copy`));
    expect(repair.err).toMatch(new RegExp(`local copy ${missing.replace(/[/.]/g, '\\$&')} .*missing.*repaired from the hot-site copy`));
    expect(sha256(damaged)).toBe(expected.damaged);
    expect(sha256(missing)).toBe(expected.missing);
    const after = statSync(intact);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(repair.code).toBe(0);
    // The unbounded budget of verify --repair is said in words, never as 9007199254740991.
    expect(repair.err).toContain('(no request limit)');
    expect(repair.err).not.toContain(String(Number.MAX_SAFE_INTEGER));
    // Nothing left behind in the SET folders.
    expect(readdirNames(join(settings.Phase1Destination, setName(3))).filter((n) => /partial|repair/.test(n))).toEqual([]);
  });

  it('verify --repair with the hot-site copy damaged too: the local file is not replaced by unverified bytes (kept as it was, no .partial left); no intact copy anywhere, so the point fails (exit 1) naming both copies', async () => {
    const { cli, local, s3, bucket } = await setup();
    const damaged = local(3, diffFile(3));
    flipFileByte(damaged);
    const key = `sets/${setName(3)}/${diffFile(3)}`;
    const bytes = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    bytes[7] ^= 0x01;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    const before = readFileSync(damaged);

    const repair = await cli('verify', '--repair', setName(3));

    expect(repair.code).toBe(1); // no intact copy of that file anywhere: the point itself fails
    expect(repair.err).toMatch(new RegExp(`error: local copy ${damaged.replace(/[/.]/g, '\\$&')} \\(SHA-256 .*\\): not repaired: hot-site copy ${key.replace(/[/.]/g, '\\$&')}: .*`));
    expect(readFileSync(damaged).equals(before)).toBe(true);
    expect(readdirNames(join(local(3, '..'))).filter((n) => n.endsWith('.partial'))).toEqual([]);
    expect(repair.out).toMatch(new RegExp(`problem: ${setName(3)}/${diffFile(3)} has no intact copy: local \\S+: SHA-256 .*; hot-site ${key.replace(/[/.]/g, '\\$&')}: SHA-256 `));
    expect(repair.out).not.toContain('to mend'); // nothing intact to mend from: no such promise
  });

  it('sets: a missing local manifest of a SET the hot-site has, and a SET folder without a manifest, are damage (exit 3)', async () => {
    const { cli, local, settings } = await setup();
    rmSync(local(2, 'manifest.json'));
    mkdirSync(join(settings.Phase1Destination, setName(4)));
    writeFileSync(join(settings.Phase1Destination, setName(4), diffFile(4)), 'partial');

    const sets = await cli('--json', 'sets');
    expect(sets.code).toBe(3);
    const doc = JSON.parse(sets.out);
    expect(doc.damagedCopies).toEqual(
      expect.arrayContaining([
        { setName: setName(2), copy: 'local', damaged: [expect.stringMatching(/manifest\.json: missing/)] },
        { setName: setName(4), copy: 'local', damaged: [expect.stringMatching(/no manifest: unfinished or damaged/)] },
      ]),
    );
    const from = await cli('--json', 'sets', '--from', settings.Phase1Destination);
    expect(from.code).toBe(3);
    expect(JSON.parse(from.out).damagedCopies).toEqual(expect.arrayContaining([expect.objectContaining({ setName: setName(4), copy: 'local' })]));

    // verify --repair puts the committed SET's manifest back from the hot-site (its files are intact): no longer damaged.
    const repair = await cli('verify', '--repair', setName(2));
    expect(repair.err).toMatch(new RegExp(`local copy ${local(2, 'manifest.json').replace(/[/.]/g, '\\$&')} \\(missing\\): repaired from the hot-site copy`));
    expect(readFileSync(local(2, 'manifest.json'), 'utf8')).toContain(`"setName": "${setName(2)}"`);
    const again = JSON.parse((await cli('--json', 'sets')).out);
    expect(again.damagedCopies.map((d: { setName: string }) => d.setName)).toEqual([setName(4)]);
  });

  it('recover --from DIR: the newest SET folder has no manifest → an older point, and the newer SET skipped is named with the reason', async () => {
    const { cli, settings } = await setup();
    rmSync(join(settings.Phase1Destination, setName(3), 'manifest.json'));
    const result = await cli('--json', 'recover', '--from', settings.Phase1Destination, '--to', join(tempDir(), 'target'), '--dry-run', '--force');
    const doc = JSON.parse(result.out);
    expect(doc.point.sets).toEqual([setName(1), setName(2)]);
    expect(doc.warnings).toContainEqual(expect.stringMatching(new RegExp(`${setName(3)} is newer than the point chosen .*no manifest.*unfinished or damaged`)));
  });

  it('a manifest with hostile file names (path traversal, absolute path) is refused as unsafe, naming the SET and the entry — never "no manifest"; nothing outside the target is written', async () => {
    const { cli, dir, settings, local } = await setup();
    const path = local(3, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.files[0].name = '../../../outside.dmp';
    manifest.files[1].name = '/etc/passwd';
    writeFileSync(path, JSON.stringify(manifest));
    const from = settings.Phase1Destination;
    const around = () => [readdirNames(dir).sort(), readdirNames(join(from, setName(3))).sort()];
    const before = around();

    const sets = await cli('--json', 'sets', '--from', from);
    expect(sets.code).toBe(3);
    const doc = JSON.parse(sets.out);
    const row = doc.orphans.concat(doc.cycles.flatMap((c: { sets: unknown[] }) => c.sets)).find((r: { setName: string }) => r.setName === setName(3));
    expect(row.problems.join(' ')).toContain('unsafe file name "../../../outside.dmp" refused');
    expect(doc.damagedCopies).toContainEqual({ setName: setName(3), copy: 'local', damaged: [expect.stringMatching(/manifest\.json refused: .*unsafe file name "\.\.\/\.\.\/\.\.\/outside\.dmp"/)] });
    const table = await cli('sets', '--from', from);
    expect(table.out).toMatch(new RegExp(`${setName(3)}.*manifest refused: .*SET_0000003/manifest\\.json is not a valid manifest: .*unsafe file name`));
    expect(table.out).not.toMatch(new RegExp(`${setName(3)}[^\n]*no manifest`));

    const plan = await cli('--json', 'recover', '--from', from, '--to', join(dir, 'target'), '--dry-run', '--force');
    const planDoc = JSON.parse(plan.out);
    expect(planDoc.point.sets).toEqual([setName(1), setName(2)]);
    expect(planDoc.warnings).toContainEqual(expect.stringMatching(new RegExp(`${setName(3)} is newer than the point chosen but was skipped: its manifest was refused .*unsafe file name "\\.\\./\\.\\./\\.\\./outside\\.dmp"`)));

    const named = await cli('--json', 'recover', '--from', from, '--set', setName(3), '--to', join(dir, 'target'), '--force');
    expect(named.code).toBe(1);
    expect(JSON.parse(named.out).error.message).toMatch(new RegExp(`${setName(3)}: manifest unusable: .*unsafe file name "\\.\\./\\.\\./\\.\\./outside\\.dmp" refused.*unsafe file name "/etc/passwd" refused`));
    // prune's plan names the refusal too (a SET with a refused manifest is not "without a manifest").
    const prune = await cli('prune', '--local-only', '--dry-run');
    expect(prune.out).toMatch(new RegExp(`Problem with ${setName(3)}: .*unsafe file name "\\.\\./\\.\\./\\.\\./outside\\.dmp" refused`));
    expect(prune.out).not.toMatch(new RegExp(`${setName(3)}[^\n]*no manifest`));
    // Nothing new beside the target (the refused names are never joined to a path), nothing added to the SET folder.
    const [besideAfter, setAfter] = around();
    expect(besideAfter.filter((n) => n !== 'target')).toEqual(before[0]);
    expect(setAfter).toEqual(before[1]);
  });

  it('report --html lists only the copies that exist, listed from the copies: no archive copy for a SET not under archive/, whatever its job record says', async () => {
    const { cli, dir, settings, s3, bucket } = await setup();
    // A job record that says SET_1 was archived, while nothing is under archive/ (e.g. pruned there, or lost).
    recordJob(settings.Phase1Destination, {
      jobId: 1, setName: setName(1), backupType: 'FULL', requestedType: 'FULL', status: 'Completed', startTime: '2026-12-01T17:00:00.000Z', endTime: '2026-12-01T17:01:00.000Z', bytes: 1,
      copies: { phase1Destination: join(settings.Phase1Destination, setName(1)), hotSite: `s3://${bucket}/sets/${setName(1)}/`, archive: `s3://${bucket}/archive/${setName(1)}/` },
      phase2: 'archived', integrity: 'ok', events: [],
    } as JobRecord);
    const copiesOf = async (set: string) => {
      const result = await cli('--json', 'report', '--html', join(dir, 'readiness.html'));
      expect(result.code).toBe(0);
      return JSON.parse(result.out).cycles.flatMap((c: { sets: Array<{ setName: string; copies: string[] }> }) => c.sets).find((r: { setName: string }) => r.setName === set).copies;
    };
    expect(await copiesOf(setName(1))).toEqual(['local', 'hot-site']);
    expect(readFileSync(join(dir, 'readiness.html'), 'utf8')).not.toMatch(new RegExp(`${setName(1)}[^<]*copies: [^<]*archive`));

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `sets/${setName(1)}/` }));
    for (const o of listed.Contents ?? []) await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `archive/${o.Key!.slice(5)}`, CopySource: `${bucket}/${o.Key}`, StorageClass: 'GLACIER' }));
    expect(await copiesOf(setName(1))).toEqual(['local', 'hot-site', 'archive']);
  });

  it('a failed recovery that first removed the staging folder an earlier interrupted one left says so on the target line, never a bare "the target was not changed"', async () => {
    const { cli, dir } = await setup();
    const to = join(dir, 'target');
    mkdirSync(join(to, '.commserve-dr-staging', 'download'), { recursive: true });
    writeFileSync(join(to, '.commserve-dr-staging', 'download', 'commserv_FULL.dmp'), 'partial');
    writeFileSync(join(to, 'keep.txt'), 'operator file');
    const result = await cli('recover', '--to', to, '--set', 'SET_0000099', '--force');
    expect(result.code).toBe(2);
    const staging = join(to, '.commserve-dr-staging');
    expect(result.out).toContain(`The target's files were not changed; only ${staging}, the staging folder an earlier interrupted recovery left, was removed.`);
    expect(result.out).not.toContain('The target was not changed.');
    expect(readdirNames(to)).toEqual(['keep.txt']);
  });

  it('fetch --json and verify --json print one document shape, exitCode among its keys, whatever happened (success, unknown SET, usage error) — as recover --json does', async () => {
    const { cli, dir, settings } = await setup();
    const shape = async (...args: string[]) => {
      const result = await cli('--json', ...args);
      const doc = JSON.parse(result.out);
      expect(doc.exitCode).toBe(result.code);
      return { code: result.code, keys: Object.keys(doc).sort(), status: doc.status, error: doc.error?.code ?? null };
    };
    const verifyRuns = [await shape('verify'), await shape('verify', setName(99)), await shape('verify', '--repair', '--from', settings.Phase1Destination), await shape('verify', 'SET_x')];
    expect(verifyRuns.map((r) => [r.code, r.status, r.error])).toEqual([
      [0, 'restorable', null],
      [2, 'failed', 'SET_NOT_FOUND'],
      [2, 'failed', 'USAGE'],
      [2, 'failed', 'USAGE'],
    ]);
    expect(new Set(verifyRuns.map((r) => r.keys.join()))).toEqual(new Set([verifyRuns[0].keys.join()]));
    const fetchRuns = [await shape('fetch', setName(1), '--to', join(dir, 'fetched')), await shape('fetch', setName(99), '--to', join(dir, 'fetched2')), await shape('fetch', setName(1))];
    expect(fetchRuns.map((r) => [r.code, r.status, r.error])).toEqual([
      [0, 'fetched', null],
      [2, 'failed', 'SET_NOT_FOUND'],
      [2, 'failed', 'USAGE'],
    ]);
    expect(new Set(fetchRuns.map((r) => r.keys.join()))).toEqual(new Set([fetchRuns[0].keys.join()]));
  });
});

function readdirNames(dir: string): string[] {
  return require('node:fs').readdirSync(dir) as string[];
}
