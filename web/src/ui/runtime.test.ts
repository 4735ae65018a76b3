import { describe, expect, it } from 'vitest';
import type { FlowRuntime } from '../api/types';
import { confirmation, confirmTimeoutMs, pendingLabel, runtimeTarget, type PendingOp } from './runtime';

const st = (o: Partial<FlowRuntime>): FlowRuntime => ({ flowId: 'f', status: 'Active', liveVersion: 1, inFlight: 0, ...o });
const op = (o: PendingOp['op'], extra: Partial<PendingOp> = {}): PendingOp => ({ op: o, want: runtimeTarget[o], since: 1000, ...extra });

describe('runtime confirmation', () => {
  it('waits until the runtime reports the wanted status', () => {
    expect(confirmation(op('pause'), st({ status: 'Active' }), 2000)).toBeNull();
    expect(confirmation(op('pause'), st({ status: 'Paused' }), 2000)).toBe('confirmed');
    expect(confirmation(op('stop'), st({ status: 'Stopped' }), 2000)).toBe('confirmed');
  });

  it('a start is confirmed once the Live version is deployed, not while deploying', () => {
    expect(confirmation(op('start'), st({ status: 'Active', deployment: 'Deploying' }), 2000)).toBeNull();
    expect(confirmation(op('start'), st({ status: 'Active', deployment: 'Deployed' }), 2000)).toBe('confirmed');
    // A failed deployment is the runtime's answer too (the page shows why).
    expect(confirmation(op('start'), st({ status: 'Active', deployment: 'Failed' }), 2000)).toBe('confirmed');
  });

  it('run now is confirmed by a poll after the request', () => {
    const p = op('run-now', { basePoll: '2026-01-01T10:00:00Z' });
    expect(confirmation(p, st({ lastPoll: '2026-01-01T10:00:00Z' }), 2000)).toBeNull();
    expect(confirmation(p, st({ lastPoll: '2026-01-01T10:00:05Z' }), 2000)).toBe('confirmed');
    // Never polled before: any poll confirms.
    expect(confirmation(op('run-now', { basePoll: '' }), st({}), 2000)).toBeNull();
    expect(confirmation(op('run-now', { basePoll: '' }), st({ lastPoll: '2026-01-01T10:00:05Z' }), 2000)).toBe('confirmed');
  });

  it('gives up after the timeout', () => {
    expect(confirmation(op('pause'), st({ status: 'Active' }), 1000 + confirmTimeoutMs)).toBeNull();
    expect(confirmation(op('pause'), st({ status: 'Active' }), 1001 + confirmTimeoutMs)).toBe('timeout');
  });

  it('says what it waits for', () => {
    expect(pendingLabel(op('pause'), false)).toBe('Waiting for the runtime to confirm Paused…');
    expect(pendingLabel(op('pause'), true)).toBe('Pausing…');
    expect(pendingLabel(op('run-now'), false)).toBe('Asking the source to poll…');
    expect(pendingLabel(op('run-now'), true)).toBe('Polling…');
  });
});
