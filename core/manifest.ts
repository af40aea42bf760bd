/**
 * The SET manifest (`manifest.json`, SPEC §3): written last, its presence makes a SET complete.
 *
 * It records what is needed to validate, archive, retain and restore the SET without reading it:
 * job id, backup type, cycle, engine identity, integrity result, and for every file its name,
 * size in bytes, SHA-256 and the checksum S3 will report for it.
 *
 * The manifest never contains credentials or connection strings.
 */
import { z } from 'zod';
import { ManifestError } from './errors';
import { isSafeFileName, MANIFEST_FILE } from './hotsite-layout';
import { BackupType, legacySetName, parseSetName, setName } from './set-id';

/** Current manifest format version. Readers accept versions ≤ this one. */
export const MANIFEST_FORMAT_VERSION = 1;
/** Manifests larger than this are refused before parsing (bytes). */
export const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (SHA-256)');
const isoUtc = z.string().refine((s) => /Z$/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 UTC timestamp');

/** What a file in a SET holds. */
export const FileRole = z.enum(['database', 'registry', 'firewall', 'sidecar', 'log']);
export type FileRole = z.infer<typeof FileRole>;

/** One file of the SET. */
export const ManifestFileSchema = z.object({
  /** Plain file name inside the SET folder (never a path). */
  name: z.string().refine(isSafeFileName, { error: (issue) => `unsafe file name ${JSON.stringify(issue.input)} refused: must be a plain file name (no path separators, not . or .., no drive)` }),
  role: FileRole,
  /** Size in bytes. */
  size: z.number().int().nonnegative(),
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: sha256Hex,
  /**
   * The SHA-256 checksum S3 reports for the uploaded object (HeadObject with ChecksumMode ENABLED):
   * base64 of the file's SHA-256 for a single PUT, or `base64(SHA-256(part digests…))-N` for a
   * multipart upload of N parts of `partSize` bytes. Lets phase 2 validate without downloading.
   */
  s3: z
    .object({
      partSize: z.number().int().positive(),
      checksumSHA256: z.string().regex(/^[A-Za-z0-9+/]{43}=(-\d+)?$/),
    })
    .optional(),
  /**
   * Present when the file is stored compressed (setting `DumpCompression`): `size`, `sha256` and `s3` then describe
   * the stored (compressed) bytes — what is on the phase-1 destination and at the hot-site — and this object the
   * content a restore gets back after decompressing. Absent: the file is stored as is.
   */
  compression: z
    .object({
      /** `brotli` (RFC 7932), Node's zlib; the only one Node 20 has that is both fast and strong (no zstd before Node 22.15). */
      algorithm: z.literal('brotli'),
      /** Brotli quality used (0–11). */
      level: z.number().int().min(0).max(11),
      /** Size of the uncompressed content, bytes. */
      contentSize: z.number().int().nonnegative(),
      /** SHA-256 of the uncompressed content, lowercase hex. */
      contentSha256: sha256Hex,
    })
    .strict()
    .optional(),
});
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

/** Size (bytes) and SHA-256 (hex) of what a restore gets from a manifest file: the uncompressed content. */
export function fileContent(file: ManifestFile): { size: number; sha256: string } {
  return file.compression ? { size: file.compression.contentSize, sha256: file.compression.contentSha256 } : { size: file.size, sha256: file.sha256 };
}

/** Result of the database integrity check (SPEC §4.2 step 1). */
export const IntegritySchema = z.object({
  /** `ok`; `corrupt` (damage found, the SET is flagged); `check-failed` (the check itself could not run); `skipped`. */
  status: z.enum(['ok', 'corrupt', 'check-failed', 'skipped']),
  /** The check's own words, capped (e.g. "Tree 2 page 65 cell 0: Extends off end of page"). */
  messages: z.array(z.string()).max(1000),
  durationMs: z.number().nonnegative(),
  /**
   * SHA-256 (lowercase hex) of the exact database image this check ran on and passed (`status` `ok`), when that is
   * known: a SQLite FULL's dump (its content), a DIFFERENTIAL's reconstructed image when the check and the dump read
   * the same state of the database (issue 15). Absent: the check covered no recorded image (a LOG point, `--shrink`,
   * a WAL database, SQL Server, older agents). A recovery that rebuilds an image with this SHA-256 need not check it again.
   */
  checkedSha256: sha256Hex.optional(),
});
export type Integrity = z.infer<typeof IntegritySchema>;

/** The database engine and the identity of the database dumped. */
export const DatabaseIdentitySchema = z.object({
  engine: z.enum(['sqlite', 'sqlserver']),
  /** Database name (SQL Server) or file name (SQLite) — never a connection string. */
  name: z.string(),
  /** SQLite: page size in bytes and page count of the dumped database. */
  pageSize: z.number().int().positive().optional(),
  pageCount: z.number().int().nonnegative().optional(),
  /** Engine-specific backup metadata (e.g. SQL Server LSNs, differential base GUID). */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  /**
   * SQL Server: other tools' non-COPY_ONLY FULL/DIFFERENTIAL backups found in msdb at backup time, and whose chain each
   * belongs to (`commserve-dr` or `other`; docs/SQLSERVER.md "Coexistence"). Absent when none.
   */
  otherBackups: z
    .array(
      z.object({
        type: z.enum(['FULL', 'DIFFERENTIAL']),
        backupSetGuid: z.string(),
        finished: z.string().nullable(),
        userName: z.string().nullable(),
        device: z.string().nullable(),
        chain: z.enum(['commserve-dr', 'other']),
        baseGuid: z.string().nullable(),
      }),
    )
    .optional(),
  /**
   * SQL Server: the database users mapped to server logins at backup time (recovery re-maps orphaned users and lists
   * the logins the database needs). Absent when not readable.
   */
  databaseUsers: z.array(z.object({ user: z.string(), type: z.string(), sid: z.string().nullable(), login: z.string().nullable() })).optional(),
});
export type DatabaseIdentity = z.infer<typeof DatabaseIdentitySchema>;

/** A notable event of the job, kept in the manifest and the job record. */
export const JobEventSchema = z.object({
  time: isoUtc,
  level: z.enum(['info', 'warning', 'error']),
  code: z.string(),
  message: z.string(),
});
export type JobEvent = z.infer<typeof JobEventSchema>;

export const ManifestSchema = z
  .object({
    formatVersion: z.number().int().min(1).max(MANIFEST_FORMAT_VERSION),
    product: z.literal('commserve-dr'),
    jobId: z.number().int().positive(),
    setName: z.string(),
    backupType: z.enum([BackupType.Full, BackupType.Differential, BackupType.Log]),
    /** Job id of the cycle's FULL (equals jobId for a FULL). */
    cycleId: z.number().int().positive(),
    /** SET name of the FULL a DIFFERENTIAL or LOG is based on; null for a FULL. */
    baseFullSet: z.string().nullable(),
    /**
     * LOG only (SPEC §4.5): the SET name of the point this LOG continues — the cycle's FULL, a DIFFERENTIAL or a LOG
     * of the same cycle, always an earlier job. Recovery to this LOG replays the chain back to its FULL (or
     * DIFFERENTIAL); a missing or damaged link is a gap. Absent for a FULL or DIFFERENTIAL.
     */
    previousSet: z.string().optional(),
    /**
     * The moment the database state in this SET was captured (the consistent snapshot's end, ISO-8601 UTC): what
     * `recover --at` compares with. Absent in manifests written before LOG points existed (the start time is then the
     * best lower bound).
     */
    pointTime: isoUtc.optional(),
    /** Why a requested DIFFERENTIAL ran as a FULL, when it did. */
    promotion: z.object({ requested: z.literal(BackupType.Differential), reason: z.string() }).nullable().default(null),
    startTime: isoUtc,
    endTime: isoUtc,
    agentVersion: z.string(),
    hostname: z.string(),
    database: DatabaseIdentitySchema,
    integrity: IntegritySchema,
    registry: z.object({
      store: z.string(),
      exportedKeys: z.array(z.string()),
      missingKeys: z.array(z.string()),
    }),
    firewall: z.object({ present: z.array(z.string()), missing: z.array(z.string()) }),
    files: z.array(ManifestFileSchema).min(1),
    events: z.array(JobEventSchema).default([]),
    /**
     * The manifest hash chain (issue 21, `core/manifest-chain.ts`): the SET name and SHA-256 (hex, of the exact
     * bytes) of the manifest of the previous committed SET at this hot-site — whatever its type. A manifest replaced
     * after the fact no longer matches what its successor recorded. Absent in manifests written before the chain
     * existed (the chain starts where the field starts) and in the first SET.
     */
    previousManifest: z.object({ setName: z.string(), sha256: sha256Hex }).strict().optional(),
    /** Format of the cycle's DIFFERENTIAL dumps (SQLite: `CSDRDF01` version 1, described in RECOVERY.md), in every SQLite SET. */
    differentialFormat: z.object({ name: z.string().min(1), version: z.number().int().positive() }).optional(),
  })
  .superRefine((m, ctx) => {
    if (parseSetName(m.setName) !== m.jobId) {
      ctx.addIssue({ code: 'custom', path: ['setName'], message: `must be ${setName(m.jobId)} (or its legacy spelling ${legacySetName(m.jobId)}) for job ${m.jobId}` });
    }
    if (m.backupType === BackupType.Full) {
      if (m.cycleId !== m.jobId) ctx.addIssue({ code: 'custom', path: ['cycleId'], message: 'a FULL starts its own cycle: cycleId must equal jobId' });
      if (m.baseFullSet !== null) ctx.addIssue({ code: 'custom', path: ['baseFullSet'], message: 'must be null for a FULL' });
    } else {
      if (m.cycleId >= m.jobId) ctx.addIssue({ code: 'custom', path: ['cycleId'], message: `a ${m.backupType} belongs to an earlier FULL` });
      // The FULL's name as it was written: legacy (`SET_042`) or new (`SET_0000042`), whichever the cycle's FULL has.
      if (m.baseFullSet === null || parseSetName(m.baseFullSet) !== m.cycleId) {
        ctx.addIssue({ code: 'custom', path: ['baseFullSet'], message: `must be ${setName(m.cycleId)} or ${legacySetName(m.cycleId)} (the cycle's FULL, job ${m.cycleId}, as it was written)` });
      }
    }
    if (m.backupType === BackupType.Log) {
      const previous = m.previousSet === undefined ? undefined : parseSetName(m.previousSet);
      if (previous === undefined || previous < m.cycleId || previous >= m.jobId) {
        ctx.addIssue({ code: 'custom', path: ['previousSet'], message: `a LOG names its predecessor: a SET of cycle ${m.cycleId} before ${m.setName}` });
      }
    } else if (m.previousSet !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['previousSet'], message: 'only a LOG names a predecessor' });
    }
    if (m.previousManifest !== undefined) {
      const previous = parseSetName(m.previousManifest.setName);
      if (previous === undefined || previous >= m.jobId) {
        ctx.addIssue({ code: 'custom', path: ['previousManifest', 'setName'], message: `must name an earlier SET than ${m.setName}` });
      }
    }
    const seen = new Set<string>();
    for (const [i, f] of m.files.entries()) {
      if (f.name === MANIFEST_FILE) ctx.addIssue({ code: 'custom', path: ['files', i, 'name'], message: 'the manifest does not list itself' });
      if (seen.has(f.name.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['files', i, 'name'], message: `duplicate file ${f.name}` });
      seen.add(f.name.toLowerCase());
    }
    if (!m.files.some((f) => f.role === 'database')) {
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'a SET must contain a database dump' });
    }
    if (Date.parse(m.endTime) < Date.parse(m.startTime)) {
      ctx.addIssue({ code: 'custom', path: ['endTime'], message: 'ends before it starts' });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;
/** Manifest fields as supplied by a writer (defaults may be omitted). */
export type ManifestInput = z.input<typeof ManifestSchema>;

/** Formats zod issues as `path: message` lines. */
function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

/**
 * Validates a manifest object.
 * @throws ManifestError `MANIFEST_INVALID` listing every problem (with field paths) in `context.issues`.
 */
export function validateManifest(value: unknown, source = MANIFEST_FILE): Manifest {
  const result = ManifestSchema.safeParse(value);
  if (!result.success) {
    const issues = describeIssues(result.error);
    throw new ManifestError('MANIFEST_INVALID', `${source} is not a valid manifest: ${issues.slice(0, 3).join('; ')}${issues.length > 3 ? ` (+${issues.length - 3} more)` : ''}`, {
      context: { issues, source },
    });
  }
  return result.data;
}

/**
 * Parses manifest bytes (UTF-8 JSON) and validates them.
 * @throws ManifestError `MANIFEST_TOO_LARGE` (over 16 MiB), `MANIFEST_MALFORMED` (not JSON) or `MANIFEST_INVALID`.
 */
export function parseManifest(bytes: Buffer | string, source = MANIFEST_FILE): Manifest {
  const length = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (length > MANIFEST_MAX_BYTES) {
    throw new ManifestError('MANIFEST_TOO_LARGE', `${source} is ${length} bytes, over the ${MANIFEST_MAX_BYTES}-byte limit`);
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (error) {
    throw new ManifestError('MANIFEST_MALFORMED', `${source} is not valid JSON`, { cause: error, context: { source } });
  }
  return validateManifest(value, source);
}

/**
 * Serialises a manifest (validated first) as pretty UTF-8 JSON with a trailing newline.
 * @throws ManifestError `MANIFEST_INVALID` when the value does not satisfy the schema.
 */
export function serializeManifest(manifest: ManifestInput): Buffer {
  const valid = validateManifest(manifest);
  return Buffer.from(`${JSON.stringify(valid, null, 2)}\n`, 'utf8');
}

/** Total bytes of the files a manifest lists (excluding the manifest itself). */
export function manifestBytes(manifest: Manifest): number {
  return manifest.files.reduce((sum, f) => sum + f.size, 0);
}
