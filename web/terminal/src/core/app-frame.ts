/**
 * Turns a stored app bundle into the one HTML document its sandboxed frame shows (srcdoc).
 *
 * Why not serve app files by URL through the service worker: a frame sandboxed without
 * `allow-same-origin` — the only way to keep an app away from the shell's storage and keys — is
 * not controlled by any service worker, and giving it the shell's origin would hand it
 * everything. So the shell builds the page itself: the bundle's scripts and stylesheets become
 * data: URLs, and a Content-Security-Policy forbids every connection, so an app can neither load
 * code from elsewhere nor send data anywhere except, through postMessage, to the shell.
 *
 * The rule for app bundles this implies: one HTML entry whose scripts, stylesheets and images are
 * files of the bundle (or inlined); the build in build/plugin.ts produces exactly that.
 */
import { toBase64 } from './encoding';
import { contentType } from './mime';

export const APP_FRAME_CSP = [
  "default-src 'none'",
  "script-src data: 'unsafe-inline'",
  "style-src data: 'unsafe-inline'",
  'img-src data: blob:',
  'font-src data:',
  'media-src data: blob:',
  "connect-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join('; ');

export interface AppFiles {
  entry: string;
  files: Record<string, Uint8Array>;
}

/** Resolves `ref` (as written in the entry page) to a bundle path; null for anything outside it. */
export function resolveBundlePath(entry: string, ref: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) || ref.startsWith('//')) return null;
  const clean = ref.split(/[?#]/)[0] ?? '';
  const base = entry.includes('/') ? entry.slice(0, entry.lastIndexOf('/') + 1) : '';
  const parts: string[] = [];
  for (const segment of (clean.startsWith('/') ? clean.slice(1) : base + clean).split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else {
      parts.push(segment);
    }
  }
  return parts.join('/');
}

function dataUrl(path: string, bytes: Uint8Array): string {
  return `data:${contentType(path).split(';')[0]};base64,${toBase64(bytes)}`;
}

/** The entry page with its files inlined and the CSP first in <head>. Needs DOMParser (the shell page). */
export function buildAppDocument(bundle: AppFiles): string {
  const entry = bundle.files[bundle.entry];
  if (!entry) throw new Error(`entry ${bundle.entry} missing`);
  const doc = new DOMParser().parseFromString(new TextDecoder().decode(entry), 'text/html');

  const inline = (element: Element, attribute: string): void => {
    const ref = element.getAttribute(attribute);
    if (ref === null) return;
    const path = resolveBundlePath(bundle.entry, ref);
    const bytes = path === null ? undefined : bundle.files[path];
    if (bytes) element.setAttribute(attribute, dataUrl(path!, bytes));
    // Anything not in the bundle would be blocked by the CSP anyway; drop it so nothing even tries.
    else if (!ref.startsWith('data:')) element.removeAttribute(attribute);
  };
  doc.querySelectorAll('script[src]').forEach((el) => inline(el, 'src'));
  doc.querySelectorAll('link[href]').forEach((el) => {
    const rel = (el.getAttribute('rel') ?? '').toLowerCase();
    if (rel === 'stylesheet' || rel === 'icon') inline(el, 'href');
    else el.remove(); // preload, manifest, …: nothing to fetch in a frame without network
  });
  doc.querySelectorAll('img[src]').forEach((el) => inline(el, 'src'));
  doc.querySelectorAll('base, meta[http-equiv]').forEach((el) => el.remove());

  const csp = doc.createElement('meta');
  csp.setAttribute('http-equiv', 'Content-Security-Policy');
  csp.setAttribute('content', APP_FRAME_CSP);
  doc.head.prepend(csp);
  return `<!doctype html>\n${doc.documentElement.outerHTML}`;
}
