// Issues (issue 17, spec §6.7): the alerts that fired, newest first, with
// filters (time, status, priority, dataflow); acknowledge (records who)
// and close. Closed issues stay for audit.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client, parse } from '../api/client';
import type { Issue, Notification } from '../api/obs';
import type { Dataflow, Page } from '../api/types';
import { useCan } from '../hooks';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, Spinner, StateBadge } from '../ui/common';
import { Link, useLocation } from '../router';
import { fmtCount } from '../obs/format';
import { issueQuery } from '../obs/issues';
import '../obs/obs.css';

const TIMES = [
  { value: '', label: 'Any time' },
  { value: '24', label: 'Opened in the last 24 hours' },
  { value: '168', label: 'Opened in the last 7 days' },
  { value: '720', label: 'Opened in the last 30 days' },
  { value: 'custom', label: 'Custom range…' },
];

function duration(sec: number): string {
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.round(sec / 60)} min`;
  if (sec < 86400) return `${(sec / 3600).toFixed(1)} h`;
  return `${(sec / 86400).toFixed(1)} d`;
}

export default function IssuesPage() {
  const canEdit = useCan('editor');
  const qc = useQueryClient();
  const { search } = useLocation();
  const [filters, setFilters] = useState({ status: search.get('status') ?? '', priority: '', flowId: search.get('flowId') ?? '', time: '', since: '', until: '' });
  const [cursors, setCursors] = useState<string[]>(['']);
  const [closing, setClosing] = useState<Issue | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  const flows = useQuery({ queryKey: ['dataflows', 'all-names'], queryFn: () => client.get<Page<Dataflow>>('/dataflows?limit=200') });
  const qs = issueQuery(filters, cursors[cursors.length - 1]);
  const q = useQuery({
    queryKey: ['alert-issues', qs],
    queryFn: async () => {
      const res = await client.raw('GET', '/alert-issues?' + qs);
      return { items: (await parse<Issue[]>(res)) ?? [], next: res.headers.get('X-Next-Cursor') ?? '' };
    },
    refetchInterval: 15000,
  });
  const set = (patch: Partial<typeof filters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setCursors(['']);
  };
  const ack = useMutation({
    mutationFn: (i: Issue) => client.post<Issue>(`/alert-issues/${i.id}/acknowledge`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['alert-issues'] }),
  });
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Issues' }]} />
      <div className="row">
        <h1>Issues</h1>
        <span className="spacer" />
        <Link to="/alerts">Alert rules and channels</Link>
      </div>
      <div className="toolbar" role="search" aria-label="Filter issues">
        <label>
          Time
          <select value={filters.time} onChange={(e) => set({ time: e.target.value })}>
            {TIMES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
        {filters.time === 'custom' && (
          <>
            <label>
              Opened since
              <input type="datetime-local" value={filters.since} onChange={(e) => set({ since: e.target.value })} />
            </label>
            <label>
              Opened before
              <input type="datetime-local" value={filters.until} onChange={(e) => set({ until: e.target.value })} />
            </label>
          </>
        )}
        <label>
          Status
          <select value={filters.status} onChange={(e) => set({ status: e.target.value })}>
            <option value="">Any</option>
            <option>Active</option>
            <option>Acknowledged</option>
            <option>Closed</option>
          </select>
        </label>
        <label>
          Priority
          <select value={filters.priority} onChange={(e) => set({ priority: e.target.value })}>
            <option value="">Any</option>
            <option>Critical</option>
            <option>Warning</option>
          </select>
        </label>
        <label>
          Dataflow
          <select value={filters.flowId} onChange={(e) => set({ flowId: e.target.value })}>
            <option value="">All</option>
            {flows.data?.items.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={q.error} />
      <ErrorBox error={ack.error} title="Acknowledge failed" />
      {q.isLoading && <Spinner />}
      {q.data && q.data.items.length === 0 && <p className="hint">No issue matches.</p>}
      {q.data && q.data.items.length > 0 && (
        <table className="grid" aria-label="Issues">
          <thead>
            <tr>
              <th scope="col">Opened</th>
              <th scope="col">Priority</th>
              <th scope="col">Status</th>
              <th scope="col">Issue</th>
              <th scope="col">Dataflow</th>
              <th scope="col" className="num">
                Value / threshold
              </th>
              <th scope="col">Handled</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((i) => (
              <IssueRow
                key={i.id}
                i={i}
                canEdit={canEdit}
                busy={ack.isPending}
                onAck={() => ack.mutate(i)}
                onClose={() => setClosing(i)}
                shown={shown === i.id}
                onShow={() => setShown(shown === i.id ? null : i.id)}
              />
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages of issues">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Previous
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!q.data?.next} onClick={() => q.data?.next && setCursors([...cursors, q.data.next])}>
          Next →
        </button>
      </nav>
      <CloseDialog issue={closing} onClose={() => setClosing(null)} />
    </div>
  );
}

function IssueRow({ i, canEdit, busy, onAck, onClose, shown, onShow }: { i: Issue; canEdit: boolean; busy: boolean; onAck: () => void; onClose: () => void; shown: boolean; onShow: () => void }) {
  return (
    <>
      <tr data-issue={i.id}>
        <td>
          {fmtTime(i.openedAt)}
          <div className="hint">for {duration(i.violationSeconds)}</div>
        </td>
        <td>
          <span className={'badge prio-' + i.priority.toLowerCase()}>{i.priority}</span>
        </td>
        <td>
          <StateBadge state={i.status} />
        </td>
        <td>
          <strong>{i.title}</strong>
          <div className="hint">
            {i.ruleName} · {i.description}
          </div>
        </td>
        <td>{i.flowId ? <Link to={`/dataflows/${i.flowId}?tab=performance`}>{i.flowName || i.flowId}</Link> : '—'}</td>
        <td className="num">
          {Number.isInteger(i.value) ? fmtCount(i.value) : i.value.toFixed(2)} / {i.threshold}
        </td>
        <td>
          {i.acknowledgedBy && (
            <div data-ack-by={i.acknowledgedBy}>
              Acknowledged by <strong>{i.acknowledgedBy}</strong> {fmtTime(i.acknowledgedAt)}
            </div>
          )}
          {i.closedAt && (
            <div>
              Closed {i.closedBy ? <>by <strong>{i.closedBy}</strong></> : 'automatically'} {fmtTime(i.closedAt)}
              {i.closeReason && <div className="hint">{i.closeReason}</div>}
            </div>
          )}
          {!i.acknowledgedBy && !i.closedAt && <span className="hint">—</span>}
        </td>
        <td>
          <div className="row">
            {i.status === 'Active' && (
              <button type="button" disabled={!canEdit || busy} onClick={onAck} aria-label={`Acknowledge ${i.title}`}>
                Acknowledge
              </button>
            )}
            {i.status !== 'Closed' && (
              <button type="button" disabled={!canEdit} onClick={onClose} aria-label={`Close ${i.title}`}>
                Close
              </button>
            )}
            <button type="button" className="link" aria-expanded={shown} onClick={onShow}>
              {i.notifications} notification(s)
            </button>
          </div>
        </td>
      </tr>
      {shown && (
        <tr>
          <td colSpan={8}>
            <Notifications id={i.id} />
          </td>
        </tr>
      )}
    </>
  );
}

function Notifications({ id }: { id: string }) {
  const q = useQuery({ queryKey: ['issue-notifications', id], queryFn: () => client.get<Notification[]>(`/alert-issues/${id}/notifications`) });
  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return <Spinner />;
  if (q.data.length === 0) return <p className="hint">No notification was sent (no channel gets this rule's alerts).</p>;
  return (
    <table className="grid compact" aria-label="Notifications">
      <thead>
        <tr>
          <th scope="col">At</th>
          <th scope="col">Event</th>
          <th scope="col">Channel</th>
          <th scope="col">Outcome</th>
        </tr>
      </thead>
      <tbody>
        {q.data.map((n) => (
          <tr key={n.id}>
            <td>{fmtTime(n.at)}</td>
            <td>{n.event}</td>
            <td>{n.kind}</td>
            <td>{n.ok ? `delivered (${n.attempts} attempt(s))` : `failed: ${n.error ?? ''}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CloseDialog({ issue, onClose }: { issue: Issue | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const m = useMutation({
    mutationFn: () => client.post<Issue>(`/alert-issues/${issue!.id}/close`, { reason: reason || undefined }),
    onSuccess: () => {
      setReason('');
      void qc.invalidateQueries({ queryKey: ['alert-issues'] });
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Modal title="Close the issue" open={issue !== null} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <p>{issue?.title}</p>
        <label>
          Reason <span className="hint">(optional, kept with the issue)</span>
          <input value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <ErrorBox error={m.error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={m.isPending}>
            Close the issue
          </button>
        </div>
      </form>
    </Modal>
  );
}
