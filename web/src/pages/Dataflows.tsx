import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { CreateResult, Dataflow, Page, Run, Version } from '../api/types';
import { useCan, useDebounced } from '../hooks';
import { Link, useNavigate } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, Spinner, StateBadge } from '../ui/common';
import { TemplateGallery } from './Templates';
import { PasteDialog } from '../clipboard/Clipboard';

type SortKey = 'name' | 'status' | 'updated' | 'live';

export function DataflowsPage() {
  const canEdit = useCan('editor');
  const isAdmin = useCan('admin');
  const [name, setName] = useState('');
  const [tag, setTag] = useState('');
  const [status, setStatus] = useState('');
  const [deactivated, setDeactivated] = useState('false');
  const [limit, setLimit] = useState(20);
  const [sort, setSort] = useState<SortKey>('name');
  const [desc, setDesc] = useState(false);
  // Cursor stack: cursors[i] is the cursor of page i (page 0 has none).
  const [cursors, setCursors] = useState<string[]>(['']);
  const [createOpen, setCreateOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const [pasteOpen, setPasteOpen] = useState(false);
  const dName = useDebounced(name, 300);
  const dTag = useDebounced(tag, 300);
  const page = cursors.length - 1;
  const cursor = cursors[page];

  const params = new URLSearchParams();
  if (dName) params.set('name', dName);
  if (dTag) params.set('tag', dTag);
  if (status) params.set('status', status);
  if (deactivated) params.set('deactivated', deactivated);
  params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  const qs = params.toString();
  const q = useQuery({ queryKey: ['dataflows', qs], queryFn: () => client.get<Page<Dataflow>>('/dataflows?' + qs) });

  const resetPaging = () => setCursors(['']);
  const items = useMemo(() => {
    const xs = [...(q.data?.items ?? [])];
    const cmp: Record<SortKey, (a: Dataflow, b: Dataflow) => number> = {
      name: (a, b) => a.name.localeCompare(b.name),
      status: (a, b) => a.status.localeCompare(b.status),
      updated: (a, b) => a.updatedAt.localeCompare(b.updatedAt),
      live: (a, b) => a.liveVersion - b.liveVersion,
    };
    xs.sort(cmp[sort]);
    if (desc) xs.reverse();
    return xs;
  }, [q.data, sort, desc]);

  const sortBy = (k: SortKey) => {
    if (k === sort) setDesc(!desc);
    else {
      setSort(k);
      setDesc(false);
    }
  };
  const sortHeader = (k: SortKey, label: string) => (
    <th aria-sort={sort === k ? (desc ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="sort" onClick={() => sortBy(k)}>
        {label} {sort === k ? (desc ? '▼' : '▲') : ''}
      </button>
    </th>
  );

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
        <table className="grid" aria-label="Dataflows">
          <thead>
            <tr>
              {sortHeader('name', 'Name')}
              <th>Tags</th>
              {sortHeader('status', 'Status')}
              {sortHeader('live', 'Live version')}
              <th>Latest version</th>
              <th>Last run</th>
              {sortHeader('updated', 'Updated')}
              {isAdmin && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.length === 0 && (
              <tr>
                <td colSpan={8} className="hint">
                  No dataflows match.
                </td>
              </tr>
            )}
            {items.map((f) => (
              <FlowRow key={f.id} flow={f} admin={isAdmin} />
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Previous
        </button>
        <span>Page {page + 1}</span>
        <button type="button" disabled={!q.data?.next} onClick={() => q.data?.next && setCursors([...cursors, q.data.next])}>
          Next →
        </button>
      </nav>
      <CreateDialog open={createOpen} onClose={() => setCreateOpen(false)} />
      <ImportDialog open={importOpen} onClose={() => setImportOpen(false)} />
      <PasteDialog open={pasteOpen} onClose={() => setPasteOpen(false)} />
    </div>
  );
}

function FlowRow({ flow, admin }: { flow: Dataflow; admin: boolean }) {
  const qc = useQueryClient();
  const versions = useQuery({ queryKey: ['versions', flow.id], queryFn: () => client.get<Version[]>(`/dataflows/${flow.id}/versions`) });
  const runs = useQuery({ queryKey: ['runs', 'last', flow.id], queryFn: () => client.get<Page<Run>>(`/runs?flowId=${flow.id}&limit=1`) });
  const toggle = useMutation({
    mutationFn: () => client.post<Dataflow>(`/dataflows/${flow.id}/${flow.deactivated ? 'activate' : 'deactivate'}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['dataflows'] }),
  });
  const latest = versions.data?.[0];
  const last = runs.data?.items[0];
  return (
    <tr>
      <td>
        <Link to={`/dataflows/${flow.id}`}>{flow.name}</Link>
        {flow.deactivated && <span className="badge"> deactivated</span>}
        {flow.description && <div className="hint">{flow.description}</div>}
      </td>
      <td>
        {(flow.tags ?? []).map((t) => (
          <span className="tag" key={t}>
            {t}
          </span>
        ))}
      </td>
      <td>
        <StateBadge state={flow.status} />
      </td>
      <td>{flow.liveVersion ? <Link to={`/dataflows/${flow.id}/versions/${flow.liveVersion}`}>v{flow.liveVersion}</Link> : '—'}</td>
      <td>
        {latest ? (
          <>
            <Link to={`/dataflows/${flow.id}/versions/${latest.number}`}>v{latest.number}</Link> <StateBadge state={latest.state} />
          </>
        ) : (
          '…'
        )}
      </td>
      <td>
        {last ? (
          <Link to={`/runs/${last.id}`}>
            <StateBadge state={last.status} /> {fmtTime(last.started)}
          </Link>
        ) : runs.isLoading ? (
          '…'
        ) : (
          'never'
        )}
      </td>
      <td>{fmtTime(flow.updatedAt)}</td>
      {admin && (
        <td>
          <button type="button" className={flow.deactivated ? '' : 'danger'} disabled={toggle.isPending} onClick={() => toggle.mutate()}>
            {flow.deactivated ? 'Activate' : 'Deactivate'}
          </button>
          <ErrorBox error={toggle.error} />
        </td>
      )}
    </tr>
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
