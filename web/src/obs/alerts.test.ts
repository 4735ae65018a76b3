import { describe, expect, it } from 'vitest';
import type { MetricInfo, Preset, Rule } from '../api/obs';
import { condition, createBody, emptyForm, endpointChoices, formError, fromPreset, fromRule, scopeText, splitList, updateBody } from './alerts';
import { emptyReport, reportBody, reportError, scheduleText } from './reports';
import { columns, isolated, lookup, percentTop, statusClass, stepLabel } from './series';
import { issueQuery } from './issues';

const metrics: MetricInfo[] = [
  { name: 'failure_5xx_pct', label: '5XX / failure percentage', unit: '%', description: '', comparator: '>=', perEndpoint: false },
  { name: 'latency_p95', label: 'P95 latency', unit: 's', description: '', comparator: '>=', perEndpoint: true },
  { name: 'no_file_picked', label: 'No file picked', unit: 'files', description: '', comparator: '<', perEndpoint: false },
];

const latency: Preset = {
  key: 'latency',
  name: 'Latency Alert',
  default: false,
  metric: 'latency_p95',
  category: 'File and Stream',
  description: '',
  definition: { comparator: '>=', warning: 2, critical: 5, window: '10m0s', title: '', description: '', channels: [], renotifyEvery: '0s', autoCloseAfter: '0s' },
};

const rule: Rule = {
  id: 'alr_1',
  name: 'Latency Alert',
  preset: 'latency',
  default: false,
  platform: 'dataflow',
  metric: 'latency_p95',
  flowId: 'flw_1',
  endpoint: '',
  scope: 'dataflow',
  enabled: true,
  comparator: '>=',
  warning: 1.5,
  critical: 3,
  window: '10m0s',
  title: 'custom {{rule}}',
  description: '',
  channels: ['chn_1'],
  renotifyEvery: '1h0m0s',
  autoCloseAfter: '10m0s',
  defaultTitle: '[{{priority}}] {{rule}}',
  defaultDescription: '…',
  revision: 4,
  createdBy: 'editor',
  updatedBy: 'editor',
  createdAt: '',
  updatedAt: '',
};

describe('alert rules', () => {
  it('says a condition in words with the unit and both thresholds', () => {
    expect(condition(rule, metrics)).toBe('P95 latency ≥ 1.5 s (Warning) / 3 s (Critical) over 10 min');
    expect(condition({ metric: 'no_file_picked', comparator: '<', warning: 1, critical: null, window: '24h0m0s' }, metrics)).toBe('No file picked < 1 files (Warning) over 1 d');
    expect(condition({ metric: 'failure_5xx_pct', comparator: '>=', warning: null, critical: 1, window: '10m0s' }, metrics)).toBe('5XX / failure percentage ≥ 1 % (Critical) over 10 min');
  });
  it('creates from a preset with its thresholds, scope and channels', () => {
    const f = { ...fromPreset(latency, emptyForm(metrics)), flowId: 'flw_1', channels: ['chn_1'], critical: '3' };
    expect(f.name).toBe('Latency Alert');
    expect(f.warning).toBe('2');
    expect(formError(f)).toBeNull();
    expect(createBody(f)).toEqual({
      name: 'Latency Alert',
      preset: 'latency',
      platform: 'dataflow',
      metric: 'latency_p95',
      flowId: 'flw_1',
      enabled: true,
      comparator: '>=',
      warning: 2,
      critical: 3,
      window: '10m',
      minVolume: undefined,
      title: '',
      description: '',
      channels: ['chn_1'],
      renotifyEvery: '1h',
      autoCloseAfter: '10m',
    });
  });
  it('a custom rule over all dataflows has no flowId and an empty threshold is null', () => {
    const f = { ...emptyForm(metrics), name: ' 5xx ', metric: 'failure_5xx_pct', critical: '', warning: '0.5', windowMin: '30' };
    const b = createBody(f);
    expect(b.name).toBe('5xx');
    expect('flowId' in b).toBe(false);
    expect('preset' in b).toBe(false);
    expect(b.warning).toBe(0.5);
    expect(b.critical).toBeNull();
    expect(b.window).toBe('30m');
  });
  it('an update leaves out the immutable platform, metric, scope and preset and sends the revision', () => {
    const f = fromRule(rule);
    expect(f.renotifyMin).toBe('60');
    expect(f.title).toBe('custom {{rule}}');
    const b = updateBody({ ...f, critical: '4', title: '' }, rule.revision);
    expect(b).toMatchObject({ name: 'Latency Alert', revision: 4, critical: 4, warning: 1.5, title: '', channels: ['chn_1'], window: '10m' });
    for (const k of ['platform', 'metric', 'flowId', 'preset']) expect(k in b).toBe(false);
  });
  it('refuses forms the server would refuse, with the reason', () => {
    const ok = fromRule(rule);
    expect(formError({ ...ok, name: ' ' })).toMatch(/name/);
    expect(formError({ ...ok, warning: '', critical: '' })).toMatch(/Warning or a Critical/);
    expect(formError({ ...ok, critical: 'abc' })).toMatch(/Critical threshold is not a number/);
    expect(formError({ ...ok, windowMin: '0' })).toMatch(/window/);
    expect(formError({ ...ok, renotifyMin: '1.5' })).toMatch(/re-notify/);
  });
  it('filters a call metric by one API, fixed once the rule exists', () => {
    const f = { ...fromPreset(latency, emptyForm(metrics)), flowId: 'flw_1', endpoint: 'POST https://api/v2/customers' };
    expect(formError(f, metrics)).toBeNull();
    expect(createBody(f)).toMatchObject({ metric: 'latency_p95', flowId: 'flw_1', endpoint: 'POST https://api/v2/customers' });
    expect(createBody({ ...f, endpoint: '' })).not.toHaveProperty('endpoint');
    expect('endpoint' in updateBody(f, 2)).toBe(false);
    expect(formError({ ...f, metric: 'failure_5xx_pct' }, metrics)).toMatch(/not measured from API calls/);
    expect(fromRule({ ...rule, endpoint: 'GET https://api/x' }).endpoint).toBe('GET https://api/x');
    expect(scopeText({ flowId: '', endpoint: 'GET https://api/x' }, (id) => id)).toBe('All dataflows · API GET https://api/x');
    expect(scopeText({ flowId: 'flw_1', endpoint: '' }, () => 'Orders')).toBe('Orders');
  });
  it('offers the APIs the scope called in the last 7 days, and the rule\'s own', () => {
    const eps = [
      { endpoint: 'POST https://a', flowIds: ['flw_1'], calls: 9 },
      { endpoint: 'GET https://b', flowIds: ['flw_2'], calls: 3 },
    ];
    expect(endpointChoices(eps, '', '').map((e) => e.endpoint)).toEqual(['POST https://a', 'GET https://b']);
    expect(endpointChoices(eps, 'flw_2', '').map((e) => e.endpoint)).toEqual(['GET https://b']);
    expect(endpointChoices(eps, 'flw_2', 'PUT https://gone').map((e) => e.endpoint)).toEqual(['GET https://b', 'PUT https://gone']);
    expect(endpointChoices(undefined, '', '')).toEqual([]);
  });
  it('splits address lists', () => {
    expect(splitList(' a@x.com, b@y.com;\nc@z.com ,, ')).toEqual(['a@x.com', 'b@y.com', 'c@z.com']);
  });
});

describe('summary reports', () => {
  it('builds a daily report with its time, and an interval one with a Go duration', () => {
    const f = { ...emptyReport(), name: 'daily', recipients: 'lead@example.com', at: '08:30' };
    expect(reportError(f)).toBeNull();
    expect(reportBody(f)).toEqual({ name: 'daily', enabled: true, recipients: ['lead@example.com'], schedule: 'daily', at: '08:30', afterEachRun: false });
    const i = { ...f, schedule: 'interval' as const, everyMin: '90', afterEachRun: true, flowId: 'flw_1' };
    expect(reportBody(i, 3)).toEqual({ name: 'daily', enabled: true, recipients: ['lead@example.com'], schedule: 'interval', every: '1h30m', afterEachRun: true, flowId: 'flw_1', revision: 3 });
    expect(scheduleText({ schedule: 'interval', every: '4h0m0s', afterEachRun: false })).toBe('every 4 h');
    expect(scheduleText({ schedule: 'daily', at: '08:30', afterEachRun: true })).toBe('daily at 08:30, and after each run');
  });
  it('refuses bad recipients, times and intervals', () => {
    const f = { ...emptyReport(), name: 'r', recipients: 'lead@example.com' };
    expect(reportError({ ...f, recipients: '' })).toMatch(/recipient/);
    expect(reportError({ ...f, recipients: 'lead@example.com, nobody' })).toMatch(/nobody is not an email/);
    expect(reportError({ ...f, at: '25:00' })).toMatch(/HH:MM/);
    expect(reportError({ ...f, schedule: 'interval', everyMin: '10' })).toMatch(/15 minutes/);
    expect(reportError({ ...f, schedule: 'hourly' })).toBeNull();
  });
});

describe('performance helpers', () => {
  it('tells a request id from a lineage id', () => {
    expect(lookup('4ab7e765666cd4d1')).toEqual({ kind: 'lineage', id: '4ab7e765666cd4d1' });
    expect(lookup(' 4ab7e765666cd4d1-1-3 ')).toEqual({ kind: 'request', id: '4ab7e765666cd4d1-1-3' });
    expect(lookup('L1-17')).toEqual({ kind: 'request', id: 'L1-17' });
    expect(lookup('  ')).toBeNull();
  });
  it('turns points into chart columns and steps into words', () => {
    const p = (at: string, n: number, e: number | null) => ({ at, recordsIn: n, errorPct: e }) as never;
    const { xs, ys } = columns([p('2026-01-01T00:00:00Z', 3, null), p('2026-01-01T00:10:00Z', 5, 20)], [(x: { recordsIn: number }) => x.recordsIn, (x: { errorPct: number | null }) => x.errorPct]);
    expect(xs).toEqual([1767225600, 1767226200]);
    expect(ys).toEqual([
      [3, 5],
      [null, 20],
    ]);
    expect(stepLabel('10m0s')).toBe('10 minutes');
    expect(stepLabel('1h0m0s')).toBe('hour');
    expect(stepLabel('1m0s')).toBe('minute');
    expect(stepLabel('2h30m0s')).toBe('150 minutes');
    expect(statusClass(503)).toBe('5xx');
    expect(statusClass(0)).toBe('no answer');
  });
  it('marks values that no line can reach', () => {
    expect(isolated([null, 1, null])).toBe(true);
    expect(isolated([1, 2, null])).toBe(false);
    expect(isolated([null, null])).toBe(false);
    expect(isolated([5])).toBe(true);
  });
});

describe('issue filters', () => {
  it('turns the filters into the list query', () => {
    const now = Date.parse('2026-06-01T12:00:30Z');
    const base = { status: '', priority: '', flowId: '', time: '', since: '', until: '' };
    expect(issueQuery(base, '', now)).toBe('limit=25');
    expect(new URLSearchParams(issueQuery({ ...base, status: 'Active', priority: 'Critical', flowId: 'flw_1', time: '24' }, 'c2', now)).toString()).toBe(
      'status=Active&priority=Critical&flowId=flw_1&since=2026-05-31T12%3A00%3A00Z&limit=25&cursor=c2',
    );
    const q = new URLSearchParams(issueQuery({ ...base, time: 'custom', since: '2026-05-01T08:00', until: '' }, '', now));
    expect(q.get('since')).toBe(new Date(2026, 4, 1, 8, 0).toISOString().replace('.000Z', 'Z'));
    expect(q.has('until')).toBe(false);
  });
});

describe('percentage axis', () => {
  it('stops at 100 % and keeps a little room above smaller values', () => {
    expect(percentTop(100)).toBe(100);
    expect(percentTop(63.1)).toBeCloseTo(69.41);
    expect(percentTop(null)).toBe(1);
    expect(percentTop(0)).toBe(1);
  });
});
