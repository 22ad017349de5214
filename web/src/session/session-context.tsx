import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, onUnauthenticated, unwrap, unwrapAs } from '../api/client';
import type { Me } from '../api/types';

export interface Session {
  me: Me;
  can: (permission: string) => boolean;
}

interface SessionState {
  /** undefined while the first GET /auth/me is in flight; null when signed out. */
  session: Session | null | undefined;
  /** Re-reads the signed-in user after the sign-in form got a session cookie. */
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

function toSession(me: Me): Session {
  const permissions = new Set(me.permissions);
  return { me, can: (permission) => permissions.has(permission) };
}

async function fetchMe(): Promise<Session | null> {
  try {
    return toSession(await unwrapAs<Me>(api.GET('/api/v1/auth/me')));
  } catch {
    return null;
  }
}

/** Holds who is signed in; the session itself is the server's httpOnly cookie. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  useEffect(() => {
    void fetchMe().then(setSession);
    return onUnauthenticated(() => setSession(null));
  }, []);

  const refresh = useCallback(async () => setSession(await fetchMe()), []);
  const signOut = useCallback(async () => {
    await unwrap(api.POST('/api/v1/auth/logout')).catch(() => undefined);
    setSession(null);
  }, []);

  const value = useMemo(() => ({ session, refresh, signOut }), [session, refresh, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}

/** The signed-in session; only for components rendered behind the sign-in guard. */
export function useSignedIn(): Session {
  const { session } = useSession();
  if (!session) throw new Error('useSignedIn without a session');
  return session;
}
