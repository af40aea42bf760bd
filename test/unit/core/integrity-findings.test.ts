/**
 * What an integrity check reported, in one bounded line (core/integrity-findings.ts): the pages, b-trees, indexes,
 * tables and objects its messages name, and the first lines in its own words.
 */
import { describeIntegrityFindings, integrityFindings, MAX_LINE_CHARS } from '#core/integrity-findings';
import { describeCheckDbMessage } from '#agent/engines/sqlserver/parse';

describe('integrity findings', () => {
  it('SQLite PRAGMA integrity_check messages (several lines in one row after its "*** in database main ***" heading count one each): pages, b-trees (root pages), indexes and tables named, first three lines quoted', () => {
    const messages = [
      '*** in database main ***\nTree 2 page 65 cell 0: Extends off end of page',
      'Tree 2 page 66: btreeInitPage() returns error code 11',
      'Page 7 is never used',
      'row 3 missing from index idx_jobs_time',
      'NULL value in clients.name',
    ];
    expect(integrityFindings(messages)).toMatchObject({ problems: 5, pages: ['65', '66', '7'], trees: ['2'], indexes: ['idx_jobs_time'], tables: ['clients'] });
    expect(describeIntegrityFindings(messages)).toBe(
      '5 problems reported; pages 65, 66, 7; b-tree (root page) 2; index idx_jobs_time; table clients; first: ' +
        '"Tree 2 page 65 cell 0: Extends off end of page"; "Tree 2 page 66: btreeInitPage() returns error code 11"; "Page 7 is never used"',
    );
  });

  it('(SQL Server behaviour from the documentation: DBCC CHECKDB error 8928 names "Object ID …, index ID …" and "Page (1:153)") object IDs and file:page, not "ID" as an index', () => {
    const line = describeCheckDbMessage({ number: 8928, severity: 16, state: 1, message: 'Object ID 581577110, index ID 1, partition ID 72057594038845440, alloc unit ID 72057594039763968 (type In-row data): Page (1:153) could not be processed.  See other errors for details.' });
    const f = integrityFindings([line, '… 41 more messages']);
    expect(f).toMatchObject({ problems: 42, pages: ['1:153'], objects: ['581577110'], indexes: [] });
    expect(describeIntegrityFindings([line])).toMatch(/^1 problem reported; page 1:153; object ID 581577110; first: "Msg 8928 \(severity 16\)/);
  });

  it('is bounded: at most 8 of each list with the rest counted, three lines of at most 160 characters', () => {
    const messages = Array.from({ length: 500 }, (_, i) => `Tree 2 page ${i + 10} cell 0: ${'x'.repeat(400)}`);
    const line = describeIntegrityFindings(messages);
    expect(line).toContain('500 problems reported; pages 10, 11, 12, 13, 14, 15, 16, 17 (+492 more)');
    expect(integrityFindings(messages).firstLines.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS, MAX_LINE_CHARS]);
    expect(line.length).toBeLessThan(700);
  });

  it('no messages: "no details reported"', () => {
    expect(describeIntegrityFindings([])).toBe('no details reported');
  });
});
