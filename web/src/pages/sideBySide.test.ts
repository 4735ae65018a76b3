import { describe, expect, it } from 'vitest';
import { canvasMarks, changesEmpty, marksSummary, sideBySide, type Row } from './sideBySide';

const show = (rows: Row[]) =>
  rows.map((r) => (r.kind === 'skip' ? `~${r.skipped}` : `${r.kind[0]} ${r.left ? r.left.n + ':' + r.left.text : '-'} | ${r.right ? r.right.n + ':' + r.right.text : '-'}`));

describe('side-by-side document diff', () => {
  it('lines up unchanged lines and pairs a replaced run with its replacement', () => {
    const a = 'name: x\nblocks:\n  - type: a\n    name: one\n  - type: b\n';
    const b = 'name: x\nblocks:\n  - type: a\n    name: uno\n  - type: b\n  - type: c\n';
    expect(show(sideBySide(a, b, -1))).toEqual([
      's 1:name: x | 1:name: x',
      's 2:blocks: | 2:blocks:',
      's 3:  - type: a | 3:  - type: a',
      'c 4:    name: one | 4:    name: uno',
      's 5:  - type: b | 5:  - type: b',
      'a - | 6:  - type: c',
    ]);
  });

  it('shows removed lines on the left only, and numbers each side', () => {
    expect(show(sideBySide('a\nb\nc\nd\n', 'a\nd\n', -1))).toEqual(['s 1:a | 1:a', 'd 2:b | -', 'd 3:c | -', 's 4:d | 2:d']);
  });

  it('folds long unchanged runs, keeping context lines around a change', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const b = a.replace('l10', 'L10');
    expect(show(sideBySide(a, b, 2))).toEqual(['~8', 's 9:l8 | 9:l8', 's 10:l9 | 10:l9', 'c 11:l10 | 11:L10', 's 12:l11 | 12:l11', 's 13:l12 | 13:l12', '~7']);
  });

  it('says nothing differs for the same documents (CRLF or not)', () => {
    expect(sideBySide('a\r\nb\r\n', 'a\nb\n').every((r) => r.kind === 'same' || r.kind === 'skip')).toBe(true);
    expect(sideBySide('', '')).toEqual([]);
  });

  it('keeps the order of interleaved changes', () => {
    const rows = sideBySide('a\nb\nc\nd\ne', 'a\nB\nc\nD\ne', -1);
    expect(rows.map((r) => r.kind)).toEqual(['same', 'change', 'same', 'change', 'same']);
  });
});

describe('canvas marks of a comparison', () => {
  it('marks added, changed, renamed and moved blocks and lists the removed ones', () => {
    const m = canvasMarks({
      added: [{ name: 'new', type: 'file_write' }],
      removed: [{ name: 'gone', type: 'sftp_read' }],
      renamed: [{ from: 'old', to: 'renamed', type: 'jslt_transform' }],
      changed: [
        { name: 'cfg', type: 'http_write', fields: [{ path: 'config.apiEndPoint' }] },
        { name: 'renamed', type: 'jslt_transform', moved: true },
        { name: 'wired', type: 'jslt_transform', relationsAdded: [{ to: 'new' }] },
        { name: 'slid', type: 'jslt_transform', moved: true },
      ],
      moved: ['pos'],
    });
    expect(Object.fromEntries(m.marks)).toEqual({ new: 'added', renamed: 'renamed', cfg: 'changed', wired: 'changed', slid: 'moved', pos: 'moved' });
    expect(m.removed).toEqual(['gone']);
    expect(m.renamedFrom.get('renamed')).toBe('old');
    expect(marksSummary(m)).toBe('1 added, 2 changed, 1 renamed, 2 moved only, 1 removed (gone)');
    expect(marksSummary(canvasMarks({}))).toBe('no block differs');
    expect(changesEmpty({})).toBe(true);
    expect(changesEmpty({ added: [], moved: [] })).toBe(true);
    expect(changesEmpty({ tagsAdded: ['x'] })).toBe(false);
    expect(changesEmpty({ moved: ['a'] })).toBe(false);
  });
});
