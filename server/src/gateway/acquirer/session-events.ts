/**
 * Staff changes that end a POS terminal's session (a re-key, a PIN-mode change) tell the session
 * caches of this process at once, so the terminal's next request here is read afresh. Other
 * processes see the change within their cache time (sessions.ts, CACHE_MS). A module of its own
 * so that registry.ts need not import sessions.ts (which imports registry.ts).
 */
type Forget = (tid: string) => void;

/** Listeners per database handle: one process may hold several apps (tests). */
const listeners = new WeakMap<object, Set<Forget>>();

export function onPosTerminalChanged(db: object, forget: Forget): () => void {
  let set = listeners.get(db);
  if (!set) {
    set = new Set();
    listeners.set(db, set);
  }
  set.add(forget);
  return () => set.delete(forget);
}

export function posTerminalChanged(db: object, tid: string): void {
  for (const forget of listeners.get(db) ?? []) forget(tid);
}
