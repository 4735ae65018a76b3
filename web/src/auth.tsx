import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { client } from './api/client';
import type { LoginResponse, Me } from './api/types';

interface AuthState {
  me: Me | null;
  loading: boolean;
  /** expired is set when a call answered 401 while logged in. */
  expired: boolean;
  login: (username: string, password: string, org?: string) => Promise<void>;
  logout: () => Promise<void>;
  refresh: () => Promise<void>;
}

const Ctx = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);
  const [expired, setExpired] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const m = await client.get<Me>('/auth/me');
      setMe(m);
    } catch {
      setMe(null);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(
    () =>
      client.onUnauthorized(() => {
        setMe((prev) => {
          if (prev) setExpired(true);
          return null;
        });
        qc.clear();
      }),
    [qc],
  );

  const login = useCallback(
    async (username: string, password: string, org?: string) => {
      const r = await client.raw('POST', '/auth/login', { body: { username, password, org: org || undefined }, noAuthRedirect: true });
      const lr = (await r.json()) as LoginResponse;
      client.setCsrf(lr.csrfToken);
      qc.clear();
      setExpired(false);
      const m = await client.get<Me>('/auth/me');
      setMe(m);
    },
    [qc],
  );

  const logout = useCallback(async () => {
    try {
      await client.post('/auth/logout');
    } finally {
      client.setCsrf('');
      qc.clear();
      setMe(null);
      setExpired(false);
    }
  }, [qc]);

  return <Ctx.Provider value={{ me, loading, expired, login, logout, refresh }}>{children}</Ctx.Provider>;
}

export function useAuth(): AuthState {
  const c = useContext(Ctx);
  if (!c) throw new Error('useAuth outside AuthProvider');
  return c;
}
