// @vitest-environment jsdom
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import { DataTable, nextSort, sortParam, type Column, type SortState } from './DataTable';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

interface Row {
  id: string;
  name: string;
  n: number;
}

let host: HTMLDivElement;
let root: Root;
afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

function render(rows: Row[], opts: { hideN?: boolean; sort?: SortState; onSort?: (s: SortState) => void; empty?: string } = {}) {
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
  const cols: Column<Row>[] = [
    { key: 'name', header: 'Name', sortable: true, cell: (r) => <b>{r.name}</b> },
    { key: 'n', header: 'Count', className: 'num', hidden: opts.hideN, cell: (r) => r.n },
    { key: 'plain', header: 'Plain', cell: () => 'x' },
  ];
  act(() => root.render(<DataTable label="Things" columns={cols} rows={rows} rowKey={(r) => r.id} empty={opts.empty} sort={opts.sort} onSort={opts.onSort} />));
  return {
    heads: () => [...host.querySelectorAll('th')].map((th) => th.textContent?.trim()),
    cells: () => [...host.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  };
}

describe('DataTable', () => {
  it('renders a labelled grid from column definitions, leaving hidden columns out', () => {
    const t = render([{ id: 'a', name: 'alpha', n: 1 }, { id: 'b', name: 'bravo', n: 2 }], { hideN: true });
    expect(host.querySelector('table')!.getAttribute('aria-label')).toBe('Things');
    expect(t.heads()).toEqual(['Name', 'Plain']);
    expect(t.cells()).toEqual([['alpha', 'x'], ['bravo', 'x']]);
  });

  it('puts a class on a column’s cells', () => {
    render([{ id: 'a', name: 'alpha', n: 7 }]);
    expect(host.querySelector('td.num')!.textContent).toBe('7');
  });

  it('gives rows their data attributes, headers scope and class, and a compact style', () => {
    host = document.createElement('div');
    document.body.appendChild(host);
    root = createRoot(host);
    const cols: Column<Row>[] = [
      { key: 'name', header: 'Name', cell: (r) => r.name },
      { key: 'n', header: 'Count', className: 'num', headerClassName: 'num', cell: (r) => r.n },
    ];
    act(() => root.render(<DataTable label="Rules" compact columns={cols} rows={[{ id: 'a', name: 'alpha', n: 1 }]} rowKey={(r) => r.id} rowAttrs={(r) => ({ 'data-rule': r.name })} />));
    expect(host.querySelector('table')!.className).toBe('grid compact');
    expect(host.querySelector('tr[data-rule="alpha"] td.num')!.textContent).toBe('1');
    expect([...host.querySelectorAll('th')].map((th) => [th.getAttribute('scope'), th.className])).toEqual([
      ['col', ''],
      ['col', 'num'],
    ]);
  });

  it('shows the empty state across every column', () => {
    const t = render([], { empty: 'Nothing yet.' });
    const td = host.querySelector('tbody td')!;
    expect(td.textContent).toBe('Nothing yet.');
    expect(td.getAttribute('colspan')).toBe('3');
    expect(t.cells().length).toBe(1);
    render([]);
    expect(host.querySelectorAll('tbody tr').length).toBe(0);
  });

  it('makes sortable headers buttons with aria-sort and asks for the next sort', () => {
    const asked: SortState[] = [];
    render([{ id: 'a', name: 'alpha', n: 1 }], { sort: { key: 'name', desc: false }, onSort: (s) => asked.push(s) });
    const th = host.querySelector('th')!;
    expect(th.getAttribute('aria-sort')).toBe('ascending');
    expect(host.querySelectorAll('th button.sort').length).toBe(1);
    expect(host.querySelectorAll('th')[1].hasAttribute('aria-sort')).toBe(false);
    act(() => th.querySelector('button')!.click());
    expect(asked).toEqual([{ key: 'name', desc: true }]);
  });

  it('nextSort toggles the same key and starts a new key ascending; sortParam is the server’s spelling', () => {
    expect(nextSort({ key: 'name', desc: false }, 'name')).toEqual({ key: 'name', desc: true });
    expect(nextSort({ key: 'name', desc: true }, 'lastRun')).toEqual({ key: 'lastRun', desc: false });
    expect(sortParam({ key: 'lastRun', desc: true })).toBe('-lastRun');
    expect(sortParam({ key: 'name', desc: false })).toBe('name');
  });
});
