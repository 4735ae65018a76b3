import { useEffect, useState } from 'react';
import { useAuth } from './auth';
import { atLeast, type Role } from './api/types';

/** useDebounced returns value once it has stopped changing for ms. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** useCan tells whether the signed-in user has at least role min. */
export function useCan(min: Role): boolean {
  const { me } = useAuth();
  return atLeast(me?.role, min);
}
