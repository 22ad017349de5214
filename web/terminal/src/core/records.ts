/** Records the shell and the service worker keep in IndexedDB (see idb.ts for the stores). */

/** A verified bundle, files decoded (`bundles` store). */
export interface StoredBundle {
  key: string;
  app: string;
  version: string;
  digest: string;
  entry: string;
  files: Record<string, Uint8Array>;
  storedAt: number;
}

/** The version an app runs on this terminal (`installed` store); the shell's own is in shell-boot.ts. */
export interface InstalledApp {
  app: string;
  version: string;
  digest: string;
  installedAt: number;
  /** The version it replaced, kept stored until the next switch, so a switch can be undone. */
  previous: string | null;
}

export function bundleKey(app: string, version: string): string {
  return `${app}@${version}`;
}
