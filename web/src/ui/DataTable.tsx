// The one table of the admin pages (users, role requests, invitations,
// tokens, audit), the configuration pages, the dataflow list and the
// observability pages (alert rules and channels, reports, error logs, the
// error summary, stored API calls): a labelled grid from column
// definitions, an empty state that spans every column, optional sortable
// headers (aria-sort) and a cursor pager.
import { useState, type ReactNode } from 'react';

export interface Column<T> {
  /** key names the column (React key and, for sortable columns, the sort key). */
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** className of the column's cells (e.g. "num", "row"). */
  className?: string;
  /** headerClassName of the column's header (e.g. "num" to align it with its figures). */
  headerClassName?: string;
  /** sortable: the header is a button that asks onSort for this key. */
  sortable?: boolean;
  /** hidden leaves the column out (e.g. actions for a role without them). */
  hidden?: boolean;
}

export interface SortState {
  key: string;
  desc: boolean;
}

/** nextSort is the sort after clicking key's header: the other direction of the same key, or a new key ascending. */
export function nextSort(cur: SortState, key: string): SortState {
  return cur.key === key ? { key, desc: !cur.desc } : { key, desc: false };
}

/** sortParam is the server's `sort` query value of s ("name", "-lastRun"). */
export function sortParam(s: SortState): string {
  return (s.desc ? '-' : '') + s.key;
}

export function DataTable<T>({
  label,
  columns,
  rows,
  rowKey,
  empty,
  sort,
  onSort,
  rowAttrs,
  compact,
}: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string | number;
  /** empty is shown in one row across the table when there are no rows. */
  empty?: ReactNode;
  sort?: SortState;
  onSort?: (s: SortState) => void;
  /** rowAttrs gives a row's data-* attributes (what tests and styles find it by). */
  rowAttrs?: (row: T) => Record<`data-${string}`, string>;
  /** compact: denser rows (the "grid compact" style). */
  compact?: boolean;
}) {
  const cols = columns.filter((c) => !c.hidden);
  return (
    <table className={compact ? 'grid compact' : 'grid'} aria-label={label}>
      <thead>
        <tr>
          {cols.map((c) => {
            if (!c.sortable || !sort || !onSort)
              return (
                <th key={c.key} scope="col" className={c.headerClassName}>
                  {c.header}
                </th>
              );
            const on = sort.key === c.key;
            return (
              <th key={c.key} scope="col" className={c.headerClassName} aria-sort={on ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                <button type="button" className="sort" onClick={() => onSort(nextSort(sort, c.key))}>
                  {c.header} <span aria-hidden="true">{on ? (sort.desc ? '▼' : '▲') : ''}</span>
                </button>
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && empty !== undefined && (
          <tr>
            <td colSpan={cols.length} className="hint">
              {empty}
            </td>
          </tr>
        )}
        {rows.map((r) => (
          <tr key={rowKey(r)} {...rowAttrs?.(r)}>
            {cols.map((c) => (
              <td key={c.key} className={c.className}>
                {c.cell(r)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** useCursorPages keeps the cursor of every page seen, so Previous goes back without the server knowing one. */
export function useCursorPages() {
  // cursors[i] is the cursor of page i (page 0 has none).
  const [cursors, setCursors] = useState<string[]>(['']);
  return {
    page: cursors.length - 1,
    cursor: cursors[cursors.length - 1],
    next: (c: string | undefined) => c && setCursors([...cursors, c]),
    prev: () => setCursors(cursors.length > 1 ? cursors.slice(0, -1) : cursors),
    reset: () => setCursors(['']),
  };
}

export function Pager({
  page,
  hasNext,
  onPrev,
  onNext,
  prevLabel = '← Previous',
  nextLabel = 'Next →',
  label = 'Pages',
}: {
  page: number;
  hasNext: boolean;
  onPrev: () => void;
  onNext: () => void;
  prevLabel?: string;
  nextLabel?: string;
  /** label names the pager when a page has more than one ("Pages of runs"). */
  label?: string;
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={page === 0} onClick={onPrev}>
        {prevLabel}
      </button>
      <span>Page {page + 1}</span>
      <button type="button" disabled={!hasNext} onClick={onNext}>
        {nextLabel}
      </button>
    </nav>
  );
}

/** Masked is how a secret value appears: never the value, always the same width. */
export function Masked({ secret, value }: { secret: boolean; value: string }) {
  return <code>{secret ? '••••••••' : value}</code>;
}
