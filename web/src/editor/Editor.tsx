// The canvas editor (lazy-loaded route): palette, canvas, config panel,
// validation as the user types, Save Draft with optimistic concurrency.
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type ReactNode } from 'react';
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './editor.css';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, client } from '../api/client';
import type { ConfigView, Dataflow, Problem, SaveResult, Version } from '../api/types';
import { useCan, useDebounced } from '../hooks';
import { Link, useBlockNavigation, useNavigate } from '../router';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, Spinner, StateBadge } from '../ui/common';
import { AssistantPanel } from './AssistantPanel';
import { RuntimeBar } from '../ui/runtime';
import { DiffBanner, useCanvasDiff } from './CanvasDiff';
import { CountsBanner, useCanvasCounts } from '../obs/CanvasCounts';
import { BlockNode, NodeCtx } from './BlockNode';
import { byType, paletteGroups, type BlockInfo, type Catalogue } from './catalogue';
import { ConfigForm, type FieldProblem } from './ConfigForm';
import { autoLayout } from './layout';
import {
  connectionProblem,
  docToGraph,
  edgeId,
  edgeLabel,
  graphToDoc,
  handleOf,
  IN_HANDLE,
  newId,
  outputHandles,
  problemTarget,
  SUCCESS,
  uniqueName,
  type BlockData,
  type Doc,
  type EdgeData,
  type GEdge,
  type GNode,
  type Meta,
} from './model';
import { PreviewPanel } from './PreviewPanel';

type FNode = Node<BlockData, 'block'>;
type FEdge = Edge<EdgeData>;

interface Snapshot {
  nodes: FNode[];
  edges: FEdge[];
  meta: Meta;
}

const nodeTypes = { block: BlockNode };
const DND = 'application/x-connectplus-block';

export default function EditorRoute({ flowId, number }: { flowId: string; number: number }) {
  const [loadKey, setLoadKey] = useState(0);
  const qc = useQueryClient();
  const blocks = useQuery({ queryKey: ['blocks'], queryFn: () => client.get<{ blocks: BlockInfo[] }>('/blocks'), staleTime: Infinity });
  const configs = useQuery({ queryKey: ['configs'], queryFn: () => client.get<ConfigView[]>('/configs') });
  const flow = useQuery({ queryKey: ['dataflow', flowId], queryFn: () => client.get<Dataflow>(`/dataflows/${flowId}`) });
  const version = useQuery({ queryKey: ['version', flowId, number, loadKey], queryFn: () => client.get<Version>(`/dataflows/${flowId}/versions/${number}`), staleTime: 0 });
  const doc = useQuery({
    queryKey: ['export', flowId, number, version.data?.revision, loadKey],
    enabled: !!version.data,
    staleTime: 0,
    queryFn: async () => {
      const r = await client.raw('GET', `/dataflows/${flowId}/versions/${number}/export?format=json`);
      return JSON.parse(await r.text()) as Doc;
    },
  });
  const err = blocks.error || version.error || doc.error || flow.error;
  const crumbs = [
    { label: 'Dataflows', to: '/dataflows' },
    { label: flow.data?.name ?? '…', to: `/dataflows/${flowId}` },
    { label: `Version ${number}`, to: `/dataflows/${flowId}/versions/${number}` },
    { label: 'Canvas' },
  ];
  if (err) {
    return (
      <div>
        <Breadcrumbs items={crumbs} />
        <ErrorBox error={err} />
      </div>
    );
  }
  if (!blocks.data || !version.data || !doc.data || !flow.data) return <Spinner label="Loading the canvas…" />;
  return (
    <ReactFlowProvider>
      <Editor
        key={loadKey}
        crumbs={crumbs}
        flow={flow.data}
        version={version.data}
        doc={doc.data}
        blocks={blocks.data.blocks}
        configs={configs.data ?? []}
        onReload={() => {
          void qc.invalidateQueries({ queryKey: ['versions', flowId] });
          setLoadKey((k) => k + 1);
        }}
      />
    </ReactFlowProvider>
  );
}

const CLIPBOARD = 'connectplus.clipboard';

function readClipboard(): { nodes: FNode[]; edges: FEdge[] } | null {
  try {
    const t = sessionStorage.getItem(CLIPBOARD);
    return t ? (JSON.parse(t) as { nodes: FNode[]; edges: FEdge[] }) : null;
  } catch {
    return null;
  }
}

function initialGraph(doc: Doc): Snapshot {
  const g = docToGraph(doc);
  let nodes = g.nodes;
  if (nodes.some((n) => !n.data.positioned)) nodes = autoLayout(nodes, g.edges);
  return { nodes: nodes as FNode[], edges: g.edges as FEdge[], meta: g.meta };
}

function toDoc(s: Snapshot): Doc {
  return graphToDoc({ meta: s.meta, nodes: s.nodes as unknown as GNode[], edges: s.edges as unknown as GEdge[] });
}

function isTyping(el: EventTarget | null): boolean {
  const t = el as HTMLElement | null;
  if (!t) return false;
  return t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable;
}

interface EditorProps {
  crumbs: { label: string; to?: string }[];
  flow: Dataflow;
  version: Version;
  doc: Doc;
  blocks: BlockInfo[];
  configs: ConfigView[];
  onReload: () => void;
}

function Editor({ crumbs, flow, version, doc, blocks, configs, onReload }: EditorProps) {
  const canEdit = useCan('editor');
  const navigate = useNavigate();
  const rf = useReactFlow();
  const cat: Catalogue = useMemo(() => byType(blocks), [blocks]);
  const init = useMemo(() => initialGraph(doc), [doc]);
  const [nodes, setNodes] = useState<FNode[]>(init.nodes);
  const [edges, setEdges] = useState<FEdge[]>(init.edges);
  const [meta, setMeta] = useState<Meta>(init.meta);
  const [revision, setRevision] = useState(version.revision);
  const [savedJson, setSavedJson] = useState(() => JSON.stringify(toDoc(init)));
  const past = useRef<Snapshot[]>([]);
  const future = useRef<Snapshot[]>([]);
  const lastEdit = useRef<string | null>(null);
  const [, setHist] = useState(0);
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<{ by: string; at: string; message: string; revision: number } | null>(null);
  const [previewOpen, setPreviewOpen] = useState(false);
  // The clipboard lives in sessionStorage, so blocks copied in one dataflow
  // paste into another (same tab).
  const clipboard = useRef<{ nodes: FNode[]; edges: FEdge[] } | null>(readClipboard());
  const readOnly = !canEdit || version.state !== 'Draft';
  const counts = useCanvasCounts(flow.id);
  const cdiff = useCanvasDiff(flow.id, version.number);
  // Where a read-only version's edits go: the open Draft, or a new one.
  const versions = useQuery({ queryKey: ['versions', flow.id], enabled: readOnly && canEdit, queryFn: () => client.get<Version[]>(`/dataflows/${flow.id}/versions`) });
  const openDraft = versions.data?.find((v) => v.state === 'Draft' && v.number !== version.number);

  const current: Snapshot = { nodes, edges, meta };
  const document = useMemo(() => toDoc({ nodes, edges, meta }), [nodes, edges, meta]);
  const docJson = useMemo(() => JSON.stringify(document), [document]);
  const dirty = docJson !== savedJson;

  // ---- history ----
  const push = useCallback(
    (key: string | null = null) => {
      if (key !== null && key === lastEdit.current) return;
      lastEdit.current = key;
      past.current.push({ nodes, edges, meta });
      if (past.current.length > 200) past.current.shift();
      future.current = [];
      setHist((h) => h + 1);
    },
    [nodes, edges, meta],
  );
  const restore = (s: Snapshot) => {
    setNodes(s.nodes);
    setEdges(s.edges);
    setMeta(s.meta);
  };
  const undo = () => {
    const s = past.current.pop();
    if (!s) return;
    future.current.push(current);
    lastEdit.current = null;
    restore(s);
    setHist((h) => h + 1);
  };
  const redo = () => {
    const s = future.current.pop();
    if (!s) return;
    past.current.push(current);
    lastEdit.current = null;
    restore(s);
    setHist((h) => h + 1);
  };

  // ---- validation, debounced as the user types ----
  const validationKey = useMemo(() => JSON.stringify(document, (k, v) => (k === 'position' ? undefined : v)), [document]);
  const debouncedKey = useDebounced(validationKey, 500);
  const ids = useMemo(() => nodes.map((n) => n.id), [nodes]);
  const idsRef = useRef(ids);
  idsRef.current = ids;
  const validation = useQuery({
    queryKey: ['validate', debouncedKey],
    queryFn: async () => {
      const snapshot = idsRef.current;
      const r = await client.post<{ valid: boolean; problems: Problem[] }>('/validate', { document: debouncedKey, format: 'json' });
      return { ...r, ids: snapshot };
    },
    staleTime: Infinity,
    placeholderData: (prev) => prev,
  });
  const problems = validation.data?.problems ?? [];
  const { nodeProblems, fieldProblems, docProblems } = useMemo(() => {
    const np = new Map<string, string[]>();
    const fp = new Map<string, FieldProblem[]>();
    const dp: Problem[] = [];
    const vids = validation.data?.ids ?? [];
    for (const p of problems) {
      const t = problemTarget(p.path);
      const id = t ? vids[t.block] : undefined;
      if (!t || !id) {
        dp.push(p);
        continue;
      }
      np.set(id, [...(np.get(id) ?? []), (t.field ? t.field + ': ' : '') + p.message]);
      fp.set(id, [...(fp.get(id) ?? []), { field: t.field, message: t.field ? p.message : (t.rest ? t.rest + ': ' : '') + p.message }]);
    }
    return { nodeProblems: np, fieldProblems: fp, docProblems: dp };
  }, [problems, validation.data]);

  const usedHandles = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const e of edges) m.set(e.source, [...(m.get(e.source) ?? []), e.sourceHandle ?? SUCCESS]);
    return m;
  }, [edges]);
  // Screen readers announce each block by its type and name.
  const labelledNodes = useMemo(() => nodes.map((n) => ({ ...n, ariaLabel: `${cat.get(n.data.type)?.label ?? n.data.type} block “${n.data.name}”${nodeProblems.get(n.id)?.length ? `, ${nodeProblems.get(n.id)!.length} problem(s)` : ''}` })), [nodes, cat, nodeProblems]);
  const extras = useMemo(
    () => ({ cat, problems: nodeProblems, usedHandles, counts: counts.counts, marks: cdiff.marks?.marks, renamedFrom: cdiff.marks?.renamedFrom }),
    [cat, nodeProblems, usedHandles, counts.counts, cdiff.marks],
  );

  // ---- canvas changes ----
  const onNodesChange = useCallback(
    (changes: NodeChange<FNode>[]) => {
      const allowed = readOnly ? changes.filter((c) => c.type === 'select' || c.type === 'dimensions') : changes.filter((c) => c.type !== 'remove');
      setNodes((ns) => applyNodeChanges(allowed, ns));
    },
    [readOnly],
  );
  const onEdgesChange = useCallback((changes: EdgeChange<FEdge>[]) => {
    setEdges((es) => applyEdgeChanges(changes.filter((c) => c.type === 'select'), es));
  }, []);
  const onNodeDragStart = useCallback(() => push(null), [push]);
  const onNodeDragStop = useCallback((_: unknown, _n: FNode, dragged: FNode[]) => {
    const moved = new Set(dragged.map((d) => d.id));
    setNodes((ns) => ns.map((n) => (moved.has(n.id) && !n.data.positioned ? { ...n, data: { ...n.data, positioned: true } } : n)));
  }, []);

  const onConnect = useCallback(
    (c: Connection) => {
      if (readOnly) return;
      const problem = connectionProblem(nodes as unknown as GNode[], edges as unknown as GEdge[], { source: c.source, sourceHandle: c.sourceHandle ?? SUCCESS, target: c.target }, cat);
      if (problem) {
        setMessage({ kind: 'error', text: 'Connection refused: ' + problem + '.' });
        return;
      }
      push(null);
      const handle = c.sourceHandle ?? SUCCESS;
      const on = handle === SUCCESS ? '' : handle;
      setEdges((es) => [
        ...es.map((e) => ({ ...e, selected: false })),
        { id: edgeId(c.source, handle, c.target, on), source: c.source, target: c.target, sourceHandle: handle, targetHandle: IN_HANDLE, label: edgeLabel(on), data: { on } },
      ]);
      setMessage(null);
    },
    [readOnly, nodes, edges, cat, push],
  );

  const addBlock = useCallback(
    (type: string, pos?: { x: number; y: number }) => {
      if (readOnly) return;
      const spec = cat.get(type);
      if (!spec) return;
      let p = pos;
      if (!p) {
        const el = window.document.querySelector('.react-flow');
        const r = el?.getBoundingClientRect();
        p = rf.screenToFlowPosition({ x: (r?.left ?? 0) + (r?.width ?? 600) / 2, y: (r?.top ?? 0) + (r?.height ?? 400) / 2 });
        p = { x: p.x - 115 + (nodes.length % 5) * 20, y: p.y - 48 + (nodes.length % 5) * 20 };
      }
      push(null);
      const id = newId();
      const node: FNode = {
        id,
        type: 'block',
        position: p,
        selected: true,
        data: { type: spec.type, name: uniqueName(spec.type, nodes as unknown as GNode[]), config: {}, hadConfig: false, disabled: false, positioned: true },
      };
      setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), node]);
      setEdges((es) => es.map((e) => ({ ...e, selected: false })));
    },
    [readOnly, cat, rf, nodes, push],
  );

  const onDragOver = (e: DragEvent) => {
    if (readOnly) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const type = e.dataTransfer.getData(DND) || e.dataTransfer.getData('text/plain');
    if (!type) return;
    addBlock(type, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  };

  const selectedNodes = nodes.filter((n) => n.selected);
  const selectedEdges = edges.filter((e) => e.selected);

  const deleteSelected = () => {
    if (readOnly || (!selectedNodes.length && !selectedEdges.length)) return;
    push(null);
    const gone = new Set(selectedNodes.map((n) => n.id));
    setNodes((ns) => ns.filter((n) => !gone.has(n.id)));
    setEdges((es) => es.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target)));
  };
  const copy = () => {
    if (!selectedNodes.length) return;
    const ids = new Set(selectedNodes.map((n) => n.id));
    clipboard.current = { nodes: structuredClone(selectedNodes), edges: structuredClone(edges.filter((e) => ids.has(e.source) && ids.has(e.target))) };
    try {
      sessionStorage.setItem(CLIPBOARD, JSON.stringify(clipboard.current));
    } catch {
      // Storage full or disabled: the copy still works within this canvas.
    }
    setMessage({ kind: 'info', text: `Copied ${selectedNodes.length} block${selectedNodes.length > 1 ? 's' : ''}.` });
  };
  const paste = () => {
    const cb = clipboard.current;
    if (readOnly || !cb) return;
    push(null);
    const map = new Map<string, string>();
    const all = [...nodes] as unknown as GNode[];
    const fresh: FNode[] = cb.nodes.map((n) => {
      const id = newId();
      map.set(n.id, id);
      const name = uniqueName(n.data.name, all);
      const nn: FNode = { ...n, id, selected: true, position: { x: n.position.x + 40, y: n.position.y + 40 }, data: { ...structuredClone(n.data), name, positioned: true } };
      all.push(nn as unknown as GNode);
      return nn;
    });
    const freshEdges: FEdge[] = cb.edges.map((e) => {
      const s = map.get(e.source)!;
      const t = map.get(e.target)!;
      return { ...e, id: edgeId(s, e.sourceHandle ?? SUCCESS, t, e.data?.on ?? ''), source: s, target: t, selected: false };
    });
    setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...fresh]);
    setEdges((es) => [...es, ...freshEdges]);
  };
  const layout = () => {
    if (readOnly) return;
    push(null);
    setNodes((ns) => autoLayout(ns as unknown as GNode[], edges as unknown as GEdge[]) as FNode[]);
    setTimeout(() => void rf.fitView({ padding: 0.2, maxZoom: 1 }), 50);
  };

  // ---- save ----
  const save = async () => {
    if (readOnly || saving) return;
    setSaving(true);
    setSaveError(null);
    const text = JSON.stringify(document, null, 2);
    try {
      const r = await client.put<SaveResult>(`/dataflows/${flow.id}/versions/${version.number}`, { document: text, format: 'json', revision }, { 'If-Match': `"r${revision}"` });
      setRevision(r.version.revision);
      setSavedJson(JSON.stringify(document));
      setMessage({ kind: 'info', text: `Saved version ${version.number} (revision ${r.version.revision}).` + (r.notes?.length ? ` ${r.notes.length} note(s).` : '') });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        let by = '';
        let at = '';
        let rev = 0;
        try {
          const v = await client.get<Version>(`/dataflows/${flow.id}/versions/${version.number}`);
          by = v.updatedBy || v.createdBy;
          at = v.updatedAt;
          rev = v.revision;
        } catch {
          // The conflict message alone still explains it.
        }
        setConflict({ by, at, message: e.message, revision: rev });
      } else setSaveError(e);
    } finally {
      setSaving(false);
    }
  };
  const saveAsDraft = async () => {
    setSaveError(null);
    try {
      const r = await client.put<SaveResult>(`/dataflows/${flow.id}/draft`, { document: JSON.stringify(document, null, 2), format: 'json' });
      navigate(`/dataflows/${flow.id}/versions/${r.version.number}/canvas`);
    } catch (e) {
      setSaveError(e);
    }
  };

  const reopen = async () => {
    setSaveError(null);
    try {
      await client.post<Version>(`/dataflows/${flow.id}/versions/${version.number}/edit`);
      onReload();
    } catch (e) {
      setSaveError(e);
    }
  };

  useBlockNavigation(dirty && !readOnly, 'Leave the canvas? Your unsaved changes will be lost.');
  useEffect(() => {
    if (!dirty) return;
    const h = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', h);
    return () => window.removeEventListener('beforeunload', h);
  }, [dirty]);

  // Shortcuts work wherever focus is on the page (the canvas pane itself
  // takes no focus), except in form fields and dialogs.
  const onKeyDown = (e: globalThis.KeyboardEvent) => {
    if (window.document.querySelector('dialog[open]')) return;
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key.toLowerCase() === 's') {
      e.preventDefault();
      void save();
      return;
    }
    if (isTyping(e.target)) return;
    if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      deleteSelected();
    } else if (mod && e.key.toLowerCase() === 'c') copy();
    else if (mod && e.key.toLowerCase() === 'v') paste();
    else if (mod && e.key.toLowerCase() === 'z' && !e.shiftKey) {
      e.preventDefault();
      undo();
    } else if (mod && (e.key.toLowerCase() === 'y' || (e.key.toLowerCase() === 'z' && e.shiftKey))) {
      e.preventDefault();
      redo();
    }
  };

  const keyHandler = useRef(onKeyDown);
  keyHandler.current = onKeyDown;
  useEffect(() => {
    const h = (e: globalThis.KeyboardEvent) => keyHandler.current(e);
    window.addEventListener('keydown', h);
    return () => window.removeEventListener('keydown', h);
  }, []);

  const selectNode = (id: string) => {
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === id })));
    setEdges((es) => es.map((e) => ({ ...e, selected: false })));
    const n = nodes.find((x) => x.id === id);
    if (n) void rf.setCenter(n.position.x + 115, n.position.y + 48, { zoom: rf.getZoom(), duration: 200 });
  };

  const updateNode = (id: string, data: Partial<BlockData>, key: string) => {
    push(key);
    setNodes((ns) => ns.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...data } } : n)));
  };
  const updateEdge = (id: string, on: string) => {
    push('edge:' + id);
    setEdges((es) => es.map((e) => (e.id === id ? { ...e, sourceHandle: handleOf(on), label: edgeLabel(on), data: { on } } : e)));
  };

  const nProblems = problems.filter((p) => p.severity !== 'warning').length;

  return (
    <div className={'editor-page' + (previewOpen ? ' previewing' : '')}>
      <div className="editor-top">
        <Breadcrumbs items={crumbs} />
        <RuntimeBar flow={flow} />
      </div>
      <div className="editor-toolbar" role="toolbar" aria-label="Canvas">
        <h1 className="editor-title">
          {flow.name} <span className="hint">v{version.number}</span> <StateBadge state={version.state} />
        </h1>
        {!readOnly && (
          <button type="button" className="primary" onClick={() => void save()} disabled={saving || !dirty} title="Ctrl+S">
            {saving ? 'Saving…' : 'Save Draft'}
          </button>
        )}
        <span className="save-state" role="status">
          {readOnly ? 'Read-only' : dirty ? 'Unsaved changes' : 'All changes saved'}
        </span>
        <span className="sep" />
        <button type="button" onClick={undo} disabled={readOnly || past.current.length === 0} title="Ctrl+Z">
          Undo
        </button>
        <button type="button" onClick={redo} disabled={readOnly || future.current.length === 0} title="Ctrl+Shift+Z">
          Redo
        </button>
        <button type="button" onClick={copy} disabled={selectedNodes.length === 0} title="Ctrl+C">
          Copy
        </button>
        <button type="button" onClick={paste} disabled={readOnly || !clipboard.current} title="Ctrl+V">
          Paste
        </button>
        <button type="button" onClick={deleteSelected} disabled={readOnly || (selectedNodes.length === 0 && selectedEdges.length === 0)} title="Delete">
          Delete
        </button>
        <button type="button" onClick={layout} disabled={readOnly}>
          Auto-layout
        </button>
        <button type="button" onClick={() => void rf.fitView({ padding: 0.2, maxZoom: 1.2, duration: 200 })}>
          Fit view
        </button>
        <span className="sep" />
        <button type="button" aria-pressed={previewOpen} onClick={() => setPreviewOpen(!previewOpen)}>
          Preview
        </button>
        <span className={'validity ' + (nProblems ? 'bad' : 'good')} role="status" aria-live="polite">
          {validation.isFetching ? 'Checking…' : nProblems ? `${nProblems} problem${nProblems > 1 ? 's' : ''}` : 'Valid'}
        </span>
      </div>
      <CountsBanner query={counts.query} path={`/dataflows/${flow.id}/versions/${version.number}/canvas`} />
      <DiffBanner from={cdiff.from} marks={cdiff.marks} error={cdiff.error} path={`/dataflows/${flow.id}/versions/${version.number}/canvas`} />
      {readOnly && (
        <div className="notice readonly-banner" role="note">
          {!canEdit
            ? 'You have view access: the canvas is read-only.'
            : `Version ${version.number} is ${version.state}: only a Draft can be edited.`}
          {canEdit && version.state === 'Rejected' && (
            <>
              {' '}
              <button type="button" className="link" onClick={() => void reopen()}>
                Reopen it for editing
              </button>
            </>
          )}
          {canEdit && version.state !== 'Draft' && version.state !== 'Rejected' && versions.data && (
            <>
              {' '}
              {openDraft ? (
                <Link to={`/dataflows/${flow.id}/versions/${openDraft.number}/canvas`}>Open the Draft (v{openDraft.number})</Link>
              ) : (
                <button type="button" className="link" onClick={() => void saveAsDraft()}>
                  Start a new Draft from this version
                </button>
              )}
            </>
          )}
        </div>
      )}
      {message && (
        <div className={message.kind === 'error' ? 'error-box' : 'success'} role={message.kind === 'error' ? 'alert' : 'status'}>
          {message.text}{' '}
          <button type="button" className="link" onClick={() => setMessage(null)}>
            Dismiss
          </button>
        </div>
      )}
      <ErrorBox error={saveError} title="Not saved" />
      <AssistantPanel
        flowId={flow.id}
        canAccept={canEdit}
        dirty={dirty && !readOnly}
        onAccepted={(r) => (r.flowId === flow.id && r.version === version.number ? onReload() : navigate(`/dataflows/${r.flowId}/versions/${r.version}/canvas`))}
      />
      <div className={'editor-body' + (previewOpen ? ' with-preview' : '')}>
        <Palette blocks={blocks} readOnly={readOnly} onAdd={(t) => addBlock(t)} />
        <div className="canvas" onDragOver={onDragOver} onDrop={onDrop} aria-label="Canvas" role="application" aria-roledescription="dataflow canvas">
          <NodeCtx.Provider value={extras}>
            <ReactFlow<FNode, FEdge>
              nodes={labelledNodes}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onNodeDragStart={onNodeDragStart}
              onNodeDragStop={onNodeDragStop}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              elementsSelectable
              deleteKeyCode={null}
              multiSelectionKeyCode="Shift"
              fitView={init.nodes.length > 0}
              fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
              defaultViewport={{ x: 40, y: 40, zoom: 1 }}
              minZoom={0.2}
              maxZoom={2}
              colorMode="system"
              proOptions={{ hideAttribution: true }}
              defaultEdgeOptions={{ type: 'smoothstep' }}
            >
              <Background />
              <Controls showInteractive={false} />
              <MiniMap pannable zoomable ariaLabel="Minimap" />
            </ReactFlow>
          </NodeCtx.Provider>
        </div>
        <aside className="side-panel" aria-label="Properties">
          {selectedNodes.length === 1 ? (
            <BlockPanel
              key={selectedNodes[0].id}
              node={selectedNodes[0]}
              spec={cat.get(selectedNodes[0].data.type)}
              configs={configs}
              problems={fieldProblems.get(selectedNodes[0].id) ?? []}
              readOnly={readOnly}
              names={nodes.filter((n) => n.id !== selectedNodes[0].id).map((n) => n.data.name)}
              onChange={(data, key) => updateNode(selectedNodes[0].id, data, key)}
              connections={
                <Connections
                  node={selectedNodes[0]}
                  nodes={nodes}
                  edges={edges}
                  cat={cat}
                  readOnly={readOnly}
                  onConnect={(target, handle) => onConnect({ source: selectedNodes[0].id, sourceHandle: handle, target, targetHandle: IN_HANDLE })}
                  onRemove={(id) => {
                    push(null);
                    setEdges((es) => es.filter((e) => e.id !== id));
                  }}
                />
              }
            />
          ) : selectedEdges.length === 1 && selectedNodes.length === 0 ? (
            <EdgePanel edge={selectedEdges[0]} nodes={nodes} cat={cat} readOnly={readOnly} onChange={(on) => updateEdge(selectedEdges[0].id, on)} />
          ) : (
            <FlowPanel meta={meta} readOnly={readOnly} onChange={(m, key) => (push(key), setMeta(m))} />
          )}
          <ProblemList problems={problems} docProblems={docProblems} ids={validation.data?.ids ?? []} nodes={nodes} onSelect={selectNode} />
        </aside>
      </div>
      {previewOpen && <PreviewPanel document={document} onClose={() => setPreviewOpen(false)} />}
      <Modal title="Someone saved first" open={conflict !== null} onClose={() => setConflict(null)}>
        {conflict && (
          <div className="stack">
            <p role="alert">
              {conflict.by ? (
                <>
                  <strong>{conflict.by}</strong> saved version {version.number} at {fmtTime(conflict.at)} (revision {conflict.revision}), after you opened it.
                </>
              ) : (
                conflict.message
              )}{' '}
              Your changes are not saved.
            </p>
            <p className="hint">{conflict.message}</p>
            <div className="actions">
              <button type="button" onClick={() => setConflict(null)}>
                Keep my changes (unsaved)
              </button>
              <button type="button" className="primary" onClick={onReload}>
                Reload their version
              </button>
            </div>
          </div>
        )}
      </Modal>
    </div>
  );
}

function Palette({ blocks, readOnly, onAdd }: { blocks: BlockInfo[]; readOnly: boolean; onAdd: (type: string) => void }) {
  const [q, setQ] = useState('');
  const [deprecated, setDeprecated] = useState(false);
  const groups = paletteGroups(blocks, q, deprecated);
  return (
    <nav className="palette" aria-label="Blocks">
      <label>
        <span className="visually-hidden">Search blocks</span>
        <input type="search" placeholder="Search blocks…" value={q} onChange={(e) => setQ(e.target.value)} aria-label="Search blocks" />
      </label>
      <label className="inline hint">
        <input type="checkbox" checked={deprecated} onChange={(e) => setDeprecated(e.target.checked)} /> show deprecated
      </label>
      {readOnly && <p className="hint">Read-only: blocks cannot be added.</p>}
      {groups.map((g) => (
        <section key={g.category}>
          <h2 className="palette-cat">{g.category}</h2>
          <ul>
            {g.blocks.map((b) => (
              <li key={b.type}>
                <button
                  type="button"
                  className="palette-item"
                  draggable={!readOnly}
                  disabled={readOnly}
                  data-type={b.type}
                  title={b.description}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(DND, b.type);
                    e.dataTransfer.setData('text/plain', b.type);
                    e.dataTransfer.effectAllowed = 'copy';
                  }}
                  onClick={() => onAdd(b.type)}
                >
                  {/* The visible text is the accessible name (WCAG 2.5.3), with the verb for screen readers. */}
                  <span className="visually-hidden">Add </span>
                  <span className="pi-label">{b.label}</span>
                  <span className="pi-type">
                    {b.type}
                    {b.deprecated ? ' · deprecated' : ''}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {groups.length === 0 && <p className="hint">No block matches “{q}”.</p>}
    </nav>
  );
}

function BlockPanel({
  node,
  spec,
  configs,
  problems,
  readOnly,
  names,
  onChange,
  connections,
}: {
  connections: ReactNode;
  node: FNode;
  spec?: BlockInfo;
  configs: ConfigView[];
  problems: FieldProblem[];
  readOnly: boolean;
  names: string[];
  onChange: (d: Partial<BlockData>, key: string) => void;
}) {
  const d = node.data;
  const dup = names.includes(d.name);
  const blockProblems = problems.filter((p) => !p.field);
  return (
    <div className="panel-section">
      <h2>{spec?.label ?? d.type}</h2>
      <p className="hint">
        <code>{d.type}</code> {spec?.description}
      </p>
      {blockProblems.length > 0 && (
        <div className="field-problems" role="alert">
          {blockProblems.map((p, i) => (
            <div key={i}>{p.message}</div>
          ))}
        </div>
      )}
      <div className={'field' + (dup ? ' has-problem' : '')}>
        <label htmlFor={'name-' + node.id}>
          Block name <span className="req">*</span>
        </label>
        <input id={'name-' + node.id} data-field="name" value={d.name} disabled={readOnly} required aria-invalid={dup || undefined} onChange={(e) => onChange({ name: e.target.value }, node.id + ':name')} />
        {dup && (
          <div className="field-problems" role="alert">
            Another block is already called “{d.name}”.
          </div>
        )}
      </div>
      <label className="inline">
        <input type="checkbox" role="switch" checked={d.disabled} disabled={readOnly} onChange={(e) => onChange({ disabled: e.target.checked }, node.id + ':disabled:' + Date.now())} />
        Disabled (passes its input through)
      </label>
      {spec ? (
        <ConfigForm spec={spec} config={d.config} configs={configs} problems={problems} readOnly={readOnly} onChange={(config, field) => onChange({ config }, node.id + ':' + field)} />
      ) : (
        <p className="error-box">Unknown block type “{d.type}”: it cannot be configured here.</p>
      )}
      {connections}
      {spec?.docs && (
        <details>
          <summary>Documentation</summary>
          <pre className="docs" tabIndex={0}>{spec.docs}</pre>
        </details>
      )}
    </div>
  );
}

/** Connections lists a block's outgoing edges and connects it to another
 * block without dragging (keyboard users), with the same typing rules. */
function Connections({
  node,
  nodes,
  edges,
  cat,
  readOnly,
  onConnect,
  onRemove,
}: {
  node: FNode;
  nodes: FNode[];
  edges: FEdge[];
  cat: Catalogue;
  readOnly: boolean;
  onConnect: (target: string, handle: string) => void;
  onRemove: (edgeId: string) => void;
}) {
  const spec = cat.get(node.data.type);
  const handles = outputHandles(spec);
  const [target, setTarget] = useState('');
  const [handle, setHandle] = useState(handles[0]);
  const out = edges.filter((e) => e.source === node.id);
  const others = nodes.filter((n) => n.id !== node.id);
  const name = (id: string) => nodes.find((n) => n.id === id)?.data.name ?? id.replace(/^missing:/, '');
  return (
    <fieldset className="connections">
      <legend>Connections</legend>
      {out.length === 0 ? (
        <p className="hint">No outgoing connection.</p>
      ) : (
        <ul>
          {out.map((e) => (
            <li key={e.id}>
              {e.data?.on || 'success'} → <strong>{name(e.target)}</strong>{' '}
              {!readOnly && (
                <button type="button" className="link" onClick={() => onRemove(e.id)} aria-label={`Remove the connection to ${name(e.target)}`}>
                  remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && others.length > 0 && (
        <div className="row">
          <label>
            On
            <select value={handle} onChange={(e) => setHandle(e.target.value)}>
              {handles.map((h) => (
                <option key={h}>{h}</option>
              ))}
            </select>
          </label>
          <label>
            Connect to
            <select value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">— block —</option>
              {others.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.data.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={!target} onClick={() => (onConnect(target, handle), setTarget(''))}>
            Connect
          </button>
        </div>
      )}
    </fieldset>
  );
}

function EdgePanel({ edge, nodes, cat, readOnly, onChange }: { edge: FEdge; nodes: FNode[]; cat: Catalogue; readOnly: boolean; onChange: (on: string) => void }) {
  const from = nodes.find((n) => n.id === edge.source);
  const to = nodes.find((n) => n.id === edge.target);
  const on = edge.data?.on ?? '';
  const spec = from ? cat.get(from.data.type) : undefined;
  const named = ['', 'failure', 'filtered', ...(spec?.relations ?? [])];
  const isCond = on.startsWith('${');
  return (
    <div className="panel-section">
      <h2>Connection</h2>
      <p>
        <strong>{from?.data.name}</strong> → <strong>{to?.data.name ?? edge.target.replace(/^missing:/, '')}</strong>
      </p>
      <label>
        Relation
        <select disabled={readOnly} value={isCond ? '$cond' : named.includes(on) ? on : on} onChange={(e) => onChange(e.target.value === '$cond' ? "${status:equals('ok')}" : e.target.value)}>
          <option value="">success</option>
          <option value="failure">failure</option>
          <option value="filtered">filtered</option>
          {(spec?.relations ?? []).map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
          {!named.includes(on) && !isCond && <option value={on}>{on}</option>}
          <option value="$cond">condition (NiFi EL)</option>
        </select>
      </label>
      {isCond && (
        <label>
          Condition
          <textarea className="code" rows={2} disabled={readOnly} value={on} onChange={(e) => onChange(e.target.value)} spellCheck={false} />
        </label>
      )}
      <p className="hint">Press Delete to remove the connection.</p>
    </div>
  );
}

function FlowPanel({ meta, readOnly, onChange }: { meta: Meta; readOnly: boolean; onChange: (m: Meta, key: string) => void }) {
  const t = meta.trigger ?? {};
  const setT = (k: 'cron' | 'preset' | 'timeZone', v: string) => onChange({ ...meta, trigger: { ...t, [k]: v || undefined } }, 'meta:trigger.' + k);
  return (
    <div className="panel-section">
      <h2>Dataflow</h2>
      <p className="hint">Select a block to configure it. Drag blocks from the palette, and connect a block’s right-hand port to another’s left-hand port.</p>
      <label>
        Document name <span className="req">*</span>
        <input value={meta.name} disabled={readOnly} required onChange={(e) => onChange({ ...meta, name: e.target.value }, 'meta:name')} />
      </label>
      <label>
        Description
        <input value={meta.description ?? ''} disabled={readOnly} onChange={(e) => onChange({ ...meta, description: e.target.value || undefined }, 'meta:description')} />
      </label>
      <label>
        Tags <span className="hint">(comma-separated)</span>
        <input
          value={(meta.tags ?? []).join(', ')}
          disabled={readOnly}
          onChange={(e) =>
            onChange(
              {
                ...meta,
                tags: e.target.value
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean),
              },
              'meta:tags',
            )
          }
        />
      </label>
      <fieldset>
        <legend>Schedule</legend>
        <label>
          Cron (Quartz, 6–7 fields)
          <input className="code" placeholder="0 0/5 * * * ?" value={t.cron ?? ''} disabled={readOnly} onChange={(e) => setT('cron', e.target.value)} />
        </label>
        <label>
          or preset
          <input placeholder="every 5 minutes" value={t.preset ?? ''} disabled={readOnly} onChange={(e) => setT('preset', e.target.value)} />
        </label>
        <label>
          Time zone
          <input placeholder="organisation's zone" value={t.timeZone ?? ''} disabled={readOnly} onChange={(e) => setT('timeZone', e.target.value)} />
        </label>
      </fieldset>
    </div>
  );
}

function ProblemList({ problems, docProblems, ids, nodes, onSelect }: { problems: Problem[]; docProblems: Problem[]; ids: string[]; nodes: FNode[]; onSelect: (id: string) => void }) {
  if (!problems.length) return null;
  return (
    <section className="panel-section problems-panel" aria-label="Problems">
      <h2>Problems ({problems.length})</h2>
      <ul className="problems">
        {problems.map((p, i) => {
          const t = problemTarget(p.path);
          const id = t ? ids[t.block] : undefined;
          const n = id ? nodes.find((x) => x.id === id) : undefined;
          return (
            <li key={i} className={p.severity === 'warning' ? 'warning' : 'error'}>
              {n ? (
                <button type="button" className="link" onClick={() => onSelect(n.id)}>
                  {n.data.name}
                  {t?.field ? '.' + t.field : ''}
                </button>
              ) : (
                <code>{p.path || 'document'}</code>
              )}{' '}
              {p.message}
              {docProblems.includes(p) ? '' : ''}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
