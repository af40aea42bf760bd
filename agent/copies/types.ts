/**
 * A copy of the SETs (SPEC §6.1, issue 15 "Design"): one interface — list SETs, read a manifest, open a file, check
 * a file against its manifest entry — with one driver per place a SET lives: a folder of `SET_<n>/` folders on disk
 * (the phase-1 destination, or any `--from DIR`), the hot-site's `sets/`, and its `archive/` (Glacier classes,
 * restored before reading). Recovery, fetch, verify and `sets` read through it and never ask where a file lives;
 * as pgBackRest's storage drivers (posix, s3) sit behind one interface.
 *
 * Copies are tried in {@link COPY_ORDER}: the cheapest first (local disk, then the hot-site, then the archive).
 */
import type { Readable } from 'node:stream';
import type { Manifest, ManifestFile } from '#core/manifest';

/** Where a copy lives. */
export type CopyKind = 'local' | 'hot-site' | 'archive';

/** The order copies are tried in: cheapest (no transfer, no restore) first. */
export const COPY_ORDER: readonly CopyKind[] = ['local', 'hot-site', 'archive'];

/** One file of one SET in one copy, as listed. */
export interface CopyObject {
  copy: CopyKind;
  jobId: number;
  setName: string;
  file: string;
  /** Bytes, as listed (a folder's `stat`, S3's listing). */
  size: number;
  /** S3 storage class (`STANDARD` when S3 says nothing); `LOCAL` for a file on disk. */
  storageClass: string;
  /** The S3 key (`sets/SET_1/…`, `archive/SET_1/…`), or the absolute path of a file on disk. */
  key: string;
}

/** Every listed file of one SET in one copy, by file name. */
export type CopySetFiles = Map<string, CopyObject>;

/** Whether an object can be read now (archive classes must be restored first). */
export type ObjectReadiness = 'readable' | 'restored' | 'restore-needed' | 'restoring';

/** A manifest as read from one copy. */
export interface ManifestRead {
  manifest: Manifest | null;
  /** `read`; `missing` (no manifest: incomplete SET); `pending` (archived, not restored yet); `invalid`. */
  manifestState: 'read' | 'missing' | 'pending' | 'invalid';
  problems: string[];
}

/** The result of checking a file of a copy against its manifest entry. */
export interface FileCheck {
  ok: boolean;
  /**
   * `sha256` (every byte hashed), `s3-checksum` (S3's stored SHA-256 checksum, HeadObject), `size` (only the size
   * could be compared: an archived object not restored, or an S3 object without a stored checksum).
   */
  method: 'sha256' | 's3-checksum' | 'size';
  /** What differs, when not ok (`missing`, `size 12, manifest 13`, `SHA-256 … ≠ manifest …`). */
  detail?: string;
}

/** One place holding SETs. Implementations: `FolderCopy`, `HotSiteCopy`, `ArchiveCopy`. */
export interface Copy {
  readonly kind: CopyKind;
  /** Where, for people: `local /srv/dr`, `hot-site s3://bucket/sets/`, `archive s3://bucket/archive/`. */
  readonly label: string;
  /** Where a file of a SET is (or would be) in this copy: a path on disk, or an S3 key (`sets/SET_1/…`). */
  keyOf(setName: string, file: string): string;
  /**
   * Every SET of the copy with its files (a folder or prefix that is not a SET is ignored).
   * @throws a CommserveDrError naming the place when it cannot be listed (e.g. HotSiteError `HOTSITE_UNREACHABLE`).
   */
  listSets(): Promise<Map<number, CopySetFiles>>;
  /** Reads and validates the manifest of a SET listed with `files` (never throws for a malformed one: `invalid`). */
  readManifest(setName: string, files: CopySetFiles): Promise<ManifestRead>;
  /** Whether the object can be read now. */
  readiness(object: CopyObject): Promise<ObjectReadiness>;
  /** A stream of the object's stored bytes. @throws when it cannot be opened (archived: HotSiteError `OBJECT_ARCHIVED`). */
  open(object: CopyObject): Promise<Readable>;
  /**
   * Checks the object against its manifest entry without keeping it: `deep` hashes every byte where that is the
   * only proof (a file on disk); S3 copies use HeadObject (size, stored checksum).
   */
  check(object: CopyObject | undefined, entry: ManifestFile, deep: boolean): Promise<FileCheck>;
}

/** The copies in use, by kind (at most one of each). */
export type Copies = ReadonlyMap<CopyKind, Copy>;

/**
 * One copy as listed once for a whole command (`sets` reads each copy's listing for the inventory, the per-copy states
 * and the manifest chain): its SETs, or why it could not be listed.
 */
export type CopyListing = { sets: Map<number, CopySetFiles> } | { reason: string };
