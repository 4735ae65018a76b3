import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { CreateResult, Dataflow, Page } from '../api/types';
import { useCan, useDebounced } from '../hooks';
import { Link, useNavigate } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, Spinner, StateBadge } from '../ui/common';
import { TemplateGallery } from './Templates';
import { DataTable, Pager, sortParam, useCursorPages, type Column, type SortState } from '../ui/DataTable';
import { RuntimeCell } from '../ui/runtime';
import { PasteDialog } from '../clipboard/Clipboard';

/** FlowListItem is a row of GET /dataflows: the dataflow with its last run and today's figures. */
export interface FlowListItem extends Dataflow {
  latestState: string;
  lastRun?: { id: string; status: string; started: string; finished?: string };
  /** today: since midnight in the organisation's time zone; absent when the server keeps no metrics. */
  today?: { recordsIn: number; delivered: number; failed: number; files: number; accuracyPct: number | null; errorPct: number | null };
}

/** The server's sort keys (GET /dataflows?sort=). */
export type FlowSortKey = 'name' | 'status' | 'lastRun' | 'updated';

/** fmtPct shows a percentage with one decimal ("—" without input). */
export function fmtPct(v: number | null | undefined): string {
  if (v === null || v === undefined || !isFinite(v)) return '—';
  return (Math.round(v * 10) / 10).toFixed(1) + ' %';
}

/** fmtCount shows a count with the browser's digit grouping ("—" without figures). */
export function fmtCount(v: number | undefined): string {
  return v === undefined ? '—' : v.toLocaleString();
}

/** listQuery is the query string of a list page. */
export function listQuery(f: { name?: string; tag?: string; status?: string; deactivated?: string; limit: number; cursor?: string; sort: SortState }): string {
  const p = new URLSearchParams();
  if (f.name) p.set('name', f.name);
  if (f.tag) p.set('tag', f.tag);
  if (f.status) p.set('status', f.status);
  if (f.deactivated) p.set('deactivated', f.deactivated);
  p.set('sort', sortParam(f.sort));
  p.set('limit', String(f.limit));
  if (f.cursor) p.set('cursor', f.cursor);
  return p.toString();
}

export function DataflowsPage() {
  const canEdit = useCan('editor');
  const isAdmin = useCan('admin');
  const [name, setName] = useState('');
  const [tag, setTag] = useState('');
  const [status, setStatus] = useState('');
  const [deactivated, setDeactivated] = useState('false');
  const [limit, setLimit] = useState(20);
  const [sort, setSort] = useState<SortState>({ key: 'name', desc: false });
  const pages = useCursorPages();
  const [createOpen, setCreateOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const [pasteOpen, setPasteOpen] = useState(false);
  const dName = useDebounced(name, 300);
  const dTag = useDebounced(tag, 300);
  // The server sorts before it paginates, so every page follows the header's order.
  const qs = listQuery({ name: dName, tag: dTag, status, deactivated, limit, cursor: pages.cursor, sort });
  // Refreshed like the System Snapshot above it (every 15 s), so today's
  // units, error % and accuracy % and the last run move while dataflows run.
  const q = useQuery({ queryKey: ['dataflows', qs], queryFn: () => client.get<Page<FlowListItem>>('/dataflows?' + qs), refetchInterval: 15000 });
  const items = q.data?.items ?? [];
  const resetPaging = pages.reset;

  const columns: Column<FlowListItem>[] = [
    {
      key: 'name',
      header: 'Name',
      sortable: true,
      cell: (f) => (
        <>
          <Link to={`/dataflows/${f.id}`}>{f.name}</Link>
          {f.deactivated && <span className="badge"> deactivated</span>}
          {f.description && <div className="hint">{f.description}</div>}
        </>
      ),
    },
    {
      key: 'tags',
      header: 'Tags',
      cell: (f) =>
        (f.tags ?? []).map((t) => (
          <span className="tag" key={t}>
            {t}
          </span>
        )),
    },
    { key: 'status', header: 'Status', sortable: true, cell: (f) => <RuntimeCell flow={f} /> },
    { key: 'live', header: 'Live version', cell: (f) => (f.liveVersion ? <Link to={`/dataflows/${f.id}/versions/${f.liveVersion}`}>v{f.liveVersion}</Link> : '—') },
    {
      key: 'latest',
      header: 'Latest version',
      cell: (f) =>
        f.latestVersion ? (
          <>
            <Link to={`/dataflows/${f.id}/versions/${f.latestVersion}`}>v{f.latestVersion}</Link> {f.latestState && <StateBadge state={f.latestState} />}
          </>
        ) : (
          '—'
        ),
    },
    {
      key: 'lastRun',
      header: 'Last run',
      sortable: true,
      cell: (f) =>
        f.lastRun ? (
          <Link to={`/runs/${f.lastRun.id}`}>
            <StateBadge state={f.lastRun.status} /> {fmtTime(f.lastRun.started)}
          </Link>
        ) : (
          'never'
        ),
    },
    { key: 'units', header: <abbr title="Records processed since midnight (the organisation's time zone)">Units today</abbr>, className: 'num', cell: (f) => fmtCount(f.today?.recordsIn) },
    { key: 'error', header: <abbr title="Failed records ÷ records processed today">Error %</abbr>, className: 'num', cell: (f) => <span className={f.today?.failed ? 'bad' : undefined}>{fmtPct(f.today?.errorPct)}</span> },
    { key: 'accuracy', header: <abbr title="Records delivered ÷ records processed today">Accuracy %</abbr>, className: 'num', cell: (f) => fmtPct(f.today?.accuracyPct) },
    { key: 'updated', header: 'Updated', sortable: true, cell: (f) => fmtTime(f.updatedAt) },
    { key: 'actions', header: 'Actions', hidden: !isAdmin, cell: (f) => <ActivateButton flow={f} /> },
  ];

  return (
    <div>
      <Breadcrumbs items={[{ label: 'Dataflows' }]} />
      <div className="row">
        <h1>Dataflows</h1>
        <span className="spacer" />
        {canEdit && (
          <>
            <button type="button" className="primary" onClick={() => setCreateOpen(true)}>
              New dataflow
            </button>
            <button type="button" onClick={() => setImportOpen(true)}>
              Import…
            </button>
            <button type="button" onClick={() => setPasteOpen(true)}>
              Paste…
            </button>
          </>
        )}
      </div>
      <div className="toolbar" role="search">
        <label>
          Search
          <input type="search" placeholder="Name contains…" value={name} onChange={(e) => (setName(e.target.value), resetPaging())} />
        </label>
        <label>
          Tag
          <input value={tag} placeholder="exact tag" onChange={(e) => (setTag(e.target.value), resetPaging())} />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus(e.target.value), resetPaging())}>
            <option value="">Any</option>
            <option>Active</option>
            <option>Paused</option>
            <option>Stopped</option>
          </select>
        </label>
        <label>
          Show
          <select value={deactivated} onChange={(e) => (setDeactivated(e.target.value), resetPaging())}>
            <option value="false">Active dataflows</option>
            <option value="true">Deactivated</option>
            <option value="">All</option>
          </select>
        </label>
        <label>
          Per page
          <select value={limit} onChange={(e) => (setLimit(Number(e.target.value)), resetPaging())}>
            {[10, 20, 50, 100].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={q.error} />
      {q.isLoading ? (
        <Spinner />
      ) : (
        <div className="table-scroll">
          <DataTable
            label="Dataflows"
            columns={columns}
            rows={items}
            rowKey={(f) => f.id}
            empty={canEdit ? 'No dataflows match. Create one with “New dataflow”, or import a document.' : 'No dataflows match.'}
            sort={sort}
            onSort={(s) => (setSort(s), resetPaging())}
          />
        </div>
      )}
      <Pager page={pages.page} hasNext={!!q.data?.next} onPrev={pages.prev} onNext={() => pages.next(q.data?.next)} />
      <CreateDialog open={createOpen} onClose={() => setCreateOpen(false)} />
      <ImportDialog open={importOpen} onClose={() => setImportOpen(false)} />
      <PasteDialog open={pasteOpen} onClose={() => setPasteOpen(false)} />
    </div>
  );
}

function ActivateButton({ flow }: { flow: Dataflow }) {
  const qc = useQueryClient();
  const toggle = useMutation({
    mutationFn: () => client.post<Dataflow>(`/dataflows/${flow.id}/${flow.deactivated ? 'activate' : 'deactivate'}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['dataflows'] }),
  });
  return (
    <>
      <button type="button" className={flow.deactivated ? '' : 'danger'} aria-label={`${flow.deactivated ? 'Activate' : 'Deactivate'} ${flow.name}`} disabled={toggle.isPending} onClick={() => toggle.mutate()}>
        {flow.deactivated ? 'Activate' : 'Deactivate'}
      </button>
      <ErrorBox error={toggle.error} />
    </>
  );
}

function splitTags(s: string): string[] {
  return s
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

function CreateDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [fromTemplate, setFromTemplate] = useState(false);
  const close = () => {
    setFromTemplate(false);
    onClose();
  };
  const m = useMutation({
    mutationFn: () => client.post<CreateResult>('/dataflows', { name, description: description || undefined, tags: splitTags(tags) }),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['dataflows'] });
      onClose();
      navigate(`/dataflows/${r.dataflow.id}/versions/${r.version.number}/canvas`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Modal title={fromTemplate ? 'New dataflow from a template' : 'New dataflow'} open={open} onClose={close} wide={fromTemplate}>
      {fromTemplate ? (
        <TemplateGallery onClose={close} />
      ) : (
      <form className="stack" onSubmit={submit}>
        <ErrorBox error={m.error} />
        <label>
          Name <span className="req" aria-hidden="true">*</span>
          <input required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label>
          Tags <span className="hint">(comma-separated)</span>
          <input value={tags} onChange={(e) => setTags(e.target.value)} />
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={m.isPending}>
            Create and open the canvas
          </button>
        </div>
        <p>
          Or{' '}
          <button type="button" className="link" onClick={() => setFromTemplate(true)}>
            start from a template
          </button>{' '}
          (a ready-made dataflow you fill in).
        </p>
      </form>
      )}
    </Modal>
  );
}

function ImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const [format, setFormat] = useState('');
  const [text, setText] = useState('');
  const [notes, setNotes] = useState<CreateResult | null>(null);
  const m = useMutation({
    mutationFn: () => client.post<CreateResult>('/dataflows/import', { name, tags: splitTags(tags), document: text, format }),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['dataflows'] });
      if (r.notes && r.notes.length) setNotes(r);
      else {
        onClose();
        navigate(`/dataflows/${r.dataflow.id}`);
      }
    },
  });
  const onFile = async (f: File | undefined) => {
    if (!f) return;
    setText(await f.text());
    if (!name) setName(f.name.replace(/\.(ya?ml|json)$/i, ''));
    if (/\.ya?ml$/i.test(f.name)) setFormat('yaml');
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Modal title="Import a dataflow" open={open} onClose={onClose} wide>
      {notes ? (
        <div className="stack">
          <p className="success">Imported “{notes.dataflow.name}” as version 1 (Draft). The conversion left these notes:</p>
          <ul>
            {notes.notes!.map((n, i) => (
              <li key={i}>
                <code>{n.path}</code> {n.message}
              </li>
            ))}
          </ul>
          <div className="actions">
            <button type="button" className="primary" onClick={() => (onClose(), navigate(`/dataflows/${notes.dataflow.id}`))}>
              Open the dataflow
            </button>
          </div>
        </div>
      ) : (
        <form className="stack" onSubmit={submit}>
          <ErrorBox error={m.error} />
          <label>
            File
            <input type="file" accept=".yaml,.yml,.json,application/json" onChange={(e) => void onFile(e.target.files?.[0])} />
          </label>
          <label>
            Format
            <select value={format} onChange={(e) => setFormat(e.target.value)}>
              <option value="">Detect (YAML or JSON)</option>
              <option value="yaml">YAML</option>
              <option value="json">JSON</option>
              <option value="connectplus">Connect+ block JSON (export of the original product)</option>
            </select>
          </label>
          <label>
            Document
            <textarea className="code" rows={12} value={text} onChange={(e) => setText(e.target.value)} required spellCheck={false} />
          </label>
          <label>
            Name <span className="req" aria-hidden="true">*</span>
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Tags <span className="hint">(comma-separated)</span>
            <input value={tags} onChange={(e) => setTags(e.target.value)} />
          </label>
          <div className="actions">
            <button type="submit" className="primary" disabled={m.isPending}>
              Import
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
