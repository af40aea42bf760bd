/**
 * The recovery-readiness page (pure): one self-contained HTML document — inline CSS and inline SVG, no
 * script, no external resource (a Content-Security-Policy of `default-src 'none'` says so to the
 * browser too), system fonts only. Every text that comes from files (SET names, messages, paths,
 * reasons) is HTML-escaped. Deterministic: no random ids, no clock; times are printed in UTC.
 *
 * Status is never told by colour alone: each SET block carries its status as text, an incomplete SET
 * has a dashed outline, and the tables below repeat every fact for screen readers and printing.
 */
import { formatBytes, formatDuration } from '#core/format';
import { formatAge } from './format';
import type { ReportAlarm, ReportCycle, ReportData, ReportSet } from './report';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const esc = escapeHtml;

/** How each status looks: a CSS key, a short text label, and the colours (fill, outline, text). */
const STATUS_STYLE: Record<string, { key: string; label: string; fill: string; stroke: string; ink: string }> = {
  Completed: { key: 'ok', label: 'Completed', fill: '#dafbe1', stroke: '#1a7f37', ink: '#0f5323' },
  'Completed With One or More Errors': { key: 'errors', label: 'With errors', fill: '#fff8c5', stroke: '#9a6700', ink: '#6b4800' },
  Failed: { key: 'failed', label: 'Failed', fill: '#ffebe9', stroke: '#cf222e', ink: '#8c1018' },
  Killed: { key: 'killed', label: 'Killed', fill: '#fbefff', stroke: '#8250df', ink: '#512a97' },
  Running: { key: 'running', label: 'Running', fill: '#ddf4ff', stroke: '#0969da', ink: '#0a3069' },
};
const UNKNOWN_STYLE = { key: 'unknown', label: 'Unknown', fill: '#f6f8fa', stroke: '#6e7781', ink: '#24292f' };
const styleOf = (status: string) => STATUS_STYLE[status] ?? UNKNOWN_STYLE;

const time = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '—');
const bytes = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : formatBytes(n));
const typeTag = (type: string): string => (type === 'DIFFERENTIAL' ? 'DIFF' : type);

function statusBadge(status: string): string {
  const s = styleOf(status);
  return `<span class="badge st-${s.key}" title="${esc(status)}">${esc(s.label)}</span>`;
}

// ---------------------------------------------------------------------------------------------------
// The timeline (inline SVG): one row per cycle, oldest first, then the SETs in no cycle.

// Seven SETs (a FULL and the default six DIFFERENTIALs) fit a 1280-pixel window without scrolling.
const COL_W = 156;
const COL_GAP = 10;
/** Block height without markers; each marker line adds MARK_H. */
const BLOCK_BASE_H = 70;
const MARK_H = 15;
const LABEL_H = 30;
const ROW_GAP = 20;
const LEFT = 16;

interface TimelineRow {
  id: string;
  label: string;
  detail: string;
  open: boolean;
  cycleId: number | null;
  sets: ReportSet[];
}

function setMarkers(set: ReportSet): Array<{ text: string; cls: string }> {
  const markers: Array<{ text: string; cls: string }> = [];
  if (set.integrity === 'corrupt') markers.push({ text: '⚠ CORRUPT DB', cls: 'mk-bad' });
  if (set.inNewestRestorablePoint) markers.push({ text: '◆ restore point', cls: 'mk-point' });
  if (set.verified) markers.push(set.verified.result === 'restorable' ? { text: '✓ verified', cls: 'mk-good' } : { text: '✗ verify failed', cls: 'mk-bad' });
  if (set.retention?.action === 'expire') markers.push({ text: 'would expire', cls: 'mk-expire' });
  return markers;
}

function setBlock(set: ReportSet, x: number, y: number, height: number, cycleId: number | null): string {
  const s = styleOf(set.status);
  const full = set.backupType === 'FULL';
  const markers = setMarkers(set);
  const description =
    `${set.setName}: ${set.backupType}, ${set.status}, ${set.complete ? 'complete' : 'INCOMPLETE (no manifest)'}, ${bytes(set.bytes)}` +
    `${set.endTime ? `, ended ${time(set.endTime)}` : ''}${set.copies.length ? `, copies: ${set.copies.join(', ')}` : ''}` +
    `${set.retention ? `; retention: ${set.retention.action} (${set.retention.reason})` : ''}` +
    `${set.verified ? `; verified ${set.verified.result} ${time(set.verified.at)}` : ''}${set.problems.length ? `; problems: ${set.problems.join('; ')}` : ''}`;
  const attrs = [
    `class="set st-${s.key}${full ? ' full' : ' diff'}${set.complete ? '' : ' incomplete'}"`,
    `data-set="${esc(set.setName)}"`,
    `data-job-id="${set.jobId}"`,
    `data-cycle="${cycleId ?? ''}"`,
    `data-type="${esc(set.backupType)}"`,
    `data-status="${esc(set.status)}"`,
    `data-complete="${set.complete}"`,
    `data-bytes="${set.bytes ?? ''}"`,
    `data-retention="${set.retention?.action ?? ''}"`,
    `data-restore-point="${set.inNewestRestorablePoint}"`,
    `data-verified="${set.verified?.result ?? ''}"`,
    `role="listitem"`,
    `aria-label="${esc(description)}"`,
  ].join(' ');
  const dash = set.complete ? '' : ' stroke-dasharray="7 4"';
  const parts = [
    `<g ${attrs} transform="translate(${x} ${y})">`,
    `<title>${esc(description)}</title>`,
    `<rect class="block" width="${COL_W}" height="${height}" rx="7" fill="${s.fill}" stroke="${s.stroke}" stroke-width="${full ? 3 : 2}"${dash}/>`,
    full ? `<rect width="8" height="${height}" rx="3" fill="${s.stroke}"/>` : '',
    `<text x="${full ? 18 : 12}" y="22" class="t-name">${esc(set.setName)}</text>`,
    `<text x="${COL_W - 10}" y="22" text-anchor="end" class="t-type">${esc(typeTag(set.backupType))}</text>`,
    `<circle cx="${full ? 23 : 17}" cy="38" r="5" fill="${s.stroke}"/>`,
    `<text x="${full ? 33 : 27}" y="43" class="t-status" fill="${s.ink}">${esc(s.label)}</text>`,
    `<text x="${full ? 18 : 12}" y="61" class="t-meta">${esc([set.bytes === null ? '' : bytes(set.bytes), set.complete ? '' : 'INCOMPLETE'].filter(Boolean).join(' · ') || '—')}</text>`,
    ...markers.map((m, i) => `<text x="${full ? 18 : 12}" y="${80 + i * MARK_H}" class="t-mark ${m.cls}">${esc(m.text)}</text>`),
    '</g>',
  ];
  return parts.join('');
}

function timelineSvg(data: ReportData): string {
  const rows: TimelineRow[] = data.cycles.map((c: ReportCycle) => ({
    id: `cycle-${c.cycleId}`,
    label: `Cycle ${c.setName}`,
    detail: `${c.open ? 'open (current)' : c.complete ? 'complete' : 'incomplete'} · ${c.successful ? 'successful' : 'NOT successful'} · ${c.reasons.restorablePoint}`,
    open: c.open,
    cycleId: c.cycleId,
    sets: c.sets,
  }));
  if (data.orphans.length > 0) {
    rows.push({ id: 'orphans', label: 'Not in any cycle', detail: 'these SETs start no cycle and are not restorable as part of one', open: false, cycleId: null, sets: data.orphans });
  }
  const columns = Math.max(7, ...rows.map((r) => r.sets.length));
  const width = LEFT * 2 + columns * COL_W + (columns - 1) * COL_GAP;
  const body: string[] = [];
  let y = 8;
  for (const row of rows) {
    const blockH = BLOCK_BASE_H + MARK_H * Math.max(0, ...row.sets.map((s) => setMarkers(s).length));
    const rowH = LABEL_H + blockH + ROW_GAP;
    const blocksY = y + LABEL_H;
    body.push(`<g class="cycle${row.open ? ' open' : ''}" data-row="${esc(row.id)}" data-cycle-id="${row.cycleId ?? ''}" role="list" aria-label="${esc(`${row.label}: ${row.detail}`)}">`);
    body.push(`<rect x="4" y="${y - 4}" width="${width - 8}" height="${rowH - ROW_GAP / 2}" rx="8" class="row-bg${row.open ? ' row-open' : ''}"/>`);
    body.push(`<text x="${LEFT}" y="${y + 17}" class="t-row">${esc(row.label)}<tspan class="t-row-detail" dx="10">${esc(row.detail)}</tspan></text>`);
    if (row.sets.length > 1 && row.cycleId !== null) {
      const x1 = LEFT + COL_W / 2;
      const x2 = LEFT + (row.sets.length - 1) * (COL_W + COL_GAP) + COL_W / 2;
      body.push(`<line x1="${x1}" y1="${blocksY + blockH / 2}" x2="${x2}" y2="${blocksY + blockH / 2}" class="chain"/>`);
    }
    row.sets.forEach((set, j) => body.push(setBlock(set, LEFT + j * (COL_W + COL_GAP), blocksY, blockH, row.cycleId)));
    body.push('</g>');
    y += rowH;
  }
  const height = Math.max(y, 48);
  if (rows.length === 0) body.push(`<text x="${LEFT}" y="30" class="t-row">No SETs yet: run a DR backup job.</text>`);
  return (
    `<svg class="timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="timeline-title timeline-desc">` +
    `<title id="timeline-title">Timeline of SETs grouped by cycle</title>` +
    `<desc id="timeline-desc">One row per cycle, oldest first; in each row the FULL, then its DIFFERENTIALs in job order. Each SET shows its name, type, status, size and markers.</desc>` +
    body.join('') +
    '</svg>'
  );
}

function legend(): string {
  const items = Object.entries(STATUS_STYLE).map(
    ([status, s]) => `<li><svg width="14" height="14" aria-hidden="true"><rect x="1" y="1" width="12" height="12" rx="3" fill="${s.fill}" stroke="${s.stroke}" stroke-width="2"/></svg> ${esc(s.label)}${s.label !== status ? ` <span class="muted">(${esc(status)})</span>` : ''}</li>`,
  );
  items.push('<li><svg width="22" height="14" aria-hidden="true"><rect x="1" y="1" width="20" height="12" rx="3" fill="#fff" stroke="#57606a" stroke-width="2" stroke-dasharray="5 3"/></svg> incomplete (no manifest)</li>');
  items.push('<li><svg width="14" height="14" aria-hidden="true"><rect x="1" y="1" width="12" height="12" rx="2" fill="#fff" stroke="#57606a" stroke-width="3"/><rect x="1" y="1" width="4" height="12" fill="#57606a"/></svg> FULL (thick outline)</li>');
  items.push('<li><span class="mk-point">◆</span> newest restorable point</li><li><span class="mk-good">✓</span> verified by a trial restore</li>');
  return `<ul class="legend" aria-label="Legend">${items.join('')}</ul>`;
}

// ---------------------------------------------------------------------------------------------------
// Summary cards and sections.

function rpoCard(data: ReportData): string {
  const { rpo } = data;
  const over = rpo.overThreshold;
  const value = rpo.point ? formatAge(rpo.ageMs) : 'none';
  const detail = rpo.point
    ? `newest restorable point <strong>${esc(rpo.point.sets.join(' + '))}</strong>, state at ${esc(time(rpo.point.endTime))}`
    : 'no FULL has succeeded: nothing can be restored';
  const verdict = over
    ? `<p class="verdict bad">OVER the ${rpo.thresholdHours}-hour threshold</p>`
    : `<p class="verdict good">within the ${rpo.thresholdHours}-hour threshold</p>`;
  const logTarget = rpo.logTargetMinutes
    ? `<p class="verdict ${rpo.overLogTarget ? 'bad' : 'good'}" id="rpo-log-target">${rpo.overLogTarget ? 'OVER' : 'within'} the ${rpo.logTargetMinutes}-minute LOG target (RpoExceeded: 2 × LogBackupIntervalMinutes)</p>`
    : '';
  return (
    `<section class="card${over ? ' card-bad' : ' card-good'}" id="rpo" data-rpo-ms="${rpo.ageMs ?? ''}" data-over-threshold="${over}" aria-labelledby="rpo-h">` +
    `<h2 id="rpo-h">Current RPO</h2><p class="big" id="rpo-value">${esc(value)}</p>${verdict}${logTarget}<p class="small">${detail}</p></section>`
  );
}

function verificationCard(data: ReportData): string {
  const v = data.verification.last;
  if (!v) {
    return `<section class="card card-warn" id="verification" data-result="" aria-labelledby="ver-h"><h2 id="ver-h">Last verified trial restore</h2><p class="big">none</p><p class="small">No verification recorded: run <code>commserve-dr verify</code>.</p></section>`;
  }
  const good = v.result === 'restorable';
  const recovery = v.recoveryTimeMs === null ? 'not run' : formatDuration(v.recoveryTimeMs);
  const lastGood = data.verification.lastRestorable;
  const older = !good && lastGood ? `<p class="small">Last restorable verification: ${esc(lastGood.sets.join(' + '))}, ${esc(time(lastGood.verifiedAt))}.</p>` : '';
  return (
    `<section class="card ${good ? 'card-good' : 'card-bad'}" id="verification" data-result="${esc(v.result)}" data-set="${esc(v.setName)}" data-recovery-ms="${v.recoveryTimeMs ?? ''}" aria-labelledby="ver-h">` +
    `<h2 id="ver-h">Last verified trial restore</h2>` +
    `<p class="big" id="recovery-time">${esc(recovery)}</p>` +
    `<p class="verdict ${good ? 'good' : 'bad'}">${good ? 'RESTORABLE' : 'FAILED'} · measured recovery time (whole trial: download + rebuild + check)</p>` +
    `<p class="small"><strong>${esc(v.sets.join(' + '))}</strong> verified ${esc(time(v.verifiedAt))} (${esc(formatAge(v.ageMs))} ago); checksums ${v.checksums.ok}/${v.checksums.total} ok; integrity ${esc(v.integrity ?? '—')}; restored ${esc(bytes(v.restoredBytes))}; <span id="rebuild-time">rebuild + integrity check ${esc(v.rebuildTimeMs === null ? 'not run' : formatDuration(v.rebuildTimeMs))}</span>.</p>` +
    (v.problems.length ? `<ul class="small problems">${v.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '') +
    older +
    '</section>'
  );
}

function alarmsCard(data: ReportData): string {
  const critical = data.alarms.filter((a) => a.severity === 'critical').length;
  const warning = data.alarms.length - critical;
  const cls = critical ? 'card-bad' : warning ? 'card-warn' : 'card-good';
  return (
    `<section class="card ${cls}" id="alarm-summary" data-critical="${critical}" data-warning="${warning}" aria-labelledby="al-h">` +
    `<h2 id="al-h">Alarms raised</h2><p class="big">${data.alarms.length === 0 ? 'none' : `${critical} critical`}</p>` +
    `<p class="verdict ${warning ? 'warn' : critical ? 'muted' : 'good'}">${warning} warning${warning === 1 ? '' : 's'}</p>` +
    `<p class="small">From the job history and manifests. CloudWatch alarm state is not read locally.</p></section>`
  );
}

function retentionCard(data: ReportData): string {
  const r = data.retention;
  return (
    `<section class="card card-neutral" id="retention-summary" aria-labelledby="ret-h"><h2 id="ret-h">Retention (dry run)</h2>` +
    (r.error
      ? `<p class="big">not planned</p><p class="small">${esc(r.error)}</p>`
      : `<p class="big compact">keep ${r.keep.length} · expire ${r.expire.length}</p><p class="verdict">RetainCycles ${r.settings.RetainCycles} · failed SETs kept ${r.settings.SetLifeSpanForFailedDR} d</p>` +
        `<p class="small">Nothing is deleted by this report; <code>commserve-dr prune</code> applies the plan.</p>`) +
    '</section>'
  );
}

function alarmsSection(alarms: readonly ReportAlarm[]): string {
  const rows = alarms.map(
    (a) =>
      `<tr class="alarm sev-${a.severity}" data-alarm="${esc(a.alarm)}" data-job-id="${a.jobId ?? ''}"><td><span class="badge ${a.severity === 'critical' ? 'st-failed' : 'st-errors'}">${esc(a.severity)}</span></td>` +
      `<td><code>${esc(a.alarm)}</code></td><td>${esc(a.setName ?? (a.jobId === null ? '—' : `job ${a.jobId}`))}</td><td>${esc(time(a.time))}</td><td>${esc(a.message)}</td></tr>`,
  );
  return (
    `<section id="alarms" aria-labelledby="alarms-h"><h2 id="alarms-h">Alarms raised</h2>` +
    `<p class="note">Derived from the local job history and the manifests: jobs that ended Failed or Killed (<code>JobFailed</code>), Completed With One or More Errors, a corrupt CommServe database (<code>DatabaseCorruptionDetected</code>), and an RPO over the threshold (<code>NoSuccessfulDrBackup</code>). <strong>CloudWatch alarm state is not read locally</strong>: check the CloudWatch console for alarms that are still in ALARM.</p>` +
    (rows.length
      ? `<table><thead><tr><th scope="col">Severity</th><th scope="col">Alarm</th><th scope="col">SET / job</th><th scope="col">Raised</th><th scope="col">What happened</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      : '<p class="ok-line">No alarm raised.</p>') +
    '</section>'
  );
}

function setsTable(data: ReportData): string {
  const rows: string[] = [];
  for (const c of data.cycles) {
    rows.push(`<tr class="group"><th colspan="8" scope="rowgroup">Cycle ${esc(c.setName)} · ${c.open ? 'open (current)' : c.complete ? 'complete' : 'incomplete'} · ${c.successful ? 'successful' : 'NOT successful'}<span class="muted"> — ${esc(c.reasons.successful)}</span>${c.reasons.notes.map((n) => `<br><span class="muted">${esc(n)}</span>`).join('')}</th></tr>`);
    for (const s of c.sets) rows.push(setRow(s));
  }
  if (data.orphans.length) {
    rows.push('<tr class="group"><th colspan="8" scope="rowgroup">Not in any cycle</th></tr>');
    for (const o of data.orphans) rows.push(setRow(o, o.reason));
  }
  if (rows.length === 0) return '';
  return (
    `<table class="sets-table" aria-label="SETs by cycle"><thead><tr><th scope="col">SET</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Size</th><th scope="col">Complete</th><th scope="col">Ended</th><th scope="col">Copies</th><th scope="col">Notes</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function setRow(s: ReportSet, reason?: string): string {
  const notes = [
    ...(s.integrity === 'corrupt' ? ['<strong class="mk-bad">corrupt database</strong>'] : []),
    ...(s.inNewestRestorablePoint ? ['newest restorable point'] : []),
    ...(s.verified ? [`verified ${esc(s.verified.result)} ${esc(time(s.verified.at))}`] : []),
    ...(reason ? [esc(reason)] : []),
    ...s.problems.map((p) => `<span class="mk-bad">${esc(p)}</span>`),
  ];
  return (
    `<tr data-set="${esc(s.setName)}"><th scope="row">${esc(s.setName)}</th><td>${esc(s.backupType)}</td><td>${statusBadge(s.status)}</td><td class="num">${esc(bytes(s.bytes))}</td>` +
    `<td>${s.complete ? 'yes' : '<strong>no (no manifest)</strong>'}</td><td>${esc(time(s.endTime))}</td><td>${esc(s.copies.join(', ') || '—')}</td><td>${notes.join('; ')}</td></tr>`
  );
}

function retentionSection(data: ReportData): string {
  const r = data.retention;
  const head = `<section id="retention" aria-labelledby="retention-h"><h2 id="retention-h">Retention verdicts (dry run)</h2>`;
  if (r.error) return `${head}<p class="bad-line">Retention could not be planned: ${esc(r.error)}</p></section>`;
  const rows = r.verdicts.map(
    (v) =>
      `<tr class="verdict-${v.action}" data-set="${esc(v.setName)}" data-action="${v.action}" data-code="${esc(v.code)}"><th scope="row">${esc(v.setName)}</th><td>${esc(v.backupType)}</td><td>${statusBadge(v.status)}</td>` +
      `<td><span class="badge ${v.action === 'keep' ? 'act-keep' : 'act-expire'}">${v.action}</span></td><td><code>${esc(v.code)}</code></td><td>${esc(v.reason)}</td></tr>`,
  );
  return (
    head +
    `<p class="note">What <code>commserve-dr prune</code> would do now with RetainCycles ${r.settings.RetainCycles} and SetLifeSpanForFailedDR ${r.settings.SetLifeSpanForFailedDR} days${r.boundary ? `; the oldest retained cycle starts at ${esc(r.boundary)}` : ''}. This report deletes nothing.</p>` +
    (rows.length
      ? `<table><thead><tr><th scope="col">SET</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Verdict</th><th scope="col">Rule</th><th scope="col">Reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      : '<p>No SETs.</p>') +
    '</section>'
  );
}

function historySection(data: ReportData): string {
  const h = data.history;
  const rows = h.jobs.map((j) => {
    const type = j.requestedType !== j.backupType ? `${j.backupType} (requested ${j.requestedType})` : j.backupType;
    const events = j.events.map((e) => `<li class="ev-${e.level}"><strong>${esc(e.level)}</strong> <code>${esc(e.code)}</code> ${esc(e.message)}</li>`).join('');
    return (
      `<tr class="job" data-job-id="${j.jobId ?? ''}" data-status="${esc(j.status)}"><th scope="row">${esc(j.jobId ?? '—')}</th><td>${esc(type)}</td><td>${statusBadge(j.status)}</td>` +
      `<td>${esc(time(j.startTime))}</td><td>${j.endTimeAtLeast ? '<span title="killed; found dead later by the next job: it ended at or after this time">≥ </span>' : ''}${esc(time(j.endTime))}</td><td class="num">${esc(j.durationMs === null ? '—' : formatDuration(j.durationMs))}</td><td class="num">${esc(bytes(j.bytes))}</td>` +
      `<td>${esc(j.copies.join(', ') || '—')}</td><td>${events ? `<ul class="events">${events}</ul>` : ''}</td></tr>`
    );
  });
  return (
    `<section id="history" aria-labelledby="history-h"><h2 id="history-h">Job history</h2>` +
    `<p class="note">The ${h.jobs.length} newest of ${h.total} job${h.total === 1 ? '' : 's'}, newest first (limit ${h.limit}).${h.hotSiteUnavailable ? ` Hot-site mirror not read: ${esc(h.hotSiteUnavailable)}.` : ''}</p>` +
    (rows.length
      ? `<table><thead><tr><th scope="col">Job</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Start</th><th scope="col">End</th><th scope="col">Duration</th><th scope="col">Bytes</th><th scope="col">Copies</th><th scope="col">Warnings and errors</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      : '<p>No jobs recorded yet.</p>') +
    '</section>'
  );
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans","Liberation Sans",Arial,sans-serif;color:#1f2328;background:#fff}
header{padding:20px 28px 14px;border-bottom:1px solid #d0d7de;background:#f6f8fa}
h1{margin:0 0 4px;font-size:24px}
h2{font-size:18px;margin:0 0 8px}
main{padding:18px 28px 32px}
.muted{color:#57606a}
.meta{margin:0;color:#57606a}
code{font-family:"DejaVu Sans Mono","Liberation Mono",Consolas,monospace;font-size:12.5px;background:#f6f8fa;padding:0 3px;border-radius:3px}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:14px;margin-bottom:22px}
.card{border:1px solid #d0d7de;border-left-width:6px;border-radius:8px;padding:12px 14px;background:#fff}
.card h2{font-size:14px;text-transform:uppercase;letter-spacing:.04em;color:#57606a;margin:0 0 6px}
.card-good{border-left-color:#1a7f37}.card-bad{border-left-color:#cf222e;background:#fff5f5}.card-warn{border-left-color:#9a6700;background:#fffdf0}.card-neutral{border-left-color:#0969da}
.big{font-size:28px;font-weight:700;margin:0;line-height:1.2}
.big.compact{font-size:22px;line-height:1.5}
.verdict{margin:2px 0 6px;font-weight:600}
.verdict.good{color:#1a7f37}.verdict.bad{color:#cf222e}.verdict.warn{color:#9a6700}
.small{font-size:12.5px;margin:4px 0;color:#424a53}
section{margin-bottom:26px}
.scroll{overflow-x:auto;border:1px solid #d0d7de;border-radius:8px;padding:6px;background:#fff}
svg.timeline{display:block;font-family:system-ui,-apple-system,"Segoe UI","DejaVu Sans","Liberation Sans",Arial,sans-serif}
.row-bg{fill:#f6f8fa;stroke:#d8dee4}
.row-open{fill:#f0f7ff;stroke:#54aeff}
.chain{stroke:#8c959f;stroke-width:3;stroke-dasharray:2 4}
.t-row{font-size:14px;font-weight:700;fill:#1f2328}
.t-row-detail{font-weight:400;fill:#57606a;font-size:12.5px}
.t-name{font-size:13.5px;font-weight:700;fill:#1f2328}
.t-type{font-size:11px;font-weight:700;fill:#57606a;letter-spacing:.06em}
.t-status{font-size:13px;font-weight:700}
.t-meta{font-size:12.5px;fill:#424a53}
.t-mark{font-size:11.5px;font-weight:600}
.mk-point{fill:#0550ae;color:#0550ae}
.mk-good{fill:#1a7f37;color:#1a7f37}
.mk-bad{fill:#cf222e;color:#cf222e}
.mk-expire{fill:#57606a;color:#57606a}
.legend{list-style:none;padding:0;margin:8px 0 12px;display:flex;flex-wrap:wrap;gap:6px 18px;font-size:12.5px}
.legend li{display:flex;align-items:center;gap:6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #d8dee4;vertical-align:top}
thead th{background:#f6f8fa;font-weight:600;border-bottom:2px solid #d0d7de}
tr.group th{background:#eaeef2;font-weight:600}
td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid;white-space:nowrap}
.st-ok{background:#dafbe1;border-color:#1a7f37;color:#0f5323}
.st-errors{background:#fff8c5;border-color:#9a6700;color:#6b4800}
.st-failed{background:#ffebe9;border-color:#cf222e;color:#8c1018}
.st-killed{background:#fbefff;border-color:#8250df;color:#512a97}
.st-running{background:#ddf4ff;border-color:#0969da;color:#0a3069}
.st-unknown{background:#f6f8fa;border-color:#6e7781;color:#24292f}
.act-keep{background:#dafbe1;border-color:#1a7f37;color:#0f5323}
.act-expire{background:#eaeef2;border-color:#6e7781;color:#24292f}
.note{color:#424a53;margin:0 0 8px}
.ok-line{color:#1a7f37;font-weight:600}
.bad-line{color:#cf222e;font-weight:600}
ul.events,ul.problems{margin:0;padding-left:16px}
.ev-error strong{color:#cf222e}.ev-warning strong{color:#9a6700}
footer{padding:12px 28px 24px;color:#57606a;font-size:12px;border-top:1px solid #d0d7de}
@media print{.scroll{overflow:visible}.cards{grid-template-columns:repeat(2,1fr)}}
`;

/**
 * Renders the report page from its data (pure, deterministic).
 * @returns a complete HTML5 document with no script and no external reference.
 */
export function renderReportHtml(data: ReportData): string {
  const setCount = data.cycles.reduce((n, c) => n + c.sets.length, 0) + data.orphans.length;
  const unavailable = data.hotSiteUnavailable ? `<p class="bad-line">Hot-site not listed: ${esc(data.hotSiteUnavailable)}. SETs below are from the phase-1 destination only.</p>` : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>Recovery readiness · ${esc(data.bucket)} · ${esc(time(data.generatedAt))}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    `<body data-generated-at="${esc(data.generatedAt)}">`,
    '<header>',
    '<h1>CommServe recovery readiness</h1>',
    `<p class="meta">Generated ${esc(time(data.generatedAt))} · hot-site bucket <code>${esc(data.bucket)}</code> · phase-1 destination <code>${esc(data.phase1Destination)}</code> · ${setCount} SET${setCount === 1 ? '' : 's'} in ${data.cycles.length} cycle${data.cycles.length === 1 ? '' : 's'}</p>`,
    '</header>',
    '<main>',
    unavailable,
    `<div class="cards">${rpoCard(data)}${verificationCard(data)}${alarmsCard(data)}${retentionCard(data)}</div>`,
    '<section id="timeline" aria-labelledby="timeline-h">',
    '<h2 id="timeline-h">Timeline of SETs by cycle</h2>',
    legend(),
    `<div class="scroll">${timelineSvg(data)}</div>`,
    '</section>',
    alarmsSection(data.alarms),
    `<section id="sets" aria-labelledby="sets-h"><h2 id="sets-h">SETs</h2>${setsTable(data) || '<p>No SETs yet.</p>'}</section>`,
    retentionSection(data),
    historySection(data),
    '</main>',
    `<footer>commserve-dr recovery-readiness report · report format ${data.formatVersion} · all times UTC · self-contained page: no script, no network. The RPO is the age of the newest restorable point (a successful FULL plus the newest successful DIFFERENTIAL of its cycle); over ${data.rpo.thresholdHours} hours the <code>NoSuccessfulDrBackup</code> alarm fires.</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
