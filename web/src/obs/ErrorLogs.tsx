// The Error logs tab of a dataflow (issue 17, spec §6.3): the result files
// (error files) of its runs in the last 30 days, with download.
import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Page, Run } from '../api/types';
import { Link } from '../router';
import { ErrorBox, fmtTime, saveBlob, Spinner, StateBadge } from '../ui/common';
import { DataTable, Pager, useCursorPages } from '../ui/DataTable';
import { fmtBytes, fmtCount } from './format';

/** since30d is the start of the retention window the tab lists, to the minute (a stable query key). */
function since30d(): string {
  const d = new Date(Date.now() - 30 * 86400e3);
  d.setSeconds(0, 0);
  return d.toISOString();
}

export default function ErrorLogsTab({ flowId }: { flowId: string }) {
  const [since] = useState(since30d);
  const [withFailures, setWithFailures] = useState(false);
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const p = new URLSearchParams({ flowId, since, limit: '25' });
  if (cursor) p.set('cursor', cursor);
  const q = useQuery({ queryKey: ['error-logs', p.toString()], queryFn: () => client.get<Page<Run>>('/runs?' + p), refetchInterval: 30000 });
  const dl = useMutation({
    mutationFn: async (r: Run) => {
      const res = await client.raw('GET', `/runs/${r.id}/result`);
      saveBlob(await res.blob(), r.resultName || `result_${r.id}.csv`);
    },
  });
  const runs = (q.data?.items ?? []).filter((r) => (r.resultName || r.resultPath) && (!withFailures || r.failed > 0));
  return (
    <div>
      <div className="row">
        <h2>Error logs</h2>
        <span className="hint">Result files of the last 30 days (every record with its status, code and message).</span>
        <span className="spacer" />
        <label className="inline">
          <input type="checkbox" checked={withFailures} onChange={(e) => setWithFailures(e.target.checked)} /> Only files with failures
        </label>
      </div>
      <ErrorBox error={q.error} />
      <ErrorBox error={dl.error} title="Download failed" />
      {q.isLoading && <Spinner />}
      {q.data && runs.length === 0 && <p className="hint">No result file on this page.</p>}
      {runs.length > 0 && (
        <DataTable
          label="Error logs"
          rows={runs}
          rowKey={(r) => r.id}
          columns={[
            { key: 'started', header: 'Started', cell: (r) => <Link to={`/runs/${r.id}`}>{fmtTime(r.started)}</Link> },
            {
              key: 'file',
              header: 'Source file',
              cell: (r) => (
                <>
                  {r.fileName || '—'} {r.fileSize ? <span className="hint">({fmtBytes(r.fileSize)})</span> : null}
                </>
              ),
            },
            { key: 'status', header: 'Status', cell: (r) => <StateBadge state={r.status} /> },
            { key: 'records', header: 'Records', className: 'num', headerClassName: 'num', cell: (r) => fmtCount(r.recordsIn) },
            { key: 'failed', header: 'Failed', className: 'num', headerClassName: 'num', cell: (r) => fmtCount(r.failed) },
            { key: 'result', header: 'Result file', cell: (r) => <code>{r.resultName || r.resultPath}</code> },
            {
              key: 'actions',
              header: 'Actions',
              cell: (r) => (
                <div className="row">
                  <button type="button" onClick={() => dl.mutate(r)} disabled={dl.isPending} aria-label={`Download ${r.resultName || 'the result file'}`}>
                    Download
                  </button>
                  <Link to={`/dataflows/${flowId}?tab=performance&lineage=${encodeURIComponent(r.id)}`}>Requests</Link>
                </div>
              ),
            },
          ]}
        />
      )}
      <Pager label="Pages of runs" page={pages.page} hasNext={!!q.data?.next} onPrev={pages.prev} onNext={() => pages.next(q.data?.next)} />
    </div>
  );
}
