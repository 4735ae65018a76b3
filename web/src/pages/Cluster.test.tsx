// @vitest-environment jsdom
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterStatus, Run } from '../api/types';
import { Router } from '../router';
import { ClusterPanel, queueLabel } from './Cluster';
import { RunsTable } from './Runs';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

const three: ClusterStatus = {
  mode: 'cluster',
  node: 'node-2',
  leader: 'node-1',
  leaseSeconds: 10,
  nodes: [
    { name: 'node-1', addr: '127.0.0.1:8081', startedAt: '2026-12-07T09:00:00Z', seenAt: '2026-12-07T09:10:00Z', alive: true, leader: true, runningJobs: 2 },
    { name: 'node-2', addr: '127.0.0.1:8082', startedAt: '2026-12-07T09:00:00Z', seenAt: '2026-12-07T09:10:00Z', alive: true, leader: false, runningJobs: 1 },
    { name: 'node-3', addr: '127.0.0.1:8083', startedAt: '2026-12-07T09:00:00Z', seenAt: '2026-12-07T09:02:00Z', alive: false, leader: false, runningJobs: 0 },
  ],
  queues: [
    { name: 'files', available: 27, running: 3, scheduled: 1 },
    { name: 'maintenance', available: 0, running: 0, scheduled: 0 },
    { name: 'polls', available: 0, running: 0, scheduled: 0 },
  ],
};

/** rows lists a table's body rows as arrays of cell texts. */
function rows(label: string): string[][] {
  const t = host.querySelector(`table[aria-label="${label}"]`);
  expect(t, `table ${label}`).not.toBeNull();
  return [...t!.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''));
}

describe('cluster panel', () => {
  it('shows the nodes, the leader, the dead node and the queue depths', () => {
    act(() => root.render(<ClusterPanel status={three} />));
    const summary = host.querySelector('dl[aria-label="Cluster summary"]')!.textContent ?? '';
    expect(summary).toContain('Cluster on PostgreSQL');
    expect(summary).toContain('Leadernode-1');
    expect(summary).toContain('2 of 3');
    expect(summary).toContain('10 s');
    const nodes = rows('Nodes');
    expect(nodes.map((r) => [r[0], r[1], r[2], r[3]])).toEqual([
      ['node-1 leader', '127.0.0.1:8081', 'Alive', '2'],
      ['node-2', '127.0.0.1:8082', 'Alive', '1'],
      ['node-3', '127.0.0.1:8083', 'Not answering', '0'],
    ]);
    expect(rows('Queues')).toEqual([
      ['Files', '27', '3', '1'],
      ['Maintenance', '0', '0', '0'],
      ['Polls', '0', '0', '0'],
    ]);
  });

  it('shows one server as itself, without queues', () => {
    const local: ClusterStatus = { mode: 'local', node: 'host', leader: 'host', nodes: [{ name: 'host', startedAt: '0001-01-01T00:00:00Z', seenAt: '0001-01-01T00:00:00Z', alive: true, leader: true, runningJobs: 0 }], queues: [] };
    act(() => root.render(<ClusterPanel status={local} />));
    expect(host.textContent).toContain('One server (no cluster)');
    expect(rows('Nodes')).toEqual([['host leader', '—', 'Alive', '0', '—', '—']]);
    expect(host.querySelector('table[aria-label="Queues"]')).toBeNull();
    expect(host.textContent).toContain('no job queues');
  });

  it('names queues', () => {
    expect(queueLabel('files')).toBe('Files');
    expect(queueLabel('custom')).toBe('custom');
  });
});

function run(id: string, node?: string): Run {
  return {
    id, orgId: 'o', flowId: 'f', flowName: 'Orders', versionId: 'v', version: 1, source: 'read', fileName: id + '.csv', filePath: '/in/' + id + '.csv',
    fileSize: 1, status: 'Success', started: '2026-12-07T09:00:00Z', recordsIn: 1, delivered: 1, filtered: 0, failed: 0, retryExhausted: 0,
    avgRecordMicros: 0, interruptions: 0, node,
  };
}

describe('runs table', () => {
  const headers = () => [...host.querySelectorAll('table[aria-label="Runs"] th')].map((th) => th.textContent);

  it('names the node that ran each file in a cluster', () => {
    act(() => root.render(<Router><RunsTable runs={[run('a', 'node-1'), run('b', 'node-3')]} /></Router>));
    expect(headers()).toContain('Node');
    expect(rows('Runs').map((r) => r[5])).toEqual(['node-1', 'node-3']);
  });

  it('has no node column on one server', () => {
    act(() => root.render(<Router><RunsTable runs={[run('a')]} /></Router>));
    expect(headers()).not.toContain('Node');
  });
});
