// Sync of one dataflow: the runtime re-resolves its Extension Configuration
// references (after a value was rotated) for the next file.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Dataflow } from '../api/types';
import { useCan } from '../hooks';
import { ErrorBox } from './common';

export interface SyncResult {
  flows: { id: string; name: string; configRevision: number }[];
}

/** syncMessage says what a Sync of one dataflow did. */
export function syncMessage(r: SyncResult, flowName: string): string {
  const f = r.flows[0];
  if (!f) return `Nothing to sync for “${flowName}”.`;
  return `Synced “${f.name}”: configuration revision ${f.configRevision}; the next file uses the current Extension Configuration values.`;
}

export function SyncButton({ flow }: { flow: Dataflow }) {
  const canEdit = useCan('editor');
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: () => client.post<SyncResult>(`/dataflows/${flow.id}/sync`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['dataflow', flow.id] });
      void qc.invalidateQueries({ queryKey: ['audit'] });
    },
  });
  const why = !flow.liveVersion ? 'Only a Live version can be synced' : '';
  return (
    <section className="card sync" aria-label="Extension Configuration sync">
      <div className="row">
        <strong>Extension Configurations</strong>
        <span className="hint">Configuration revision {flow.configRevision}. After a value changes, Sync makes the Live version use it from the next file.</span>
        <span className="spacer" />
        <button type="button" disabled={!canEdit || !!why || m.isPending} title={why} onClick={() => m.mutate()}>
          {m.isPending ? 'Syncing…' : 'Sync'}
        </button>
      </div>
      {m.data && (
        <p className="success" role="status">
          {syncMessage(m.data, flow.name)}
        </p>
      )}
      <ErrorBox error={m.error} title="Sync failed" />
    </section>
  );
}
