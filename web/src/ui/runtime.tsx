// Runtime controls (Pause / Stop / Start / Run now) for the dataflow page
// and each row of the dataflow list. The runtime acts asynchronously: after
// the request, the control shows the operation as pending and polls
// /status until the runtime confirms it (or 30 s pass).
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Dataflow, FlowRuntime } from '../api/types';
import { useCan } from '../hooks';
import { ErrorBox, fmtTime, StateBadge } from './common';

export type RuntimeOp = 'pause' | 'stop' | 'start' | 'run-now';

/** The status each operation leads to (run-now leaves it Active). */
export const runtimeTarget: Record<RuntimeOp, string | null> = { pause: 'Paused', stop: 'Stopped', start: 'Active', 'run-now': null };

export interface PendingOp {
  op: RuntimeOp;
  want: string | null;
  since: number;
  /** basePoll is the runtime's last poll before run-now: a newer one confirms it. */
  basePoll?: string;
}

export const confirmTimeoutMs = 30000;

/**
 * confirmation tells whether the runtime status st confirms p: "confirmed"
 * (the wanted status, deployed when Active; for run-now a poll after the
 * request), "timeout" (no confirmation within confirmTimeoutMs) or null
 * (keep waiting).
 */
export function confirmation(p: PendingOp, st: FlowRuntime, now: number): 'confirmed' | 'timeout' | null {
  const ok = p.want ? st.status === p.want && !(p.want === 'Active' && st.deployment === 'Deploying') : !!st.lastPoll && st.lastPoll !== p.basePoll;
  if (ok) return 'confirmed';
  if (now - p.since > confirmTimeoutMs) return 'timeout';
  return null;
}

/** pendingLabel is what a control says while p waits. */
export function pendingLabel(p: PendingOp, compact: boolean): string {
  if (compact) return { pause: 'Pausing…', stop: 'Stopping…', start: 'Starting…', 'run-now': 'Polling…' }[p.op];
  return p.op === 'run-now' ? 'Asking the source to poll…' : `Waiting for the runtime to confirm ${p.want}…`;
}

/** useRuntime runs operations on flow and tracks them until the runtime confirms. */
export function useRuntime(flow: Dataflow, alwaysPoll: boolean) {
  const qc = useQueryClient();
  const [pending, setPending] = useState<PendingOp | null>(null);
  const [timedOut, setTimedOut] = useState<PendingOp | null>(null);
  const status = useQuery({
    queryKey: ['status', flow.id],
    queryFn: () => client.get<FlowRuntime>(`/dataflows/${flow.id}/status`),
    // A list row asks only while an operation waits; the dataflow page keeps an eye on it.
    enabled: alwaysPoll || pending !== null,
    refetchInterval: pending ? 1000 : 15000,
  });
  const op = useMutation({
    mutationFn: async (o: RuntimeOp) => {
      setTimedOut(null);
      let basePoll: string | undefined;
      if (o === 'run-now') basePoll = (await client.get<FlowRuntime>(`/dataflows/${flow.id}/status`)).lastPoll ?? '';
      const r = await client.post<FlowRuntime>(`/dataflows/${flow.id}/${o}`);
      setPending({ op: o, want: runtimeTarget[o], since: Date.now(), basePoll });
      return r;
    },
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['status', flow.id] }),
    onError: () => setPending(null),
  });
  const st = status.data;
  useEffect(() => {
    if (!pending || !st) return;
    const c = confirmation(pending, st, Date.now());
    if (!c) return;
    setPending(null);
    if (c === 'timeout') setTimedOut(pending);
    void qc.invalidateQueries({ queryKey: ['dataflow', flow.id] });
    void qc.invalidateQueries({ queryKey: ['dataflows'] });
    void qc.invalidateQueries({ queryKey: ['runs'] });
  }, [st, pending, qc, flow.id]);
  const busy = pending !== null || op.isPending;
  // The runtime's word once it has one, else the stored status.
  const current = (pending || alwaysPoll) && st ? st.status : flow.status;
  return { status, st, pending, timedOut, op, busy, current };
}

function Buttons({ flow, rt, compact }: { flow: Dataflow; rt: ReturnType<typeof useRuntime>; compact: boolean }) {
  const canOperate = useCan('editor');
  const { busy, current: s, op } = rt;
  const label = (text: string) => (compact ? { 'aria-label': `${text} ${flow.name}` } : {});
  const runNowWhy = !flow.liveVersion ? 'No Live version to run' : s !== 'Active' ? 'Start the dataflow first' : '';
  return (
    <>
      <button type="button" {...label('Pause')} disabled={!canOperate || busy || s === 'Paused' || s === 'Stopped'} onClick={() => op.mutate('pause')}>
        Pause
      </button>
      <button type="button" {...label('Stop')} className="danger" disabled={!canOperate || busy || s === 'Stopped'} onClick={() => op.mutate('stop')}>
        Stop
      </button>
      <button type="button" {...label('Start')} disabled={!canOperate || busy || s === 'Active'} onClick={() => op.mutate('start')}>
        Start
      </button>
      <button type="button" {...label('Run now')} disabled={!canOperate || busy || runNowWhy !== ''} onClick={() => op.mutate('run-now')} title={runNowWhy}>
        Run now
      </button>
    </>
  );
}

/** RuntimeCell is a list row's status and controls. */
export function RuntimeCell({ flow }: { flow: Dataflow }) {
  const rt = useRuntime(flow, false);
  return (
    <div className="runtime-cell">
      <div className="row">
        <StateBadge state={rt.current} />
        {rt.pending && (
          <span role="status" className="hint pending">
            {pendingLabel(rt.pending, true)}
          </span>
        )}
        {rt.timedOut && (
          <span role="status" className="hint">
            not confirmed yet
          </span>
        )}
      </div>
      <div className="row runtime-buttons" role="group" aria-label={`Runtime of ${flow.name}`}>
        <Buttons flow={flow} rt={rt} compact />
      </div>
      <ErrorBox error={rt.op.error} />
    </div>
  );
}

/** RuntimeControls is the dataflow page's runtime card. */
export function RuntimeControls({ flow }: { flow: Dataflow }) {
  const rt = useRuntime(flow, true);
  const { st, pending, timedOut } = rt;
  return (
    <section className="card runtime" aria-label="Runtime">
      <div className="row">
        <strong>Runtime</strong>
        <StateBadge state={rt.current} />
        {st?.deployment && <span className="badge">{st.deployment}</span>}
        <span className="hint">
          {st ? `${st.inFlight} file(s) in flight · last poll ${fmtTime(st.lastPoll)} · next run ${fmtTime(st.nextRun)}` : ''}
          {st?.draining?.length ? ` · draining v${st.draining.join(', v')}` : ''}
        </span>
        <span className="spacer" />
        {pending && (
          <span role="status" className="hint">
            {pendingLabel(pending, false)}
          </span>
        )}
        {timedOut && (
          <span role="status" className="hint">
            The runtime has not confirmed {timedOut.want ?? 'the poll'} within {confirmTimeoutMs / 1000} s; it may still.
          </span>
        )}
        <Buttons flow={flow} rt={rt} compact={false} />
      </div>
      {st?.deployError && <div className="error-box">Deployment failed: {st.deployError}</div>}
      <ErrorBox error={rt.op.error} />
      <ErrorBox error={rt.status.error} />
    </section>
  );
}

/** RuntimeBar is the canvas's runtime strip: the dataflow's status and
 * controls, so a user who is looking at the blocks can pause, stop, start or
 * run it without leaving. They act on the dataflow (its Live version), not on
 * the version the canvas shows — the label says which version runs. */
export function RuntimeBar({ flow }: { flow: Dataflow }) {
  const rt = useRuntime(flow, true);
  const { pending, timedOut } = rt;
  return (
    <div className="runtime-bar" role="group" aria-label="Runtime">
      <span className="runtime-bar-label">{flow.liveVersion ? `Runtime (Live v${flow.liveVersion})` : 'Runtime (no Live version)'}</span>
      <StateBadge state={rt.current} />
      {pending && (
        <span role="status" className="hint pending">
          {pendingLabel(pending, false)}
        </span>
      )}
      {timedOut && (
        <span role="status" className="hint">
          The runtime has not confirmed {timedOut.want ?? 'the poll'} within {confirmTimeoutMs / 1000} s; it may still.
        </span>
      )}
      <Buttons flow={flow} rt={rt} compact={false} />
      <ErrorBox error={rt.op.error} />
    </div>
  );
}
