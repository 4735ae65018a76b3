import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Snapshot } from '../api/obs';
import { ErrorBox } from '../ui/common';
import { fmtCount, fmtPct, fmtRate, fmtSeconds } from './format';
import { windowError, windowLabel, windowQuery, type Win } from './window';
import { WindowPicker } from './WindowPicker';
import './obs.css';

/** Tiles are the four System Snapshot figures (spec §6.1) of a snapshot. */
export function Tiles({ s }: { s: Snapshot | undefined }) {
  const top = s?.topError;
  return (
    <ul className="tiles" aria-label="Snapshot figures">
      <li className="tile">
        <span className="tile-label">Processed units</span>
        <span className="tile-value" data-tile="processed">
          {fmtCount(s?.processedUnits)}
        </span>
        <span className="tile-sub">
          {s ? `${fmtCount(s.delivered)} delivered · ${fmtCount(s.filtered)} filtered · ${fmtCount(s.files)} file(s)` : '\u00a0'}
        </span>
      </li>
      <li className={'tile' + (s && s.failed > 0 ? ' tile-bad' : '')}>
        <span className="tile-label">Errors</span>
        <span className="tile-value" data-tile="errors">
          {fmtPct(s?.errorPct)}
        </span>
        <span className="tile-sub">
          {s ? `${fmtCount(s.failed)} failed` : '\u00a0'}
          {s && s.retryExhausted > 0 ? ` · ${fmtCount(s.retryExhausted)} out of retries` : ''}
        </span>
        {top ? (
          <span className="tile-sub top-error" title={top.message}>
            Top: {top.code ? <code>{top.code}</code> : null} {top.message} ({fmtCount(top.count)}
            {top.block ? `, ${top.block}` : ''})
          </span>
        ) : (
          s && <span className="tile-sub">No error in this window</span>
        )}
      </li>
      <li className="tile">
        <span className="tile-label">P95 latency</span>
        <span className="tile-value" data-tile="p95">
          {fmtSeconds(s?.latency.p95)}
        </span>
        <span className="tile-sub">{s ? `P50 ${fmtSeconds(s.latency.p50)} · P99 ${fmtSeconds(s.latency.p99)} · ${fmtCount(s.calls)} API call(s)` : '\u00a0'}</span>
      </li>
      <li className="tile">
        <span className="tile-label">Records per minute</span>
        <span className="tile-value" data-tile="rpm">
          {fmtRate(s?.rpm)}
        </span>
        <span className="tile-sub">{s ? `accuracy ${fmtPct(s.accuracyPct)}` : '\u00a0'}</span>
      </li>
    </ul>
  );
}

/** SystemSnapshot is the home page's snapshot of the organisation over a
 * window; it refreshes every 15 s so the tiles move while dataflows run. */
export function SystemSnapshot() {
  const [win, setWin] = useState<Win>({ kind: 'preset', value: '24h' });
  const bad = windowError(win);
  const qs = windowQuery(win);
  const q = useQuery({
    queryKey: ['obs-snapshot', qs],
    enabled: !bad,
    queryFn: () => client.get<Snapshot>('/observability/snapshot?' + qs),
    refetchInterval: 15000,
    placeholderData: (prev) => prev,
  });
  return (
    <section className="card snapshot" aria-labelledby="snapshot-h">
      <div className="row">
        <h2 id="snapshot-h">System Snapshot</h2>
        <span className="hint">{windowLabel(win)}</span>
        <span className="spacer" />
        <WindowPicker value={win} onChange={setWin} label="Snapshot window" />
      </div>
      <ErrorBox error={q.error} />
      <Tiles s={q.data} />
    </section>
  );
}
