import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { byType, paletteGroups, type BlockInfo } from './catalogue';
import { connectionProblem, docToGraph, graphToDoc, normalizeDoc, outputHandles, problemTarget, uniqueName, type Doc, type GEdge, type GNode } from './model';
import fixture from './testdata/blocks.json';

const examples = new URL('../../../examples/', import.meta.url).pathname;
const files = readdirSync(examples).filter((f) => /\.(ya?ml|json)$/.test(f));
const blocks = fixture.blocks as unknown as BlockInfo[];
const cat = byType(blocks);

describe('graph ↔ document round trip', () => {
  it('finds the examples', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });
  for (const f of files) {
    it(`round-trips examples/${f}`, () => {
      const doc = parse(readFileSync(join(examples, f), 'utf8')) as Doc;
      const g = docToGraph(doc);
      expect(g.nodes).toHaveLength(doc.blocks.length);
      const back = graphToDoc(g);
      expect(back).toEqual(normalizeDoc(doc));
      // And the graph of the result is the same graph.
      expect(docToGraph(back)).toEqual(g);
    });
  }

  it('keeps relation conditions, positions, disabled blocks and dangling targets', () => {
    const doc: Doc = {
      name: 'x',
      description: 'd',
      tags: ['a'],
      trigger: { preset: 'every 5 minutes', timeZone: 'Europe/Paris' },
      blocks: [
        { type: 'file_read', name: 'r', config: { fileRegex: '.*' }, relations: ['c', { to: 'gone', on: 'failure' }], position: { x: 10, y: 20 } },
        { type: 'convert_csv_to_json', name: 'c', disabled: true, relations: [{ to: 'j', on: "${status:equals('paid')}" }, { to: 'j', on: 'failure' }] },
        { type: 'jslt_transform', name: 'j', config: { transformation: '.' } },
      ],
    };
    const g = docToGraph(doc);
    expect(g.edges.map((e) => [e.source, e.sourceHandle, e.target])).toEqual([
      ['b0', 'success', 'b1'],
      ['b0', 'failure', 'missing:gone'],
      ['b1', 'success', 'b2'],
      ['b1', 'failure', 'b2'],
    ]);
    expect(graphToDoc(g)).toEqual(normalizeDoc(doc));
  });

  it('writes a moved block’s position and drops a cleared config', () => {
    const g = docToGraph({ name: 'x', blocks: [{ type: 'file_read', name: 'r', config: { a: 1 } }] });
    g.nodes[0].position = { x: 12.4, y: 7.6 };
    g.nodes[0].data.positioned = true;
    g.nodes[0].data.config = { a: undefined };
    expect(graphToDoc(g).blocks[0]).toEqual({ type: 'file_read', name: 'r', position: { x: 12, y: 8 } });
  });
});

function node(id: string, type: string, disabled = false): GNode {
  return { id, type: 'block', position: { x: 0, y: 0 }, data: { type, name: id, config: {}, hadConfig: false, disabled, positioned: false } };
}

describe('edge typing', () => {
  const nodes = [node('read', 'file_read'), node('csv', 'convert_csv_to_json'), node('jslt', 'jslt_transform'), node('http', 'http_write'), node('out', 'file_write'), node('sftp', 'sftp_read'), node('off', 'convert_csv_to_json', true)];
  const check = (source: string, target: string, handle = 'success', edges: GEdge[] = []) => connectionProblem(nodes, edges, { source, sourceHandle: handle, target }, cat);

  it('accepts matching kinds', () => {
    expect(check('read', 'csv')).toBeNull();
    expect(check('csv', 'jslt')).toBeNull();
    expect(check('jslt', 'http')).toBeNull();
    expect(check('http', 'out')).toBeNull(); // file_write takes any
  });
  it('refuses a file output into a records input, naming the converter', () => {
    expect(check('read', 'jslt')).toBe('JSLT takes records but Local File (Read) emits files: add a convert_csv_to_json block between them');
  });
  it('refuses records into a files input', () => {
    expect(check('jslt', 'csv')).toMatch(/^Transform \(CSV to JSON\) takes files but JSLT emits records/);
  });
  it('types failure edges by the input the block received', () => {
    // A failed CSV file stays a file.
    expect(check('csv', 'jslt', 'failure')).toMatch(/emits files on failure/);
    expect(check('csv', 'out', 'failure')).toBeNull();
  });
  it('a disabled block passes its input through', () => {
    expect(check('off', 'jslt')).toMatch(/takes records but .* emits files/);
  });
  it('refuses edges into sources, to itself, duplicates and cycles', () => {
    expect(check('read', 'sftp')).toMatch(/is a source block/);
    expect(check('csv', 'csv')).toMatch(/cannot connect to itself/);
    const e: GEdge = { id: 'e', source: 'read', target: 'csv', sourceHandle: 'success', targetHandle: 'in', data: { on: '' } };
    expect(check('read', 'csv', 'success', [e])).toMatch(/already connected/);
    const e2: GEdge = { id: 'e2', source: 'jslt', target: 'http', sourceHandle: 'success', targetHandle: 'in', data: { on: '' } };
    expect(check('http', 'jslt', 'success', [e, e2])).toMatch(/would make a cycle/);
  });
  it('offers success, failure and filtered handles as the block has them', () => {
    expect(outputHandles(cat.get('file_read'))).toEqual(['success']);
    expect(outputHandles(cat.get('jslt_transform'))).toEqual(['success', 'failure']);
    expect(outputHandles(cat.get('filter_on_condition'))).toContain('filtered');
    expect(outputHandles(cat.get('jslt_transform'), ['custom'])).toEqual(['success', 'failure', 'custom']);
  });
});

describe('helpers', () => {
  it('names new blocks uniquely', () => {
    expect(uniqueName('file_read', [node('file_read', 'file_read'), node('file_read_2', 'file_read')])).toBe('file_read_3');
    expect(uniqueName('jslt', [])).toBe('jslt');
  });
  it('maps problem paths to blocks and fields', () => {
    expect(problemTarget('blocks[2].config.apiEndPoint')).toEqual({ block: 2, field: 'apiEndPoint', rest: 'config.apiEndPoint' });
    expect(problemTarget('blocks[0].relations[1].to')).toEqual({ block: 0, field: undefined, rest: 'relations[1].to' });
    expect(problemTarget('blocks[3]')).toEqual({ block: 3, field: undefined, rest: '' });
    expect(problemTarget('trigger.cron')).toBeNull();
  });
  it('groups the palette by category and searches it', () => {
    const groups = paletteGroups(blocks, '');
    expect(groups.map((g) => g.category)).toEqual([...new Set(blocks.filter((b) => !b.deprecated).map((b) => b.category))]);
    const found = paletteGroups(blocks, 'jslt');
    expect(found.flatMap((g) => g.blocks.map((b) => b.type))).toEqual(['jslt_transform']);
    expect(paletteGroups(blocks, 'sftp read').flatMap((g) => g.blocks.map((b) => b.type))[0]).toBe('sftp_read');
    expect(paletteGroups(blocks, 'file_read').flatMap((g) => g.blocks.map((b) => b.type))).toContain('file_read');
    expect(paletteGroups(blocks, 'no such block at all')).toEqual([]);
    expect(paletteGroups(blocks, 'csv').flatMap((g) => g.blocks.map((b) => b.type))).toContain('convert_csv_to_json');
  });
});
