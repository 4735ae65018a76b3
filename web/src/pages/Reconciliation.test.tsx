// @vitest-environment jsdom
// The reconciliation tab and page rendered in the DOM over a stubbed fetch
// (the browser e2e drives them against the real server).
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import ReconciliationsTab, { keyText, ReconciliationPage, sourceLabel } from './Reconciliation';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const recon = {
  id: 'rcn_1',
  orgId: 'o',
  flowId: 'flw_1',
  flowName: 'reconcile',
  version: 2,
  runId: 'lin_1',
  block: 'map_fields',
  file: 'bills.csv',
  source: 'sandbox',
  entityType: 'regular_transaction_line_items',
  started: '2026-12-07T10:00:00Z',
  finished: '2026-12-07T10:00:02Z',
  totals: { rows: 200, expected: 200, present: 171, missing: 29, mismatched: 1, duplicates: 0, beforeFromYear: 0, invalid: 0 },
  lookupRequests: 4,
  matchedOn: ['bill_number', 'bill_date'],
  compared: ['bill_amount'],
  records: 30,
  resultName: 'bills.csv',
};

function stubApi(current: () => typeof recon & { status?: string } = () => recon) {
  const urls: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    urls.push(url);
    const [p, q] = url.replace(/^\/api\/v1/, '').split('?');
    const qs = new URLSearchParams(q);
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } });
    if (p === '/dataflows/flw_1/reconciliations') return json({ items: [recon] });
    if (p === '/reconciliations/rcn_1') return json(current());
    if (p === '/reconciliations/rcn_1/results') return new Response('bill_no,CAP_API_STATUS\nBILL-0004,0\n', { status: 200, headers: { 'Content-Type': 'text/csv' } });
    if (p === '/reconciliations/rcn_1/records') {
      const all = [
        ...Array.from({ length: 29 }, (_, i) => ({ line: 2 + i * 7, kind: 'missing', key: { bill_number: `BILL-${String(4 + i * 7).padStart(4, '0')}` } })),
        { line: 199, kind: 'mismatch', key: { bill_number: 'BILL-0198' }, entityId: '198', fields: [{ field: 'bill_amount', column: 'amount', source: '298.50', destination: '300' }] },
      ].filter((r) => !qs.get('kind') || r.kind === qs.get('kind'));
      const off = Number(qs.get('cursor') ?? 0);
      const lim = Number(qs.get('limit') ?? 100);
      const items = all.slice(off, off + lim);
      return json({ items, next: off + lim < all.length ? String(off + lim) : undefined });
    }
    return json({ error: { code: 'not_found', message: 'no ' + p } }, 404);
  });
  return urls;
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

const tile = (k: string) => host.querySelector(`[data-tile="${k}"]`)?.textContent;

describe('reconciliation (DOM)', () => {
  it('lists a dataflow’s reconciliations with their counts and the source that answered', async () => {
    stubApi();
    await render(<ReconciliationsTab flowId="flw_1" />);
    const table = host.querySelector('table[aria-label="Reconciliations"]')!;
    const cells = [...table.querySelectorAll('tbody td')].map((c) => c.textContent);
    expect(cells.slice(1, 8)).toEqual(['bills.csv', 'API sandbox', '200', '171', '29', '1', '0']);
    expect(table.querySelector('a[href="/reconciliations/rcn_1"]')).not.toBeNull();
    expect(table.querySelector('a[href="/runs/lin_1"]')).not.toBeNull();
  });

  it('shows the counts, pages the records with their field differences and filters them by kind', async () => {
    const urls = stubApi();
    await render(<ReconciliationPage reconId="rcn_1" />);
    expect([tile('expected'), tile('present'), tile('missing'), tile('mismatched'), tile('duplicates')]).toEqual(['200', '171', '29', '1', '0']);
    expect(host.querySelector('[data-source]')?.textContent).toMatch(/^API sandbox · 4 lookup requests/);
    const rows = () => [...host.querySelectorAll('table[aria-label="Reconciliation records"] tbody tr')];
    expect(rows().length).toBe(30);
    expect(rows()[0].textContent).toMatch(/Missing.*bill_number BILL-0004/);
    expect(rows()[29].textContent).toMatch(/Mismatched.*198.*bill_amount \(amount\): file 298.50, destination 300/);
    const select = host.querySelector('select') as HTMLSelectElement;
    await act(async () => {
      Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value')!.set!.call(select, 'mismatch');
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await settle();
    expect(urls.some((u) => u.includes('/records?') && u.includes('kind=mismatch'))).toBe(true);
    expect(rows().length).toBe(1);
    expect(host.querySelector('button[disabled]')?.textContent).toMatch(/Previous/);
  });

  it('says a large report’s records are still being stored and refreshes until they are', async () => {
    let status = 'saving';
    stubApi(() => ({ ...recon, status }));
    await render(<ReconciliationPage reconId="rcn_1" />);
    expect(host.querySelector('[data-status="saving"]')?.textContent).toMatch(/still being stored/);
    expect(host.querySelector('h2:nth-of-type(2)')?.textContent).toBe('Records (being stored)');
    status = 'finished';
    await act(async () => void (await new Promise((r) => setTimeout(r, 2200))));
    await settle();
    expect(host.querySelector('[data-status]')).toBeNull();
    expect(host.querySelector('h2:nth-of-type(2)')?.textContent).toBe('Records (30)');
  });

  it('says when a report’s records could not be stored', async () => {
    stubApi(() => ({ ...recon, status: 'failed' }));
    await render(<ReconciliationPage reconId="rcn_1" />);
    expect(host.querySelector('[data-status="failed"]')?.textContent).toMatch(/could not all be stored/);
  });

  it('names sources and keys in words', () => {
    expect(sourceLabel('capillary-api')).toBe('Capillary API');
    expect(sourceLabel('ledger')).toBe('delivery ledger');
    expect(keyText({ bill_number: 'B1', bill_date: '2025-01-02' })).toBe('bill_number B1 · bill_date 2025-01-02');
  });
});
