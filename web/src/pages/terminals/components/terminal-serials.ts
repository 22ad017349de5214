import { useEffect, useMemo, useState } from 'react';
import { api, unwrap } from '../../../api/client';

const known = new Map<string, Promise<string | null>>();

function loadSerial(id: string): Promise<string | null> {
  let pending = known.get(id);
  if (!pending) {
    pending = unwrap(api.GET('/api/v1/terminals/{id}', { params: { path: { id } } }))
      .then((x) => x.serial)
      .catch(() => {
        known.delete(id);
        return null;
      });
    known.set(id, pending);
  }
  return pending;
}

/** Serials of the terminals on screen (assignments and rollout targets carry only ids). */
export function useTerminalSerials(ids: readonly (string | null | undefined)[]): (id: string) => string {
  const wanted = useMemo(() => [...new Set(ids.filter((id): id is string => !!id))].sort(), [ids]);
  const key = wanted.join(',');
  const [serials, setSerials] = useState<ReadonlyMap<string, string>>(new Map());

  useEffect(() => {
    if (wanted.length === 0) return;
    let live = true;
    void Promise.all(wanted.map(async (id) => [id, await loadSerial(id)] as const)).then((pairs) => {
      if (!live) return;
      setSerials((old) => {
        const next = new Map(old);
        for (const [id, serial] of pairs) if (serial) next.set(id, serial);
        return next;
      });
    });
    return () => {
      live = false;
    };
    // `key` stands for `wanted`.
  }, [key]);

  return (id: string) => serials.get(id) ?? id;
}
