import { useEffect, useMemo, useState } from 'react';
import { api, unwrap } from '../../../api/client';
import type { Party } from '../../../api/types';
import { useSignedIn } from '../../../session/session-context';

/** Parties already fetched on this page load: a list of 50 terminals has a handful of owners. */
const known = new Map<string, Promise<Party | null>>();

function loadParty(id: string): Promise<Party | null> {
  let pending = known.get(id);
  if (!pending) {
    pending = unwrap(api.GET('/api/v1/parties/{id}', { params: { path: { id } } })).catch(() => {
      // Not found or not visible: show the id; ask again on the next page load.
      known.delete(id);
      return null;
    });
    known.set(id, pending);
  }
  return pending;
}

/**
 * Names of the owner parties of what is on screen. Only staff who may read parties ask; a
 * merchant user sees the ids of its own party, which it knows anyway.
 */
export function usePartyNames(ids: readonly (string | null | undefined)[]): (id: string) => string {
  const { can } = useSignedIn();
  const allowed = can('party:read');
  const wanted = useMemo(() => [...new Set(ids.filter((id): id is string => !!id))].sort(), [ids]);
  const key = wanted.join(',');
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());

  useEffect(() => {
    if (!allowed || wanted.length === 0) return;
    let live = true;
    void Promise.all(wanted.map(loadParty)).then((parties) => {
      if (!live) return;
      setNames((old) => {
        const next = new Map(old);
        for (const p of parties) if (p) next.set(p.id, p.name);
        return next;
      });
    });
    return () => {
      live = false;
    };
    // `key` stands for `wanted`.
  }, [key, allowed]);

  return (id: string) => names.get(id) ?? id;
}
