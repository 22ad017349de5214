/**
 * Self-upgrade of apps and of the shell: report `downloading`, fetch the bundle, verify it
 * (core/bundle.ts), store it, switch, report `installed` — or refuse it, keep what runs, and
 * report `failed` with the reason. Reports travel through the outbox, so a report made offline
 * (or whose answer was lost) still arrives, once.
 *
 * Apps switch at once: the launcher opens the new version next time (an open app is reloaded).
 * The shell switches by becoming *pending* and reloading the page; the new shell confirms that it
 * started and reports `installed` itself (see core/shell-boot.ts).
 */
import { BundleError, verifyBundle, type BundleExpectation, type VerifiedBundle } from '../core/bundle';
import { getValue, request, transact } from '../core/idb';
import { bundleKey, type InstalledApp, type StoredBundle } from '../core/records';
import { SHELL_APP, SHELL_STATE_KEY, readShellState, switchShell } from '../core/shell-boot';

export interface UpdateTarget extends BundleExpectation {
  rolloutId: string | null;
  /** The `update_available` command that asked for it, acknowledged with the outcome. */
  commandId: string | null;
}

export type UpdateStatus = 'downloading' | 'installed' | 'failed';

export type InstallOutcome =
  | { kind: 'installed' }
  /** The shell is pending: the page must reload into it. */
  | { kind: 'switching' }
  | { kind: 'failed'; reason: string }
  /** Could not download now (no network, outside the maintenance window): try again later. */
  | { kind: 'deferred'; reason: string };

/** A download that got no bundle: `retry` means the condition passes (network, window), else final. */
export class DownloadError extends Error {
  constructor(
    readonly code: string,
    readonly retry: boolean,
  ) {
    super(code);
    this.name = 'DownloadError';
  }
}

export interface UpdaterDeps {
  signingKey(): Promise<CryptoKey>;
  download(app: string, version: string): Promise<Uint8Array>;
  /** Queues the update report (outbox). */
  report(target: UpdateTarget, status: UpdateStatus, detail: string | null): Promise<void>;
  /** Queues the acknowledgement of the command behind the update, with its outcome. */
  ack(commandId: string, result: Record<string, unknown>): Promise<void>;
  /** The version running now ('shell' included). */
  runningVersion(app: string): Promise<string | null>;
  onState(app: string, state: 'installing' | 'ready' | 'failed', detail: string | null): void;
  now(): number;
}

/** Failures remembered so a refused version is not fetched again and again from the apps list. */
const FAILURES_KEY = 'update-failures';

export class Updater {
  private readonly running = new Map<string, Promise<InstallOutcome>>();

  constructor(private readonly deps: UpdaterDeps) {}

  /** True when this exact version/digest was refused before (only a new command retries it). */
  async failedBefore(target: BundleExpectation): Promise<boolean> {
    const failures = (await getValue<Record<string, string>>('kv', FAILURES_KEY)) ?? {};
    return failures[bundleKey(target.app, target.version)] === target.digest;
  }

  /** One installation per app at a time; a second request for the same app joins the first. */
  install(target: UpdateTarget): Promise<InstallOutcome> {
    const current = this.running.get(target.app);
    if (current) return current;
    const job = this.run(target).finally(() => this.running.delete(target.app));
    this.running.set(target.app, job);
    return job;
  }

  private async run(target: UpdateTarget): Promise<InstallOutcome> {
    const { deps } = this;
    if ((await deps.runningVersion(target.app)) === target.version) {
      // Already there (e.g. a rollout of what this terminal installed from the apps list).
      await this.finish(target, 'installed', null);
      return { kind: 'installed' };
    }
    deps.onState(target.app, 'installing', null);
    await deps.report(target, 'downloading', null);

    let bytes: Uint8Array;
    try {
      bytes = await deps.download(target.app, target.version);
    } catch (error) {
      if (error instanceof DownloadError && !error.retry) return this.fail(target, error.code);
      const reason = error instanceof Error ? error.message : String(error);
      deps.onState(target.app, 'failed', reason);
      return { kind: 'deferred', reason };
    }

    let bundle: VerifiedBundle;
    try {
      bundle = await verifyBundle(bytes, target, await deps.signingKey());
    } catch (error) {
      return this.fail(target, error instanceof BundleError ? error.code : 'verify_error');
    }

    try {
      if (target.app === SHELL_APP) {
        await this.storeShell(bundle, target);
        deps.onState(target.app, 'ready', null);
        return { kind: 'switching' };
      }
      await this.storeApp(bundle);
    } catch (error) {
      return this.fail(target, `storage_failed: ${error instanceof Error ? error.name : String(error)}`.slice(0, 100));
    }
    await this.finish(target, 'installed', null);
    return { kind: 'installed' };
  }

  /** Remembers that this version/digest was refused. */
  async markFailed(app: string, version: string, digest: string): Promise<void> {
    await transact(['kv'], 'readwrite', async (tx) => {
      const store = tx.objectStore('kv');
      const failures = ((await request(store.get(FAILURES_KEY))) as Record<string, string> | undefined) ?? {};
      failures[bundleKey(app, version)] = digest;
      await request(store.put(failures, FAILURES_KEY));
    });
  }

  private async fail(target: UpdateTarget, reason: string): Promise<InstallOutcome> {
    await this.markFailed(target.app, target.version, target.digest);
    await this.finish(target, 'failed', reason);
    return { kind: 'failed', reason };
  }

  private async finish(target: UpdateTarget, status: 'installed' | 'failed', detail: string | null): Promise<void> {
    this.deps.onState(target.app, status === 'installed' ? 'ready' : 'failed', detail);
    await this.deps.report(target, status, detail);
    if (target.commandId) await this.deps.ack(target.commandId, { status, app: target.app, version: target.version, ...(detail ? { detail } : {}) });
  }

  private stored(bundle: VerifiedBundle): StoredBundle {
    return { key: bundleKey(bundle.app, bundle.version), app: bundle.app, version: bundle.version, digest: bundle.digest, entry: bundle.entry, files: bundle.files, storedAt: this.deps.now() };
  }

  /** Stores the bundle and makes it the app's version in one transaction; keeps the previous one, drops older. */
  private async storeApp(bundle: VerifiedBundle): Promise<void> {
    await transact(['bundles', 'installed'], 'readwrite', async (tx) => {
      const installed = tx.objectStore('installed');
      const bundles = tx.objectStore('bundles');
      const before = (await request(installed.get(bundle.app))) as InstalledApp | undefined;
      const previous = before && before.version !== bundle.version ? before.version : (before?.previous ?? null);
      await request(bundles.put(this.stored(bundle)));
      const record: InstalledApp = { app: bundle.app, version: bundle.version, digest: bundle.digest, installedAt: this.deps.now(), previous };
      await request(installed.put(record));
      await this.prune(bundles, bundle.app, new Set([bundle.version, previous ?? '']));
    });
  }

  /** Stores the shell bundle and marks it pending; the page reload then runs it. */
  private async storeShell(bundle: VerifiedBundle, target: UpdateTarget): Promise<void> {
    await transact(['bundles', 'kv'], 'readwrite', async (tx) => {
      const kv = tx.objectStore('kv');
      const bundles = tx.objectStore('bundles');
      const state = readShellState(await request(kv.get(SHELL_STATE_KEY)));
      await request(bundles.put(this.stored(bundle)));
      const next = switchShell(state, { version: bundle.version, digest: bundle.digest, rolloutId: target.rolloutId, commandId: target.commandId });
      await request(kv.put(next, SHELL_STATE_KEY));
      await this.prune(bundles, SHELL_APP, new Set([bundle.version, state.active ?? '', next.pending?.previous ?? '']));
    });
  }

  private async prune(bundles: IDBObjectStore, app: string, keep: ReadonlySet<string>): Promise<void> {
    const keys = (await request(bundles.getAllKeys())) as string[];
    for (const key of keys) {
      const [code, version] = key.split('@') as [string, string];
      if (code === app && !keep.has(version)) await request(bundles.delete(key));
    }
  }
}
