/**
 * The manifest hash chain (issue 21 item 5): every manifest records the SET name and SHA-256 of the previous committed
 * SET's manifest at the same hot-site (`previousManifest`), so a manifest replaced after the fact — even together with
 * files that are consistent with it — no longer matches what its successor recorded, and a SET slipped in between two
 * others is not named by its successor. This module is the pure check over the manifests of one copy (the hot-site,
 * the phase-1 destination, a `--from` folder); reading them is the caller's.
 *
 * Rules (links in job-id order):
 * - **changed**: a successor names a predecessor that is present, and the predecessor's manifest bytes have another
 *   SHA-256 than the one recorded → the predecessor's manifest was replaced after its successor was written;
 * - **not in chain**: a SET present between a successor and the predecessor it names (the successor skips it) → that
 *   SET was added after its successor, outside the agent's normal sequence;
 * - **unlinked**: a manifest without `previousManifest` after one that has it → the chain was cut (a manifest written
 *   without the field, as an old agent or a forger would);
 * - a named predecessor that is absent (expired by retention, never copied here) is not a break: the chain starts
 *   after it. Old manifests without the field are readable; the chain starts at the first one that has it.
 */
import { createHash } from 'node:crypto';
import { parseSetName } from './set-id';

/** SHA-256 (lowercase hex) of a manifest's exact bytes: what a successor records. */
export function manifestSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** One manifest of a copy, as the chain sees it. */
export interface ChainLink {
  jobId: number;
  setName: string;
  /** SHA-256 (hex) of this manifest's bytes at this copy. */
  sha256: string;
  /** What this manifest recorded about its predecessor (`manifest.previousManifest`), when it has the field. */
  previous?: { setName: string; sha256: string };
}

/** One break of the chain. */
export interface ChainBreak {
  kind: 'changed' | 'not-in-chain' | 'unlinked';
  /** The SET whose manifest cannot be trusted (the replaced predecessor, the slipped-in SET, the unlinked one). */
  setName: string;
  /** The successor whose record shows it. */
  witness: string;
  /** Operator-readable sentence. */
  message: string;
}

/** What {@link checkManifestChain} found. */
export interface ChainReport {
  /** SETs with a manifest that were looked at. */
  sets: number;
  /** Links whose recorded predecessor was present and matched. */
  verifiedLinks: number;
  /** The first SET whose predecessor record could be checked (the chain starts there), or null. */
  startsAt: string | null;
  breaks: ChainBreak[];
}

const short = (hex: string) => `${hex.slice(0, 12)}…`;

/**
 * Checks the chain over the manifests of one copy (see the module comment). Never throws.
 * @param links every SET with a manifest at that copy, any order.
 */
export function checkManifestChain(links: readonly ChainLink[]): ChainReport {
  const sorted = [...links].sort((a, b) => a.jobId - b.jobId);
  const byName = new Map(sorted.map((l) => [l.setName, l]));
  const breaks: ChainBreak[] = [];
  let verifiedLinks = 0;
  let startsAt: string | null = null;
  let chained = false;
  for (const [i, link] of sorted.entries()) {
    if (!link.previous) {
      if (chained) {
        breaks.push({
          kind: 'unlinked',
          setName: link.setName,
          witness: link.setName,
          message: `${link.setName}'s manifest records no predecessor although earlier manifests do: it was written outside the chain (replaced, or by another writer)`,
        });
      }
      continue;
    }
    chained = true;
    const previousJob = parseSetName(link.previous.setName);
    const predecessor = byName.get(link.previous.setName);
    if (predecessor) {
      if (predecessor.sha256 !== link.previous.sha256) {
        breaks.push({
          kind: 'changed',
          setName: predecessor.setName,
          witness: link.setName,
          message: `${predecessor.setName}'s manifest has SHA-256 ${short(predecessor.sha256)}, but ${link.setName} recorded ${short(link.previous.sha256)}: it was replaced after ${link.setName} was written`,
        });
      } else {
        verifiedLinks++;
        startsAt ??= predecessor.setName;
      }
    } else {
      startsAt ??= link.setName;
    }
    // SETs between the named predecessor and this one were not in the chain when this manifest was written.
    for (let j = i - 1; j >= 0 && previousJob !== undefined && sorted[j].jobId > previousJob; j--) {
      breaks.push({
        kind: 'not-in-chain',
        setName: sorted[j].setName,
        witness: link.setName,
        message: `${sorted[j].setName} is not in the manifest chain: ${link.setName} names ${link.previous.setName} as its predecessor, so ${sorted[j].setName} was added afterwards`,
      });
    }
  }
  return { sets: sorted.length, verifiedLinks, startsAt, breaks };
}

/** The SETs a chain report says cannot be trusted (set name → reason), for choosing or refusing a point. */
export function untrustedSets(report: ChainReport): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of report.breaks) if (!out.has(b.setName)) out.set(b.setName, b.message);
  return out;
}

/** One line for `sets`/`verify`/`recover`: intact (with how many links were checked) or the breaks. */
export function describeChain(report: ChainReport, where: string): string {
  if (report.breaks.length > 0) return `manifest chain at ${where} is BROKEN: ${report.breaks.map((b) => b.message).join('; ')}`;
  if (report.startsAt === null) return `manifest chain at ${where}: no manifest records a predecessor yet (${report.sets} SET(s))`;
  return `manifest chain at ${where}: intact from ${report.startsAt} (${report.verifiedLinks} link(s) checked, ${report.sets} SET(s))`;
}
