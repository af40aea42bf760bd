/**
 * The recovery-readiness report: SETs made by the real CLI in-process (real SQLite, moto hot-site), a
 * `verify`, a failed job whose message carries markup, then the page rendered by headless Chromium —
 * its DOM read back and a screenshot decoded — plus the page's own guarantees (self-contained,
 * escaped, deterministic). Chromium comes with `npm ci` (@sparticuz/chromium, see test/support/chromium.ts).
 *
 * Set COMMSERVE_DR_REPORT_ARTIFACTS=<dir> to keep the page and the screenshot for a look.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { capture } from '../support/cli';
import { loadEffectiveConfig } from '#agent/config';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { buildReadinessReport, formatReportSummary, RPO_ALARM_HOURS, type ReportData } from '#agent/commands/report/report';
import { escapeHtml, renderReportHtml } from '#agent/commands/report/html';
import { colorHistogram, dumpDom, findChromium, readPng, screenshot } from '../support/chromium';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';

const HOUR = 3_600_000;
const SCRIPT = '<script>alert(1)</script>';

/** External resource references a self-contained page must not have. */
const EXTERNAL_REFERENCE = /(?:\b(?:src|href|srcset|action|poster|xlink:href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\/)|url\(\s*["']?\s*(?:https?:)?\/\/|@import|<(?:script|link|iframe|img|object|embed)\b/i;

/** The elements of the dumped DOM that carry `attr`, as attribute maps. */
function elementsWith(dom: string, tag: string, attr: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const m of dom.matchAll(new RegExp(`<${tag}\\b([^>]*\\b${attr}="[^"]*"[^>]*)>`, 'g'))) {
    out.push(Object.fromEntries([...m[1].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])));
  }
  return out;
}

function keepArtifacts(files: string[]): void {
  const dir = process.env.COMMSERVE_DR_REPORT_ARTIFACTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(f, join(dir, f.split('/').at(-1)!));
}

describe('recovery-readiness report (CLI-made SETs, moto, headless Chromium)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('shows the timeline by cycle, the RPO, the verified trial restore, retention, alarms and history, rendered by Chromium', async () => {
    // Arrange: Chromium first (unpacked from the npm package on first use), so a broken install fails at once.
    const chromium = findChromium();
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'commserve-dr-hot-site', endpoint: moto.endpoint() } }));
    const run = async (args: string[]) => {
      const io = capture(cwd);
      const code = await exec(args, io);
      return { code, out: io.out(), err: io.err() };
    };
    expect((await run(['start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()])).code).toBe(0); // SET_0000001 FULL
    expect((await run(['start', '--s3-endpoint', moto.endpoint()])).code).toBe(0); // SET_0000002 DIFFERENTIAL
    expect((await run(['verify'])).code).toBe(0); // SET_0000001 + SET_0000002 restorable
    expect((await run(['start', '--s3-endpoint', moto.endpoint()])).code).toBe(0); // SET_0000003 DIFFERENTIAL
    // A job that fails in phase 1; its message carries a path with markup in it.
    writeFileSync(join(cwd, 'broken.json'), JSON.stringify({ Database: { engine: 'sqlite', path: `gone/${SCRIPT}/commserv.db` } }));
    expect((await run(['--config', 'broken.json', 'start', '--type', 'full', '--s3-endpoint', moto.endpoint()])).code).toBe(1);

    const { settings } = await loadEffectiveConfig(undefined, cwd);
    const s3 = createHotSiteClient(settings.HotSite);
    const probe = await buildReadinessReport({ settings, s3, now: new Date() });
    const newestEnd = Date.parse(probe.data.rpo.point!.endTime!);
    const now = new Date(newestEnd + 2 * HOUR + 5 * 60_000);

    // Act
    const { html, data } = await buildReadinessReport({ settings, s3, now });
    const again = await buildReadinessReport({ settings, s3, now });

    // Assert: the data.
    expect(data.cycles.map((c) => [c.setName, c.open, c.sets.map((s) => [s.setName, s.backupType, s.status, s.complete])])).toEqual([
      ['SET_0000001', true, [['SET_0000001', 'FULL', 'Completed', true], ['SET_0000002', 'DIFFERENTIAL', 'Completed', true], ['SET_0000003', 'DIFFERENTIAL', 'Completed', true]]],
    ]);
    expect(data.rpo).toMatchObject({ point: { sets: ['SET_0000001', 'SET_0000003'], jobId: 3 }, ageMs: 2 * HOUR + 5 * 60_000, thresholdHours: RPO_ALARM_HOURS, overThreshold: false });
    expect(data.verification.last).toMatchObject({ setName: 'SET_0000002', sets: ['SET_0000001', 'SET_0000002'], result: 'restorable', integrity: 'ok' });
    // The measured recovery time is the whole trial (download + rebuild + check); the rebuild + check is shown beside it.
    expect(data.verification.last!.recoveryTimeMs).toBe(data.verification.last!.totalDurationMs);
    expect(data.verification.last!.rebuildTimeMs).toEqual(expect.any(Number));
    expect(data.verification.last!.rebuildTimeMs!).toBeLessThanOrEqual(data.verification.last!.recoveryTimeMs!);
    expect(formatReportSummary(data)).toMatch(/measured recovery time .* \(whole trial: download \+ rebuild \+ check; rebuild \+ check .*\)/);
    expect(data.retention).toMatchObject({ dryRun: true, keep: ['SET_0000001', 'SET_0000002', 'SET_0000003'], expire: [], error: null });
    expect(data.alarms.map((a) => [a.alarm, a.jobId])).toEqual([['JobFailed', null]]);
    expect(data.alarms[0].message).toContain(SCRIPT);
    expect(data.history.jobs.map((j) => [j.jobId, j.status])).toEqual([[null, 'Failed'], [3, 'Completed'], [2, 'Completed'], [1, 'Completed']]);
    expect(formatReportSummary(data)).toMatch(/RPO: 2 h 05 min \(newest restorable point SET_0000001 \+ SET_0000003\) — over the 30-minute LOG target \(RpoExceeded\)\n/);

    // Assert: the page is deterministic, self-contained and escaped.
    expect(again.html).toBe(html);
    expect(html).not.toMatch(EXTERNAL_REFERENCE);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toContain(SCRIPT);
    expect(html).toContain(escapeHtml(SCRIPT));

    // Assert: what Chromium renders.
    const dir = tempDir();
    const page = join(dir, 'readiness-report.html');
    const png = join(dir, 'readiness-report.png');
    writeFileSync(page, html);
    const dom = await dumpDom(chromium, page);
    const sets = elementsWith(dom, 'g', 'data-set');
    expect(sets.map((s) => [s['data-set'], s['data-type'], s['data-status'], s['data-cycle'], s['data-complete'], s['data-restore-point'], s['data-verified']])).toEqual([
      ['SET_0000001', 'FULL', 'Completed', '1', 'true', 'true', ''],
      ['SET_0000002', 'DIFFERENTIAL', 'Completed', '1', 'true', 'false', 'restorable'],
      ['SET_0000003', 'DIFFERENTIAL', 'Completed', '1', 'true', 'true', ''],
    ]);
    expect(sets.every((s) => Number(s['data-bytes']) > 0)).toBe(true);
    expect(elementsWith(dom, 'g', 'data-cycle-id').map((c) => [c['data-cycle-id'], c.class])).toEqual([['1', 'cycle open']]);
    expect(dom).toMatch(/<p class="big" id="rpo-value">2 h 05 min<\/p>/);
    expect(elementsWith(dom, 'section', 'data-over-threshold')[0]['data-over-threshold']).toBe('false');
    expect(elementsWith(dom, 'section', 'data-recovery-ms')[0]).toMatchObject({ 'data-result': 'restorable', 'data-set': 'SET_0000002', 'data-recovery-ms': String(data.verification.last!.recoveryTimeMs) });
    expect(dom).toContain('measured recovery time (whole trial: download + rebuild + check)');
    expect(dom).toMatch(/<span id="rebuild-time">rebuild \+ integrity check [^<]+<\/span>/);
    expect(elementsWith(dom, 'tr', 'data-alarm').map((a) => a['data-alarm'])).toEqual(['JobFailed']);
    expect(elementsWith(dom, 'tr', 'data-action').map((r) => [r['data-set'], r['data-action']])).toEqual([
      ['SET_0000001', 'keep'],
      ['SET_0000002', 'keep'],
      ['SET_0000003', 'keep'],
    ]);
    expect(dom).toContain('CloudWatch alarm state is not read locally');
    expect(dom).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(dom).not.toMatch(/<script\b/);

    await screenshot(chromium, page, png, { width: 1280, height: 2000 });
    keepArtifacts([page, png]);
    expect(statSync(png).size).toBeGreaterThan(20_000);
    const image = readPng(png);
    expect([image.width, image.height]).toEqual([1280, 2000]);
    const colours = colorHistogram(image);
    expect(colours.size).toBeGreaterThan(50); // text, cards and blocks, not a blank page
    // The timeline's Completed blocks are painted: their fill covers thousands of pixels, with their outline.
    expect(colours.get('#dafbe1') ?? 0).toBeGreaterThan(3 * 100 * 50);
    expect(colours.get('#1a7f37') ?? 0).toBeGreaterThan(1_000);

    // An RPO over 26 hours is flagged, and raises NoSuccessfulDrBackup.
    const late = await buildReadinessReport({ settings, s3, now: new Date(newestEnd + 30 * HOUR) });
    expect(late.data.rpo.overThreshold).toBe(true);
    expect(late.data.alarms[0]).toMatchObject({ alarm: 'NoSuccessfulDrBackup', severity: 'critical', setName: 'SET_0000003' });
    expect(late.html).toContain('data-over-threshold="true"');
    expect(late.html).toContain('OVER the 26-hour threshold');
    expect(formatReportSummary(late.data)).toMatch(/RPO: 1 d 6 h .* — OVER 26 h/);
  });
});

describe('report --html <file>: a path that cannot be written is named with the reason (CLI in-process, no hot-site)', () => {
  const tempDir = useTempDirs();

  /** A working directory whose settings point at a closed port (the hot-site is never asked: --local-only). */
  function workDir(): string {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'offline-bucket', endpoint: 'http://127.0.0.1:9' }, StateDirectory: join(cwd, 'state') }));
    return cwd;
  }
  const run = async (cwd: string, args: string[]) => {
    const io = capture(cwd);
    const code = await exec(args, io);
    return { code, out: io.out(), err: io.err() };
  };

  it('a missing directory: usage error (exit 2) naming the file and the directory, nothing written; --json gives the error document', async () => {
    const cwd = workDir();
    const file = join(cwd, 'no-such-dir', 'readiness.html');
    const text = await run(cwd, ['report', '--html', 'no-such-dir/readiness.html', '--local-only']);
    expect(text).toEqual({
      code: 2,
      out: '',
      err: `commserve-dr: --html ${file}: the directory ${join(cwd, 'no-such-dir')} does not exist: create it first, or name a file in an existing directory (nothing was written)\n`,
    });
    const json = await run(cwd, ['report', '--html', file, '--local-only', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining(`the directory ${join(cwd, 'no-such-dir')} does not exist`) }, exitCode: 2 });
    expect(existsSync(join(cwd, 'no-such-dir'))).toBe(false);
  });

  it('a directory given as the file, or a file given as the directory: usage error naming it', async () => {
    const cwd = workDir();
    expect(await run(cwd, ['report', '--html', cwd, '--local-only'])).toMatchObject({ code: 2, err: expect.stringContaining(`--html ${cwd} is a directory: name the page's file`) });
    writeFileSync(join(cwd, 'plain'), 'x');
    expect(await run(cwd, ['report', '--html', 'plain/r.html', '--local-only'])).toMatchObject({ code: 2, err: expect.stringContaining(`--html ${join(cwd, 'plain', 'r.html')}: ${join(cwd, 'plain')} is not a directory`) });
  });

  it('a full disk (64 KiB tmpfs, filled): exit 1, "cannot write the report <file>: no space left on device (ENOSPC)", the earlier page left as it was, no partial file', async () => {
    const cwd = workDir();
    const mount = join(cwd, 'full');
    mkdirSync(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this test needs a size-limited file system: mount -t tmpfs failed (${(error as Error).message}); run the suite as root`);
    }
    try {
      const file = join(mount, 'readiness.html');
      writeFileSync(file, '<p>the earlier page</p>');
      writeFileSync(join(mount, 'filler'), Buffer.alloc(60 * 1024)); // tmpfs counts 4 KiB pages: now full
      const result = await run(cwd, ['report', '--html', file, '--local-only']);
      expect(result).toEqual({ code: 1, out: '', err: `commserve-dr: cannot write the report ${file}: no space left on device (ENOSPC) (the earlier page there is left as it was)\n` });
      expect(readFileSync(file, 'utf8')).toBe('<p>the earlier page</p>');
      expect(readdirSync(mount).sort()).toEqual(['filler', 'readiness.html']);
    } finally {
      execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
    }
  });
});

describe('renderReportHtml (pure)', () => {
  const base: ReportData = {
    formatVersion: 1,
    generatedAt: '2026-12-01T08:00:00.000Z',
    bucket: 'commserve-dr-hot-site',
    phase1Destination: `/dr/${SCRIPT}`,
    cycles: [
      {
        cycleId: 7,
        setName: 'SET_0000007',
        complete: false,
        successful: false,
        open: true,
        reasons: { complete: 'open: no later FULL yet', successful: `not successful: ${SCRIPT}`, restorablePoint: 'restorable to SET_0000007: the FULL alone', notes: [] },
        sets: [
          {
            setName: 'SET_0000007', jobId: 7, backupType: 'FULL', status: 'Completed', complete: true, bytes: 2048, integrity: 'corrupt', copies: ['local', 'hot-site'],
            problems: [], verified: null, endTime: '2026-11-29T17:00:00.000Z', inNewestRestorablePoint: true, retention: { action: 'keep', code: 'open-cycle', reason: 'open' },
          },
          {
            setName: 'SET_0000008', jobId: 8, backupType: 'DIFFERENTIAL', status: 'Failed', complete: false, bytes: null, integrity: null, copies: ['local'],
            problems: [`local manifest unusable: "${SCRIPT}" & more`], verified: null, endTime: null, inNewestRestorablePoint: false, retention: null,
          },
        ],
      },
    ],
    orphans: [],
    rpo: { point: { sets: ['SET_0000007'], jobId: 7, endTime: '2026-11-29T17:00:00.000Z' }, ageMs: 39 * HOUR, thresholdHours: 26, overThreshold: true },
    verification: { last: null, lastRestorable: null },
    retention: { dryRun: true, settings: { RetainCycles: 5, SetLifeSpanForFailedDR: 90 }, keep: [], expire: [], boundary: null, verdicts: [], error: null },
    alarms: [
      { alarm: 'DatabaseCorruptionDetected', severity: 'critical', jobId: 7, setName: 'SET_0000007', time: '2026-11-29T17:00:00.000Z', message: `corrupt: ${SCRIPT}` },
    ],
    history: { jobs: [], total: 0, limit: 20, hotSiteUnavailable: null },
    hotSiteUnavailable: `connect ECONNREFUSED ${SCRIPT}`,
  };

  it('escapes every text from files, marks corruption and an incomplete SET, and flags an RPO over the threshold', () => {
    const html = renderReportHtml(base);
    expect(html).not.toContain(SCRIPT);
    expect(html.match(/&lt;script&gt;alert\(1\)&lt;\/script&gt;/g)!.length).toBeGreaterThanOrEqual(5);
    expect(html).toContain('&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; &amp; more');
    expect(html).toContain('⚠ CORRUPT DB');
    expect(html).toMatch(/<g class="set st-failed diff incomplete" data-set="SET_0000008"/);
    expect(html).toContain('stroke-dasharray="7 4"');
    expect(html).toContain('data-over-threshold="true"');
    expect(html).toContain('data-alarm="DatabaseCorruptionDetected"');
    expect(html).toContain('No verification recorded');
    expect(html).not.toMatch(EXTERNAL_REFERENCE);
    expect(renderReportHtml(base)).toBe(html);
  });

  it('a job killed and found dead later shows its end as "≥" the last journal write (its end is not known), no duration', () => {
    const killed = { jobId: 5, setName: 'x', backupType: 'FULL', requestedType: 'FULL', status: 'Killed', startTime: '2026-12-01T07:00:00.000Z', endTime: '2026-12-01T07:00:30.000Z', endTimeAtLeast: true, durationMs: null, bytes: 0, copies: [], integrity: null, events: [] };
    const html = renderReportHtml({ ...base, history: { jobs: [killed], total: 1, limit: 20, hotSiteUnavailable: null } });
    const row = /<tr class="job" data-job-id="5"[\s\S]*?<\/tr>/.exec(html)![0];
    expect(row).toMatch(/<td><span title="killed; found dead later by the next job: it ended at or after this time">≥ <\/span>[^<]*07:00:30[^<]*<\/td><td class="num">—<\/td>/);
  });
});
