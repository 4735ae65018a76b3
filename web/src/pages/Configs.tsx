import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { ConfigView } from '../api/types';
import { useAuth } from '../auth';
import { useCan } from '../hooks';
import { Link } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, Spinner, StateBadge } from '../ui/common';

interface ConfigRequest {
  id: string;
  name: string;
  kind: string;
  value: string;
  isSecret: boolean;
  baseRevision: number;
  status: string;
  requestedBy: string;
  decidedBy?: string;
  comment?: string;
  createdAt: string;
  decidedAt?: string;
}

interface SyncResult {
  flows: { id: string; name: string; configRevision: number }[];
}

export function ConfigsPage() {
  const canEdit = useCan('editor');
  const qc = useQueryClient();
  const configs = useQuery({ queryKey: ['configs'], queryFn: () => client.get<ConfigView[]>('/configs') });
  const [reqStatus, setReqStatus] = useState('Pending');
  const requests = useQuery({ queryKey: ['config-requests', reqStatus], queryFn: () => client.get<ConfigRequest[]>('/config-requests' + (reqStatus ? '?status=' + reqStatus : '')) });
  const [editing, setEditing] = useState<{ name: string; isSecret: boolean; isNew: boolean } | null>(null);
  const [synced, setSynced] = useState<{ name: string; r: SyncResult } | null>(null);
  const sync = useMutation({
    mutationFn: (name: string) => client.post<SyncResult>(`/configs/${encodeURIComponent(name)}/sync`),
    onSuccess: (r, name) => {
      setSynced({ name, r });
      void qc.invalidateQueries({ queryKey: ['configs'] });
    },
  });
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Extension Configurations' }]} />
      <div className="row">
        <h1>Extension Configurations</h1>
        <span className="spacer" />
        {canEdit && (
          <button type="button" className="primary" onClick={() => setEditing({ name: '', isSecret: false, isNew: true })}>
            Request a new configuration
          </button>
        )}
      </div>
      <p className="hint">Values used by blocks as {'{$config: name}'}. Secret values are never shown. Adding or changing an entry is a request that an administrator other than you approves.</p>
      <ErrorBox error={configs.error} />
      <ErrorBox error={sync.error} title="Sync failed" />
      {synced && (
        <p className="success" role="status">
          Synced “{synced.name}”: {synced.r.flows.length ? synced.r.flows.map((f) => f.name).join(', ') + ' pick up the new value for their next file.' : 'no Live dataflow uses it.'}
        </p>
      )}
      {configs.isLoading ? (
        <Spinner />
      ) : (
        <table className="grid" aria-label="Extension Configurations">
          <thead>
            <tr>
              <th>Name</th>
              <th>Value</th>
              <th>Revision</th>
              <th>Last change</th>
              <th>Approved by</th>
              <th>Synced</th>
              {canEdit && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(configs.data ?? []).length === 0 && (
              <tr>
                <td colSpan={7} className="hint">
                  No entries yet.
                </td>
              </tr>
            )}
            {configs.data?.map((c) => (
              <tr key={c.name}>
                <td>
                  <code>{c.name}</code> {c.isSecret && <span className="badge">secret</span>}
                </td>
                <td>
                  <code>{c.isSecret ? '••••••••' : c.value}</code>
                </td>
                <td>{c.revision}</td>
                <td>
                  {c.updatedBy || c.createdBy} · {fmtTime(c.updatedAt)}
                </td>
                <td>{c.approvedBy || '—'}</td>
                <td>{fmtTime(c.syncedAt)}</td>
                {canEdit && (
                  <td className="row">
                    <button type="button" onClick={() => setEditing({ name: c.name, isSecret: c.isSecret, isNew: false })}>
                      Request change
                    </button>
                    <button type="button" disabled={sync.isPending} onClick={() => sync.mutate(c.name)}>
                      Sync
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="row">
        <h2>Requests</h2>
        <label>
          <span className="visually-hidden">Request status</span>
          <select aria-label="Request status" value={reqStatus} onChange={(e) => setReqStatus(e.target.value)}>
            <option value="Pending">Pending</option>
            <option value="Approved">Approved</option>
            <option value="Rejected">Rejected</option>
            <option value="">All</option>
          </select>
        </label>
      </div>
      <ErrorBox error={requests.error} />
      {requests.data && <RequestsTable requests={requests.data} />}
      <RequestDialog editing={editing} onClose={() => setEditing(null)} />
    </div>
  );
}

function RequestsTable({ requests }: { requests: ConfigRequest[] }) {
  const isAdmin = useCan('admin');
  const { me } = useAuth();
  const qc = useQueryClient();
  const [comment, setComment] = useState<Record<string, string>>({});
  const [error, setError] = useState<{ id: string; e: unknown } | null>(null);
  const decide = useMutation({
    mutationFn: ({ id, action }: { id: string; action: 'approve' | 'reject' }) => client.post(`/config-requests/${id}/${action}`, { comment: comment[id] || undefined }),
    onMutate: () => setError(null),
    onError: (e, { id }) => setError({ id, e }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['config-requests'] });
      void qc.invalidateQueries({ queryKey: ['configs'] });
    },
  });
  if (!requests.length) return <p className="hint">No requests.</p>;
  return (
    <table className="grid" aria-label="Configuration requests">
      <thead>
        <tr>
          <th>Name</th>
          <th>Kind</th>
          <th>Value</th>
          <th>Requested</th>
          <th>Status</th>
          <th>Decision</th>
        </tr>
      </thead>
      <tbody>
        {requests.map((r) => (
          <tr key={r.id}>
            <td>
              <code>{r.name}</code> {r.isSecret && <span className="badge">secret</span>}
            </td>
            <td>{r.kind}</td>
            <td>
              <code>{r.isSecret ? '••••••••' : r.value}</code>
            </td>
            <td>
              {r.requestedBy} · {fmtTime(r.createdAt)}
            </td>
            <td>
              <StateBadge state={r.status} />
            </td>
            <td>
              {r.status === 'Pending' && isAdmin ? (
                <div className="stack">
                  <label>
                    Comment
                    <input value={comment[r.id] ?? ''} onChange={(e) => setComment({ ...comment, [r.id]: e.target.value })} />
                  </label>
                  <div className="row">
                    <button type="button" className="primary" disabled={decide.isPending} onClick={() => decide.mutate({ id: r.id, action: 'approve' })} title={r.requestedBy === me?.username ? 'Another administrator must approve your own request' : ''}>
                      Approve
                    </button>
                    <button type="button" className="danger" disabled={decide.isPending} onClick={() => decide.mutate({ id: r.id, action: 'reject' })}>
                      Reject
                    </button>
                  </div>
                  {error?.id === r.id && <ErrorBox error={error.e} title="Refused" />}
                </div>
              ) : (
                <>
                  {r.decidedBy ? `${r.decidedBy} · ${fmtTime(r.decidedAt)}` : '—'}
                  {r.comment && <div className="hint">{r.comment}</div>}
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RequestDialog({ editing, onClose }: { editing: { name: string; isSecret: boolean; isNew: boolean } | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [isSecret, setIsSecret] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  // Reset the form when a different entry is opened.
  const key = editing ? editing.name + ':' + editing.isNew : null;
  if (key !== open) {
    setOpen(key);
    setName(editing?.name ?? '');
    setValue('');
    setIsSecret(editing?.isSecret ?? false);
  }
  const m = useMutation({
    mutationFn: () => client.post<ConfigRequest>('/config-requests', { name, value, isSecret }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['config-requests'] });
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Modal title={editing?.isNew ? 'Request a new configuration' : `Request a change of ${editing?.name ?? ''}`} open={editing !== null} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorBox error={m.error} />
        <label>
          Name <span className="req">*</span>
          <input required value={name} disabled={!editing?.isNew} pattern="[A-Za-z0-9_.\-]{1,128}" title="1-128 letters, digits or _.-" onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" role="switch" checked={isSecret} onChange={(e) => setIsSecret(e.target.checked)} /> Secret (encrypted, never shown again)
        </label>
        <label>
          {editing?.isNew ? 'Value' : 'New value'} <span className="req">*</span>
          <input required type={isSecret ? 'password' : 'text'} autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <p className="hint">
          The request waits for an administrator other than you. Dataflows pick the new value up after a <Link to="/configs">Sync</Link>.
        </p>
        <div className="actions">
          <button type="submit" className="primary" disabled={m.isPending}>
            Send the request
          </button>
        </div>
      </form>
    </Modal>
  );
}
