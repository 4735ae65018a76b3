// The Notifications tab of a dataflow: the opt-in notice after each file
// (spec §6.6 file-processing notifications) and the alert rules that watch it.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Channel, FileNotifications, MetricInfo, Rule } from '../api/obs';
import { useCan } from '../hooks';
import { Link } from '../router';
import { ErrorBox, fmtTime, Spinner } from '../ui/common';
import { condition } from './alerts';

export default function NotificationsTab({ flowId }: { flowId: string }) {
  const canEdit = useCan('editor');
  const qc = useQueryClient();
  const cur = useQuery({ queryKey: ['file-notifications', flowId], queryFn: () => client.get<FileNotifications>(`/dataflows/${flowId}/file-notifications`) });
  const channels = useQuery({ queryKey: ['alert-channels'], queryFn: () => client.get<Channel[]>('/alert-channels') });
  const rules = useQuery({ queryKey: ['alert-rules'], queryFn: () => client.get<Rule[]>('/alert-rules') });
  const metrics = useQuery({ queryKey: ['alert-metrics'], queryFn: () => client.get<MetricInfo[]>('/alert-metrics'), staleTime: Infinity });
  const [form, setForm] = useState<FileNotifications | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (cur.data) setForm({ ...cur.data, channels: cur.data.channels ?? [] });
  }, [cur.data]);
  const save = useMutation({
    mutationFn: (f: FileNotifications) => client.put<FileNotifications>(`/dataflows/${flowId}/file-notifications`, f),
    onSuccess: () => {
      setSaved(true);
      void qc.invalidateQueries({ queryKey: ['file-notifications', flowId] });
    },
  });
  const watching = (rules.data ?? []).filter((r) => r.flowId === flowId || r.flowId === '');
  const set = (patch: Partial<FileNotifications>) => {
    setSaved(false);
    setForm((f) => (f ? { ...f, ...patch } : f));
  };
  return (
    <div>
      <h2>Notifications</h2>
      <section className="card perf-section" aria-labelledby="fn-h">
        <h3 id="fn-h">After each file</h3>
        <ErrorBox error={cur.error} />
        {!form && !cur.error && <Spinner />}
        {form && (
          <form
            className="stack"
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate(form);
            }}
          >
            <fieldset disabled={!canEdit}>
              <legend>Send a notice when a file ends with</legend>
              <label className="inline">
                <input type="checkbox" checked={form.onSuccess} onChange={(e) => set({ onSuccess: e.target.checked })} /> Success
              </label>
              <label className="inline">
                <input type="checkbox" checked={form.onPartial} onChange={(e) => set({ onPartial: e.target.checked })} /> Partial success
              </label>
              <label className="inline">
                <input type="checkbox" checked={form.onFailure} onChange={(e) => set({ onFailure: e.target.checked })} /> Failure
              </label>
            </fieldset>
            <fieldset disabled={!canEdit}>
              <legend>To the channels</legend>
              {(channels.data ?? []).length === 0 && (
                <p className="hint">
                  No channel yet: <Link to="/alerts?tab=channels">add one on the Alerts page</Link>.
                </p>
              )}
              {(channels.data ?? []).map((c) => (
                <label className="inline" key={c.id}>
                  <input
                    type="checkbox"
                    checked={form.channels.includes(c.id)}
                    onChange={(e) => set({ channels: e.target.checked ? [...form.channels, c.id] : form.channels.filter((x) => x !== c.id) })}
                  />{' '}
                  {c.name} <span className="hint">({c.kind})</span>
                </label>
              ))}
            </fieldset>
            <ErrorBox error={save.error} />
            <div className="actions">
              {saved && (
                <span className="success" role="status">
                  Saved.
                </span>
              )}
              {form.updatedBy && (
                <span className="hint">
                  Last changed by {form.updatedBy} {fmtTime(form.updatedAt)}
                </span>
              )}
              <button type="submit" className="primary" disabled={!canEdit || save.isPending}>
                Save notifications
              </button>
            </div>
          </form>
        )}
      </section>
      <section className="perf-section" aria-labelledby="fn-rules">
        <div className="row">
          <h3 id="fn-rules">Alert rules watching this dataflow</h3>
          <span className="spacer" />
          <Link to="/alerts">Configure alerts</Link>
        </div>
        <ErrorBox error={rules.error} />
        {rules.data && (
          <table className="grid" aria-label="Alert rules watching this dataflow">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Scope</th>
                <th scope="col">Condition</th>
                <th scope="col">Enabled</th>
              </tr>
            </thead>
            <tbody>
              {watching.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td>{r.flowId ? 'This dataflow' : 'All dataflows'}</td>
                  <td className="cond">{condition(r, metrics.data)}</td>
                  <td>{r.enabled ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
