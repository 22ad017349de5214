import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { TerminalRuntime } from './runtime';
import type { RuntimeSnapshot } from './types';

const RuntimeContext = createContext<TerminalRuntime | null>(null);

export function RuntimeProvider({ runtime, children }: { runtime: TerminalRuntime; children: ReactNode }) {
  return <RuntimeContext.Provider value={runtime}>{children}</RuntimeContext.Provider>;
}

export function useRuntime(): TerminalRuntime {
  const runtime = useContext(RuntimeContext);
  if (!runtime) throw new Error('useRuntime outside RuntimeProvider');
  return runtime;
}

/** The current snapshot; re-renders when the runtime publishes a new one. */
export function useSnapshot(): RuntimeSnapshot {
  const runtime = useRuntime();
  return useSyncExternalStore(runtime.subscribe, runtime.getSnapshot);
}
