import { describe, expect, it } from 'vitest';
import { fmtCount, fmtPct, listQuery } from './Dataflows';
import { syncMessage } from '../ui/sync';

describe('dataflow list', () => {
  it('asks the server to sort before it paginates', () => {
    expect(listQuery({ limit: 20, sort: { key: 'name', desc: false } })).toBe('sort=name&limit=20');
    expect(listQuery({ name: 'ord', tag: 'e2e', status: 'Paused', deactivated: 'false', limit: 50, cursor: '50', sort: { key: 'lastRun', desc: true } })).toBe(
      'name=ord&tag=e2e&status=Paused&deactivated=false&sort=-lastRun&limit=50&cursor=50',
    );
  });

  it('formats the figures columns', () => {
    expect(fmtPct(null)).toBe('—');
    expect(fmtPct(undefined)).toBe('—');
    expect(fmtPct(25)).toBe('25.0 %');
    expect(fmtPct(33.333333)).toBe('33.3 %');
    expect(fmtPct(99.96)).toBe('100.0 %');
    expect(fmtCount(undefined)).toBe('—');
    expect(fmtCount(0)).toBe('0');
  });

  it('says what a Sync did', () => {
    expect(syncMessage({ flows: [{ id: 'f', name: 'Orders', configRevision: 3 }] }, 'Orders')).toMatch(/^Synced “Orders”: configuration revision 3/);
    expect(syncMessage({ flows: [] }, 'Orders')).toBe('Nothing to sync for “Orders”.');
  });
});
