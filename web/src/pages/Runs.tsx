import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { BlockStats, Dataflow, Page, Reconciliation, Run } from '../api/types';
import { failedRows } from '../csv';
import { Link, useLocation } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, saveBlob, Spinner, StateBadge } from '../ui/common';

export function RunsTable({ runs, showFlow = true }: { runs: Run[]; showFlow?: boolean }) {
  if (!runs.length) return <p className="hint">No runs yet.</p>;
  // In a cluster every run names the node that ran its file; one server's
  // runs name none, and the column stays away.
  const showNode = runs.some((r) => r.node);
  return (
    <table className="grid" aria-label="Runs">
      <thead>
        <tr>
          <th>Started</th>
          {showFlow && <th>Dataflow</th>}
          <th>Version</th>
          <th>File</th>
          <th>Status</th>
          {showNode && <th>Node</th>}
          <th className="num">Records</th>
          <th className="num">Delivered</th>
          <th className="num">Filtered</th>
          <th className="num">Failed</th>
          <th>Finished</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id}>
            <td>
              <Link to={`/runs/${r.id}`}>{fmtTime(r.started)}</Link>
            </td>
            {showFlow && (
              <td>
                <Link to={`/dataflows/${r.flowId}`}>{r.flowName || r.flowId}</Link>
              </td>
            )}
            <td>v{r.version}</td>
            <td>{r.fileName}</td>
            <td>
              <StateBadge state={r.status} />
            </td>
            {showNode && <td>{r.node || '—'}</td>}
            <td className="num">{r.recordsIn}</td>
            <td className="num">{r.delivered}</td>
            <td className="num">{r.filtered}</td>
            <td className="num">{r.failed}</td>
            <td>{fmtTime(r.finished)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function toRFC3339(local: string): string {
  if (!local) return '';
  const d = new Date(local);
  return isNaN(d.getTime()) ? '' : d.toISOString();
}

export function RunsPage() {
  const { search } = useLocation();
  const [flowId, setFlowId] = useState(search.get('flowId') ?? '');
  const [status, setStatus] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [cursors, setCursors] = useState<string[]>(['']);
  const flows = useQuery({ queryKey: ['dataflows', 'all-names'], queryFn: () => client.get<Page<Dataflow>>('/dataflows?limit=200') });
  const p = new URLSearchParams();
  if (flowId) p.set('flowId', flowId);
  if (status) p.set('status', status);
  if (toRFC3339(since)) p.set('since', toRFC3339(since));
  if (toRFC3339(until)) p.set('until', toRFC3339(until));
  p.set('limit', '25');
  const cursor = cursors[cursors.length - 1];
  if (cursor) p.set('cursor', cursor);
  const qs = p.toString();
  const runs = useQuery({ queryKey: ['runs', qs], queryFn: () => client.get<Page<Run>>('/runs?' + qs), refetchInterval: 15000 });
  const reset = () => setCursors(['']);
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Runs' }]} />
      <h1>Runs</h1>
      <div className="toolbar" role="search">
        <label>
          Dataflow
          <select value={flowId} onChange={(e) => (setFlowId(e.target.value), reset())}>
            <option value="">All</option>
            {flows.data?.items.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus(e.target.value), reset())}>
            <option value="">Any</option>
            {['Running', 'Success', 'Partial Success', 'Failure', 'Interrupted', 'Stopped'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Since
          <input type="datetime-local" value={since} onChange={(e) => (setSince(e.target.value), reset())} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={until} onChange={(e) => (setUntil(e.target.value), reset())} />
        </label>
      </div>
      <ErrorBox error={runs.error} />
      {runs.isLoading ? <Spinner /> : <RunsTable runs={runs.data?.items ?? []} />}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Previous
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!runs.data?.next} onClick={() => runs.data?.next && setCursors([...cursors, runs.data.next])}>
          Next →
        </button>
      </nav>
    </div>
  );
}

function decodeStats(b64?: string): BlockStats[] {
  if (!b64) return [];
  try {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as BlockStats[];
  } catch {
    return [];
  }
}

const MAX_INLINE = 2 * 1024 * 1024;

export function RunPage({ runId }: { runId: string }) {
  const run = useQuery({
    queryKey: ['run', runId],
    queryFn: () => client.get<Run>(`/runs/${runId}`),
    refetchInterval: (q) => (q.state.data?.status === 'Running' ? 2000 : false),
  });
  const hasResult = !!run.data?.resultName || !!run.data?.resultPath;
  const result = useQuery({
    queryKey: ['run-result', runId, run.data?.finished],
    enabled: hasResult && run.data?.status !== 'Running',
    queryFn: async () => {
      const r = await client.raw('GET', `/runs/${runId}/result`);
      const blob = await r.blob();
      return { blob, text: blob.size <= MAX_INLINE ? await blob.text() : null };
    },
  });
  const recons = useQuery({
    queryKey: ['run-reconciliations', runId, run.data?.finished],
    enabled: !!run.data?.flowId,
    queryFn: () => client.get<Page<Reconciliation>>(`/dataflows/${run.data!.flowId}/reconciliations?runId=${encodeURIComponent(runId)}`),
  });
  if (run.error) return <ErrorBox error={run.error} />;
  if (!run.data) return <Spinner />;
  const r = run.data;
  const stats = decodeStats(r.blockStats);
  const failed = result.data?.text ? failedRows(result.data.text) : null;
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Runs', to: '/runs' }, { label: r.flowName || r.flowId, to: `/dataflows/${r.flowId}` }, { label: r.fileName || r.id }]} />
      <div className="row">
        <h1>Run of {r.fileName || 'a trigger'}</h1>
        <StateBadge state={r.status} />
      </div>
      {r.error && <div className="error-box">{r.error}</div>}
      <dl className="facts">
        <dt>Dataflow</dt>
        <dd>
          <Link to={`/dataflows/${r.flowId}`}>{r.flowName}</Link> <Link to={`/dataflows/${r.flowId}/versions/${r.version}`}>v{r.version}</Link>
        </dd>
        <dt>Source</dt>
        <dd>
          {r.source} · <code>{r.filePath}</code> ({r.fileSize} bytes)
        </dd>
        <dt>Time</dt>
        <dd>
          {fmtTime(r.started)} → {fmtTime(r.finished)}
          {r.interruptions ? ` · interrupted ${r.interruptions}×, resumed` : ''}
        </dd>
        {r.node && (
          <>
            <dt>Node</dt>
            <dd>{r.node}</dd>
          </>
        )}
        <dt>Records</dt>
        <dd>
          {r.recordsIn} in · {r.delivered} delivered · {r.filtered} filtered · {r.failed} failed
          {r.retryExhausted ? ` · ${r.retryExhausted} out of retries` : ''}
          {r.avgRecordMicros ? ` · ${(r.avgRecordMicros / 1000).toFixed(2)} ms/record` : ''}
        </dd>
        {r.statusCodes && Object.keys(r.statusCodes).length > 0 && (
          <>
            <dt>HTTP status codes</dt>
            <dd>
              {Object.entries(r.statusCodes)
                .map(([c, n]) => `${c}: ${n}`)
                .join(' · ')}
            </dd>
          </>
        )}
      </dl>
      {!!recons.data?.items.length && (
        <>
          <h2>Reconciliation</h2>
          <ul>
            {recons.data.items.map((x) => (
              <li key={x.id}>
                <Link to={`/reconciliations/${x.id}`}>
                  Block {x.block}: {x.totals.missing} missing, {x.totals.mismatched} mismatched of {x.totals.expected} expected
                </Link>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Per block</h2>
      {stats.length === 0 ? (
        <p className="hint">No per-block counts recorded.</p>
      ) : (
        <table className="grid" aria-label="Per-block counts">
          <thead>
            <tr>
              <th>Block</th>
              <th>Type</th>
              <th className="num">In</th>
              <th className="num">Out</th>
              <th className="num">Filtered</th>
              <th className="num">Failed</th>
            </tr>
          </thead>
          <tbody>
            {stats.map((s) => (
              <tr key={s.name}>
                <td>{s.name}</td>
                <td>
                  <code>{s.type}</code>
                </td>
                <td className="num">{s.in ?? s.recordsIn ?? 0}</td>
                <td className="num">{s.out ?? s.recordsOut ?? 0}</td>
                <td className="num">{s.filtered ?? s.recordsFiltered ?? 0}</td>
                <td className="num">{s.failed ?? s.recordsFailed ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Result file</h2>
      {!hasResult ? (
        <p className="hint">This run has no result file.</p>
      ) : (
        <>
          <button type="button" disabled={!result.data} onClick={() => result.data && saveBlob(result.data.blob, r.resultName || `result_${r.id}.csv`)}>
            Download {r.resultName || 'the result file'}
          </button>
          <ErrorBox error={result.error} />
          {result.data && !result.data.text && <p className="hint">The file is too large to show here; download it.</p>}
          {failed && (
            <>
              <h3>Failed rows ({failed.rows.length})</h3>
              {failed.rows.length === 0 ? (
                <p className="hint">No row failed.</p>
              ) : (
                <div className="table-scroll tall">
                  <table className="grid compact" aria-label="Failed rows">
                    <thead>
                      <tr>
                        {failed.header.map((h, i) => (
                          <th key={i}>{h}</th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {failed.rows.slice(0, 500).map((row, i) => (
                        <tr key={i}>
                          {failed.header.map((_, j) => (
                            <td key={j}>{row[j]}</td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          )}
        </>
      )}
    </div>
  );
}
