/**
 * What an integrity check reported, in one bounded line for the job summary, the job record and the corruption
 * alarm: how many problems, which pages, b-trees, indexes, tables and objects they name, and the first lines in
 * the check's own words. Works on the messages engines record (`Integrity.messages`):
 * - SQLite `PRAGMA integrity_check`: "Tree 2 page 65 cell 0: Extends off end of page", "Page 7 is never used",
 *   "row 3 missing from index idx_jobs_time", "wrong # of entries in index idx_x", "NULL value in clients.name",
 *   "SQLITE_CORRUPT: database disk image is malformed";
 * - SQL Server `DBCC CHECKDB` as the engine records them: "Msg 8928 (severity 16) [object 581577110, index 1,
 *   page 1:153]: Object ID 581577110, index ID 1, …: Page (1:153) could not be processed. …".
 * Pure; never throws.
 */

/** At most this many first lines are quoted, each cut to {@link MAX_LINE_CHARS} characters. */
export const MAX_QUOTED_LINES = 3;
export const MAX_LINE_CHARS = 160;
/** At most this many pages (or b-trees, indexes, tables, objects) are listed; the rest are counted. */
export const MAX_LISTED = 8;

/** What the messages name, each list in order of first mention, without repeats. */
export interface IntegrityFindings {
  /** Problems reported (lines; a message of several lines counts each), not counting a `… N more messages` note, whose N is added. */
  problems: number;
  pages: string[];
  trees: string[];
  indexes: string[];
  tables: string[];
  objects: string[];
  /** The first lines, cut to {@link MAX_LINE_CHARS}. */
  firstLines: string[];
}

/** Collects what the integrity messages name (see the module comment). */
export function integrityFindings(messages: readonly string[]): IntegrityFindings {
  const found: IntegrityFindings = { problems: 0, pages: [], trees: [], indexes: [], tables: [], objects: [], firstLines: [] };
  const add = (list: string[], item: string) => {
    if (!list.includes(item)) list.push(item);
  };
  // SQLite puts several problems in one row, one per line, after a "*** in database main ***" heading.
  const lines = messages.flatMap((m) => m.split('\n')).filter((l) => l.trim() !== '' && !/^\*\*\* in database \S+ \*\*\*$/.test(l.trim()));
  for (const message of lines) {
    const more = /^… (\d+) more messages$/.exec(message);
    if (more) {
      found.problems += Number(more[1]);
      continue;
    }
    found.problems++;
    if (found.firstLines.length < MAX_QUOTED_LINES) found.firstLines.push(cut(message.replace(/\s+/g, ' ').trim()));
    // SQLite "page 65"; SQL Server "Page (1:153)" and the engine's "page 1:153" (file:page).
    for (const m of message.matchAll(/\bpage \(?(\d+(?::\d+)?)\b/gi)) add(found.pages, m[1]);
    for (const m of message.matchAll(/\bTree (\d+)\b/g)) add(found.trees, m[1]);
    for (const m of message.matchAll(/\bindex (?!ID\b)([A-Za-z_][\w$]*)/g)) add(found.indexes, m[1]);
    for (const m of message.matchAll(/\b(?:NULL value|non-\w+ value) in ([A-Za-z_][\w$]*)\./g)) add(found.tables, m[1]);
    for (const m of message.matchAll(/\bObject ID (-?\d+)/gi)) add(found.objects, m[1]);
  }
  return found;
}

/**
 * One line: `<n> problem(s) reported; pages 5, 65 (+2 more); b-trees 2; indexes idx_a; first: "…"; "…"`.
 * Empty messages give `no details reported`.
 */
export function describeIntegrityFindings(messages: readonly string[]): string {
  const f = integrityFindings(messages);
  if (f.problems === 0) return 'no details reported';
  const parts = [`${f.problems} problem${f.problems === 1 ? '' : 's'} reported`];
  const list = (label: string, items: string[]) => {
    if (items.length === 0) return;
    const shown = items.slice(0, MAX_LISTED).join(', ');
    parts.push(`${label} ${shown}${items.length > MAX_LISTED ? ` (+${items.length - MAX_LISTED} more)` : ''}`);
  };
  list(f.pages.length === 1 ? 'page' : 'pages', f.pages);
  list(f.trees.length === 1 ? 'b-tree (root page)' : 'b-trees (root pages)', f.trees);
  list(f.indexes.length === 1 ? 'index' : 'indexes', f.indexes);
  list(f.tables.length === 1 ? 'table' : 'tables', f.tables);
  list(f.objects.length === 1 ? 'object ID' : 'object IDs', f.objects);
  parts.push(`first: ${f.firstLines.map((l) => JSON.stringify(l)).join('; ')}`);
  return parts.join('; ');
}

function cut(line: string): string {
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS - 1)}…` : line;
}
