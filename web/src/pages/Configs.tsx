import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { ConfigView } from '../api/types';
import { useAuth } from '../auth';
import { useCan } from '../hooks';
import { Link } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, Spinner, StateBadge } from '../ui/common';
import { DataTable, Masked } from '../ui/DataTable';
import type { SyncResult } from '../ui/sync';

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
        <DataTable
          label="Extension Configurations"
          rows={configs.data ?? []}
          rowKey={(c) => c.name}
          empty="No entries yet."
          columns={[
            { key: 'name', header: 'Name', cell: (c) => <><code>{c.name}</code> {c.isSecret && <span className="badge">secret</span>}</> },
            { key: 'value', header: 'Value', cell: (c) => <Masked secret={c.isSecret} value={c.value} /> },
            { key: 'revision', header: 'Revision', cell: (c) => c.revision },
            { key: 'changed', header: 'Last change', cell: (c) => `${c.updatedBy || c.createdBy} · ${fmtTime(c.updatedAt)}` },
            { key: 'approved', header: 'Approved by', cell: (c) => c.approvedBy || '—' },
            { key: 'synced', header: 'Synced', cell: (c) => fmtTime(c.syncedAt) },
            {
              key: 'actions',
              header: 'Actions',
              hidden: !canEdit,
              className: 'row',
              cell: (c) => (
                <>
                  <button type="button" onClick={() => setEditing({ name: c.name, isSecret: c.isSecret, isNew: false })}>
                    Request change
                  </button>
                  <button type="button" disabled={sync.isPending} onClick={() => sync.mutate(c.name)}>
                    Sync
                  </button>
                </>
              ),
            },
          ]}
        />
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
  const decision = (r: ConfigRequest) =>
    r.status === 'Pending' && isAdmin ? (
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
    );
  return (
    <DataTable
      label="Configuration requests"
      rows={requests}
      rowKey={(r) => r.id}
      columns={[
        { key: 'name', header: 'Name', cell: (r) => <><code>{r.name}</code> {r.isSecret && <span className="badge">secret</span>}</> },
        { key: 'kind', header: 'Kind', cell: (r) => r.kind },
        { key: 'value', header: 'Value', cell: (r) => <Masked secret={r.isSecret} value={r.value} /> },
        { key: 'requested', header: 'Requested', cell: (r) => `${r.requestedBy} · ${fmtTime(r.createdAt)}` },
        { key: 'status', header: 'Status', cell: (r) => <StateBadge state={r.status} /> },
        { key: 'decision', header: 'Decision', cell: decision },
      ]}
    />
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
