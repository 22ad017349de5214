import { sql, type Kysely } from 'kysely';
import { subtreeOf } from '../identity/organisations.js';
import type { IdentityTables } from '../identity/tables.js';
import type { Dialect } from '../platform/db/database.js';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import type { CommandQueue } from './contracts.js';
import { staffHasOrg, type FleetScope } from './fleet-access.js';
import type { FleetTables } from './fleet-tables.js';
import { isValidMaintenanceWindow } from './fleet-window.js';
import { normaliseSerial } from './fleet.js';
import {
  checkParams,
  loadParamStates,
  lockParamChanges,
  readParams,
  settleParamChange,
  writeParams,
  type ParamTarget,
  type TerminalParams,
} from './params.js';

/**
 * Terminal groups: an organisation's named sets of terminals (a branch's tablets, the buyers of
 * one co-operative) that share parameters and a maintenance window. A group belongs to an
 * organisation and may hold any terminal of that organisation's subtree.
 */
export interface GroupView {
  id: string;
  org_id: string;
  name: string;
  params: TerminalParams;
  maintenance_window: string | null;
  member_count: number;
  created_at: number;
}

/** Most terminals one membership request may name. */
export const MEMBERS_PER_REQUEST = 5_000;

type GroupRow = FleetTables['terminal_groups'];

function toGroupView(r: GroupRow & { member_count: unknown }): GroupView {
  return {
    id: r.id,
    org_id: r.org_id,
    name: r.name,
    params: readParams(r.params),
    maintenance_window: r.maintenance_window,
    member_count: toSafeInt(r.member_count),
    created_at: toSafeInt(r.created_at),
  };
}

function groupsWithCount(db: Kysely<FleetTables>) {
  return db
    .selectFrom('terminal_groups as g')
    .selectAll('g')
    .select((eb) =>
      eb.selectFrom('terminal_group_members as m').select(eb.fn.countAll().as('n')).whereRef('m.group_id', '=', 'g.id').as('member_count'),
    );
}

function checkWindow(window: string | null | undefined): void {
  if (window != null && !isValidMaintenanceWindow(window)) {
    throw new XiaoweiError('validation_failed', "maintenance_window must be 'HH:MM-HH:MM' with different start and end");
  }
}

export interface NewGroup {
  org_id: string;
  name: string;
  params?: TerminalParams;
  maintenance_window?: string | null;
}

export async function createGroup(db: Kysely<FleetTables>, actor: Actor, input: NewGroup, now: number): Promise<GroupView> {
  if (!(await staffHasOrg(db, actor, input.org_id))) throw new XiaoweiError('forbidden');
  checkWindow(input.maintenance_window);
  const params = checkParams(input.params ?? {});
  const name = input.name.trim();
  if (name === '') throw new XiaoweiError('validation_failed', 'name must not be blank');
  const row: GroupRow = {
    id: newId(),
    org_id: input.org_id,
    name,
    params: writeParams(params),
    maintenance_window: input.maintenance_window ?? null,
    created_at: now,
  };
  const inserted = await db
    .insertInto('terminal_groups')
    .values(row)
    .onConflict((oc) => oc.columns(['org_id', 'name']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) throw new XiaoweiError('terminal_group_name_exists', name);
  return toGroupView({ ...row, member_count: 0 });
}

/** The group if the actor (staff) may see it; `not_found` otherwise. */
export async function visibleGroup(db: Kysely<FleetTables>, actor: Actor, id: string): Promise<GroupView> {
  const row = await groupsWithCount(db).where('g.id', '=', id).executeTakeFirst();
  if (!row || !(await staffHasOrg(db, actor, row.org_id))) throw new XiaoweiError('not_found');
  return toGroupView(row);
}

export interface GroupQuery {
  org_id?: string;
  search?: string;
  limit?: number;
  offset?: number;
}

export async function listGroups(
  db: Kysely<FleetTables>,
  scope: FleetScope,
  q: GroupQuery,
): Promise<{ items: GroupView[]; total: number }> {
  // Groups are a staff tool: a merchant-side user sees none.
  if (scope.kind !== 'staff' || scope.orgIds.length === 0) return { items: [], total: 0 };
  let base = db.selectFrom('terminal_groups as g').where('g.org_id', 'in', scope.orgIds);
  if (q.org_id) base = base.where('g.org_id', '=', q.org_id);
  if (q.search) base = base.where(sql<boolean>`g.name like ${`%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`);
  const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .selectAll('g')
    .select((eb) =>
      eb.selectFrom('terminal_group_members as m').select(eb.fn.countAll().as('n')).whereRef('m.group_id', '=', 'g.id').as('member_count'),
    )
    .orderBy('g.name')
    .orderBy('g.id')
    .limit(Math.min(q.limit ?? 50, 500))
    .offset(q.offset ?? 0)
    .execute();
  return { items: rows.map(toGroupView), total: toSafeInt(total.n) };
}

/** Renames a group and/or sets its maintenance window (null = any time). */
export async function updateGroup(
  db: Kysely<FleetTables>,
  actor: Actor,
  id: string,
  patch: { name?: string; maintenance_window?: string | null },
): Promise<GroupView> {
  const group = await visibleGroup(db, actor, id);
  checkWindow(patch.maintenance_window);
  const name = patch.name === undefined ? group.name : patch.name.trim();
  if (name === '') throw new XiaoweiError('validation_failed', 'name must not be blank');
  if (name !== group.name) {
    const clash = await db
      .selectFrom('terminal_groups')
      .select('id')
      .where('org_id', '=', group.org_id)
      .where('name', '=', name)
      .executeTakeFirst();
    if (clash) throw new XiaoweiError('terminal_group_name_exists', name);
  }
  try {
    await db
      .updateTable('terminal_groups')
      .set({ name, maintenance_window: patch.maintenance_window === undefined ? group.maintenance_window : patch.maintenance_window })
      .where('id', '=', id)
      .execute();
  } catch (error) {
    // The unique index (org_id, name) caught a concurrent rename to the same name.
    const clash = await db
      .selectFrom('terminal_groups')
      .select('id')
      .where('org_id', '=', group.org_id)
      .where('name', '=', name)
      .where('id', '<>', id)
      .executeTakeFirst();
    if (clash) throw new XiaoweiError('terminal_group_name_exists', name);
    throw error;
  }
  return visibleGroup(db, actor, id);
}

export interface ParamChangeOutcome {
  /** Terminals whose effective parameters changed (each active or locked one got a `parameters` command). */
  changed_terminals: number;
}

/**
 * Replaces the group's own parameter set and tells every member whose effective set changed.
 * `params` must already have passed checkParams (the route schema) and is checked again here.
 */
export async function setGroupParams(
  db: Kysely<FleetTables>,
  dialect: Dialect,
  commands: CommandQueue,
  groupId: string,
  params: TerminalParams,
  now: number,
): Promise<ParamChangeOutcome> {
  const checked = checkParams(params);
  return db.transaction().execute(async (trx) => {
    await lockParamChanges(trx, dialect);
    const target: ParamTarget = { groupId };
    const before = await loadParamStates(trx, target);
    await trx
      .updateTable('terminal_groups')
      .set({ params: writeParams(checked) })
      .where('id', '=', groupId)
      .execute();
    const changed = await settleParamChange(trx, commands, before, target, now);
    return { changed_terminals: changed.length };
  });
}

/** Replaces a terminal's own parameter set (what it overrides of its groups and the defaults). */
export async function setTerminalParams(
  db: Kysely<FleetTables>,
  dialect: Dialect,
  commands: CommandQueue,
  terminalId: string,
  params: TerminalParams,
  now: number,
): Promise<ParamChangeOutcome> {
  const checked = checkParams(params);
  return db.transaction().execute(async (trx) => {
    await lockParamChanges(trx, dialect);
    const target: ParamTarget = { ids: [terminalId] };
    const before = await loadParamStates(trx, target);
    const state = before.get(terminalId);
    if (!state) throw new XiaoweiError('not_found');
    if (state.status === 'retired') throw new XiaoweiError('terminal_status_conflict', state.status);
    await trx
      .updateTable('terminals')
      .set({ params: writeParams(checked) })
      .where('id', '=', terminalId)
      .execute();
    const changed = await settleParamChange(trx, commands, before, target, now);
    return { changed_terminals: changed.length };
  });
}

export interface MemberSelection {
  terminal_ids?: readonly string[];
  serials?: readonly string[];
}

const CHUNK = 500;

/**
 * The ids of the named terminals, all visible to the actor and inside the group's organisation
 * subtree; otherwise `terminal_group_member_invalid` naming the first few that are not.
 */
async function resolveMembers(db: Kysely<FleetTables>, actor: Actor, group: GroupView, selection: MemberSelection): Promise<string[]> {
  const ids = [...new Set(selection.terminal_ids ?? [])];
  const serials = [...new Set((selection.serials ?? []).map(normaliseSerial))];
  if (ids.length + serials.length > MEMBERS_PER_REQUEST) throw new XiaoweiError('batch_too_large', String(MEMBERS_PER_REQUEST));
  const subtree = await subtreeOf(db as unknown as Kysely<IdentityTables>, group.org_id);
  const found = new Map<string, { id: string; serial: string; org_id: string }>();
  for (const [column, values] of [
    ['id', ids],
    ['serial', serials],
  ] as const) {
    for (let i = 0; i < values.length; i += CHUNK) {
      const rows = await db
        .selectFrom('terminals')
        .select(['id', 'serial', 'org_id'])
        .where(column, 'in', values.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) found.set(column === 'id' ? r.id : r.serial, r);
    }
  }
  const bad: string[] = [];
  const out = new Set<string>();
  for (const key of [...ids, ...serials]) {
    const t = found.get(key);
    if (!t || !subtree.has(t.org_id) || !(await staffHasOrg(db, actor, t.org_id))) bad.push(key);
    else out.add(t.id);
  }
  if (bad.length > 0)
    throw new XiaoweiError(
      'terminal_group_member_invalid',
      bad.slice(0, 5).join(', ').slice(0, 200) + (bad.length > 5 ? ` (+${bad.length - 5})` : ''),
    );
  return [...out];
}

export async function addMembers(
  db: Kysely<FleetTables>,
  dialect: Dialect,
  commands: CommandQueue,
  actor: Actor,
  groupId: string,
  selection: MemberSelection,
  now: number,
): Promise<ParamChangeOutcome & { added: number }> {
  const group = await visibleGroup(db, actor, groupId);
  const ids = await resolveMembers(db, actor, group, selection);
  return db.transaction().execute(async (trx) => {
    await lockParamChanges(trx, dialect);
    const target: ParamTarget = { ids };
    const before = await loadParamStates(trx, target);
    let added = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const result = await trx
        .insertInto('terminal_group_members')
        .values(ids.slice(i, i + CHUNK).map((terminal_id) => ({ group_id: groupId, terminal_id })))
        .onConflict((oc) => oc.columns(['group_id', 'terminal_id']).doNothing())
        .executeTakeFirst();
      added += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    const changed = await settleParamChange(trx, commands, before, target, now);
    return { added, changed_terminals: changed.length };
  });
}

export async function removeMembers(
  db: Kysely<FleetTables>,
  dialect: Dialect,
  commands: CommandQueue,
  actor: Actor,
  groupId: string,
  selection: MemberSelection,
  now: number,
): Promise<ParamChangeOutcome & { removed: number }> {
  const group = await visibleGroup(db, actor, groupId);
  const ids = await resolveMembers(db, actor, group, selection);
  return db.transaction().execute(async (trx) => {
    await lockParamChanges(trx, dialect);
    const target: ParamTarget = { ids };
    const before = await loadParamStates(trx, target);
    let removed = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const result = await trx
        .deleteFrom('terminal_group_members')
        .where('group_id', '=', groupId)
        .where('terminal_id', 'in', ids.slice(i, i + CHUNK))
        .executeTakeFirst();
      removed += Number(result.numDeletedRows);
    }
    const changed = await settleParamChange(trx, commands, before, target, now);
    return { removed, changed_terminals: changed.length };
  });
}
