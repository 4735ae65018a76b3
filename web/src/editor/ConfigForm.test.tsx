// @vitest-environment jsdom
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigView } from '../api/types';
import type { BlockInfo } from './catalogue';
import { ConfigForm } from './ConfigForm';
import fixture from './testdata/blocks.json';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const blocks = fixture.blocks as unknown as BlockInfo[];
const spec = (t: string) => blocks.find((b) => b.type === t)!;
const configs = [
  { name: 'capillary_client_key', isSecret: false, value: 'k' },
  { name: 'capillary_client_secret', isSecret: true, value: '' },
] as ConfigView[];

let host: HTMLDivElement;
afterEach(() => host?.remove());

function render(type: string, config: Record<string, unknown>, problems: { field?: string; message: string }[] = [], readOnly = false) {
  host = document.createElement('div');
  document.body.appendChild(host);
  const changes: Record<string, unknown>[] = [];
  act(() => createRoot(host).render(<ConfigForm spec={spec(type)} config={config} configs={configs} problems={problems} readOnly={readOnly} onChange={(c) => changes.push(c)} />));
  return { changes, q: (sel: string) => host.querySelector(sel) as HTMLElement | null };
}

describe('config form (DOM)', () => {
  it('renders a secret as a picker of Extension Configurations, never a text box', () => {
    const { q, changes } = render('http_write', { clientSecret: { $config: 'capillary_client_secret' } });
    const el = q('[data-field="clientSecret"]')!;
    expect(el.tagName).toBe('SELECT');
    expect((el as HTMLSelectElement).value).toBe('capillary_client_secret');
    expect(host.querySelectorAll('input[data-field="clientSecret"], textarea[data-field="clientSecret"]').length).toBe(0);
    act(() => {
      (el as HTMLSelectElement).value = '';
      el.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(changes.at(-1)).toEqual({});
  });

  it('labels every control, marks required ones and shows problems on the field', () => {
    const { q } = render('http_write', {}, [{ field: 'apiEndPoint', message: 'missing required field' }]);
    const ep = q('[data-field="apiEndPoint"]')!;
    expect(ep.tagName).toBe('TEXTAREA');
    expect(ep.getAttribute('aria-required')).toBe('true');
    expect(ep.getAttribute('aria-invalid')).toBe('true');
    const described = (ep.getAttribute('aria-describedby') ?? '').split(' ');
    expect(described.map((id) => document.getElementById(id)?.textContent).join(' ')).toContain('missing required field');
    for (const el of host.querySelectorAll('input, select, textarea')) {
      const named = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label');
      expect(named, el.outerHTML.slice(0, 80)).toBeTruthy();
    }
  });

  it('writes a toggle in the spelling of the value it replaces, and an enum as a select', () => {
    const { q, changes } = render('http_write', { parseResponse: 'true' });
    const t = q('[data-field="parseResponse"]') as HTMLInputElement;
    expect(t.type).toBe('checkbox');
    expect(t.checked).toBe(true);
    act(() => t.click());
    expect(changes.at(-1)).toMatchObject({ parseResponse: 'false' });
    expect(q('[data-field="apiMethod"]')!.tagName).toBe('SELECT');
  });

  it('disables every control when read-only', () => {
    render('jslt_transform', { transformation: '.' }, [], true);
    const controls = [...host.querySelectorAll('input, select, textarea')] as HTMLInputElement[];
    expect(controls.length).toBeGreaterThan(2);
    expect(controls.every((c) => c.disabled)).toBe(true);
  });
});
