import type { Kysely } from 'kysely';
import { toSafeInt } from '../platform/int.js';
import { toApp, type App } from './apps.js';
import { compareVersions, maxVersion } from './apps-semver.js';
import type { AppsDb } from './apps-tables.js';
import { toVersion, type AppVersion } from './app-versions.js';
import { parseWindow, type Window } from './apps-window.js';

/**
 * Which apps a terminal may run, and which version of each. The rules (docs/terminal-protocol.md,
 * "App bundles"):
 * - Authorised apps are the union of the items of every set assigned to the terminal itself or
 *   to one of its groups. Nothing else authorises an app: not a rollout, not a report.
 * - Each item offers a version: its pinned one, or the app's latest approved. The set version of
 *   an app is the highest of its items' offers.
 * - A rollout reaches a terminal once the terminal's stage has started, and keeps reaching it
 *   while the rollout is running, paused, finished or cancelled (cancelling stops further
 *   stages; it does not take back what started stages received). A rolled-back rollout no
 *   longer reaches anyone.
 * - The version the terminal should run is the highest of the set version and the versions of
 *   the rollouts reaching it: rollouts only move terminals forward, a rollback removes the
 *   rollout's contribution, and a later pin or approval above it takes over.
 * - The terminal may download any version it is offered (set items or rollouts reaching it).
 */

/** Rollout states in which started stages keep their version. */
export const EFFECTIVE_ROLLOUT_STATES = ['running', 'paused', 'finished', 'cancelled'] as const;

export interface ReachingRollout {
  id: string;
  app_id: string;
  version_id: string;
  group_id: string | null;
  ignore_window: boolean;
  started_at: number;
}

export interface Resolution {
  app: App;
  /** The highest version the terminal's sets offer, or null when none resolves (nothing approved yet). */
  set_version: AppVersion | null;
  /** Every version some set item offers (pinned ones and the latest approved). */
  set_offers: AppVersion[];
  rollouts: { rollout: ReachingRollout; version: AppVersion }[];
  /** What the terminal should run. */
  target: AppVersion;
  /** The rollout that brings `target`, if one does (update reports are counted for it). */
  target_rollout: ReachingRollout | null;
}

const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Set ids reaching each terminal, directly or through its groups. */
export async function setsOfTerminals(db: Kysely<AppsDb>, terminalIds: readonly string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>(terminalIds.map((t) => [t, new Set<string>()]));
  for (const chunk of chunks(terminalIds)) {
    const direct = await db.selectFrom('app_set_assignments').select(['terminal_id', 'set_id']).where('terminal_id', 'in', chunk).execute();
    for (const r of direct) out.get(r.terminal_id!)?.add(r.set_id);
    const viaGroups = await db
      .selectFrom('terminal_group_members as m')
      .innerJoin('app_set_assignments as a', 'a.group_id', 'm.group_id')
      .select(['m.terminal_id', 'a.set_id'])
      .where('m.terminal_id', 'in', chunk)
      .execute();
    for (const r of viaGroups) out.get(r.terminal_id)?.add(r.set_id);
  }
  return out;
}

/** Rollouts reaching each terminal (its stage started, rollout effective), optionally for one app. */
export async function rolloutsReaching(db: Kysely<AppsDb>, terminalIds: readonly string[], appId?: string): Promise<Map<string, ReachingRollout[]>> {
  const out = new Map<string, ReachingRollout[]>();
  for (const chunk of chunks(terminalIds)) {
    let q = db
      .selectFrom('rollout_targets as t')
      .innerJoin('rollouts as r', 'r.id', 't.rollout_id')
      .select(['t.terminal_id', 'r.id', 'r.app_id', 'r.version_id', 'r.group_id', 'r.ignore_window', 'r.started_at'])
      .where('t.terminal_id', 'in', chunk)
      .where('r.state', 'in', [...EFFECTIVE_ROLLOUT_STATES])
      .whereRef('t.stage_no', '<=', 'r.current_stage');
    if (appId) q = q.where('r.app_id', '=', appId);
    for (const r of await q.execute()) {
      push(out, r.terminal_id, { id: r.id, app_id: r.app_id, version_id: r.version_id, group_id: r.group_id, ignore_window: toSafeInt(r.ignore_window) === 1, started_at: toSafeInt(r.started_at ?? 0) });
    }
  }
  return out;
}

/**
 * Resolves apps for many terminals at once (a terminal's app list, a rollout's targets, a
 * rollback's notices). `appId` narrows it to one app. Terminals with no app get an empty map.
 */
export async function resolveApps(db: Kysely<AppsDb>, terminalIds: readonly string[], appId?: string): Promise<Map<string, Map<string, Resolution>>> {
  const out = new Map<string, Map<string, Resolution>>(terminalIds.map((t) => [t, new Map()]));
  if (terminalIds.length === 0) return out;
  const sets = await setsOfTerminals(db, terminalIds);
  const setIds = [...new Set([...sets.values()].flatMap((s) => [...s]))];
  if (setIds.length === 0) return out;

  let itemQuery = db.selectFrom('app_set_items').select(['set_id', 'app_id', 'version_id']).where('set_id', 'in', setIds);
  if (appId) itemQuery = itemQuery.where('app_id', '=', appId);
  const items = await itemQuery.execute();
  if (items.length === 0) return out;
  const appIds = [...new Set(items.map((i) => i.app_id))];
  const apps = new Map((await db.selectFrom('apps').selectAll().where('id', 'in', appIds).execute()).map((r) => [r.id, toApp(r)]));
  const versions = (await db.selectFrom('app_versions').selectAll().where('app_id', 'in', appIds).execute()).map(toVersion);
  const byId = new Map(versions.map((v) => [v.id, v]));
  const latestApproved = new Map<string, AppVersion>();
  for (const id of appIds) {
    const best = maxVersion(versions.filter((v) => v.app_id === id && v.approved));
    if (best) latestApproved.set(id, best);
  }
  const itemsBySet = new Map<string, typeof items>();
  for (const item of items) push(itemsBySet, item.set_id, item);
  const reaching = await rolloutsReaching(db, terminalIds, appId);

  for (const terminalId of terminalIds) {
    const offers = new Map<string, AppVersion[]>();
    const authorised = new Set<string>();
    for (const setId of sets.get(terminalId) ?? []) {
      for (const item of itemsBySet.get(setId) ?? []) {
        authorised.add(item.app_id);
        const offer = item.version_id ? byId.get(item.version_id) : latestApproved.get(item.app_id);
        if (offer) push(offers, item.app_id, offer);
      }
    }
    const resolved = out.get(terminalId)!;
    for (const id of authorised) {
      const app = apps.get(id);
      if (!app) continue;
      const setOffers = offers.get(id) ?? [];
      const setVersion = maxVersion(setOffers) ?? null;
      const rollouts = (reaching.get(terminalId) ?? [])
        .filter((r) => r.app_id === id)
        .map((rollout) => ({ rollout, version: byId.get(rollout.version_id)! }))
        .filter((r) => r.version !== undefined);
      let target = setVersion;
      for (const r of rollouts) if (!target || compareVersions(r.version.version, target.version) > 0) target = r.version;
      if (!target) continue;
      // The newest-started rollout bringing the target version is the one reports count for.
      const bringing = rollouts.filter((r) => r.version.id === target.id).sort((a, b) => b.rollout.started_at - a.rollout.started_at)[0];
      resolved.set(id, { app, set_version: setVersion, set_offers: setOffers, rollouts, target, target_rollout: bringing?.rollout ?? null });
    }
  }
  return out;
}

/** Maintenance windows of each terminal's groups. */
export async function windowsOfTerminals(db: Kysely<AppsDb>, terminalIds: readonly string[]): Promise<Map<string, Window[]>> {
  const out = new Map<string, Window[]>();
  for (const chunk of chunks(terminalIds)) {
    const rows = await db
      .selectFrom('terminal_group_members as m')
      .innerJoin('terminal_groups as g', 'g.id', 'm.group_id')
      .select(['m.terminal_id', 'g.maintenance_window'])
      .where('m.terminal_id', 'in', chunk)
      .where('g.maintenance_window', 'is not', null)
      .execute();
    for (const r of rows) {
      const w = parseWindow(r.maintenance_window);
      if (w) push(out, r.terminal_id, w);
    }
  }
  return out;
}

export async function windowOfGroup(db: Kysely<AppsDb>, groupId: string): Promise<Window | null> {
  const g = await db.selectFrom('terminal_groups').select('maintenance_window').where('id', '=', groupId).executeTakeFirst();
  return parseWindow(g?.maintenance_window);
}
