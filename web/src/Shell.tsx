import { useState, type FormEvent, type ReactNode } from 'react';
import { useAuth } from './auth';
import { client } from './api/client';
import { atLeast } from './api/types';
import { Link, useLocation, useNavigate } from './router';
import { ErrorBox, Modal } from './ui/common';

interface NavItem {
  to: string;
  label: string;
  admin?: boolean;
}

const nav: NavItem[] = [
  { to: '/dataflows', label: 'Dataflows' },
  { to: '/runs', label: 'Runs' },
  { to: '/configs', label: 'Extension Configurations' },
  { to: '/alerts', label: 'Alerts' },
  { to: '/issues', label: 'Issues' },
  { to: '/reports', label: 'Reports' },
  { to: '/users', label: 'Users', admin: true },
  { to: '/tokens', label: 'API tokens' },
  { to: '/audit', label: 'Audit log', admin: true },
  { to: '/cluster', label: 'Cluster', admin: true },
];

export function Shell({ children }: { children: ReactNode }) {
  const { me, logout } = useAuth();
  const { path } = useLocation();
  const [pwOpen, setPwOpen] = useState(false);
  const [switchTo, setSwitchTo] = useState<string | null>(null);
  if (!me) return null;
  const orgs = me.orgs ?? [];
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/dataflows" className="brand">
          <span className="brand-mark" aria-hidden="true">+</span> Connect+
        </Link>
        <nav aria-label="Main" className="mainnav">
          <ul>
            {nav
              .filter((n) => !n.admin || atLeast(me.role, 'admin'))
              .map((n) => (
                <li key={n.to}>
                  <Link to={n.to} aria-current={path === n.to || path.startsWith(n.to + '/') ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        <div className="topbar-right">
          <label className="org-switch">
            <span className="visually-hidden">Organisation</span>
            <select
              aria-label="Organisation"
              value={me.orgId}
              onChange={(e) => {
                if (e.target.value !== me.orgId) setSwitchTo(e.target.value);
              }}
            >
              {orgs.map((o) => (
                <option key={o.orgId} value={o.orgId}>
                  {o.orgName || o.orgId}
                </option>
              ))}
            </select>
          </label>
          <span className="whoami" title={'Role: ' + me.role}>
            {me.username} <span className="role">({me.role})</span>
          </span>
          <button type="button" onClick={() => setPwOpen(true)}>
            Change password
          </button>
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        {children}
      </main>
      <PasswordDialog open={pwOpen} onClose={() => setPwOpen(false)} />
      <SwitchOrgDialog orgId={switchTo} onClose={() => setSwitchTo(null)} />
    </div>
  );
}

function PasswordDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { logout } = useAuth();
  const [oldPassword, setOld] = useState('');
  const [newPassword, setNew] = useState('');
  const [confirm, setConfirm] = useState('');
  const [revokeTokens, setRevokeTokens] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (newPassword !== confirm) {
      setError(new Error('The new passwords do not match.'));
      return;
    }
    try {
      await client.post('/auth/password', { oldPassword, newPassword, revokeTokens: revokeTokens || undefined });
      onClose();
      // Changing the password ends the user's sessions: sign in again.
      await logout();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Modal title="Change password" open={open} onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <ErrorBox error={error} />
        <label>
          Current password
          <input type="password" autoComplete="current-password" required value={oldPassword} onChange={(e) => setOld(e.target.value)} />
        </label>
        <label>
          New password
          <input type="password" autoComplete="new-password" required value={newPassword} onChange={(e) => setNew(e.target.value)} />
        </label>
        <label>
          Repeat the new password
          <input type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={revokeTokens} onChange={(e) => setRevokeTokens(e.target.checked)} /> Also revoke all my API tokens
        </label>
        <p className="hint">You will be signed out everywhere and sign in again with the new password.</p>
        <div className="actions">
          <button type="submit" className="primary">
            Change password
          </button>
        </div>
      </form>
    </Modal>
  );
}

function SwitchOrgDialog({ orgId, onClose }: { orgId: string | null; onClose: () => void }) {
  const { me, login } = useAuth();
  const navigate = useNavigate();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const org = me?.orgs.find((o) => o.orgId === orgId);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await login(me!.username, password, orgId!);
      setPassword('');
      onClose();
      // The page open (a dataflow, a run) belongs to the organisation left.
      navigate('/dataflows');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Modal title={'Switch to ' + (org?.orgName || orgId || '')} open={orgId !== null} onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <p>A session belongs to one organisation: sign in again to switch. The server keeps the choice, so reloads and new tabs stay in it until you log out.</p>
        <ErrorBox error={error} />
        <label>
          Password for {me?.username}
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
        </label>
        <div className="actions">
          <button type="submit" className="primary">
            Switch organisation
          </button>
        </div>
      </form>
    </Modal>
  );
}
