// Data reconciliation (spec §8, issue 20): the reconciliations a dataflow's
// diff_tool blocks reported about its runs — a tab of the dataflow page
// beside its runs — and one reconciliation's page: its counts, which source
// answered, the paged table of missing and mismatched records with their
// field differences, and the results file (the source file plus
// CAP_API_STATUS) to download.
import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Page, ReconRecord, Reconciliation } from '../api/types';
import { Link } from '../router';
import { DataTable, Pager, useCursorPages, type Column } from '../ui/DataTable';
import { Breadcrumbs, ErrorBox, fmtTime, saveBlob, Spinner } from '../ui/common';
import '../obs/obs.css';

const SOURCES: Record<string, string> = { sandbox: 'API sandbox', 'capillary-api': 'Capillary API', ledger: 'delivery ledger' };

/** sourceLabel names the source that answered a reconciliation. */
export function sourceLabel(s: string): string {
  return SOURCES[s] ?? s;
}

/** keyText shows a record's identifying fields: "bill_number BILL-0004 · bill_date 2025-01-05". */
export function keyText(key: Record<string, string> | null | undefined): string {
  return Object.entries(key ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
}

const listColumns: Column<Reconciliation>[] = [
  { key: 'finished', header: 'Finished', cell: (r) => <Link to={`/reconciliations/${r.id}`}>{fmtTime(r.finished)}</Link> },
  { key: 'file', header: 'File', cell: (r) => r.file },
  { key: 'source', header: 'Answered by', cell: (r) => sourceLabel(r.source) },
  { key: 'expected', header: 'Expected', className: 'num', cell: (r) => r.totals.expected },
  { key: 'present', header: 'Present', className: 'num', cell: (r) => r.totals.present },
  { key: 'missing', header: 'Missing', className: 'num', cell: (r) => <strong data-missing={r.totals.missing}>{r.totals.missing}</strong> },
  { key: 'mismatched', header: 'Mismatched', className: 'num', cell: (r) => r.totals.mismatched },
  { key: 'duplicates', header: 'Duplicates', className: 'num', cell: (r) => r.totals.duplicates },
  { key: 'run', header: 'Run', cell: (r) => <Link to={`/runs/${r.runId}`}>v{r.version} run</Link> },
];

/** ReconciliationsTab lists a dataflow's reconciliations, newest first. */
export default function ReconciliationsTab({ flowId }: { flowId: string }) {
  const pages = useCursorPages();
  const qs = new URLSearchParams({ limit: '25' });
  if (pages.cursor) qs.set('cursor', pages.cursor);
  const list = useQuery({
    queryKey: ['reconciliations', flowId, pages.cursor],
    queryFn: () => client.get<Page<Reconciliation>>(`/dataflows/${flowId}/reconciliations?${qs}`),
    refetchInterval: 15000,
  });
  return (
    <section>
      <h2>Reconciliations</h2>
      <p className="hint">
        What this dataflow's reconciliation blocks (Map fields for reconciliation) found when they compared a source file with the destination. A re-ingestion dataflow reading the results
        directory with the filter <code>{'${header_value:equals(0)}'}</code> on <code>CAP_API_STATUS</code> sends the missing records again.
      </p>
      <ErrorBox error={list.error} />
      {list.isLoading ? (
        <Spinner />
      ) : (
        <DataTable label="Reconciliations" columns={listColumns} rows={list.data?.items ?? []} rowKey={(r) => r.id} empty="No reconciliation yet: this dataflow has not run a reconciliation block." />
      )}
      <Pager page={pages.page} hasNext={!!list.data?.next} onPrev={pages.prev} onNext={() => pages.next(list.data?.next)} />
    </section>
  );
}

function Differences({ r }: { r: ReconRecord }) {
  if (r.kind === 'missing') return <span className="hint">not at the destination</span>;
  if (r.kind === 'duplicate') return <span>{r.matches} entities at the destination match</span>;
  if (r.kind === 'invalid') return <span>{r.reason}</span>;
  return (
    <>
      {(r.fields ?? []).map((f) => (
        <div key={f.field}>
          <code>{f.field}</code> ({f.column}): file <q>{f.source}</q>, destination <q>{f.destination}</q>
        </div>
      ))}
    </>
  );
}

const KIND_LABEL: Record<string, string> = { missing: 'Missing', mismatch: 'Mismatched', duplicate: 'Duplicate', invalid: 'Not compared' };

const recordColumns: Column<ReconRecord>[] = [
  { key: 'line', header: 'Line', className: 'num', cell: (r) => r.line },
  { key: 'kind', header: 'Kind', cell: (r) => <span className={'badge recon-' + r.kind}>{KIND_LABEL[r.kind] ?? r.kind}</span> },
  { key: 'key', header: 'Record', cell: (r) => keyText(r.key) },
  { key: 'entity', header: 'Entity id', cell: (r) => r.entityId ?? '' },
  { key: 'diff', header: 'Differences', cell: (r) => <Differences r={r} /> },
];

function Tile({ label, value, tile, bad }: { label: string; value: number; tile: string; bad?: boolean }) {
  return (
    <li className={'tile' + (bad ? ' tile-bad' : '')}>
      <span className="tile-label">{label}</span>
      <span className="tile-value" data-tile={tile}>
        {value}
      </span>
    </li>
  );
}

/** ReconciliationPage is one reconciliation: counts, records, download. */
export function ReconciliationPage({ reconId }: { reconId: string }) {
  const [kind, setKind] = useState('');
  const pages = useCursorPages();
  // A large report's records are stored in the background (status
  // saving): poll until they all are, refreshing the table with it.
  const rec = useQuery({
    queryKey: ['reconciliation', reconId],
    queryFn: () => client.get<Reconciliation>(`/reconciliations/${reconId}`),
    refetchInterval: (q) => (q.state.data?.status === 'saving' ? 2000 : false),
  });
  const saving = rec.data?.status === 'saving';
  const qs = new URLSearchParams({ limit: '50' });
  if (kind) qs.set('kind', kind);
  if (pages.cursor) qs.set('cursor', pages.cursor);
  const records = useQuery({
    queryKey: ['reconciliation-records', reconId, kind, pages.cursor],
    queryFn: () => client.get<Page<ReconRecord>>(`/reconciliations/${reconId}/records?${qs}`),
    refetchInterval: saving ? 2000 : false,
  });
  const download = useMutation({
    mutationFn: async () => {
      const res = await client.raw('GET', `/reconciliations/${reconId}/results`);
      saveBlob(await res.blob(), 'reconciled_' + (rec.data?.resultName || 'results.csv'));
    },
  });
  if (rec.error) return <ErrorBox error={rec.error} />;
  if (!rec.data) return <Spinner />;
  const r = rec.data;
  const t = r.totals;
  return (
    <div>
      <Breadcrumbs
        items={[{ label: 'Dataflows', to: '/dataflows' }, { label: r.flowName || r.flowId, to: `/dataflows/${r.flowId}?tab=reconciliation` }, { label: 'Reconciliation of ' + r.file }]}
      />
      <h1>Reconciliation of {r.file}</h1>
      <dl className="facts">
        <dt>Answered by</dt>
        <dd data-source={r.source}>
          {sourceLabel(r.source)} · {r.lookupRequests} lookup request{r.lookupRequests === 1 ? '' : 's'}{r.resumedRows ? ` · ${r.resumedRows} rows resumed from an interrupted run` : ''}
        </dd>
        <dt>Entity type</dt>
        <dd>
          <code>{r.entityType}</code> · matched on {(r.matchedOn ?? []).join(', ') || '—'} · compared {(r.compared ?? []).join(', ') || '—'}
          {r.unverified && r.unverified.length > 0 ? ` · not carried by the destination: ${r.unverified.join(', ')}` : ''}
        </dd>
        <dt>Run</dt>
        <dd>
          <Link to={`/runs/${r.runId}`}>
            {r.flowName} v{r.version}, block {r.block}
          </Link>{' '}
          · {fmtTime(r.started)} → {fmtTime(r.finished)}
        </dd>
        <dt>Rows</dt>
        <dd>
          {t.rows} in the file{t.beforeFromYear ? ` · ${t.beforeFromYear} before ${r.fromYear} (not compared)` : ''}
          {t.invalid ? ` · ${t.invalid} not comparable` : ''}
        </dd>
      </dl>
      <ul className="tiles" aria-label="Reconciliation counts">
        <Tile label="Expected" value={t.expected} tile="expected" />
        <Tile label="Present" value={t.present} tile="present" />
        <Tile label="Missing" value={t.missing} tile="missing" bad={t.missing > 0} />
        <Tile label="Mismatched" value={t.mismatched} tile="mismatched" bad={t.mismatched > 0} />
        <Tile label="Duplicates at the destination" value={t.duplicates} tile="duplicates" bad={t.duplicates > 0} />
      </ul>
      <h2>Results file</h2>
      {r.resultName ? (
        <>
          <button type="button" disabled={download.isPending} onClick={() => download.mutate()}>
            Download the results file ({r.resultName} with CAP_API_STATUS)
          </button>
          <ErrorBox error={download.error} />
        </>
      ) : (
        <p className="hint">The server kept no results file for this reconciliation.</p>
      )}
      <h2>Records ({r.status === 'saving' ? 'being stored' : r.records})</h2>
      {r.status === 'saving' && (
        <p className="hint" role="status" data-status="saving">
          The counts are final; the records are still being stored and the table fills as they are.
        </p>
      )}
      {r.status === 'failed' && (
        <p className="error-box" role="alert" data-status="failed">
          The records could not all be stored; the server tries again at its next start. The counts and the results file are complete.
        </p>
      )}
      <div className="toolbar" role="search">
        <label>
          Show
          <select value={kind} onChange={(e) => (setKind(e.target.value), pages.reset())}>
            <option value="">All</option>
            <option value="missing">Missing</option>
            <option value="mismatch">Mismatched</option>
            <option value="duplicate">Duplicates</option>
            <option value="invalid">Not compared</option>
          </select>
        </label>
      </div>
      <ErrorBox error={records.error} />
      {records.isLoading ? (
        <Spinner />
      ) : (
        <DataTable
          label="Reconciliation records"
          columns={recordColumns}
          rows={records.data?.items ?? []}
          rowKey={(x) => x.line + x.kind}
          empty={r.records === 0 ? 'Every compared record is at the destination, as in the file.' : 'No record of this kind.'}
        />
      )}
      <Pager page={pages.page} hasNext={!!records.data?.next} onPrev={pages.prev} onNext={() => pages.next(records.data?.next)} />
    </div>
  );
}
