import { useCallback, useEffect, useState } from 'react';
import type { AppContext, BridgeEvents, Language } from '../../src/core/bridge-protocol';
import { call, on } from './bridge';

/** The shell's context (language, terminal, operator), kept current by its events. */
export function useAppContext(): AppContext | null {
  const [context, setContext] = useState<AppContext | null>(null);
  useEffect(() => {
    let live = true;
    void call('context').then((value) => {
      if (live) setContext(value);
    });
    const off = on('context', setContext);
    return () => {
      live = false;
      off();
    };
  }, []);
  useEffect(() => {
    if (context) document.documentElement.lang = context.language;
  }, [context]);
  return context;
}

/** Loads a value from the shell and follows one of its events. */
export function useShellValue<E extends 'status' | 'messages'>(event: E, load: () => Promise<BridgeEvents[E]>): BridgeEvents[E] | null {
  const [value, setValue] = useState<BridgeEvents[E] | null>(null);
  useEffect(() => {
    let live = true;
    void load().then((v) => {
      if (live) setValue(v);
    });
    const off = on(event, (v) => setValue(v));
    return () => {
      live = false;
      off();
    };
    // `load` is a module-level function in every app: following `event` is enough.
  }, [event, load]);
  return value;
}

/** zh-CN first: picks the text of the shell's language. */
export function usePick(language: Language | undefined): <T>(zh: T, en: T) => T {
  const english = language === 'en-US';
  return useCallback(<T,>(zh: T, en: T) => (english ? en : zh), [english]);
}
