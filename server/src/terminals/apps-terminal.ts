import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import type { AppsDb, Scenario } from './apps-tables.js';
import { resolveApps, windowOfGroup, windowsOfTerminals, type Resolution } from './apps-resolve.js';
import { earliestOpening, insideWindow, type Window } from './apps-window.js';
import type { BundleCache } from './app-versions.js';
import { downloadPath } from './rollouts.js';

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
): Promise<{ bytes: Buffer; digest: string; signature: string }> {
  const app = await db.selectFrom('apps').select('id').where('code', '=', appCode).executeTakeFirst();
  if (!app) throw new XiaoweiError('app_not_found');
  const res = (await resolveApps(db, [terminalId], app.id)).get(terminalId)?.get(app.id);
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
