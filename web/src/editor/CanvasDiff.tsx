// Changes highlighted on the canvas: a version's canvas opened with
// ?diff=<older version> (the dataflow page's "Highlight the changes on the
// canvas") marks each block added, changed, renamed or only moved since that
// version, and lists the blocks it removed.
import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import { Link, useLocation } from '../router';
import { ErrorBox } from '../ui/common';
import { canvasMarks, marksSummary, type CanvasMarks, type Changes } from '../pages/sideBySide';

interface DiffResult {
  from: number;
  to: number;
  changes: Changes;
  text: string;
}

export function useCanvasDiff(flowId: string, to: number): { from: number | null; marks?: CanvasMarks; error: unknown } {
  const { search } = useLocation();
  const n = Number(search.get('diff'));
  const from = Number.isInteger(n) && n > 0 && n !== to ? n : null;
  const q = useQuery({
    // The dataflow page's comparison has the same key: opening the canvas from it asks nothing again.
    queryKey: ['diff', flowId, [from, to]],
    enabled: from !== null,
    queryFn: () => client.get<DiffResult>(`/dataflows/${flowId}/diff?from=${from}&to=${to}`),
  });
  const marks = useMemo(() => (q.data ? canvasMarks(q.data.changes) : undefined), [q.data]);
  return { from, marks, error: q.error };
}

/** DiffBanner says what the marks compare and how to hide them. */
export function DiffBanner({ from, marks, error, path }: { from: number | null; marks?: CanvasMarks; error: unknown; path: string }) {
  if (from === null) return null;
  return (
    <div className="notice readonly-banner diff-banner" role="note">
      {marks ? (
        <>
          Changes since v{from}: {marksSummary(marks)}.{' '}
          <span className="diff-legend">
            <span className="diff-badge diff-added">added</span> <span className="diff-badge diff-changed">changed</span> <span className="diff-badge diff-renamed">renamed</span>{' '}
            <span className="diff-badge diff-moved">moved</span>
          </span>{' '}
        </>
      ) : (
        <>Comparing with v{from}… </>
      )}
      <Link to={path}>Hide the comparison</Link>
      <ErrorBox error={error} />
    </div>
  );
}
