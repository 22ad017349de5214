import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './locales';
import { App } from './app';
import { RuntimeProvider } from './runtime/context';
import { TerminalRuntime } from './runtime/runtime';
import './global.css';

declare global {
  interface Window {
    /** Set once this shell has started: a pending shell's watchdog (core/shell-boot.ts) checks it. */
    __xwBooted?: boolean;
  }
}

/** The version of this shell, from its own page (a shell bundle carries it in index.html). */
function ownVersion(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="xw-shell-version"]')?.content ?? '0.0.0';
}

const runtime = new TerminalRuntime({
  shellVersion: ownVersion(),
  onBooted: () => {
    window.__xwBooted = true;
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RuntimeProvider runtime={runtime}>
      <App />
    </RuntimeProvider>
  </StrictMode>,
);

void runtime.start();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  // The boot loader (src/sw.ts): offline start and the installed shell bundle.
  void navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL }).catch(() => undefined);
}
