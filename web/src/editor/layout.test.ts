import { describe, expect, it } from 'vitest';
import { autoLayout } from './layout';
import { docToGraph } from './model';

describe('auto-layout', () => {
  it('places blocks left to right along the edges without overlap', () => {
    const g = docToGraph({
      name: 'x',
      blocks: [
        { type: 'file_read', name: 'a', relations: ['b'] },
        { type: 'convert_csv_to_json', name: 'b', relations: ['c', { to: 'd', on: 'failure' }] },
        { type: 'jslt_transform', name: 'c' },
        { type: 'file_write', name: 'd' },
      ],
    });
    const laid = autoLayout(g.nodes, g.edges);
    const x = Object.fromEntries(laid.map((n) => [n.data.name, n.position.x]));
    expect(x.a).toBeLessThan(x.b);
    expect(x.b).toBeLessThan(x.c);
    const c = laid[2].position;
    const d = laid[3].position;
    expect(c.x === d.x && c.y === d.y).toBe(false);
    expect(laid.every((n) => n.data.positioned)).toBe(true);
  });
});
