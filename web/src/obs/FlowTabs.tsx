// Tabs of the dataflow page: Overview (the page as it was, with its runs),
// Reconciliation (issue 20), Performance, Error logs and Notifications
// (issue 17). The tab is in the address
// (?tab=performance) so "View error logs" and drill-down links land on it.
import { lazy, Suspense, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { useLocation, useNavigate } from '../router';
import { Spinner } from '../ui/common';
import './obs.css';

const PerformanceTab = lazy(() => import('./Performance'));
const ErrorLogsTab = lazy(() => import('./ErrorLogs'));
const NotificationsTab = lazy(() => import('./FileNotifications'));
const ReconciliationsTab = lazy(() => import('../pages/Reconciliation'));

export const TABS = [
  { key: 'overview', label: 'Overview' },
  { key: 'reconciliation', label: 'Reconciliation' },
  { key: 'performance', label: 'Performance' },
  { key: 'errors', label: 'Error logs' },
  { key: 'notifications', label: 'Notifications' },
] as const;

export function FlowTabs({ flowId, liveVersion, children }: { flowId: string; liveVersion: number; children: ReactNode }) {
  const { path, search } = useLocation();
  const navigate = useNavigate();
  const cur = TABS.find((t) => t.key === search.get('tab'))?.key ?? 'overview';
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const go = (key: string) => navigate(key === 'overview' ? path : `${path}?tab=${key}`, true);
  const onKey = (e: KeyboardEvent, i: number) => {
    const n = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : null;
    if (n === null) return;
    e.preventDefault();
    const j = (n + TABS.length) % TABS.length;
    refs.current[j]?.focus();
    go(TABS[j].key);
  };
  return (
    <>
      <div className="page-tabs" role="tablist" aria-label="Dataflow">
        {TABS.map((t, i) => (
          <button
            key={t.key}
            ref={(el) => {
              refs.current[i] = el;
            }}
            type="button"
            role="tab"
            id={'tab-' + t.key}
            aria-selected={cur === t.key}
            aria-controls={'panel-' + t.key}
            tabIndex={cur === t.key ? 0 : -1}
            onClick={() => go(t.key)}
            onKeyDown={(e) => onKey(e, i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={'panel-' + cur} aria-labelledby={'tab-' + cur}>
        <Suspense fallback={<Spinner />}>
          {cur === 'overview' && children}
          {cur === 'performance' && <PerformanceTab key={search.get('lineage') ?? ''} flowId={flowId} liveVersion={liveVersion} />}
          {cur === 'errors' && <ErrorLogsTab flowId={flowId} />}
          {cur === 'notifications' && <NotificationsTab flowId={flowId} />}
          {cur === 'reconciliation' && <ReconciliationsTab flowId={flowId} />}
        </Suspense>
      </div>
    </>
  );
}
