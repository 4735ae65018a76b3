import { lazy, Suspense, useEffect } from 'react';
import { useAuth } from './auth';
import { match, useLocation, useNavigate } from './router';
import { Shell } from './Shell';
import { LoginPage } from './pages/Login';
import { HomePage } from './pages/Home';
import { FlowPage } from './pages/Flow';
import { VersionPage } from './pages/Version';
import { RunPage, RunsPage } from './pages/Runs';
import { ConfigsPage } from './pages/Configs';
import { AuditPage, TokensPage, UsersPage } from './pages/Admin';
import { Spinner } from './ui/common';

// The canvas editor (React Flow, dagre) is its own chunk, loaded on first use.
const EditorRoute = lazy(() => import('./editor/Editor'));
// The alert pages (issue 17) load on first use too.
const AlertsRoute = lazy(() => import('./pages/Alerts'));
const IssuesRoute = lazy(() => import('./pages/Issues'));
const ReportsRoute = lazy(() => import('./pages/Reports'));
// The Cluster panel (issue 23), for organisation admins.
const ClusterRoute = lazy(() => import('./pages/Cluster'));
// Reconciliation reports (issue 20), with the dataflow page's tab.
const ReconciliationRoute = lazy(() => import('./pages/Reconciliation').then((m) => ({ default: m.ReconciliationPage })));

export function App() {
  const { me, loading } = useAuth();
  const { path } = useLocation();
  const navigate = useNavigate();
  useEffect(() => {
    if (me && (path === '/' || path === '/login')) navigate('/dataflows', true);
  }, [me, path, navigate]);
  if (loading) return <Spinner />;
  if (!me) return <LoginPage />;
  return (
    <Shell>
      <Suspense fallback={<Spinner />}>
        <Routes path={path} />
      </Suspense>
    </Shell>
  );
}

function Routes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (match('/dataflows', path)) return <HomePage />;
  if ((m = match('/dataflows/:id/versions/:n/canvas', path))) return <EditorRoute key={m.id + m.n} flowId={m.id} number={Number(m.n)} />;
  if ((m = match('/dataflows/:id/versions/:n', path))) return <VersionPage key={m.id + m.n} flowId={m.id} number={Number(m.n)} />;
  if ((m = match('/dataflows/:id', path))) return <FlowPage key={m.id} flowId={m.id} />;
  if (match('/runs', path)) return <RunsPage />;
  if ((m = match('/runs/:id', path))) return <RunPage key={m.id} runId={m.id} />;
  if ((m = match('/reconciliations/:id', path))) return <ReconciliationRoute key={m.id} reconId={m.id} />;
  if (match('/configs', path)) return <ConfigsPage />;
  if (match('/users', path)) return <UsersPage />;
  if (match('/tokens', path)) return <TokensPage />;
  if (match('/audit', path)) return <AuditPage />;
  if (match('/alerts', path)) return <AlertsRoute />;
  if (match('/issues', path)) return <IssuesRoute />;
  if (match('/reports', path)) return <ReportsRoute />;
  if (match('/cluster', path)) return <ClusterRoute />;
  return <NotFound />;
}

function NotFound() {
  return (
    <div>
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
    </div>
  );
}

