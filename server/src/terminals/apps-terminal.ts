import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import type { AppsDb, Scenario } from './apps-tables.js';
import { resolveApps, windowOfGroup, windowsOfTerminals, type Resolution } from './apps-resolve.js';
import { earliestOpening, insideWindow, type Window } from './apps-window.js';
import type { BundleCache } from './app-versions.js';
import { downloadPath } from './rollouts.js';
import { TickBatcher } from './terminal-auth-batch.js';

/** What the terminal app needs to install or upgrade one authorised app (camelCase: terminal API). */
export interface TerminalApp {
  code: string;
  nameZh: string;
  nameEn: string;
  scenario: Scenario;
  version: string;
  entry: string;
  digest: string;
  signature: string;
  size: number;
  minShellVersion: string | null;
  releaseNotesZh: string | null;
  releaseNotesEn: string | null;
  downloadPath: string;
  /** The rollout bringing this version, if any: send it back with update reports. */
  rolloutId: string | null;
}

function toTerminalApp(r: Resolution): TerminalApp {
  const v = r.target;
  return {
    code: r.app.code,
    nameZh: r.app.name_zh,
    nameEn: r.app.name_en,
    scenario: r.app.scenario,
    version: v.version,
    entry: v.entry,
    digest: v.digest,
    signature: v.signature,
    size: v.size,
    minShellVersion: v.min_shell_version,
    releaseNotesZh: v.release_notes_zh,
    releaseNotesEn: v.release_notes_en,
    downloadPath: downloadPath(r.app.code, v.version),
    rolloutId: r.target_rollout?.id ?? null,
  };
}

/** The terminal's authorised apps, each with the version it should run, by app code. */
export async function listTerminalApps(db: Kysely<AppsDb>, terminalId: string): Promise<TerminalApp[]> {
  const resolved = (await resolveApps(db, [terminalId])).get(terminalId)!;
  return [...resolved.values()].map(toTerminalApp).sort((a, b) => (a.code < b.code ? -1 : 1));
}

export interface TerminalBundle {
  bytes: Buffer;
  digest: string;
  signature: string;
}

export interface BundleRequest {
  terminalId: string;
  appCode: string;
  version: string;
}

/**
 * The bundle bytes of an app version the terminal is offered, or `app_not_found` for anything
 * else — an unauthorised app, an unknown one and a version it is not offered look the same, so a
 * terminal learns nothing about apps it may not have.
 *
 * Maintenance windows hold downloads that a rollout brings (the update notices of its stages):
 * outside every window of the rollout's group (or of the terminal's groups, for a rollout to
 * chosen terminals) the answer is `app_outside_maintenance_window` with the next opening. A
 * version the terminal's sets offer is never held — it is what the terminal needs to work at all
 * (first installation, rollback) — and neither is one from a rollout that ignores windows.
 */
export async function fetchTerminalBundle(
  db: Kysely<AppsDb>,
  cache: BundleCache,
  terminalId: string,
  appCode: string,
  version: string,
  now: number,
): Promise<TerminalBundle> {
  const [result] = await fetchTerminalBundles(db, cache, [{ terminalId, appCode, version }], now);
  if (!result) throw new XiaoweiError('app_not_found');
  if ('error' in result) throw asError(result.error);
  return result.ok;
}

/**
 * `fetchTerminalBundle` for many downloads at once (`BundleFetcher`): the apps and each app's
 * resolution for all the terminals asking are read once, not once per download. One answer per
 * request, in order: the bundle, or the error that request alone gets.
 */
export async function fetchTerminalBundles(
  db: Kysely<AppsDb>,
  cache: BundleCache,
  requests: readonly BundleRequest[],
  now: number,
): Promise<({ ok: TerminalBundle } | { error: unknown })[]> {
  const codes = [...new Set(requests.map((r) => r.appCode))];
  const apps = new Map((await db.selectFrom('apps').select(['id', 'code']).where('code', 'in', codes).execute()).map((a) => [a.code, a.id]));
  const resolutions = new Map<string, Map<string, Map<string, Resolution>>>();
  for (const appId of new Set(apps.values())) {
    const terminals = [...new Set(requests.filter((r) => apps.get(r.appCode) === appId).map((r) => r.terminalId))];
    resolutions.set(appId, await resolveApps(db, terminals, appId));
  }
  const out: ({ ok: TerminalBundle } | { error: unknown })[] = [];
  for (const r of requests) {
    try {
      const appId = apps.get(r.appCode);
      const res = appId === undefined ? undefined : resolutions.get(appId)?.get(r.terminalId)?.get(appId);
      out.push({ ok: await offeredBundle(db, cache, r.terminalId, res, r.version, now) });
    } catch (error) {
      out.push({ error });
    }
  }
  return out;
}

async function offeredBundle(db: Kysely<AppsDb>, cache: BundleCache, terminalId: string, res: Resolution | undefined, version: string, now: number): Promise<TerminalBundle> {
  if (!res) throw new XiaoweiError('app_not_found');
  const fromSet = res.set_offers.find((v) => v.version === version);
  const fromRollouts = res.rollouts.filter((r) => r.version.version === version);
  const offered = fromSet ?? fromRollouts[0]?.version;
  if (!offered) throw new XiaoweiError('app_not_found');

  if (!fromSet && !fromRollouts.some((r) => r.rollout.ignore_window)) {
    const windows: Window[] = [];
    let terminalWindows: Window[] | undefined;
    for (const { rollout } of fromRollouts) {
      if (rollout.group_id) {
        const w = await windowOfGroup(db, rollout.group_id);
        if (w) windows.push(w);
      } else {
        terminalWindows ??= (await windowsOfTerminals(db, [terminalId])).get(terminalId) ?? [];
        windows.push(...terminalWindows);
      }
    }
    if (windows.length > 0 && !windows.some((w) => insideWindow(w, now))) {
      const texts = [...new Set(windows.map((w) => w.text))];
      // Terminal-facing times are milliseconds (docs/terminal-protocol.md §1).
      const opening = earliestOpening(windows, now);
      throw new XiaoweiError('app_outside_maintenance_window', texts.join(', '), { windows: texts, notBefore: opening === null ? null : Math.floor(opening / 1000) });
    }
  }

  const bytes = await cache.get(db, offered.id);
  if (!bytes) throw new XiaoweiError('app_not_found');
  return { bytes, digest: offered.digest, signature: offered.signature };
}

/** What one request of a group failed with, as thrown (always an Error: XiaoweiError or the database's). */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Least time between the starts of two groups of bundle downloads (per process). */
export const DOWNLOAD_GROUP_INTERVAL_MS = 50;

/**
 * Bundle downloads group-resolved: a rollout's terminals download by the dozen a second, and each
 * download alone read the app, its sets, versions and rollouts — seven queries. Here the downloads
 * that arrive within DOWNLOAD_GROUP_INTERVAL_MS share those reads (`fetchTerminalBundles`).
 */
export class BundleFetcher {
  private readonly batcher: TickBatcher<BundleRequest, { ok: TerminalBundle } | { error: unknown }>;

  constructor(db: Kysely<AppsDb>, cache: BundleCache, now: () => number) {
    this.batcher = new TickBatcher({
      run: (items) => fetchTerminalBundles(db, cache, items, now()),
      maxBatch: 1000,
      maxQueue: 100_000,
      minIntervalMs: DOWNLOAD_GROUP_INTERVAL_MS,
    });
  }

  async fetch(request: BundleRequest): Promise<TerminalBundle> {
    const result = await this.batcher.submit(request);
    if ('error' in result) throw asError(result.error);
    return result.ok;
  }

  drain(): Promise<void> {
    return this.batcher.drain();
  }
}
