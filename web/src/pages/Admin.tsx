import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Membership, Page } from '../api/types';
import { useAuth } from '../auth';
import { useCan, useDebounced } from '../hooks';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, saveBlob, Spinner } from '../ui/common';

const roles = ['viewer', 'editor', 'admin'];

export function UsersPage() {
  const isAdmin = useCan('admin');
  const { me } = useAuth();
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: () => client.get<Membership[]>('/users') });
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const setRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: string }) => client.put(`/users/${id}/role`, { role }),
    onMutate: () => setError(null),
    onError: setError,
    onSettled: () => void qc.invalidateQueries({ queryKey: ['users'] }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => client.del(`/users/${id}`),
    onMutate: () => setError(null),
    onError: setError,
    onSettled: () => void qc.invalidateQueries({ queryKey: ['users'] }),
  });
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Users' }]} />
      <div className="row">
        <h1>Users</h1>
        <span className="spacer" />
        {isAdmin && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add a user
          </button>
        )}
      </div>
      <ErrorBox error={users.error} />
      <ErrorBox error={error} title="Refused" />
      {users.isLoading ? (
        <Spinner />
      ) : (
        <table className="grid" aria-label="Users">
          <thead>
            <tr>
              <th>User</th>
              <th>Display name</th>
              <th>Role</th>
              <th>Member since</th>
              {isAdmin && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => (
              <tr key={u.userId}>
                <td>{u.username}</td>
                <td>{u.displayName}</td>
                <td>
                  {isAdmin && u.userId !== me?.userId ? (
                    <select aria-label={`Role of ${u.username}`} value={u.role} onChange={(e) => setRole.mutate({ id: u.userId, role: e.target.value })}>
                      {roles.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  ) : (
                    u.role
                  )}
                </td>
                <td>{fmtTime(u.createdAt)}</td>
                {isAdmin && (
                  <td>
                    {u.userId !== me?.userId && (
                      <button type="button" className="danger" onClick={() => window.confirm(`Remove ${u.username} from the organisation?`) && remove.mutate(u.userId)}>
                        Remove
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AddUserDialog open={adding} onClose={() => setAdding(false)} />
    </div>
  );
}

function AddUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('viewer');
  const m = useMutation({
    mutationFn: () => client.post('/users', { username, displayName: displayName || undefined, password: password || undefined, role }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['users'] });
      setUsername('');
      setPassword('');
      setDisplayName('');
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Modal title="Add a user" open={open} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorBox error={m.error} />
        <label>
          Username <span className="req">*</span>
          <input required value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" />
        </label>
        <label>
          Display name
          <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        </label>
        <label>
          Password <span className="hint">(for a new user; at least 12 characters)</span>
          <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {roles.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={m.isPending}>
            Add
          </button>
        </div>
      </form>
    </Modal>
  );
}

interface APIToken {
  id: string;
  prefix: string;
  userId: string;
  username?: string;
  name: string;
  scope: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

export function TokensPage() {
  const isAdmin = useCan('admin');
  const qc = useQueryClient();
  const [all, setAll] = useState(false);
  const tokens = useQuery({ queryKey: ['tokens', all], queryFn: () => client.get<APIToken[]>('/tokens' + (all ? '?all=true' : '')) });
  const [name, setName] = useState('');
  const [scope, setScope] = useState('read');
  const [days, setDays] = useState('90');
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => client.post<{ token: string; apiToken: APIToken }>('/tokens', { name, scope, expiresInDays: Number(days) || 0 }),
    onSuccess: (r) => {
      setSecret(r.token);
      setName('');
      void qc.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => client.del(`/tokens/${id}`),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['tokens'] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <div>
      <Breadcrumbs items={[{ label: 'API tokens' }]} />
      <h1>API tokens</h1>
      <p className="hint">Tokens authenticate the CLI and scripts (Authorization: Bearer …). A token’s scope cannot exceed your role.</p>
      <form className="toolbar card" onSubmit={submit} aria-label="Create a token">
        <label>
          Name <span className="req">*</span>
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Scope
          <select value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="read">read</option>
            <option value="write">write</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label>
          Expires in (days, 0 = never)
          <input type="number" min={0} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={create.isPending}>
          Create token
        </button>
      </form>
      <ErrorBox error={create.error} />
      <ErrorBox error={revoke.error} />
      {isAdmin && (
        <label className="inline">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Everyone’s tokens
        </label>
      )}
      <ErrorBox error={tokens.error} />
      <table className="grid" aria-label="API tokens">
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            {all && <th>User</th>}
            <th>Scope</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Last used</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>
                <code>{t.prefix}</code>
              </td>
              {all && <td>{t.username}</td>}
              <td>{t.scope}</td>
              <td>{fmtTime(t.createdAt)}</td>
              <td>{t.expiresAt ? fmtTime(t.expiresAt) : 'never'}</td>
              <td>{fmtTime(t.lastUsedAt)}</td>
              <td>
                {t.revokedAt ? (
                  `revoked ${fmtTime(t.revokedAt)}`
                ) : (
                  <button type="button" className="danger" onClick={() => window.confirm(`Revoke “${t.name}”?`) && revoke.mutate(t.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Modal title="Your new token" open={secret !== null} onClose={() => setSecret(null)}>
        <div className="stack">
          <p>Copy it now: it is shown only once.</p>
          <label>
            Token
            <input readOnly value={secret ?? ''} className="code" onFocus={(e) => e.target.select()} />
          </label>
          <div className="actions">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(secret ?? '')}>
              Copy
            </button>
            <button type="button" className="primary" onClick={() => setSecret(null)}>
              Done
            </button>
          </div>
        </div>
      </Modal>
    </div>
  );
}

interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  objectType: string;
  objectId: string;
  before?: unknown;
  after?: unknown;
  requestId?: string;
}

export function AuditPage() {
  const [f, setF] = useState({ actor: '', action: '', objectType: '', objectId: '', since: '', until: '' });
  const [cursors, setCursors] = useState<string[]>(['']);
  const [exportError, setExportError] = useState<unknown>(null);
  const df = useDebounced(f, 300);
  const params = (paged: boolean) => {
    const p = new URLSearchParams();
    for (const k of ['actor', 'action', 'objectType', 'objectId'] as const) if (df[k]) p.set(k, df[k]);
    for (const k of ['since', 'until'] as const) if (df[k] && !isNaN(new Date(df[k]).getTime())) p.set(k, new Date(df[k]).toISOString());
    if (paged) {
      p.set('limit', '50');
      const c = cursors[cursors.length - 1];
      if (c) p.set('cursor', c);
    }
    return p;
  };
  const qs = params(true).toString();
  const audit = useQuery({ queryKey: ['audit', qs], queryFn: () => client.get<Page<AuditEntry>>('/audit?' + qs) });
  const set = (k: keyof typeof f, v: string) => {
    setF({ ...f, [k]: v });
    setCursors(['']);
  };
  const doExport = async (format: 'jsonl' | 'csv') => {
    setExportError(null);
    try {
      const p = params(false);
      p.set('format', format);
      const r = await client.raw('GET', '/audit/export?' + p.toString());
      saveBlob(await r.blob(), `audit.${format}`);
    } catch (e) {
      setExportError(e);
    }
  };
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Audit log' }]} />
      <div className="row">
        <h1>Audit log</h1>
        <span className="spacer" />
        <button type="button" onClick={() => void doExport('jsonl')}>
          Export JSON Lines
        </button>
        <button type="button" onClick={() => void doExport('csv')}>
          Export CSV
        </button>
      </div>
      <div className="toolbar" role="search">
        <label>
          Actor
          <input value={f.actor} onChange={(e) => set('actor', e.target.value)} placeholder="username" />
        </label>
        <label>
          Action
          <input value={f.action} onChange={(e) => set('action', e.target.value)} placeholder="e.g. version.approve" />
        </label>
        <label>
          Object type
          <input value={f.objectType} onChange={(e) => set('objectType', e.target.value)} placeholder="e.g. version" />
        </label>
        <label>
          Object id
          <input value={f.objectId} onChange={(e) => set('objectId', e.target.value)} />
        </label>
        <label>
          Since
          <input type="datetime-local" value={f.since} onChange={(e) => set('since', e.target.value)} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={f.until} onChange={(e) => set('until', e.target.value)} />
        </label>
      </div>
      <ErrorBox error={exportError} title="Export failed" />
      <ErrorBox error={audit.error} />
      {audit.isLoading ? (
        <Spinner />
      ) : (
        <table className="grid" aria-label="Audit entries">
          <thead>
            <tr>
              <th>#</th>
              <th>When</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Object</th>
              <th>Change</th>
              <th>Request id</th>
            </tr>
          </thead>
          <tbody>
            {audit.data?.items.map((e) => (
              <tr key={e.seq}>
                <td className="num">{e.seq}</td>
                <td>{fmtTime(e.at)}</td>
                <td>{e.actor}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>
                  {e.objectType} <code className="hint">{e.objectId}</code>
                </td>
                <td>
                  {(e.before !== undefined || e.after !== undefined) && (
                    <details>
                      <summary>before / after</summary>
                      <pre>{JSON.stringify({ before: e.before, after: e.after }, null, 2)}</pre>
                    </details>
                  )}
                </td>
                <td>
                  <code>{e.requestId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!audit.data?.next} onClick={() => audit.data?.next && setCursors([...cursors, audit.data.next])}>
          Older →
        </button>
      </nav>
    </div>
  );
}
