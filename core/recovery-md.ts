/**
 * `RECOVERY.md` (issue 16 item 7, SPEC §6.1 break-glass): what an operator with only the AWS CLI and standard tools needs
 * to rebuild the CommServe database from the hot-site — the layout, the newest restorable point with every file's size
 * and SHA-256, the `aws s3` commands to fetch them, and the DIFFERENTIAL format precisely enough to apply by hand.
 * Pure: the agent writes the text at the hot-site root and in the phase-1 destination after every job.
 */
import { fileContent, type Manifest } from './manifest';

/** Name and version of the SQLite DIFFERENTIAL format (also in every DIFFERENTIAL manifest). */
export const DIFFERENTIAL_FORMAT = { name: 'CSDRDF01', version: 1 } as const;

/** What RECOVERY.md describes. */
export interface RecoveryMdInput {
  bucket: string;
  /** When and by which job it was written. */
  generatedAt: string;
  byJob: string;
  /** The newest restorable point: its FULL's manifest and, when the point is a DIFFERENTIAL, that one's. */
  point: { full: Manifest; differential: Manifest | null } | null;
  /** SET names at the hot-site, in job order. */
  sets: string[];
}

/**
 * Decompresses a brotli file with Node.js alone (the agent's runtime, so present wherever the agent ran), for hosts
 * without the `brotli` tool: `node -e "<this>" <compressed> <out>` — file arguments, so it works from cmd.exe,
 * PowerShell and sh alike.
 */
export const NODE_BROTLI_DECOMPRESS =
  "const z=require('zlib'),f=require('fs');f.createReadStream(process.argv[1]).pipe(z.createBrotliDecompress()).pipe(f.createWriteStream(process.argv[2]))";

/** The name of a SET file as used by hand: the decompressed `<name>.raw` of a compressed dump, else the file itself. */
function byHand(m: Manifest, file: string): string {
  return m.files.find((f) => f.name === file)?.compression ? `${file}.raw` : file;
}

function fileTable(bucket: string, m: Manifest): string[] {
  const lines = [`### ${m.setName} (${m.backupType}, ended ${m.endTime})`, '', '| file | bytes | SHA-256 |', '|---|---|---|'];
  for (const f of m.files) lines.push(`| \`${f.name}\` | ${f.size} | \`${f.sha256}\` |`);
  lines.push('', '```sh', `mkdir -p ${m.setName} && aws s3 cp --recursive s3://${bucket}/sets/${m.setName}/ ${m.setName}/`);
  lines.push(`# if sets/ is gone: the archive copy (restore first from GLACIER/DEEP_ARCHIVE: aws s3api restore-object …)`);
  lines.push(`# aws s3 cp --recursive --force-glacier-transfer s3://${bucket}/archive/${m.setName}/ ${m.setName}/`);
  lines.push(`cd ${m.setName} && sha256sum ${m.files.map((f) => f.name).join(' ')} && cd ..`, '```', '');
  const compressed = m.files.filter((f) => f.compression);
  for (const f of compressed) {
    const c = fileContent(f);
    lines.push(
      `\`${f.name}\` is brotli-compressed (\`DumpCompression\`, the default): \`brotli -d -o ${f.name}.raw ${f.name}\` (Debian/Ubuntu package \`brotli\`), or with Node.js alone \`node -e "${NODE_BROTLI_DECOMPRESS}" ${f.name} ${f.name}.raw\`, gives ${c.size} bytes with SHA-256 \`${c.sha256}\`; use the .raw file below.`,
      '',
    );
  }
  return lines;
}

/** Renders RECOVERY.md. */
export function renderRecoveryMd(input: RecoveryMdInput): string {
  const { bucket, point } = input;
  const lines: string[] = [
    '# RECOVERY — CommServe DR backups (commserve-dr)',
    '',
    `Written ${input.generatedAt} by ${input.byJob}; every job rewrites it. Needs only the AWS CLI, \`sha256sum\` and Python 3 (or any language) — and, for a brotli-compressed dump (the default), \`brotli\` or Node.js.`,
    '',
    '## Layout',
    '',
    `- \`s3://${bucket}/sets/SET_<n>/\`: one SET per job \`<n>\` (the hot-site copy); \`manifest.json\` is written last — a SET without it is incomplete, never use it.`,
    `- \`s3://${bucket}/archive/SET_<n>/\`: the phase-2 copy in a Glacier class (restore before reading).`,
    `- \`s3://${bucket}/jobs/<n>.json\`: job records (status \`Completed\`, \`Completed With One or More Errors\`, \`Failed\`, \`Killed\`).`,
    '- The phase-1 destination holds the same `SET_<n>` folders and this file.',
    '- SET names: `SET_` and the job number padded to 7 digits (`SET_0000042`), so `aws s3 ls` lists them in job order up to job 9999999. SETs written before that change keep their 3-digit names (`SET_042`, `SET_1000`): `aws s3 ls` lists them out of job order (`SET_1000` before `SET_999`, `SET_998` after `SET_0001000`), so compare job numbers as numbers there (`commserve-dr sets` does). Job records keep 3 digits (`jobs/042.json`, `jobs/1000.json`).',
    '- A SET: `commserv_FULL.dmp` (FULL: the SQLite database file itself, brotli-compressed unless `DumpCompression` is `none`; the file table below says which) or `commserv_DIFF_<n>.dmp` (DIFFERENTIAL, below), `commserv_hive*.reg` (registry, import with `reg import`), `<module>.reg`, `FwPeers.txt`/`FwHosts.txt`/`FwPorts.txt`, `manifest.json` (sizes, SHA-256s, `cycleId` = the job of the cycle\'s FULL, `baseFullSet`).',
    '',
    '## Newest restorable point',
    '',
  ];
  if (!point) lines.push('None yet: no complete FULL at the hot-site.', '');
  else {
    lines.push(point.differential ? `${point.full.setName} (FULL) + ${point.differential.setName} (DIFFERENTIAL).` : `${point.full.setName} (FULL) alone.`, '');
    lines.push(...fileTable(bucket, point.full));
    if (point.differential) lines.push(...fileTable(bucket, point.differential));
    lines.push(
      point.differential
        ? `Database: apply \`${point.differential.setName}/${byHand(point.differential, `commserv_DIFF_${point.differential.jobId}.dmp`)}\` to \`${point.full.setName}/${byHand(point.full, 'commserv_FULL.dmp')}\` as below; the result's SHA-256 must equal bytes 40–71 of the DIFF.`
        : `Database: \`${point.full.setName}/${byHand(point.full, 'commserv_FULL.dmp')}\` is the database file; rename it to \`commserv.db\`.`,
      '',
    );
  }
  lines.push(
    `## DIFFERENTIAL format ${DIFFERENTIAL_FORMAT.name}, version ${DIFFERENTIAL_FORMAT.version}`,
    '',
    'All integers are unsigned big-endian. A DIFFERENTIAL holds every page of the database that differs from the cycle\'s FULL (cumulative since that FULL), so the database = FULL + one DIFFERENTIAL.',
    '',
    '| offset | size | field |',
    '|---|---|---|',
    '| 0 | 8 | magic, ASCII `CSDRDF01` |',
    '| 8 | 2 | format version (1) |',
    '| 10 | 2 | header length H in bytes (128) |',
    '| 12 | 4 | page size P in bytes |',
    '| 16 | 4 | base page count (pages of the FULL) |',
    '| 20 | 4 | new page count N (pages of the result) |',
    '| 24 | 8 | job number of the base FULL |',
    '| 32 | 8 | job number of this DIFFERENTIAL |',
    '| 40 | 32 | SHA-256 of the whole result database |',
    '| 72 | 4 | number of page records R |',
    '| 76 | 32 | SHA-256 of the base FULL file |',
    '| 108 | 20 | reserved, zero |',
    '| H | R × (4 + P) | page records in ascending order: page number (1-based, 4 bytes), then the P bytes of that page |',
    '| H + R × (4 + P) | 32 | trailer: SHA-256 of every byte before it |',
    '',
    'To apply it:',
    '1. Check the trailer (SHA-256 of the file without its last 32 bytes) and that SHA-256(FULL) equals bytes 76–107.',
    '2. Copy the FULL to the result file.',
    '3. For each record, write its P bytes at offset (page number − 1) × P of the result.',
    '4. Truncate (or extend) the result to N × P bytes.',
    '5. SHA-256(result) must equal bytes 40–71. The result is the SQLite database `commserv.db`.',
    '',
    '## SETs at the hot-site',
    '',
    input.sets.length ? input.sets.join(', ') : 'none',
    '',
  );
  return `${lines.join('\n')}\n`;
}
