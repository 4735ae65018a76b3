// The Performance tab of a dataflow (issue 17, spec §6.2, §6.5): overall
// figures, time-series charts, block-wise counts, the error summary and
// the drill-down from a lineage (run) to one request and its response.
// A lazy chunk: it brings uPlot with it.
import { useMemo, useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { BlockCounts, ErrorSummary, RequestLog, RequestPage, Series, Snapshot } from '../api/obs';
import { useDebounced } from '../hooks';
import { Link, useLocation } from '../router';
import { ErrorBox, fmtTime, Modal, Spinner } from '../ui/common';
import { DataTable, Pager, useCursorPages } from '../ui/DataTable';
import { TimeChart, type ChartSeries } from './Chart';
import { fmtBytes, fmtCount, fmtPct, fmtRate, fmtSeconds } from './format';
import { columns, lookup, statusClass, stepLabel } from './series';
import { windowError, windowLabel, windowQuery, type Win } from './window';
import { WindowPicker } from './WindowPicker';

const fmtN = (v: number | null) => fmtCount(v);
const fmtP = (v: number | null) => fmtPct(v);
const fmtS = (v: number | null) => fmtSeconds(v);

export default function PerformanceTab({ flowId, liveVersion }: { flowId: string; liveVersion: number }) {
  const { search } = useLocation();
  const [win, setWin] = useState<Win>({ kind: 'preset', value: '24h' });
  const bad = windowError(win);
  const qs = windowQuery(win);
  return (
    <div>
      <div className="row">
        <h2>Performance</h2>
        <span className="hint">{windowLabel(win)}</span>
        <span className="spacer" />
        <WindowPicker value={win} onChange={setWin} label="Performance window" />
      </div>
      {!bad && (
        <>
          <Overall flowId={flowId} qs={qs} />
          <Charts flowId={flowId} qs={qs} />
          <Blocks flowId={flowId} qs={qs} liveVersion={liveVersion} win={win} />
          <Errors flowId={flowId} qs={qs} />
        </>
      )}
      <DrillDown initial={search.get('lineage') ?? search.get('requestId') ?? ''} />
    </div>
  );
}

function Overall({ flowId, qs }: { flowId: string; qs: string }) {
  const q = useQuery({ queryKey: ['perf', flowId, qs], queryFn: () => client.get<Snapshot>(`/dataflows/${flowId}/performance?${qs}`), refetchInterval: 15000, placeholderData: (p) => p });
  const s = q.data;
  const facts: [string, string][] = s
    ? [
        ['Input (records)', fmtCount(s.processedUnits)],
        ['Output (delivered)', fmtCount(s.delivered)],
        ['Filtered', fmtCount(s.filtered)],
        ['Failed', fmtCount(s.failed)],
        ['Warnings', fmtCount(s.warnings)],
        ['Retry exhausted', fmtCount(s.retryExhausted)],
        ['Accuracy', fmtPct(s.accuracyPct)],
        ['Error rate', fmtPct(s.errorPct)],
        ['Files', `${fmtCount(s.files)} (${fmtCount(s.filesFailed)} failed, ${fmtCount(s.filesPartial)} partial)`],
        ['Files picked', fmtCount(s.filesPicked)],
        ['Bytes read', fmtBytes(s.bytesRead)],
        ['Records / min', fmtRate(s.rpm)],
        ['API calls', `${fmtCount(s.calls)} (${fmtCount(s.calls4xx)} 4xx, ${fmtCount(s.calls5xx)} 5xx)`],
        ['P50 latency', fmtSeconds(s.latency.p50)],
        ['P90 latency', fmtSeconds(s.latency.p90)],
        ['P95 latency', fmtSeconds(s.latency.p95)],
        ['P99 latency', fmtSeconds(s.latency.p99)],
      ]
    : [];
  return (
    <section className="card perf-section" aria-labelledby="perf-overall">
      <h3 id="perf-overall">Overall</h3>
      <ErrorBox error={q.error} />
      {!s && !q.error && <Spinner />}
      {s && (
        <dl className="perf-facts">
          {facts.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
      {s?.topError && (
        <p className="hint">
          Most frequent error: <code>{s.topError.code}</code> {s.topError.message} ({fmtCount(s.topError.count)}× in {s.topError.block})
        </p>
      )}
    </section>
  );
}

function Charts({ flowId, qs }: { flowId: string; qs: string }) {
  const [block, setBlock] = useState('');
  const blocks = useQuery({ queryKey: ['perf-blocks', flowId, qs], queryFn: () => client.get<BlockCounts>(`/dataflows/${flowId}/performance/blocks?${qs}`) });
  const q = useQuery({
    queryKey: ['perf-series', flowId, qs, block],
    queryFn: () => client.get<Series>(`/dataflows/${flowId}/performance/series?${qs}${block ? '&block=' + encodeURIComponent(block) : ''}`),
    refetchInterval: 30000,
    placeholderData: (p) => p,
  });
  const charts = useMemo(() => {
    const pts = q.data?.points ?? [];
    const c = (title: string, fmt: (v: number | null) => string, integer: boolean, parts: [string, string, (p: (typeof pts)[number]) => number | null][], percent = false) => {
      const { xs, ys } = columns(
        pts,
        parts.map((p) => p[2]),
      );
      const series: ChartSeries[] = parts.map(([label, color], i) => ({ label, color, values: ys[i] }));
      return { title, fmt, integer, percent, xs, series };
    };
    return [
      c(block ? `Units in / out of ${block}` : 'Records', fmtN, true, [
        ['In', '--chart-1', (p) => p.recordsIn],
        ['Out', '--chart-2', (p) => p.recordsOut],
        ['Failed', '--chart-3', (p) => p.failed],
      ]),
      c('Error rate', fmtP, false, [['Error %', '--chart-3', (p) => p.errorPct]], true),
      c('API call latency', fmtS, false, [
        ['P50', '--chart-2', (p) => p.latency.p50],
        ['P95', '--chart-4', (p) => p.latency.p95],
        ['P99', '--chart-3', (p) => p.latency.p99],
      ]),
      c('API calls by status', fmtN, true, [
        ['2xx', '--chart-2', (p) => p.calls2xx],
        ['4xx', '--chart-4', (p) => p.calls4xx],
        ['5xx', '--chart-3', (p) => p.calls5xx],
      ]),
    ];
  }, [q.data, block]);
  return (
    <section className="perf-section" aria-labelledby="perf-charts">
      <div className="row">
        <h3 id="perf-charts">Over time</h3>
        {q.data && <span className="hint">one point per {stepLabel(q.data.step)}</span>}
        <span className="spacer" />
        <label className="inline">
          Block
          <select value={block} onChange={(e) => setBlock(e.target.value)}>
            <option value="">Whole dataflow</option>
            {blocks.data?.blocks.map((b) => (
              <option key={b.block}>{b.block}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={q.error} />
      {!q.data && !q.error && <Spinner />}
      {q.data && (
        <div className="charts">
          {charts.map((c) => (
            <TimeChart key={c.title} title={c.title} xs={c.xs} series={c.series} fmt={c.fmt} integer={c.integer} percent={c.percent} />
          ))}
        </div>
      )}
    </section>
  );
}

function Blocks({ flowId, qs, liveVersion, win }: { flowId: string; qs: string; liveVersion: number; win: Win }) {
  const q = useQuery({ queryKey: ['perf-blocks', flowId, qs], queryFn: () => client.get<BlockCounts>(`/dataflows/${flowId}/performance/blocks?${qs}`), refetchInterval: 15000, placeholderData: (p) => p });
  const rows = q.data?.blocks ?? [];
  return (
    <section className="perf-section" aria-labelledby="perf-blocks">
      <div className="row">
        <h3 id="perf-blocks">Block-wise</h3>
        <span className="spacer" />
        {liveVersion > 0 && (
          <Link to={`/dataflows/${flowId}/versions/${liveVersion}/canvas?counts=${encodeURIComponent(windowQuery(win))}`}>Show these counts on the canvas (v{liveVersion})</Link>
        )}
      </div>
      <ErrorBox error={q.error} />
      {q.data && rows.length === 0 && <p className="hint">No block has worked in this window.</p>}
      {rows.length > 0 && (
        <div className="table-scroll">
          <table className="grid" aria-label="Block-wise performance">
            <thead>
              <tr>
                <th scope="col">Block / API endpoint</th>
                <th scope="col" className="num">
                  In
                </th>
                <th scope="col" className="num">
                  Out
                </th>
                <th scope="col" className="num">
                  Filtered
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                <th scope="col" className="num">
                  Calls (2xx / 4xx / 5xx / none)
                </th>
                <th scope="col" className="num">
                  Retry exhausted
                </th>
                <th scope="col" className="num">
                  Avg / P95
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => (
                <BlockRows key={b.block} b={b} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="hint">In and out count files until a block works on records (a source's input is the files it picked).</p>
    </section>
  );
}

function BlockRows({ b }: { b: BlockCounts['blocks'][number] }) {
  return (
    <>
      <tr data-block-row={b.block}>
        <th scope="row">
          <code>{b.block}</code>
        </th>
        <td className="num">{fmtCount(b.in)}</td>
        <td className="num">{fmtCount(b.out)}</td>
        <td className="num">{fmtCount(b.filtered)}</td>
        <td className="num">{fmtCount(b.failed)}</td>
        <td className="num">—</td>
        <td className="num">—</td>
        <td className="num">—</td>
      </tr>
      {(b.endpoints ?? []).map((e) => (
        <tr key={e.endpoint} className="endpoint-row">
          <td>
            <span className="visually-hidden">endpoint of {b.block}: </span>
            <code>{e.endpoint}</code>
          </td>
          <td className="num" />
          <td className="num" />
          <td className="num" />
          <td className="num" />
          <td className="num">
            {fmtCount(e.calls)} ({fmtCount(e.calls2xx)} / {fmtCount(e.calls4xx)} / {fmtCount(e.calls5xx)} / {fmtCount(e.noAnswer)})
          </td>
          <td className="num">{fmtCount(e.retryExhausted)}</td>
          <td className="num">
            {fmtSeconds(e.avgSeconds)} / {fmtSeconds(e.latency.p95)}
          </td>
        </tr>
      ))}
    </>
  );
}

function Errors({ flowId, qs }: { flowId: string; qs: string }) {
  const [text, setText] = useState('');
  const [block, setBlock] = useState('');
  const search = useDebounced(text, 300);
  const blocks = useQuery({ queryKey: ['perf-blocks', flowId, qs], queryFn: () => client.get<BlockCounts>(`/dataflows/${flowId}/performance/blocks?${qs}`) });
  const p = new URLSearchParams(qs);
  if (search) p.set('search', search);
  if (block) p.set('block', block);
  p.set('limit', '100');
  const q = useQuery({ queryKey: ['perf-errors', flowId, p.toString()], queryFn: () => client.get<ErrorSummary>(`/dataflows/${flowId}/performance/errors?${p}`), placeholderData: (x) => x });
  const rows = q.data?.errors ?? [];
  return (
    <section className="perf-section" aria-labelledby="perf-errors">
      <div className="row">
        <h3 id="perf-errors">Error summary</h3>
        <span className="spacer" />
        <Link to={`/dataflows/${flowId}?tab=errors`}>View error logs</Link>
      </div>
      <div className="toolbar" role="search" aria-label="Filter errors">
        <label>
          Search messages
          <input type="search" value={text} placeholder="message contains…" onChange={(e) => setText(e.target.value)} />
        </label>
        <label>
          Block
          <select value={block} onChange={(e) => setBlock(e.target.value)}>
            <option value="">Any block</option>
            {blocks.data?.blocks.map((b) => (
              <option key={b.block}>{b.block}</option>
            ))}
          </select>
        </label>
        <span className="hint">The date range is the window above.</span>
      </div>
      <ErrorBox error={q.error} />
      {q.data && rows.length === 0 && <p className="hint">{search || block ? 'No error matches.' : 'No error in this window.'}</p>}
      {rows.length > 0 && (
        <DataTable
          label="Error summary"
          rows={rows}
          rowKey={(e) => `${e.block}\u0000${e.code}\u0000${e.message}`}
          columns={[
            { key: 'block', header: 'Block', cell: (e) => <code>{e.block}</code> },
            { key: 'code', header: 'Code', cell: (e) => e.code || '—' },
            { key: 'message', header: 'Message', cell: (e) => e.message },
            { key: 'count', header: 'Count', className: 'num', headerClassName: 'num', cell: (e) => fmtCount(e.count) },
            { key: 'seen', header: 'Last seen', cell: (e) => fmtTime(e.lastSeen) },
          ]}
        />
      )}
    </section>
  );
}

/** DrillDown: a lineage (run) id lists its calls; a request id
 * (X-CAP-REQUEST-ID, as the result file's lineage_id and line give it)
 * finds its call; a call opens its request and response. */
function DrillDown({ initial }: { initial: string }) {
  const [text, setText] = useState(initial);
  const [target, setTarget] = useState(lookup(initial));
  const [failedOnly, setFailedOnly] = useState(false);
  const pages = useCursorPages();
  const [open, setOpen] = useState<number | null>(null);
  const cursor = pages.cursor;
  const q = useQuery({
    queryKey: ['drill', target, failedOnly, cursor],
    enabled: target !== null,
    queryFn: async (): Promise<RequestPage> => {
      if (target!.kind === 'request') return { items: await client.get<RequestLog[]>(`/request-log?requestId=${encodeURIComponent(target!.id)}`), next: '' };
      const p = new URLSearchParams({ limit: '50' });
      if (failedOnly) p.set('failed', 'true');
      if (cursor) p.set('cursor', cursor);
      return client.get<RequestPage>(`/runs/${encodeURIComponent(target!.id)}/requests?${p}`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    pages.reset();
    setTarget(lookup(text));
  };
  const items = q.data?.items ?? [];
  return (
    <section className="card perf-section" aria-labelledby="perf-drill">
      <h3 id="perf-drill">Drill-down: lineage → records → request</h3>
      <form className="toolbar" onSubmit={submit} role="search" aria-label="Find requests">
        <label>
          Lineage (run) id or request id
          <input className="code drill-input" value={text} onChange={(e) => setText(e.target.value)} placeholder="e.g. 4ab7e765666cd4d1 or 4ab7e765666cd4d1-1-3" />
        </label>
        <label className="inline">
          <input type="checkbox" checked={failedOnly} onChange={(e) => (setFailedOnly(e.target.checked), pages.reset())} /> Failed calls only
        </label>
        <button type="submit">Find</button>
      </form>
      <p className="hint">A run's id is its lineage id (the result file's lineage_id column); a request id is the X-CAP-REQUEST-ID header the call carried.</p>
      <ErrorBox error={q.error} />
      {target && q.data && items.length === 0 && <p className="hint">No stored call matches (calls are kept for 7 days).</p>}
      {items.length > 0 && (
        <DataTable
          label="Stored API calls"
          compact
          rows={items}
          rowKey={(r) => r.id}
          columns={[
            { key: 'id', header: 'Request id', cell: (r) => <code>{r.requestId}</code> },
            { key: 'block', header: 'Block', cell: (r) => r.block },
            { key: 'endpoint', header: 'Endpoint', cell: (r) => <code>{r.endpoint}</code> },
            {
              key: 'status',
              header: 'Status',
              className: 'num',
              headerClassName: 'num',
              cell: (r) => (
                <>
                  {r.status || '—'} <span className="hint">({statusClass(r.status)})</span>
                  {r.retryExhausted && <div className="hint">retries exhausted</div>}
                </>
              ),
            },
            { key: 'attempts', header: 'Attempts', className: 'num', headerClassName: 'num', cell: (r) => r.attempts },
            { key: 'latency', header: 'Latency', className: 'num', headerClassName: 'num', cell: (r) => fmtSeconds(r.latencyMicros / 1e6) },
            { key: 'at', header: 'At', cell: (r) => fmtTime(r.at) },
            {
              key: 'open',
              header: 'Request / response',
              cell: (r) => (
                <button type="button" onClick={() => setOpen(r.id)} aria-label={`Open request ${r.requestId}`}>
                  Open
                </button>
              ),
            },
          ]}
        />
      )}
      {target?.kind === 'lineage' && (pages.page > 0 || q.data?.next) && (
        <Pager label="Pages of calls" page={pages.page} hasNext={!!q.data?.next} onPrev={pages.prev} onNext={() => pages.next(q.data?.next)} />
      )}
      <RequestDialog id={open} onClose={() => setOpen(null)} />
    </section>
  );
}

function RequestDialog({ id, onClose }: { id: number | null; onClose: () => void }) {
  const q = useQuery({ queryKey: ['request-log', id], enabled: id !== null, queryFn: () => client.get<RequestLog>(`/request-log/${id}`) });
  const r = q.data;
  return (
    <Modal title={r ? `Request ${r.requestId}` : 'Request'} open={id !== null} onClose={onClose} wide>
      <ErrorBox error={q.error} />
      {!r && !q.error && <Spinner />}
      {r && (
        <div className="stack">
          <dl className="facts">
            <dt>Call</dt>
            <dd>
              <code>
                {r.method} {r.url}
              </code>
            </dd>
            <dt>Status</dt>
            <dd>
              {r.status || 'no answer'} after {r.attempts} attempt(s), {fmtSeconds(r.latencyMicros / 1e6)}
              {r.retryExhausted ? ' · retries exhausted' : ''}
            </dd>
            <dt>Lineage · record</dt>
            <dd>
              <Link to={`/runs/${r.lineageId}`}>{r.lineageId}</Link> · record {r.seq} · block {r.block}
            </dd>
            <dt>At</dt>
            <dd>{fmtTime(r.at)}</dd>
            {r.error && (
              <>
                <dt>Error</dt>
                <dd>{r.error}</dd>
              </>
            )}
          </dl>
          {r.truncated && <p className="notice">Bodies are cut at 4096 bytes.</p>}
          <h3>Request headers</h3>
          <pre className="kv-pre" tabIndex={0} aria-label="Request headers">
            {r.requestHeaders || '(none)'}
          </pre>
          <h3>Request body</h3>
          <pre className="kv-pre" tabIndex={0} aria-label="Request body">
            {r.requestBody || '(empty)'}
          </pre>
          <h3>Response body</h3>
          <pre className="kv-pre" tabIndex={0} aria-label="Response body">
            {r.responseBody || '(empty)'}
          </pre>
          <p className="hint">Credentials and secrets are removed before a call is stored.</p>
        </div>
      )}
    </Modal>
  );
}
