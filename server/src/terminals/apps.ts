import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import { maxVersion } from './apps-semver.js';
import type { AppsDb, Scenario } from './apps-tables.js';

/**
 * The app catalogue: one row per app (cashier, produce buying, …), bank-wide. Versions and their
 * signed bundles are in app-versions.ts and bundles.ts.
 */

/** App codes name bundles, paths and commands: short, lower case, URL-safe. */
export const APP_CODE_PATTERN = '^[a-z][a-z0-9-]{1,31}$';
const APP_CODE_RE = new RegExp(APP_CODE_PATTERN);

export function isAppCode(value: string): boolean {
  return APP_CODE_RE.test(value);
}

export interface App {
  id: string;
  code: string;
  name_zh: string;
  name_en: string;
  scenario: Scenario;
  description_zh: string | null;
  description_en: string | null;
  created_at: number;
}

export interface AppSummary extends App {
  latest_version: string | null;
  latest_approved_version: string | null;
  version_count: number;
}

export interface NewApp {
  code: string;
  name_zh: string;
  name_en: string;
  scenario: Scenario;
  description_zh?: string | null;
  description_en?: string | null;
}

export function toApp(r: AppsDb['apps']): App {
  return { ...r, scenario: r.scenario as Scenario, created_at: toSafeInt(r.created_at) };
}

export async function createApp(db: Kysely<AppsDb>, input: NewApp, now: number): Promise<App> {
  if (!isAppCode(input.code)) throw new XiaoweiError('validation_failed', `app code must match ${APP_CODE_PATTERN}`);
  const row = {
    id: newId(),
    code: input.code,
    name_zh: input.name_zh,
    name_en: input.name_en,
    scenario: input.scenario,
    description_zh: input.description_zh ?? null,
    description_en: input.description_en ?? null,
    created_at: now,
  };
  // The unique code decides between concurrent creators (also across processes).
  const inserted = await db.insertInto('apps').values(row).onConflict((oc) => oc.column('code').doNothing()).returning('id').executeTakeFirst();
  if (!inserted) throw new XiaoweiError('app_exists', input.code);
  return toApp(row);
}

export async function getApp(db: Kysely<AppsDb>, id: string): Promise<App | undefined> {
  const r = await db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toApp(r) : undefined;
}

export async function getAppByCode(db: Kysely<AppsDb>, code: string): Promise<App | undefined> {
  const r = await db.selectFrom('apps').selectAll().where('code', '=', code).executeTakeFirst();
  return r ? toApp(r) : undefined;
}

export async function requireApp(db: Kysely<AppsDb>, id: string): Promise<App> {
  const app = await getApp(db, id);
  if (!app) throw new XiaoweiError('app_not_found');
  return app;
}

/** The whole catalogue (tens of apps, not thousands) with each app's newest versions. */
export async function listApps(db: Kysely<AppsDb>, q: { scenario?: Scenario | undefined } = {}): Promise<AppSummary[]> {
  let query = db.selectFrom('apps').selectAll().orderBy('code');
  if (q.scenario) query = query.where('scenario', '=', q.scenario);
  const apps = (await query.execute()).map(toApp);
  if (apps.length === 0) return [];
  const versions = await db
    .selectFrom('app_versions')
    .select(['app_id', 'version', 'approved_at'])
    .where('app_id', 'in', apps.map((a) => a.id))
    .execute();
  return apps.map((app) => {
    const own = versions.filter((v) => v.app_id === app.id);
    return {
      ...app,
      latest_version: maxVersion(own)?.version ?? null,
      latest_approved_version: maxVersion(own.filter((v) => v.approved_at !== null))?.version ?? null,
      version_count: own.length,
    };
  });
}
