// Block counts overlaid on the canvas (issue 17): the editor shows each
// block's units in / out / failed of a window when its address carries
// ?counts=<window query> (the Performance tab's "Show these counts on the canvas").
import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { BlockCounts, BlockRow } from '../api/obs';
import { Link, useLocation } from '../router';
import { fmtCount } from './format';

export function useCanvasCounts(flowId: string): { counts?: Map<string, BlockRow>; query: string | null; error: unknown } {
  const { search } = useLocation();
  const query = search.get('counts');
  const q = useQuery({
    queryKey: ['perf-blocks', flowId, query],
    enabled: !!query,
    queryFn: () => client.get<BlockCounts>(`/dataflows/${flowId}/performance/blocks?${query}`),
    refetchInterval: 15000,
  });
  const counts = useMemo(() => (q.data ? new Map(q.data.blocks.map((b) => [b.block, b])) : undefined), [q.data]);
  return { counts, query, error: q.error };
}

/** CountsBanner says which window the counts cover and how to hide them. */
export function CountsBanner({ query, path }: { query: string | null; path: string }) {
  if (!query) return null;
  const p = new URLSearchParams(query);
  const what = p.get('window') ? `the last ${p.get('window')}` : `${p.get('from') ?? ''} – ${p.get('to') ?? 'now'}`;
  return (
    <div className="notice readonly-banner" role="note">
      Block counts of {what} (units in / out / failed) are shown on each block. <Link to={path}>Hide the counts</Link>
    </div>
  );
}

/** BlockCountsLine is the line a block node shows. */
export function BlockCountsLine({ row }: { row: BlockRow | undefined }) {
  if (!row) return <div className="block-counts hint">no activity</div>;
  return (
    <div className="block-counts" aria-label={`in ${row.in}, out ${row.out}, failed ${row.failed}`}>
      <span>in {fmtCount(row.in)}</span> · <span>out {fmtCount(row.out)}</span> · <span className={row.failed ? 'bad' : ''}>failed {fmtCount(row.failed)}</span>
    </div>
  );
}
