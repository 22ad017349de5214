/**
 * The terminal's service worker: the boot loader. It is the one piece the server, not a bundle,
 * upgrades (the browser re-fetches /terminal/sw.js), so it stays small and does three things:
 *
 * 1. Serves the installed shell bundle, when there is one, from IndexedDB — this is how the shell
 *    upgrades itself like any app (see core/shell-boot.ts for pending → confirmed → or reverted).
 * 2. Otherwise serves the built-in shell: network first for pages (a server upgrade shows at
 *    once), cache first for hashed assets, and everything precached at install, so the terminal
 *    starts without a network.
 * 3. Never touches /api/: API calls are signed per request and must reach the server or fail.
 */
import { getValue, putValue } from './core/idb';
import { contentType } from './core/mime';
import { bundleKey, type StoredBundle } from './core/records';
import { BOOT_WATCHDOG_MS, SHELL_APP, SHELL_STATE_KEY, chooseShell, readShellState, revert } from './core/shell-boot';

declare const __BUILD_ID__: string;
const sw = self as unknown as ServiceWorkerGlobalScope;

const SCOPE = new URL(sw.registration.scope).pathname; // '/terminal/'
const BUILTIN_CACHE = `xw-builtin-${__BUILD_ID__}`;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(BUILTIN_CACHE);
      const list = (await (await fetch(`${SCOPE}precache.json`, { cache: 'no-store' })).json()) as { files: string[] };
      await cache.addAll(list.files.map((file) => `${SCOPE}${file}`));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith('xw-builtin-') && name !== BUILTIN_CACHE) await caches.delete(name);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== sw.location.origin || !url.pathname.startsWith(SCOPE)) return;
  if (url.pathname === `${SCOPE}sw.js`) return;
  event.respondWith(serve(request, url.pathname.slice(SCOPE.length)));
});

async function serve(request: Request, path: string): Promise<Response> {
  const navigation = request.mode === 'navigate';
  try {
    const installed = await fromInstalledShell(path || 'index.html', navigation);
    if (installed) return installed;
  } catch {
    // Storage unreadable: the built-in shell still works.
  }
  return fromBuiltin(request, navigation);
}

async function fromInstalledShell(path: string, navigation: boolean): Promise<Response | null> {
  const state = readShellState(await getValue('kv', SHELL_STATE_KEY));
  let version: string | null;
  let watchdog = false;
  if (navigation) {
    const choice = chooseShell(state);
    if (choice.next !== state) await putValue('kv', choice.next, SHELL_STATE_KEY);
    version = choice.serve;
    watchdog = choice.watchdog;
  } else {
    version = state.pending?.version ?? state.active;
  }
  if (!version) return null;

  const bundle = await getValue<StoredBundle>('bundles', bundleKey(SHELL_APP, version));
  if (!bundle) {
    // The record names a version whose files are gone: fall back rather than show nothing.
    if (navigation) await putValue('kv', state.pending?.version === version ? revert(state, 'missing_files') : { ...state, active: null }, SHELL_STATE_KEY);
    return null;
  }
  const file = bundle.files[path] ?? (navigation ? bundle.files[bundle.entry] : undefined);
  if (!file) return null;
  const served = navigation && !(path in bundle.files) ? bundle.entry : path;
  let body: BodyInit = new Uint8Array(file);
  if (watchdog && served.endsWith('.html')) body = withWatchdog(new TextDecoder().decode(file));
  return new Response(body, { headers: { 'content-type': contentType(served), 'cache-control': 'no-store', 'x-xiaowei-shell': version } });
}

/**
 * A pending shell's page reloads itself if it has not confirmed within the watchdog time, so a
 * shell that dies before drawing anything still uses up its attempts and gets reverted.
 */
function withWatchdog(html: string): string {
  const script = `<script>setTimeout(function(){if(!window.__xwBooted)location.reload()},${BOOT_WATCHDOG_MS})</script>`;
  return html.includes('</head>') ? html.replace('</head>', `${script}</head>`) : script + html;
}

async function fromBuiltin(request: Request, navigation: boolean): Promise<Response> {
  const cache = await caches.open(BUILTIN_CACHE);
  if (navigation) {
    try {
      return await fetch(request);
    } catch {
      return (await cache.match(`${SCOPE}index.html`)) ?? Response.error();
    }
  }
  const cached = await cache.match(request);
  if (cached) return cached;
  return fetch(request);
}
