// Auto-layout with dagre: left to right, in the order data flows.
import { Graph, layout } from '@dagrejs/dagre';
import type { GEdge, GNode } from './model';

export const NODE_W = 230;
export const NODE_H = 96;

export function autoLayout(nodes: GNode[], edges: GEdge[]): GNode[] {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 80, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of edges) if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    return { ...n, position: { x: Math.round(p.x - NODE_W / 2), y: Math.round(p.y - NODE_H / 2) }, data: { ...n.data, positioned: true } };
  });
}
