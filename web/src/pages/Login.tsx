import { useState, type FormEvent } from 'react';
import { client } from '../api/client';
import type { Membership } from '../api/types';
import { useAuth } from '../auth';
import { ErrorBox } from '../ui/common';

export function LoginPage() {
  const { login, expired } = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [org, setOrg] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [accepting, setAccepting] = useState(false);
  const [joined, setJoined] = useState<Membership | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password, org);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (accepting) {
    return (
      <AcceptInvitation
        onDone={(m) => {
          setJoined(m);
          if (m.username) setUsername(m.username);
          setAccepting(false);
        }}
        onCancel={() => setAccepting(false)}
      />
    );
  }
  return (
    <main className="login-page">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <span className="brand-mark" aria-hidden="true">+</span> Connect+
        </h1>
        {expired && (
          <p className="notice" role="status">
            Your session has expired. Sign in again to continue.
          </p>
        )}
        {joined && (
          <p className="success" role="status">
            You joined {joined.orgName || 'the organisation'} as {joined.role}. Sign in{joined.username ? ` as ${joined.username}` : ''}.
          </p>
        )}
        <ErrorBox error={error} />
        <label>
          Username
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          Organisation <span className="hint">(optional: name or id)</span>
          <input name="org" value={org} onChange={(e) => setOrg(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" className="link" onClick={() => setAccepting(true)}>
          I have an invitation code
        </button>
      </form>
    </main>
  );
}

function AcceptInvitation({ onDone, onCancel }: { onDone: (m: Membership) => void; onCancel: () => void }) {
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await client.raw('POST', '/invitations/accept', { body: { code: code.trim(), password, displayName: displayName || undefined }, noAuthRedirect: true });
      onDone((await r.json()) as Membership);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login-page">
      <form className="card login-card" onSubmit={submit} aria-labelledby="accept-title">
        <h1 id="accept-title">Accept an invitation</h1>
        <p className="hint">A new account chooses its password here; an existing account gives its current password to join the organisation.</p>
        <ErrorBox error={error} />
        <label>
          Invitation code
          <input required className="code" value={code} onChange={(e) => setCode(e.target.value)} autoComplete="off" autoFocus />
        </label>
        <label>
          Password <span className="hint">(at least 12 characters)</span>
          <input type="password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          Display name <span className="hint">(optional)</span>
          <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Accept
        </button>
        <button type="button" className="link" onClick={onCancel}>
          Back to sign in
        </button>
      </form>
    </main>
  );
}
