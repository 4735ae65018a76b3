// @vitest-environment jsdom
// The alert pages rendered in the DOM over a stubbed fetch (the browser
// e2e drives them against the real server).
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Snapshot } from '../api/obs';
import AlertsPage from '../pages/Alerts';
import { Tiles } from './Snapshot';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

vi.mock('../auth', () => ({ useAuth: () => ({ me: { role: 'admin', username: 'admin', orgId: 'o', orgs: [] } }) }));

const metrics = [
  { name: 'failure_5xx_pct', label: '5XX / failure percentage', unit: '%', description: 'the larger of…', comparator: '>=', perEndpoint: false },
  { name: 'latency_p95', label: 'P95 latency', unit: 's', description: '95th percentile…', comparator: '>=', perEndpoint: true },
];
const presets = [
  {
    key: 'latency',
    name: 'Latency Alert',
    default: false,
    metric: 'latency_p95',
    category: 'File and Stream',
    description: 'P95 latency',
    definition: { comparator: '>=', warning: 2, critical: 5, window: '10m0s', title: '', description: '', channels: null, renotifyEvery: '0s', autoCloseAfter: '0s' },
  },
];
const rules = [
  {
    id: 'alr_default_5xx_failure_o',
    name: '5XX / Failure Alert',
    preset: '5xx_failure',
    default: true,
    platform: 'dataflow',
    metric: 'failure_5xx_pct',
    flowId: '',
    endpoint: '',
    scope: 'organization',
    enabled: true,
    comparator: '>=',
    warning: null,
    critical: 1,
    window: '10m0s',
    title: '',
    description: '',
    channels: [],
    renotifyEvery: '1h0m0s',
    autoCloseAfter: '10m0s',
    defaultTitle: '[{{priority}}] {{rule}}',
    defaultDescription: '{{metric}} was {{value}}',
    revision: 2,
    createdBy: 'system',
    updatedBy: 'system',
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  },
];
const configs = [
  { name: 'plain', value: 'x', isSecret: false },
  { name: 'slack_webhook_url', value: '****', isSecret: true },
];

interface Call {
  method: string;
  url: string;
  body: unknown;
}

function stubApi() {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const path = url.replace(/^\/api\/v1/, '').split('?')[0];
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } });
    if (method === 'POST' && path === '/alert-rules') return json({ ...rules[0], id: 'alr_new', default: false }, 201);
    const table: Record<string, unknown> = {
      '/alert-metrics': metrics,
      '/alert-presets': presets,
      '/alert-rules': rules,
      '/alert-channels': [],
      '/dataflows': { items: [{ id: 'flw_1', name: 'customers' }] },
      '/configs': configs,
      '/alert-endpoints': [
        { endpoint: 'POST https://api/v2/customers', flowIds: ['flw_1'], calls: 12 },
        { endpoint: 'GET https://api/v2/points', flowIds: ['flw_2'], calls: 4 },
      ],
    };
    return path in table ? json(table[path]) : json({ error: { code: 'not_found', message: 'no ' + path } }, 404);
  });
  return calls;
}

let host: HTMLDivElement;
let root: Root;
afterEach(() => {
  act(() => root?.unmount());
  host?.remove();
  vi.unstubAllGlobals();
});

async function render(node: React.ReactNode) {
  host = document.createElement('div');
  document.body.appendChild(host);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  await act(async () => {
    root = createRoot(host);
    root.render(<QueryClientProvider client={qc}>{node}</QueryClientProvider>);
  });
  await settle();
}

async function settle() {
  for (let i = 0; i < 5; i++) await act(async () => void (await new Promise((r) => setTimeout(r, 10))));
}

const byText = (sel: string, text: RegExp) => [...host.querySelectorAll<HTMLElement>(sel)].find((e) => text.test(e.textContent ?? ''))!;
const labelled = (text: RegExp) => {
  const l = [...document.querySelectorAll('label')].find((x) => text.test(x.textContent ?? ''))!;
  return l.querySelector('input, select, textarea') as HTMLInputElement | HTMLSelectElement;
};
function change(el: HTMLInputElement | HTMLSelectElement, v: string) {
  const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, v);
  el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
}

describe('alerts page (DOM)', () => {
  it('lists the default rule and creates a rule from a preset with its thresholds', async () => {
    const calls = stubApi();
    await render(<AlertsPage />);
    expect(host.querySelector('[data-rule="5XX / Failure Alert"]')?.textContent).toMatch(/5XX \/ failure percentage ≥ 1 % \(Critical\) over 10 min/);
    // A default rule can be disabled, not deleted.
    expect(host.querySelector('[aria-label="Delete 5XX / Failure Alert"]')).toBeNull();
    await act(async () => byText('button', /^New alert rule$/).click());
    await act(async () => change(labelled(/^Start from/), 'latency'));
    expect((labelled(/^Warning threshold/) as HTMLInputElement).value).toBe('2');
    expect((labelled(/^Critical threshold/) as HTMLInputElement).value).toBe('5');
    expect((labelled(/^Name/) as HTMLInputElement).value).toBe('Latency Alert');
    await act(async () => change(labelled(/^Scope/), 'flw_1'));
    await act(async () => change(labelled(/^Critical threshold/), '3'));
    await act(async () => byText('button', /^Create the rule$/).click());
    await settle();
    const post = calls.find((c) => c.method === 'POST' && c.url.startsWith('/api/v1/alert-rules'))!;
    expect(post.body).toMatchObject({ name: 'Latency Alert', preset: 'latency', metric: 'latency_p95', flowId: 'flw_1', warning: 2, critical: 3, window: '10m' });
  });

  it('filters a call metric by one of the APIs its scope called, and not a record metric', async () => {
    const calls = stubApi();
    await render(<AlertsPage />);
    await act(async () => byText('button', /^New alert rule$/).click());
    await settle();
    const api = () => labelled(/^Filter by API/) as HTMLSelectElement;
    // The first metric (5XX / failure) counts records: no API filter.
    expect(api().disabled).toBe(true);
    await act(async () => change(labelled(/^Start from/), 'latency'));
    expect(api().disabled).toBe(false);
    expect([...api().options].map((o) => o.value)).toEqual(['', 'POST https://api/v2/customers', 'GET https://api/v2/points']);
    await act(async () => change(labelled(/^Scope/), 'flw_1'));
    expect([...api().options].map((o) => o.value)).toEqual(['', 'POST https://api/v2/customers']);
    await act(async () => change(api(), 'POST https://api/v2/customers'));
    await act(async () => byText('button', /^Create the rule$/).click());
    await settle();
    const post = calls.find((c) => c.method === 'POST' && c.url.startsWith('/api/v1/alert-rules'))!;
    expect(post.body).toMatchObject({ metric: 'latency_p95', flowId: 'flw_1', endpoint: 'POST https://api/v2/customers' });
  });

  it('keeps the platform, metric and scope of an existing rule fixed', async () => {
    stubApi();
    await render(<AlertsPage />);
    await act(async () => (host.querySelector('[aria-label="Edit 5XX / Failure Alert"]') as HTMLButtonElement).click());
    for (const l of [/^Platform/, /^Scope/, /^Metric/, /^Filter by API/]) expect(labelled(l).disabled).toBe(true);
    expect(labelled(/^Critical threshold/).disabled).toBe(false);
    // The default template shows where the field is empty.
    expect((labelled(/^Title template/) as HTMLInputElement).placeholder).toBe('[{{priority}}] {{rule}}');
  });

  it('names a channel secret with a picker of secret Extension Configurations, never a text box', async () => {
    stubApi();
    await render(<AlertsPage />);
    await act(async () => byText('button', /^New channel$/).click());
    await act(async () => change(labelled(/^Kind/), 'slack'));
    await settle();
    const secret = labelled(/^Secret:/);
    expect(secret.tagName).toBe('SELECT');
    expect([...(secret as HTMLSelectElement).options].map((o) => o.value)).toEqual(['', 'slack_webhook_url']);
    const dialog = document.querySelector('dialog[open], dialog')!;
    expect(dialog.querySelectorAll('input[type="password"], input[name*="secret" i]').length).toBe(0);
  });
});

describe('snapshot tiles (DOM)', () => {
  it('shows the four figures, and a dash (not 0 %) without input', async () => {
    const s = {
      processedUnits: 300,
      delivered: 270,
      filtered: 0,
      failed: 30,
      retryExhausted: 30,
      errorPct: 10,
      accuracyPct: 90,
      topError: { flowId: '*', block: 'post', code: 503, message: 'Service Unavailable', count: 24, lastSeen: '' },
      latency: { p50: 0.051, p90: 0.092, p95: 0.109, p99: 0.124 },
      rpm: 0.208,
      files: 3,
      calls: 300,
    } as Snapshot;
    await render(<Tiles s={s} />);
    const tile = (k: string) => host.querySelector(`[data-tile="${k}"]`)!.textContent;
    expect([tile('processed'), tile('errors'), tile('p95'), tile('rpm')]).toEqual(['300', '10.0 %', '109 ms', '0.21']);
    expect(host.textContent).toMatch(/Top: 503 Service Unavailable \(24, post\)/);
    act(() => root.render(<Tiles s={{ ...s, processedUnits: 0, errorPct: null, failed: 0, topError: null, latency: { p50: null, p90: null, p95: null, p99: null } }} />));
    expect([tile('errors'), tile('p95')]).toEqual(['—', '—']);
    expect(host.textContent).toMatch(/No error in this window/);
  });
});
