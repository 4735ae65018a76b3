import { useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Dataflow, Page, Run, Version } from '../api/types';
import { useCan } from '../hooks';
import { Link } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, Spinner, StateBadge } from '../ui/common';
import { RunsTable } from './Runs';
import { RuntimeControls } from '../ui/runtime';
import { SyncButton } from '../ui/sync';
import { FlowTabs } from '../obs/FlowTabs';
import { changesEmpty, sideBySide, type Changes, type RowKind, type Side } from './sideBySide';

interface Summary {
  runs: number;
  recordsIn: number;
  delivered: number;
  filtered: number;
  failed: number;
  retryExhausted: number;
  accuracyPct: number;
  byStatus?: Record<string, number>;
  statusCodes?: Record<string, number>;
}

function SummaryCard({ flowId }: { flowId: string }) {
  const [win, setWin] = useState('24h');
  const q = useQuery({ queryKey: ['summary', flowId, win], queryFn: () => client.get<Summary>(`/dataflows/${flowId}/summary?window=${win}`) });
  const s = q.data;
  return (
    <section className="card summary" aria-label="Performance summary">
      <div className="row">
        <strong>Performance</strong>
        <label>
          <span className="visually-hidden">Window</span>
          <select aria-label="Summary window" value={win} onChange={(e) => setWin(e.target.value)}>
            <option value="24h">last 24 hours</option>
            <option value="168h">last 7 days</option>
            <option value="720h">last 30 days</option>
          </select>
        </label>
        {s && (
          <span>
            {s.runs} run(s) · {s.recordsIn} records in · {s.delivered} delivered · {s.filtered} filtered · {s.failed} failed
            {s.retryExhausted ? ` · ${s.retryExhausted} out of retries` : ''} · accuracy {s.recordsIn ? s.accuracyPct.toFixed(1) + ' %' : '—'}
          </span>
        )}
      </div>
      {s?.statusCodes && Object.keys(s.statusCodes).length > 0 && (
        <p className="hint">
          HTTP status codes:{' '}
          {Object.entries(s.statusCodes)
            .map(([c, n]) => `${c}: ${n}`)
            .join(' · ')}
        </p>
      )}
      <ErrorBox error={q.error} />
    </section>
  );
}

/** DetailsForm renames, describes or tags a dataflow (admins; If-Match on its revision). */
function DetailsForm({ flow }: { flow: Dataflow }) {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(flow.name);
  const [description, setDescription] = useState(flow.description);
  const [tags, setTags] = useState((flow.tags ?? []).join(', '));
  const m = useMutation({
    mutationFn: () =>
      client.patch<Dataflow>(
        `/dataflows/${flow.id}`,
        {
          name,
          description,
          tags: tags
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          revision: flow.revision,
        },
        { 'If-Match': `"r${flow.revision}"` },
      ),
    onSuccess: () => {
      setOpen(false);
      void qc.invalidateQueries({ queryKey: ['dataflow', flow.id] });
      void qc.invalidateQueries({ queryKey: ['dataflows'] });
    },
  });
  if (!open)
    return (
      <p>
        <button type="button" onClick={() => (setName(flow.name), setDescription(flow.description), setTags((flow.tags ?? []).join(', ')), setOpen(true))}>
          Edit name, description and tags
        </button>
      </p>
    );
  return (
    <form
      className="card stack details-form"
      aria-label="Dataflow details"
      onSubmit={(e) => {
        e.preventDefault();
        m.mutate();
      }}
    >
      <ErrorBox error={m.error} />
      <label>
        Name <span className="req">*</span>
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label>
        Tags <span className="hint">(comma-separated)</span>
        <input value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <div className="actions">
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={m.isPending}>
          Save details
        </button>
      </div>
    </form>
  );
}

export function FlowPage({ flowId }: { flowId: string }) {
  const isAdmin = useCan('admin');
  const flow = useQuery({ queryKey: ['dataflow', flowId], queryFn: () => client.get<Dataflow>(`/dataflows/${flowId}`) });
  const versions = useQuery({ queryKey: ['versions', flowId], queryFn: () => client.get<Version[]>(`/dataflows/${flowId}/versions`) });
  const runs = useQuery({ queryKey: ['runs', 'flow', flowId], queryFn: () => client.get<Page<Run>>(`/runs?flowId=${flowId}&limit=10`) });
  if (flow.error) return <ErrorBox error={flow.error} />;
  if (!flow.data) return <Spinner />;
  const f = flow.data;
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Dataflows', to: '/dataflows' }, { label: f.name }]} />
      <div className="row">
        <h1>{f.name}</h1>
        <StateBadge state={f.status} />
        {f.deactivated && <span className="badge">deactivated</span>}
        {(f.tags ?? []).map((t) => (
          <span className="tag" key={t}>
            {t}
          </span>
        ))}
      </div>
      {f.description && <p>{f.description}</p>}
      <p className="hint">
        Live version: {f.liveVersion ? <Link to={`/dataflows/${f.id}/versions/${f.liveVersion}`}>v{f.liveVersion}</Link> : 'none'} · latest v{f.latestVersion} · created by {f.createdBy}{' '}
        {fmtTime(f.createdAt)}
      </p>
      <RuntimeControls flow={f} />
      <SyncButton flow={f} />
      <FlowTabs flowId={flowId} liveVersion={f.liveVersion}>
        <SummaryCard flowId={flowId} />
        {isAdmin && <DetailsForm flow={f} />}
        <h2>Versions</h2>
        <ErrorBox error={versions.error} />
        {versions.data && <VersionsTable flowId={flowId} versions={versions.data} />}
        {versions.data && versions.data.length > 1 && <DiffView flowId={flowId} versions={versions.data} />}
        <div className="row">
          <h2>Recent runs</h2>
          <Link to={`/runs?flowId=${flowId}`}>All runs of this dataflow</Link>
        </div>
        <ErrorBox error={runs.error} />
        {runs.data && <RunsTable runs={runs.data.items} showFlow={false} />}
      </FlowTabs>
    </div>
  );
}

export function VersionsTable({ flowId, versions }: { flowId: string; versions: Version[] }) {
  return (
    <table className="grid" aria-label="Versions">
      <thead>
        <tr>
          <th>Version</th>
          <th>State</th>
          <th>Created</th>
          <th>Last saved</th>
          <th>Submitted</th>
          <th>Decided</th>
          <th>Open</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={v.id}>
            <td>
              <Link to={`/dataflows/${flowId}/versions/${v.number}`}>v{v.number}</Link>
            </td>
            <td>
              <StateBadge state={v.state} />
            </td>
            <td>
              {v.createdBy} · {fmtTime(v.createdAt)}
            </td>
            <td>
              {v.updatedBy || '—'} · {fmtTime(v.updatedAt)}
            </td>
            <td>{v.submittedBy ? `${v.submittedBy} · ${fmtTime(v.submittedAt)}` : '—'}</td>
            <td>
              {v.approvedBy ? `approved by ${v.approvedBy}` : v.rejectedBy ? `rejected by ${v.rejectedBy}` : '—'}
              {v.reason && <div className="hint">reason: {v.reason}</div>}
              {v.comment && <div className="hint">comment: {v.comment}</div>}
            </td>
            <td>
              <Link to={`/dataflows/${flowId}/versions/${v.number}/canvas`}>{v.state === 'Draft' ? 'Edit on canvas' : 'View canvas'}</Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface DiffResult {
  from: number;
  to: number;
  text: string;
  changes: Changes;
}

export function DiffView({ flowId, versions, initialFrom, initialTo }: { flowId: string; versions: Version[]; initialFrom?: number; initialTo?: number }) {
  const nums = versions.map((v) => v.number).sort((a, b) => a - b);
  const [from, setFrom] = useState(initialFrom ?? nums[Math.max(0, nums.length - 2)]);
  const [to, setTo] = useState(initialTo ?? nums[nums.length - 1]);
  const [shown, setShown] = useState<[number, number] | null>(null);
  const diff = useQuery({
    queryKey: ['diff', flowId, shown],
    enabled: shown !== null,
    queryFn: () => client.get<DiffResult>(`/dataflows/${flowId}/diff?from=${shown![0]}&to=${shown![1]}`),
  });
  return (
    <section aria-label="Compare versions">
      <h2>Compare versions</h2>
      <div className="toolbar">
        <label>
          From
          <select value={from} onChange={(e) => setFrom(Number(e.target.value))}>
            {nums.map((n) => (
              <option key={n} value={n}>
                v{n}
              </option>
            ))}
          </select>
        </label>
        <label>
          To
          <select value={to} onChange={(e) => setTo(Number(e.target.value))}>
            {nums.map((n) => (
              <option key={n} value={n}>
                v{n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setShown([from, to])}>
          Show differences
        </button>
      </div>
      <ErrorBox error={diff.error} />
      {diff.data && (
        <div>
          <h3>
            v{diff.data.from} → v{diff.data.to}
          </h3>
          {!changesEmpty(diff.data.changes) ? (
            <>
              <div className="row">
                <strong>What changed</strong>
                <span className="spacer" />
                <Link to={`/dataflows/${flowId}/versions/${diff.data.to}/canvas?diff=${diff.data.from}`}>Highlight the changes on the canvas of v{diff.data.to}</Link>
              </div>
              <pre className="diff" tabIndex={0} aria-label="What changed, block by block">
                {diff.data.text}
              </pre>
              <SideBySide flowId={flowId} from={diff.data.from} to={diff.data.to} />
            </>
          ) : (
            <p>The two versions are the same.</p>
          )}
        </div>
      )}
    </section>
  );
}

/** SideBySide shows the two versions' documents line against line, the
 * changed lines highlighted (unchanged runs folded). */
function SideBySide({ flowId, from, to }: { flowId: string; from: number; to: number }) {
  const [all, setAll] = useState(false);
  const a = useQuery({ queryKey: ['version', flowId, from], queryFn: () => client.get<Version>(`/dataflows/${flowId}/versions/${from}`) });
  const b = useQuery({ queryKey: ['version', flowId, to], queryFn: () => client.get<Version>(`/dataflows/${flowId}/versions/${to}`) });
  const rows = useMemo(() => (a.data && b.data ? sideBySide(a.data.document ?? '', b.data.document ?? '', all ? -1 : 3) : null), [a.data, b.data, all]);
  const cell = (s: Side | undefined, kind: RowKind, side: 'left' | 'right') => {
    const changed = kind === 'change' || (side === 'left' ? kind === 'del' : kind === 'add');
    const cls = changed ? (side === 'left' ? 'sbs-del' : 'sbs-add') : kind === 'same' ? '' : 'sbs-empty';
    return (
      <>
        <td className={'sbs-n ' + cls}>{s?.n ?? ''}</td>
        <td className={'sbs-text ' + cls}>
          {changed && <span className="visually-hidden">{side === 'left' ? 'removed: ' : 'added: '}</span>}
          {s?.text ?? ''}
        </td>
      </>
    );
  };
  return (
    <div className="sbs">
      <ErrorBox error={a.error ?? b.error} />
      {!rows ? (
        <Spinner />
      ) : (
        <>
          <div className="row">
            <strong>Documents side by side</strong>
            <span className="spacer" />
            <label className="inline">
              <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Show unchanged lines
            </label>
          </div>
          <div className="table-scroll">
            <table className="sbs-table" aria-label={`Documents of v${from} and v${to} side by side`}>
              <thead>
                <tr>
                  <th scope="col" className="sbs-n">
                    <span className="visually-hidden">Line in </span>v{from}
                  </th>
                  <th scope="col">Document of v{from}</th>
                  <th scope="col" className="sbs-n">
                    <span className="visually-hidden">Line in </span>v{to}
                  </th>
                  <th scope="col">Document of v{to}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) =>
                  r.kind === 'skip' ? (
                    <tr key={i} className="sbs-skip">
                      <td colSpan={4}>
                        … {r.skipped} unchanged line{r.skipped === 1 ? '' : 's'}
                      </td>
                    </tr>
                  ) : (
                    <tr key={i} data-kind={r.kind}>
                      {cell(r.left, r.kind, 'left')}
                      {cell(r.right, r.kind, 'right')}
                    </tr>
                  ),
                )}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
