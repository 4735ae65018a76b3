import { describe, expect, it } from 'vitest';
import { outUnits } from './PreviewPanel';

describe('preview result', () => {
  it('flattens outputs given by relation, naming the relation', () => {
    const out = { success: [{ kind: 'records' as const, records: [{ a: 1 }] }], failure: [{ kind: 'file' as const, name: 'x.csv', text: 'a\n1' }] };
    expect(outUnits(out)).toEqual([
      { kind: 'records', records: [{ a: 1 }], relation: 'success' },
      { kind: 'file', name: 'x.csv', text: 'a\n1', relation: 'failure' },
    ]);
  });
  it('keeps a plain list of outputs and tolerates none', () => {
    expect(outUnits([{ kind: 'records', records: [] }])).toEqual([{ kind: 'records', records: [] }]);
    expect(outUnits(undefined)).toEqual([]);
  });
});
