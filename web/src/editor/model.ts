// Graph ↔ document conversion and edge typing. Pure: no React, no DOM.
//
// The document is the dataflow's JSON form (GET …/export?format=json; see the
// Go package dataflow): blocks with type, name, config, relations (edges to
// other blocks by name, "on" a relation) and an optional canvas position.
// The graph is what the canvas shows: one node per block, one edge per
// relation, in document order so that a round trip changes nothing.
import type { BlockInfo, Catalogue, Kind } from './catalogue';

export type Relation = string | { to: string; on?: string };

export interface DocBlock {
  type: string;
  name: string;
  disabled?: boolean;
  config?: Record<string, unknown>;
  relations?: Relation[];
  position?: { x: number; y: number };
}

export interface Trigger {
  cron?: string;
  preset?: string;
  timeZone?: string;
}

export interface Doc {
  name: string;
  description?: string;
  tags?: string[];
  trigger?: Trigger;
  blocks: DocBlock[];
}

export interface Meta {
  name: string;
  description?: string;
  tags?: string[];
  trigger?: Trigger;
}

export interface BlockData extends Record<string, unknown> {
  type: string;
  name: string;
  config: Record<string, unknown>;
  /** hadConfig: the document had a config object (possibly empty). */
  hadConfig: boolean;
  disabled: boolean;
  /** positioned: the position is the user's (document or canvas), not a default. */
  positioned: boolean;
}

export interface GNode {
  id: string;
  type: 'block';
  position: { x: number; y: number };
  data: BlockData;
}

export interface EdgeData extends Record<string, unknown> {
  /** on is the relation as written ("" = success by default). */
  on: string;
}

export interface GEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle: string;
  targetHandle: string;
  label?: string;
  data: EdgeData;
}

export interface Graph {
  meta: Meta;
  nodes: GNode[];
  edges: GEdge[];
}

export const SUCCESS = 'success';
export const FAILURE = 'failure';
export const FILTERED = 'filtered';
export const IN_HANDLE = 'in';

/** handleOf is the output handle an edge leaves from: NiFi EL conditions leave the success port. */
export function handleOf(on: string): string {
  if (!on || on.startsWith('${')) return SUCCESS;
  return on;
}

function relTo(r: Relation): { to: string; on: string } {
  return typeof r === 'string' ? { to: r, on: '' } : { to: r.to, on: r.on ?? '' };
}

let seq = 0;
/** newId returns an id unique within this page. */
export function newId(prefix = 'n'): string {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${seq}`;
}

export function edgeId(source: string, handle: string, target: string, on: string): string {
  return `e:${source}:${handle}:${target}:${on}`;
}

export function docToGraph(doc: Doc): Graph {
  const ids = new Map<string, string>();
  const nodes: GNode[] = doc.blocks.map((b, i) => {
    const id = `b${i}`;
    if (!ids.has(b.name)) ids.set(b.name, id);
    return {
      id,
      type: 'block',
      position: b.position ? { x: b.position.x, y: b.position.y } : { x: 0, y: i * 120 },
      data: {
        type: b.type,
        name: b.name,
        config: b.config ? structuredClone(b.config) : {},
        hadConfig: b.config !== undefined,
        disabled: !!b.disabled,
        positioned: !!b.position,
      },
    };
  });
  const edges: GEdge[] = [];
  doc.blocks.forEach((b, i) => {
    for (const r of b.relations ?? []) {
      const { to, on } = relTo(r);
      // A relation to an unknown block keeps a dangling target id, so that it
      // survives the round trip and validation reports it.
      const target = ids.get(to) ?? `missing:${to}`;
      const handle = handleOf(on);
      edges.push({
        id: edgeId(nodes[i].id, handle, target, on),
        source: nodes[i].id,
        target,
        sourceHandle: handle,
        targetHandle: IN_HANDLE,
        label: edgeLabel(on),
        data: { on },
      });
    }
  });
  const meta: Meta = { name: doc.name };
  if (doc.description !== undefined) meta.description = doc.description;
  if (doc.tags !== undefined) meta.tags = [...doc.tags];
  if (doc.trigger !== undefined) meta.trigger = { ...doc.trigger };
  return { meta, nodes, edges };
}

export function edgeLabel(on: string): string | undefined {
  return on && on !== SUCCESS ? on : undefined;
}

export function graphToDoc(g: Graph): Doc {
  const names = new Map(g.nodes.map((n) => [n.id, n.data.name]));
  const doc: Doc = { name: g.meta.name } as Doc;
  if (g.meta.description !== undefined && g.meta.description !== '') doc.description = g.meta.description;
  if (g.meta.tags !== undefined && g.meta.tags.length > 0) doc.tags = [...g.meta.tags];
  if (g.meta.trigger !== undefined && (g.meta.trigger.cron || g.meta.trigger.preset || g.meta.trigger.timeZone)) doc.trigger = { ...g.meta.trigger };
  doc.blocks = g.nodes.map((n) => {
    const b: DocBlock = { type: n.data.type, name: n.data.name };
    if (n.data.disabled) b.disabled = true;
    const cfg = cleanConfig(n.data.config);
    if (Object.keys(cfg).length > 0) b.config = cfg;
    const rels: Relation[] = [];
    for (const e of g.edges) {
      if (e.source !== n.id) continue;
      const to = names.get(e.target) ?? (e.target.startsWith('missing:') ? e.target.slice(8) : e.target);
      rels.push(e.data.on ? { to, on: e.data.on } : { to });
    }
    if (rels.length > 0) b.relations = rels;
    if (n.data.positioned) b.position = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    return b;
  });
  return doc;
}

/** cleanConfig drops keys the form cleared (undefined), keeping everything else as is. */
function cleanConfig(c: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (v !== undefined) out[k] = v;
  return out;
}

/** normalizeDoc writes a document the way graphToDoc does, for comparisons:
 * short relations become {to}, empty optional members are dropped. */
export function normalizeDoc(d: Doc): Doc {
  const out: Doc = { name: d.name } as Doc;
  if (d.description) out.description = d.description;
  if (d.tags && d.tags.length) out.tags = [...d.tags];
  if (d.trigger && (d.trigger.cron || d.trigger.preset || d.trigger.timeZone)) out.trigger = { ...d.trigger };
  out.blocks = d.blocks.map((b) => {
    const nb: DocBlock = { type: b.type, name: b.name };
    if (b.disabled) nb.disabled = true;
    if (b.config && Object.keys(b.config).length) nb.config = b.config;
    if (b.relations && b.relations.length) nb.relations = b.relations.map((r) => (typeof r === 'string' ? { to: r } : r.on ? { to: r.to, on: r.on } : { to: r.to }));
    if (b.position) nb.position = { x: Math.round(b.position.x), y: Math.round(b.position.y) };
    return nb;
  });
  return out;
}

export function kindWord(k: Kind): string {
  switch (k) {
    case 'file':
      return 'files';
    case 'records':
      return 'records';
    case 'none':
      return 'nothing';
    case 'any':
      return 'files or records';
  }
  return k;
}

export function accepts(input: Kind, from: Kind): boolean {
  if (input === 'any' || from === 'any') return input !== 'none' && from !== 'none';
  return input === from;
}

/** effectiveOutput is the kind a block sends on relation on (as dataflow/validate.go):
 * failure and filtered carry the unit received; a disabled block passes its input through. */
export function effectiveOutput(spec: BlockInfo, disabled: boolean, on: string): Kind {
  if (spec.class === 'source') return spec.output;
  if (disabled || on === FAILURE || on === FILTERED) return spec.input;
  return spec.output;
}

/** outputHandles lists the relations a block offers on the canvas. */
export function outputHandles(spec: BlockInfo | undefined, used: string[] = []): string[] {
  const hs = [SUCCESS];
  if (spec && spec.class !== 'source') {
    hs.push(FAILURE);
    if (spec.type.startsWith('filter') || spec.relations?.includes(FILTERED)) hs.push(FILTERED);
  }
  for (const r of spec?.relations ?? []) if (!hs.includes(r)) hs.push(r);
  for (const u of used) if (!hs.includes(u)) hs.push(u);
  return hs;
}

export interface ConnectionCheck {
  source: string;
  sourceHandle: string | null;
  target: string;
}

/** connectionProblem returns why an edge may not be drawn, or null when it may. */
export function connectionProblem(nodes: GNode[], edges: GEdge[], c: ConnectionCheck, cat: Catalogue): string | null {
  const from = nodes.find((n) => n.id === c.source);
  const to = nodes.find((n) => n.id === c.target);
  if (!from || !to) return 'connect two blocks';
  if (from.id === to.id) return `block "${from.data.name}" cannot connect to itself`;
  const on = c.sourceHandle ?? SUCCESS;
  const fs = cat.get(from.data.type);
  const ts = cat.get(to.data.type);
  if (!fs || !ts) return null;
  if (ts.class === 'source') return `${ts.label} is a source block: it starts the flow and cannot receive units from ${fs.label}`;
  const out = effectiveOutput(fs, from.data.disabled, on);
  if (!accepts(ts.input, out)) {
    return `${ts.label} takes ${kindWord(ts.input)} but ${fs.label} emits ${kindWord(out)}${on !== SUCCESS ? ` on ${on}` : ''}: ${converterHint(out, ts.input, cat)}`;
  }
  if (edges.some((e) => e.source === c.source && e.target === c.target && e.sourceHandle === on)) {
    return `"${from.data.name}" is already connected to "${to.data.name}" on ${on}`;
  }
  if (reaches(edges, to.id, from.id)) return `connecting "${from.data.name}" to "${to.data.name}" would make a cycle`;
  return null;
}

function reaches(edges: GEdge[], start: string, goal: string): boolean {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const x = stack.pop()!;
    if (x === goal) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    for (const e of edges) if (e.source === x) stack.push(e.target);
  }
  return false;
}

function converterHint(from: Kind, to: Kind, cat: Catalogue): string {
  const found: string[] = [];
  for (const [t, s] of cat) {
    if (t !== s.type) continue;
    if (s.class === 'executor' && !s.deprecated && s.input === from && s.output !== from && accepts(to, s.output)) found.push(s.type);
  }
  for (const pref of ['convert_csv_to_json', 'json_to_csv_converter']) if (found.includes(pref)) return `add a ${pref} block between them`;
  if (found.length) return `add a ${found[0]} block between them`;
  return `add a block converting ${kindWord(from)} to ${kindWord(to)} between them`;
}

/** uniqueName returns base, or base_2, base_3 … not used by any node. */
export function uniqueName(base: string, nodes: GNode[]): string {
  const used = new Set(nodes.map((n) => n.data.name));
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** problemTarget maps a validation path to a block index and config field. */
export function problemTarget(path: string): { block: number; field?: string; rest: string } | null {
  const m = /^blocks\[(\d+)\](?:\.(.*))?$/.exec(path);
  if (!m) return null;
  const rest = m[2] ?? '';
  const f = /^config\.([^.[\]]+)/.exec(rest);
  return { block: Number(m[1]), field: f ? f[1] : undefined, rest };
}
