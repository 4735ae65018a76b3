// A small history-API router: the app has a handful of routes, and the
// server's SPA fallback serves index.html for each of them.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

interface Loc {
  path: string;
  search: URLSearchParams;
}

type Blocker = () => boolean;

const RouterCtx = createContext<{ loc: Loc; navigate: (to: string, replace?: boolean) => void; block: (b: Blocker | null) => void }>({
  loc: { path: '/', search: new URLSearchParams() },
  navigate: () => {},
  block: () => {},
});

function current(): Loc {
  return { path: window.location.pathname, search: new URLSearchParams(window.location.search) };
}

/** idxOf is the position a history entry was given by this router (0 for an entry it did not make). */
function idxOf(state: unknown): number {
  const i = (state as { idx?: unknown } | null)?.idx;
  return typeof i === 'number' ? i : 0;
}

export function Router({ children }: { children: ReactNode }) {
  const [loc, setLoc] = useState<Loc>(current);
  // A page with unsaved work may refuse a navigation (the editor asks first):
  // links and navigate(), and also the browser's Back and Forward buttons.
  const blocker = useRef<Blocker | null>(null);
  // Every entry this router makes carries its position, so that a refused
  // Back/Forward can be undone by moving the same distance the other way.
  const idx = useRef(idxOf(window.history.state));
  const undoing = useRef(false);
  useEffect(() => {
    if (typeof (window.history.state as { idx?: unknown } | null)?.idx !== 'number') window.history.replaceState({ idx: idx.current }, '');
    const on = (e: PopStateEvent) => {
      const to = idxOf(e.state);
      if (undoing.current) {
        // The browser is returning to the entry we refused to leave.
        undoing.current = false;
        return;
      }
      if (blocker.current && !blocker.current()) {
        // The URL has already changed: go back to where the page is.
        const delta = idx.current - to;
        if (delta !== 0) {
          undoing.current = true;
          window.history.go(delta);
        }
        return;
      }
      blocker.current = null;
      idx.current = to;
      setLoc(current());
    };
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  const navigate = (to: string, replace = false) => {
    if (blocker.current && !blocker.current()) return;
    blocker.current = null;
    if (replace) window.history.replaceState({ idx: idx.current }, '', to);
    else window.history.pushState({ idx: ++idx.current }, '', to);
    setLoc(current());
    window.scrollTo?.(0, 0);
  };
  const block = useCallback((b: Blocker | null) => {
    blocker.current = b;
  }, []);
  return <RouterCtx.Provider value={{ loc, navigate, block }}>{children}</RouterCtx.Provider>;
}

export function useLocation(): Loc {
  return useContext(RouterCtx).loc;
}

export function useNavigate() {
  return useContext(RouterCtx).navigate;
}

/** useBlockNavigation asks confirm() before an in-app navigation (links, navigate(), Back and Forward) while when is true. */
export function useBlockNavigation(when: boolean, message: string) {
  const { block } = useContext(RouterCtx);
  useEffect(() => {
    if (!when) return;
    block(() => window.confirm(message));
    return () => block(null);
  }, [when, message, block]);
}

/** match returns the named parameters of pattern (":name" segments) in path, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(':')) out[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return out;
}

export function Link({ to, children, ...rest }: { to: string; children: ReactNode } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const navigate = useNavigate();
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} {...rest} onClick={onClick}>
      {children}
    </a>
  );
}
