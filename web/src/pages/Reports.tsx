// Scheduled summary reports (issue 17, spec §6.4): recipients and a
// schedule (hourly, daily at a time, every interval), optionally after each
// run; the email lists per dataflow and file the totals, with a CSV.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Channel, Report } from '../api/obs';
import type { Dataflow, Page } from '../api/types';
import { useCan } from '../hooks';
import { Breadcrumbs, ErrorBox, fmtTime, Spinner } from '../ui/common';
import { DataTable } from '../ui/DataTable';
import { FormDialog } from '../ui/FormDialog';
import { Link } from '../router';
import { emptyReport, fromReport, reportBody, reportError, scheduleText, type ReportForm } from '../obs/reports';
import '../obs/obs.css';

export default function ReportsPage() {
  const canEdit = useCan('editor');
  const qc = useQueryClient();
  const reports = useQuery({ queryKey: ['reports'], queryFn: () => client.get<Report[]>('/reports') });
  const flows = useQuery({ queryKey: ['dataflows', 'all-names'], queryFn: () => client.get<Page<Dataflow>>('/dataflows?limit=200') });
  const channels = useQuery({ queryKey: ['alert-channels'], queryFn: () => client.get<Channel[]>('/alert-channels') });
  const [dialog, setDialog] = useState<{ r: Report | null } | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const send = useMutation({
    mutationFn: (r: Report) => client.post(`/reports/${r.id}/send`),
    onSuccess: (_d, r) => setSent(r.name),
  });
  const del = useMutation({
    mutationFn: (r: Report) => client.del(`/reports/${r.id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['reports'] }),
  });
  const flowName = (id: string) => flows.data?.items.find((f) => f.id === id)?.name ?? id;
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Reports' }]} />
      <div className="row">
        <h1>Reports</h1>
        <span className="spacer" />
        {canEdit && (
          <button type="button" className="primary" onClick={() => setDialog({ r: null })}>
            New summary report
          </button>
        )}
      </div>
      <p className="hint">A summary report emails, per dataflow and file, the ingestion time, totals, success and failure by block, with the same table as a CSV attachment.</p>
      <ErrorBox error={reports.error} />
      <ErrorBox error={send.error} title="Sending failed" />
      <ErrorBox error={del.error} title="Delete failed" />
      {sent && (
        <p className="success" role="status">
          The latest period of {sent} was sent.
        </p>
      )}
      {reports.isLoading && <Spinner />}
      {reports.data && reports.data.length === 0 && <p className="hint">No report is scheduled.</p>}
      {reports.data && reports.data.length > 0 && (
        <DataTable
          label="Summary reports"
          rows={reports.data}
          rowKey={(r) => r.id}
          rowAttrs={(r) => ({ 'data-report': r.name })}
          columns={[
            {
              key: 'name',
              header: 'Report',
              cell: (r) => (
                <>
                  {r.name}
                  <div className="hint">by {r.createdBy}</div>
                </>
              ),
            },
            { key: 'flow', header: 'Dataflows', cell: (r) => (r.flowId ? <Link to={`/dataflows/${r.flowId}`}>{flowName(r.flowId)}</Link> : 'All dataflows') },
            { key: 'to', header: 'Recipients', cell: (r) => r.recipients.join(', ') },
            { key: 'schedule', header: 'Schedule', cell: (r) => scheduleText(r) },
            { key: 'enabled', header: 'Enabled', cell: (r) => (r.enabled ? 'yes' : 'no') },
            { key: 'sent', header: 'Last sent', cell: (r) => fmtTime(r.lastSentAt) },
            {
              key: 'actions',
              header: 'Actions',
              cell: (r) => (
                <div className="row">
                  <button type="button" disabled={!canEdit || send.isPending} onClick={() => send.mutate(r)} aria-label={`Send now: ${r.name}`}>
                    Send now
                  </button>
                  <button type="button" disabled={!canEdit} onClick={() => setDialog({ r })} aria-label={`Edit ${r.name}`}>
                    Edit
                  </button>
                  <button type="button" className="danger" disabled={!canEdit || del.isPending} onClick={() => del.mutate(r)} aria-label={`Delete ${r.name}`}>
                    Delete
                  </button>
                </div>
              ),
            },
          ]}
        />
      )}
      {dialog && <ReportDialog r={dialog.r} flows={flows.data?.items ?? []} channels={(channels.data ?? []).filter((c) => c.kind === 'email')} onClose={() => setDialog(null)} />}
    </div>
  );
}

function ReportDialog({ r, flows, channels, onClose }: { r: Report | null; flows: Dataflow[]; channels: Channel[]; onClose: () => void }) {
  const qc = useQueryClient();
  const [f, setF] = useState<ReportForm>(() => (r ? fromReport(r) : emptyReport()));
  const [problem, setProblem] = useState<string | null>(null);
  const set = (p: Partial<ReportForm>) => setF((x) => ({ ...x, ...p }));
  const save = useMutation({
    mutationFn: () => (r ? client.put<Report>(`/reports/${r.id}`, reportBody(f, r.revision)) : client.post<Report>('/reports', reportBody(f))),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['reports'] });
      onClose();
    },
  });
  const submit = () => {
    const err = reportError(f);
    setProblem(err);
    if (!err) save.mutate();
  };
  return (
    <FormDialog
      title={r ? `Edit ${r.name}` : 'New summary report'}
      label="Summary report"
      onClose={onClose}
      onSubmit={submit}
      problem={problem}
      error={save.error}
      pending={save.isPending}
      submitLabel={r ? 'Save the report' : 'Schedule the report'}
    >
      <div className="form-grid">
        <label>
          Name <span className="req">*</span>
          <input required value={f.name} maxLength={120} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label>
          Dataflows
          <select value={f.flowId} onChange={(e) => set({ flowId: e.target.value })}>
            <option value="">All dataflows of the organisation</option>
            {flows.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <label className="wide">
          Recipients <span className="req">*</span> <span className="hint">(comma-separated email addresses)</span>
          <input required value={f.recipients} onChange={(e) => set({ recipients: e.target.value })} placeholder="lead@example.com" />
        </label>
        <fieldset className="wide">
          <legend>Schedule</legend>
          <label className="inline">
            <input type="radio" name="schedule" checked={f.schedule === 'hourly'} onChange={() => set({ schedule: 'hourly' })} /> Hourly
          </label>
          <div className="row">
            <label className="inline">
              <input type="radio" name="schedule" checked={f.schedule === 'daily'} onChange={() => set({ schedule: 'daily' })} /> Daily at
            </label>
            <input type="time" aria-label="Time of day (organisation time zone)" value={f.at} disabled={f.schedule !== 'daily'} onChange={(e) => set({ at: e.target.value })} />
            <span className="hint">organisation time zone</span>
          </div>
          <div className="row">
            <label className="inline">
              <input type="radio" name="schedule" checked={f.schedule === 'interval'} onChange={() => set({ schedule: 'interval' })} /> Every
            </label>
            <input
              type="number"
              min={15}
              max={10080}
              step={1}
              aria-label="Interval in minutes"
              value={f.everyMin}
              disabled={f.schedule !== 'interval'}
              onChange={(e) => set({ everyMin: e.target.value })}
            />
            <span className="hint">minutes (15 to 10080)</span>
          </div>
        </fieldset>
        <label className="inline wide">
          <input type="checkbox" checked={f.afterEachRun} onChange={(e) => set({ afterEachRun: e.target.checked })} /> Also send the summary of each completed run (per file)
        </label>
        <label>
          Send through
          <select value={f.channelId} onChange={(e) => set({ channelId: e.target.value })}>
            <option value="">The server's relay</option>
            {channels.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} (its SMTP settings)
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={f.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
        </label>
      </div>
    </FormDialog>
  );
}
