import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Dataflow, Problem, Version } from '../api/types';
import { useCan } from '../hooks';
import { CopyButton } from '../clipboard/Clipboard';
import { Link } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, saveBlob, Spinner, StateBadge } from '../ui/common';
import { DiffView } from './Flow';

export function VersionPage({ flowId, number }: { flowId: string; number: number }) {
  const qc = useQueryClient();
  const canEdit = useCan('editor');
  const isAdmin = useCan('admin');
  const flow = useQuery({ queryKey: ['dataflow', flowId], queryFn: () => client.get<Dataflow>(`/dataflows/${flowId}`) });
  const version = useQuery({ queryKey: ['version', flowId, number], queryFn: () => client.get<Version>(`/dataflows/${flowId}/versions/${number}`) });
  const versions = useQuery({ queryKey: ['versions', flowId], queryFn: () => client.get<Version[]>(`/dataflows/${flowId}/versions`) });
  const [problems, setProblems] = useState<Problem[] | null>(null);
  const [warnings, setWarnings] = useState<Problem[] | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [comment, setComment] = useState('');
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['version', flowId] });
    void qc.invalidateQueries({ queryKey: ['versions', flowId] });
    void qc.invalidateQueries({ queryKey: ['dataflow', flowId] });
    void qc.invalidateQueries({ queryKey: ['dataflows'] });
  };
  const act = useMutation({
    mutationFn: async ({ action, body }: { action: string; body?: unknown }) => {
      setDone(null);
      return client.post<Version>(`/dataflows/${flowId}/versions/${number}/${action}`, body);
    },
    onSuccess: (v, { action }) => {
      const words: Record<string, string> = { submit: 'Submitted for approval', approve: 'Approved', reject: 'Rejected', live: 'Live now', edit: 'Reopened as the Draft' };
      setDone(`${words[action] ?? 'Done'}: version ${v.number} is ${v.state}.`);
      setReason('');
      setComment('');
      refresh();
    },
  });
  const validate = useMutation({
    mutationFn: () => client.post<{ valid: boolean; problems: Problem[]; warnings?: Problem[] }>(`/dataflows/${flowId}/versions/${number}/validate`),
    onSuccess: (r) => {
      setProblems(r.problems ?? []);
      setWarnings(r.warnings ?? []);
    },
  });
  const exportAs = async (format: 'yaml' | 'json') => {
    const r = await client.raw('GET', `/dataflows/${flowId}/versions/${number}/export?format=${format}`);
    const cd = r.headers.get('Content-Disposition') ?? '';
    const name = /filename="?([^";]+)"?/.exec(cd)?.[1] ?? `${flow.data?.name ?? 'dataflow'}_v${number}.${format}`;
    saveBlob(await r.blob(), name);
  };

  if (version.error) return <ErrorBox error={version.error} />;
  if (!version.data || !flow.data) return <Spinner />;
  const v = version.data;
  const f = flow.data;
  const live = f.liveVersion;
  const submit = (e: FormEvent, action: 'approve' | 'reject') => {
    e.preventDefault();
    act.mutate({ action, body: action === 'approve' ? { reason } : { comment } });
  };
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Dataflows', to: '/dataflows' }, { label: f.name, to: `/dataflows/${flowId}` }, { label: `Version ${v.number}` }]} />
      <div className="row">
        <h1>
          {f.name} — version {v.number}
        </h1>
        <StateBadge state={v.state} />
      </div>
      <dl className="facts">
        <dt>Created</dt>
        <dd>
          {v.createdBy} · {fmtTime(v.createdAt)}
        </dd>
        <dt>Last saved</dt>
        <dd>
          {v.updatedBy || v.createdBy} · {fmtTime(v.updatedAt)} (revision {v.revision})
        </dd>
        {v.submittedBy && (
          <>
            <dt>Submitted</dt>
            <dd>
              {v.submittedBy} · {fmtTime(v.submittedAt)}
            </dd>
          </>
        )}
        {(v.approvedBy || v.rejectedBy) && (
          <>
            <dt>{v.approvedBy ? 'Approved' : 'Rejected'}</dt>
            <dd>
              {v.approvedBy || v.rejectedBy} · {fmtTime(v.decidedAt)}
              {v.reason && <div>Reason: {v.reason}</div>}
              {v.comment && <div>Comment: {v.comment}</div>}
            </dd>
          </>
        )}
        {v.liveAt && (
          <>
            <dt>Live since</dt>
            <dd>{fmtTime(v.liveAt)}</dd>
          </>
        )}
      </dl>
      {(v.warnings?.length ?? 0) > 0 && (
        <div className="notice" role="note">
          <strong>Warnings</strong> (valid, but decide on them before approving):
          <ProblemsList problems={v.warnings!.map((w) => ({ ...w, severity: 'warning' }))} />
        </div>
      )}
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      <ErrorBox error={act.error} title="Refused" />
      <section className="card stack" aria-label="Actions">
        <div className="row">
          <Link to={`/dataflows/${flowId}/versions/${number}/canvas`} className="button-link">
            {v.state === 'Draft' && canEdit ? 'Edit on canvas' : 'View on canvas'}
          </Link>
          <button type="button" onClick={() => validate.mutate()} disabled={validate.isPending}>
            Validate
          </button>
          {v.state === 'Draft' && (
            <button type="button" className="primary" disabled={!canEdit || act.isPending} onClick={() => act.mutate({ action: 'submit' })}>
              Submit for approval
            </button>
          )}
          {v.state === 'Rejected' && (
            <button type="button" disabled={!canEdit || act.isPending} onClick={() => act.mutate({ action: 'edit' })}>
              Reopen for editing
            </button>
          )}
          {v.state === 'Approved' && (
            <button type="button" className="primary" disabled={!isAdmin || act.isPending} onClick={() => act.mutate({ action: 'live' })}>
              {live && live > v.number ? `Roll back to v${v.number} (make it Live)` : 'Make Live'}
            </button>
          )}
          <span className="spacer" />
          <CopyButton flowId={flowId} number={v.number} />
          <button type="button" onClick={() => void exportAs('yaml')}>
            Export YAML
          </button>
          <button type="button" onClick={() => void exportAs('json')}>
            Export JSON
          </button>
        </div>
        {v.state === 'Awaiting Approval' && (
          <div className="decide">
            <form onSubmit={(e) => submit(e, 'approve')} className="stack">
              <label>
                Reason for approving <span className="req">*</span>
                <textarea rows={2} required value={reason} disabled={!isAdmin} onChange={(e) => setReason(e.target.value)} />
              </label>
              <button type="submit" className="primary" disabled={!isAdmin || act.isPending}>
                Approve
              </button>
            </form>
            <form onSubmit={(e) => submit(e, 'reject')} className="stack">
              <label>
                Comment for rejecting <span className="req">*</span>
                <textarea rows={2} required value={comment} disabled={!isAdmin} onChange={(e) => setComment(e.target.value)} />
              </label>
              <button type="submit" className="danger" disabled={!isAdmin || act.isPending}>
                Reject
              </button>
            </form>
            {!isAdmin && <p className="hint">Only an administrator other than the submitter can approve or reject.</p>}
          </div>
        )}
        <ErrorBox error={validate.error} />
        {problems && (problems.length === 0 ? <p className="success">No problems: the version is valid.</p> : <ProblemsList problems={problems} />)}
        {warnings && warnings.length > 0 && <ProblemsList problems={warnings.map((w) => ({ ...w, severity: 'warning' }))} />}
      </section>
      <h2>Document</h2>
      <pre className="document" aria-label="Document (YAML)" tabIndex={0}>
        {v.document}
      </pre>
      {versions.data && versions.data.length > 1 && <DiffView flowId={flowId} versions={versions.data} initialTo={v.number} initialFrom={versions.data.find((x) => x.number < v.number)?.number ?? v.number} />}
    </div>
  );
}

export function ProblemsList({ problems }: { problems: Problem[] }) {
  return (
    <ul className="problems" aria-label="Problems">
      {problems.map((p, i) => (
        <li key={i} className={p.severity === 'warning' ? 'warning' : 'error'}>
          {p.position ? `${p.position.line}:${p.position.column} ` : ''}
          <code>{p.path || 'document'}</code> {p.message}
        </li>
      ))}
    </ul>
  );
}
