import { describe, expect, it } from 'vitest';
import type { Membership } from '../api/types';
import { checkDescription, copyLabel, pasteBody, pasteTargets, type Copy } from './clipboard';

const m = (orgId: string, role: string, orgName = orgId): Membership => ({ orgId, orgName, role, userId: 'u', createdAt: '' });
const c: Copy = {
  id: 'cpy_1',
  userId: 'u',
  sourceOrgId: 'org_a',
  sourceOrgName: 'default',
  sourceFlowId: 'flw_1',
  sourceFlowName: 'AddCutomerV2',
  sourceVersion: 4,
  description: 'Move to ANB organization',
  createdAt: '2026-12-07T05:00:00Z',
};

describe('copy/paste', () => {
  it('pastes only into organisations where the user is an editor, the current one first', () => {
    const ts = pasteTargets([m('a', 'viewer'), m('b', 'editor'), m('c', 'admin')], 'c');
    expect(ts.map((t) => t.orgId)).toEqual(['c', 'b']);
    expect(pasteTargets([m('a', 'viewer')], 'a')).toEqual([]);
  });
  it('requires a description', () => {
    expect(checkDescription('  ')).toMatch(/required/);
    expect(checkDescription('Move to ANB organization')).toBe('');
    expect(checkDescription('x'.repeat(2001))).toMatch(/longer/);
  });
  it('labels a copy by source and description', () => {
    expect(copyLabel(c)).toBe('AddCutomerV2 v4 from default — Move to ANB organization');
  });
  it('sends a name only when it differs from the source', () => {
    expect(pasteBody(c, '')).toEqual({});
    expect(pasteBody(c, ' AddCutomerV2 ')).toEqual({});
    expect(pasteBody(c, 'AddCustomerV2 ANB')).toEqual({ name: 'AddCustomerV2 ANB' });
  });
});
