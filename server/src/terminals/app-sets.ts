import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import type { AppsDb, Scenario } from './apps-tables.js';

/**
 * Scenario app sets: which apps (and which version of each: pinned, or the latest approved)
 * terminals of a scenario run. A set is assigned to terminals and/or terminal groups; a
 * terminal's authorised apps are the union of the sets reaching it either way (apps-resolve.ts).
 */

export const APP_SET_CODE_PATTERN = '^[a-z][a-z0-9_]{1,39}$';
const APP_SET_CODE_RE = new RegExp(APP_SET_CODE_PATTERN);

export interface AppSetItem {
  app_id: string;
  app_code: string;
  /** The pinned version, or null for the app's latest approved version. */
  version: string | null;
  updated_at: number;
}

export interface AppSetAssignment {
  id: string;
  set_id: string;
  terminal_id: string | null;
  group_id: string | null;
  created_by: string;
  created_at: number;
}

export interface AppSet {
  id: string;
  code: string;
  name_zh: string;
  name_en: string;
  scenario: Scenario;
  created_at: number;
  items: AppSetItem[];
  assignment_count: number;
}

export interface NewAppSet {
  code: string;
  name_zh: string;
  name_en: string;
  scenario: Scenario;
}

async function itemsOf(db: Kysely<AppsDb>, setIds: readonly string[]): Promise<Map<string, AppSetItem[]>> {
  const out = new Map<string, AppSetItem[]>(setIds.map((id) => [id, []]));
  if (setIds.length === 0) return out;
  const rows = await db
    .selectFrom('app_set_items as i')
    .innerJoin('apps as a', 'a.id', 'i.app_id')
    .leftJoin('app_versions as v', 'v.id', 'i.version_id')
    .select(['i.set_id', 'i.app_id', 'a.code', 'v.version', 'i.updated_at'])
    .where('i.set_id', 'in', setIds)
    .orderBy('a.code')
    .execute();
  for (const r of rows) out.get(r.set_id)?.push({ app_id: r.app_id, app_code: r.code, version: r.version ?? null, updated_at: toSafeInt(r.updated_at) });
  return out;
}

async function withDetails(db: Kysely<AppsDb>, rows: AppsDb['app_sets'][]): Promise<AppSet[]> {
  const ids = rows.map((r) => r.id);
  const items = await itemsOf(db, ids);
  const counts = ids.length === 0 ? [] : await db.selectFrom('app_set_assignments').select(['set_id', (eb) => eb.fn.countAll<number>().as('n')]).where('set_id', 'in', ids).groupBy('set_id').execute();
  return rows.map((r) => ({
    ...r,
    scenario: r.scenario as Scenario,
    created_at: toSafeInt(r.created_at),
    items: items.get(r.id) ?? [],
    assignment_count: toSafeInt(counts.find((c) => c.set_id === r.id)?.n ?? 0),
  }));
}

export async function listAppSets(db: Kysely<AppsDb>): Promise<AppSet[]> {
  return withDetails(db, await db.selectFrom('app_sets').selectAll().orderBy('code').execute());
}

export async function getAppSet(db: Kysely<AppsDb>, id: string): Promise<AppSet | undefined> {
  const row = await db.selectFrom('app_sets').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await withDetails(db, [row]))[0] : undefined;
}

export async function getAppSetByCode(db: Kysely<AppsDb>, code: string): Promise<AppSet | undefined> {
  const row = await db.selectFrom('app_sets').selectAll().where('code', '=', code).executeTakeFirst();
  return row ? (await withDetails(db, [row]))[0] : undefined;
}

export async function requireAppSet(db: Kysely<AppsDb>, id: string): Promise<AppSet> {
  const set = await getAppSet(db, id);
  if (!set) throw new XiaoweiError('app_set_not_found');
  return set;
}

export async function createAppSet(db: Kysely<AppsDb>, input: NewAppSet, now: number): Promise<AppSet> {
  if (!APP_SET_CODE_RE.test(input.code)) throw new XiaoweiError('validation_failed', `code must match ${APP_SET_CODE_PATTERN}`);
  const row = { id: newId(), code: input.code, name_zh: input.name_zh, name_en: input.name_en, scenario: input.scenario, created_at: now };
  const inserted = await db.insertInto('app_sets').values(row).onConflict((oc) => oc.column('code').doNothing()).returning('id').executeTakeFirst();
  if (!inserted) throw new XiaoweiError('app_set_exists', input.code);
  return (await getAppSet(db, row.id))!;
}

/**
 * Puts an app into a set, or changes its version: `versionId` pins one, null follows the app's
 * latest approved version.
 */
export async function setAppSetItem(db: Kysely<AppsDb>, setId: string, appId: string, versionId: string | null, now: number): Promise<AppSet> {
  await requireAppSet(db, setId);
  const app = await db.selectFrom('apps').select('id').where('id', '=', appId).executeTakeFirst();
  if (!app) throw new XiaoweiError('app_not_found');
  if (versionId !== null) {
    const v = await db.selectFrom('app_versions').select('app_id').where('id', '=', versionId).executeTakeFirst();
    if (!v || v.app_id !== appId) throw new XiaoweiError('app_version_not_found');
  }
  await db
    .insertInto('app_set_items')
    .values({ set_id: setId, app_id: appId, version_id: versionId, updated_at: now })
    .onConflict((oc) => oc.columns(['set_id', 'app_id']).doUpdateSet({ version_id: versionId, updated_at: now }))
    .execute();
  return (await getAppSet(db, setId))!;
}

export async function removeAppSetItem(db: Kysely<AppsDb>, setId: string, appId: string): Promise<AppSet> {
  await requireAppSet(db, setId);
  const result = await db.deleteFrom('app_set_items').where('set_id', '=', setId).where('app_id', '=', appId).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw new XiaoweiError('app_not_found');
  return (await getAppSet(db, setId))!;
}

function toAssignment(r: AppsDb['app_set_assignments']): AppSetAssignment {
  return { ...r, created_at: toSafeInt(r.created_at) };
}

export async function listAssignments(db: Kysely<AppsDb>, setId: string): Promise<AppSetAssignment[]> {
  const rows = await db.selectFrom('app_set_assignments').selectAll().where('set_id', '=', setId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toAssignment);
}

/**
 * Assigns a set to one terminal or one group (the caller has checked that it exists and is in
 * the actor's scope). Assigning twice answers the first assignment.
 */
export async function assignAppSet(
  db: Kysely<AppsDb>,
  setId: string,
  target: { terminal_id: string; group_id?: undefined } | { group_id: string; terminal_id?: undefined },
  by: string,
  now: number,
): Promise<{ assignment: AppSetAssignment; created: boolean }> {
  await requireAppSet(db, setId);
  const row = { id: newId(), set_id: setId, terminal_id: target.terminal_id ?? null, group_id: target.group_id ?? null, created_by: by, created_at: now };
  const inserted = await db.insertInto('app_set_assignments').values(row).onConflict((oc) => oc.doNothing()).returning('id').executeTakeFirst();
  if (inserted) return { assignment: toAssignment(row), created: true };
  let q = db.selectFrom('app_set_assignments').selectAll().where('set_id', '=', setId);
  q = target.terminal_id !== undefined ? q.where('terminal_id', '=', target.terminal_id) : q.where('group_id', '=', target.group_id);
  return { assignment: toAssignment(await q.executeTakeFirstOrThrow()), created: false };
}

export async function getAssignment(db: Kysely<AppsDb>, setId: string, assignmentId: string): Promise<AppSetAssignment | undefined> {
  const r = await db.selectFrom('app_set_assignments').selectAll().where('set_id', '=', setId).where('id', '=', assignmentId).executeTakeFirst();
  return r ? toAssignment(r) : undefined;
}

export async function unassignAppSet(db: Kysely<AppsDb>, setId: string, assignmentId: string): Promise<void> {
  await db.deleteFrom('app_set_assignments').where('set_id', '=', setId).where('id', '=', assignmentId).execute();
}
