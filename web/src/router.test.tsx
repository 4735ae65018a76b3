// @vitest-environment jsdom
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Router, useBlockNavigation, useLocation, useNavigate } from './router';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;
let nav: (to: string) => void = () => {};
let shown = '';

function Page({ dirty }: { dirty: boolean }) {
  const { path } = useLocation();
  nav = useNavigate();
  useBlockNavigation(dirty && path === '/canvas', 'Leave the canvas? Your unsaved changes will be lost.');
  shown = path;
  return <p>{path}</p>;
}

function render(dirty: boolean) {
  act(() => root.render(<Router><Page dirty={dirty} /></Router>));
}

// popstate and history.go are asynchronous (a task): wait for them to settle.
async function settle() {
  for (let i = 0; i < 5; i++) await act(() => new Promise((r) => setTimeout(r, 10)));
}

beforeEach(() => {
  window.history.replaceState(null, '', '/list');
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  host.remove();
  vi.restoreAllMocks();
});

describe('router blocker', () => {
  it('asks before Back leaves a page with unsaved changes, and stays when refused', async () => {
    render(true);
    act(() => nav('/canvas'));
    expect(shown).toBe('/canvas');
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
    window.history.back();
    await settle();
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(confirm.mock.calls[0][0]).toMatch(/unsaved changes/);
    // The page did not change and the address is the canvas again.
    expect(shown).toBe('/canvas');
    expect(window.location.pathname).toBe('/canvas');
    // Accepting leaves.
    confirm.mockReturnValue(true);
    window.history.back();
    await settle();
    expect(confirm).toHaveBeenCalledTimes(2);
    expect(shown).toBe('/list');
    expect(window.location.pathname).toBe('/list');
  });

  it('asks before Forward too', async () => {
    render(true);
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(true);
    act(() => nav('/canvas'));
    act(() => nav('/list'));
    expect(confirm).toHaveBeenCalledTimes(1);
    window.history.back();
    await settle();
    expect(shown).toBe('/canvas');
    confirm.mockReturnValue(false);
    confirm.mockClear();
    window.history.forward();
    await settle();
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(shown).toBe('/canvas');
    expect(window.location.pathname).toBe('/canvas');
  });

  it('refuses a link navigation too, and never asks without unsaved changes', async () => {
    render(true);
    act(() => nav('/canvas'));
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
    act(() => nav('/runs'));
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(shown).toBe('/canvas');
    render(false);
    window.history.back();
    await settle();
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(shown).toBe('/list');
  });
});
