import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Membership, Page } from '../api/types';
import { useAuth } from '../auth';
import { useCan, useDebounced } from '../hooks';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, saveBlob, Spinner } from '../ui/common';
import { DataTable, Pager, useCursorPages } from '../ui/DataTable';

const roles = ['viewer', 'editor', 'admin'];

interface Invitation {
  id: string;
  username: string;
  displayName?: string;
  role: string;
  status: string;
  invitedBy: string;
  approvedBy?: string;
  createdAt: string;
  expiresAt: string;
  acceptedAt?: string;
}

interface RoleRequest {
  id: string;
  username: string;
  role: string;
  status: string;
  requestedBy: string;
  decidedBy?: string;
  comment?: string;
  createdAt: string;
  decidedAt?: string;
}

export function UsersPage() {
  const isAdmin = useCan('admin');
  const { me } = useAuth();
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: () => client.get<Membership[]>('/users') });
  const invitations = useQuery({ queryKey: ['invitations'], enabled: isAdmin, queryFn: () => client.get<Invitation[]>('/invitations') });
  const roleRequests = useQuery({ queryKey: ['role-requests'], enabled: isAdmin, queryFn: () => client.get<RoleRequest[]>('/role-requests?status=Pending') });
  const [inviting, setInviting] = useState(false);
  const [resetting, setResetting] = useState<Membership | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['users'] });
    void qc.invalidateQueries({ queryKey: ['invitations'] });
    void qc.invalidateQueries({ queryKey: ['role-requests'] });
  };
  const setRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: string }) => client.put<{ membership: Membership; roleRequest?: RoleRequest }>(`/users/${id}/role`, { role }),
    onMutate: () => (setError(null), setNotice(null)),
    onError: setError,
    onSuccess: (r) => r?.roleRequest && setNotice(`Making ${r.roleRequest.username} an admin waits for another administrator's approval.`),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => client.del(`/users/${id}`),
    onMutate: () => setError(null),
    onError: setError,
    onSettled: refresh,
  });
  const revokeInvite = useMutation({ mutationFn: (id: string) => client.del(`/invitations/${id}`), onError: setError, onSettled: refresh });
  const decide = useMutation({
    mutationFn: ({ id, action }: { id: string; action: 'approve' | 'reject' }) => client.post(`/role-requests/${id}/${action}`, {}),
    onMutate: () => setError(null),
    onError: setError,
    onSettled: refresh,
  });
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Users' }]} />
      <div className="row">
        <h1>Users</h1>
        <span className="spacer" />
        {isAdmin && (
          <button type="button" className="primary" onClick={() => setInviting(true)}>
            Invite a user
          </button>
        )}
      </div>
      <ErrorBox error={users.error} />
      <ErrorBox error={error} title="Refused" />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {users.isLoading ? (
        <Spinner />
      ) : (
        <DataTable
          label="Users"
          rows={users.data ?? []}
          rowKey={(u) => u.userId}
          columns={[
            { key: 'user', header: 'User', cell: (u) => u.username },
            { key: 'display', header: 'Display name', cell: (u) => u.displayName },
            {
              key: 'role',
              header: 'Role',
              cell: (u) =>
                isAdmin && u.userId !== me?.userId ? (
                  <select aria-label={`Role of ${u.username}`} value={u.role} onChange={(e) => setRole.mutate({ id: u.userId, role: e.target.value })}>
                    {roles.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                ) : (
                  u.role
                ),
            },
            { key: 'since', header: 'Member since', cell: (u) => fmtTime(u.createdAt) },
            {
              key: 'actions',
              header: 'Actions',
              hidden: !isAdmin,
              className: 'row',
              cell: (u) =>
                u.userId !== me?.userId && (
                  <>
                    <button type="button" onClick={() => setResetting(u)}>
                      Reset password
                    </button>
                    <button type="button" className="danger" onClick={() => window.confirm(`Remove ${u.username} from the organisation?`) && remove.mutate(u.userId)}>
                      Remove
                    </button>
                  </>
                ),
            },
          ]}
        />
      )}
      {isAdmin && (roleRequests.data?.length ?? 0) > 0 && (
        <>
          <h2>Admin grants waiting for a second administrator</h2>
          <DataTable
            label="Role requests"
            rows={roleRequests.data!}
            rowKey={(r) => r.id}
            columns={[
              { key: 'user', header: 'User', cell: (r) => r.username },
              { key: 'role', header: 'Role', cell: (r) => r.role },
              { key: 'requested', header: 'Requested', cell: (r) => `${r.requestedBy} · ${fmtTime(r.createdAt)}` },
              {
                key: 'decision',
                header: 'Decision',
                className: 'row',
                cell: (r) => (
                  <>
                    <button type="button" className="primary" onClick={() => decide.mutate({ id: r.id, action: 'approve' })}>
                      Approve
                    </button>
                    <button type="button" className="danger" onClick={() => decide.mutate({ id: r.id, action: 'reject' })}>
                      Reject
                    </button>
                  </>
                ),
              },
            ]}
          />
        </>
      )}
      {isAdmin && (invitations.data?.length ?? 0) > 0 && (
        <>
          <h2>Invitations</h2>
          <DataTable
            label="Invitations"
            rows={invitations.data!}
            rowKey={(i) => i.id}
            columns={[
              { key: 'user', header: 'Username', cell: (i) => i.username },
              { key: 'role', header: 'Role', cell: (i) => i.role },
              { key: 'status', header: 'Status', cell: (i) => i.status },
              { key: 'invited', header: 'Invited', cell: (i) => `${i.invitedBy} · ${fmtTime(i.createdAt)}` },
              { key: 'expires', header: 'Expires', cell: (i) => fmtTime(i.expiresAt) },
              {
                key: 'actions',
                header: 'Actions',
                cell: (i) =>
                  !i.acceptedAt &&
                  i.status !== 'Revoked' && (
                    <button type="button" className="danger" onClick={() => revokeInvite.mutate(i.id)}>
                      Revoke
                    </button>
                  ),
              },
            ]}
          />
        </>
      )}
      <InviteDialog open={inviting} onClose={() => setInviting(false)} />
      <ResetDialog member={resetting} onClose={() => setResetting(null)} />
    </div>
  );
}

function InviteDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState('viewer');
  const [created, setCreated] = useState<{ code: string; username: string; waiting: boolean } | null>(null);
  const m = useMutation({
    mutationFn: () => client.post<{ code: string; invitation: Invitation; roleRequest?: RoleRequest }>('/users', { username, displayName: displayName || undefined, role }),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['invitations'] });
      void qc.invalidateQueries({ queryKey: ['role-requests'] });
      setCreated({ code: r.code, username, waiting: !!r.roleRequest });
      setUsername('');
      setDisplayName('');
    },
  });
  const close = () => {
    setCreated(null);
    onClose();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Modal title="Invite a user" open={open} onClose={close}>
      {created ? (
        <div className="stack">
          <p>
            Give <strong>{created.username}</strong> this one-time code out of band. They redeem it on the sign-in page (“I have an invitation code”). It is not shown again.
          </p>
          <label>
            Invitation code
            <input readOnly className="code" value={created.code} onFocus={(e) => e.target.select()} />
          </label>
          {created.waiting && <p className="notice">The admin role waits for another administrator’s approval before the code can be redeemed.</p>}
          <div className="actions">
            <button type="button" className="primary" onClick={close}>
              Done
            </button>
          </div>
        </div>
      ) : (
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
            Role
            <select value={role} onChange={(e) => setRole(e.target.value)}>
              {roles.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <div className="actions">
            <button type="submit" className="primary" disabled={m.isPending}>
              Create the invitation
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

function ResetDialog({ member, onClose }: { member: Membership | null; onClose: () => void }) {
  const [pw, setPw] = useState('');
  const m = useMutation({
    mutationFn: () => client.post(`/users/${member!.userId}/password`, { newPassword: pw }),
    onSuccess: () => {
      setPw('');
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Modal title={`Reset the password of ${member?.username ?? ''}`} open={member !== null} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorBox error={m.error} />
        <p className="hint">Ends their sessions and revokes all their API tokens.</p>
        <label>
          New password <span className="hint">(at least 12 characters)</span>
          <input type="password" required autoComplete="new-password" value={pw} onChange={(e) => setPw(e.target.value)} />
        </label>
        <div className="actions">
          <button type="submit" className="danger" disabled={m.isPending}>
            Reset the password
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
  const revokeAll = useMutation({
    mutationFn: () => client.post<{ revoked: number }>('/tokens/revoke-all'),
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
      <ErrorBox error={revokeAll.error} />
      {revokeAll.data && (
        <p className="success" role="status">
          Revoked {revokeAll.data.revoked} token(s).
        </p>
      )}
      <div className="row">
        <span className="spacer" />
        <button type="button" className="danger" onClick={() => window.confirm('Revoke every API token of yours, in every organisation?') && revokeAll.mutate()}>
          Revoke all my tokens
        </button>
      </div>
      {isAdmin && (
        <label className="inline">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Everyone’s tokens
        </label>
      )}
      <ErrorBox error={tokens.error} />
      <DataTable
        label="API tokens"
        rows={tokens.data ?? []}
        rowKey={(t) => t.id}
        columns={[
          { key: 'name', header: 'Name', cell: (t) => t.name },
          { key: 'prefix', header: 'Prefix', cell: (t) => <code>{t.prefix}</code> },
          { key: 'user', header: 'User', hidden: !all, cell: (t) => t.username },
          { key: 'scope', header: 'Scope', cell: (t) => t.scope },
          { key: 'created', header: 'Created', cell: (t) => fmtTime(t.createdAt) },
          { key: 'expires', header: 'Expires', cell: (t) => (t.expiresAt ? fmtTime(t.expiresAt) : 'never') },
          { key: 'used', header: 'Last used', cell: (t) => fmtTime(t.lastUsedAt) },
          {
            key: 'actions',
            header: 'Actions',
            cell: (t) =>
              t.revokedAt ? (
                `revoked ${fmtTime(t.revokedAt)}`
              ) : (
                <button type="button" className="danger" onClick={() => window.confirm(`Revoke “${t.name}”?`) && revoke.mutate(t.id)}>
                  Revoke
                </button>
              ),
          },
        ]}
      />
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
  const pages = useCursorPages();
  const [exportError, setExportError] = useState<unknown>(null);
  const df = useDebounced(f, 300);
  const params = (paged: boolean) => {
    const p = new URLSearchParams();
    for (const k of ['actor', 'action', 'objectType', 'objectId'] as const) if (df[k]) p.set(k, df[k]);
    for (const k of ['since', 'until'] as const) if (df[k] && !isNaN(new Date(df[k]).getTime())) p.set(k, new Date(df[k]).toISOString());
    if (paged) {
      p.set('limit', '50');
      if (pages.cursor) p.set('cursor', pages.cursor);
    }
    return p;
  };
  const qs = params(true).toString();
  const audit = useQuery({ queryKey: ['audit', qs], queryFn: () => client.get<Page<AuditEntry>>('/audit?' + qs) });
  const set = (k: keyof typeof f, v: string) => {
    setF({ ...f, [k]: v });
    pages.reset();
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
        <DataTable
          label="Audit entries"
          rows={audit.data?.items ?? []}
          rowKey={(e) => e.seq}
          empty="No entries match."
          columns={[
            { key: 'seq', header: '#', className: 'num', cell: (e) => e.seq },
            { key: 'at', header: 'When', cell: (e) => fmtTime(e.at) },
            { key: 'actor', header: 'Actor', cell: (e) => e.actor },
            { key: 'action', header: 'Action', cell: (e) => <code>{e.action}</code> },
            { key: 'object', header: 'Object', cell: (e) => <>{e.objectType} <code className="hint">{e.objectId}</code></> },
            {
              key: 'change',
              header: 'Change',
              cell: (e) =>
                (e.before !== undefined || e.after !== undefined) && (
                  <details>
                    <summary>before / after</summary>
                    <pre tabIndex={0}>{JSON.stringify({ before: e.before, after: e.after }, null, 2)}</pre>
                  </details>
                ),
            },
            { key: 'request', header: 'Request id', cell: (e) => <code>{e.requestId}</code> },
          ]}
        />
      )}
      <Pager page={pages.page} hasNext={!!audit.data?.next} onPrev={pages.prev} onNext={() => pages.next(audit.data?.next)} prevLabel="← Newer" nextLabel="Older →" />
    </div>
  );
}
