import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../platform/db/database.js';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { compareVersions } from './apps-semver.js';
import { PAUSE_REASONS, ROLLOUT_STATES, TARGET_STATUSES, type AppsDb, type PauseReason, type RolloutState, type TargetStatus, type UpdateStatus } from './apps-tables.js';
import { resolveApps, rolloutsReaching, windowOfGroup, windowsOfTerminals } from './apps-resolve.js';
import { earliestOpening, windowLengthUs, type Window } from './apps-window.js';
import { toVersion, type AppVersion } from './app-versions.js';
import type { CommandInput, CommandQueue, TerminalSharedTables } from './contracts.js';
import { TickBatcher } from './terminal-auth-batch.js';

/**
 * Rollouts in the manner of Eclipse hawkBit: one app version to a group (or chosen terminals) in
 * stages of growing percentages. State machine:
 *
 *   created ──approve──▶ running ◀──resume── paused
 *                          │  └──pause / error threshold / deadline──▲
 *                          ├──last stage reaches its success threshold──▶ finished
 *   created | running | paused ──cancel──▶ cancelled
 *   running | paused | finished | cancelled ──rollback──▶ rolled_back
 *
 * Targets are fixed when the rollout starts (approve): the target's active terminals authorised
 * for the app and not already at or above the version, put in stages by a hash of the terminal
 * id. Starting a stage enqueues `update_available` for its terminals. Update reports move
 * per-stage counters in the same transaction, and each report re-checks that stage's thresholds:
 * failed > error threshold % of the stage pauses the rollout; installed ≥ success threshold %
 * completes the stage, which starts the next one (auto-advance) or waits for `approve`.
 *
 * Concurrency: every transaction that changes a rollout first locks its row (FOR UPDATE on
 * PostgreSQL; SQLite runs one writer at a time), and every state change is conditional on the
 * state it expects, so concurrent reports and staff actions in several processes cannot
 * double-start a stage or resurrect a cancelled rollout.
 */

export interface RolloutDeps {
  db: Kysely<AppsDb>;
  dialect: Dialect;
  commands: CommandQueue;
  /** µs since the epoch. */
  now: () => number;
}

export const DEFAULT_STAGES = [1, 10, 100];
export const DEFAULT_SUCCESS_THRESHOLD = 95;
export const DEFAULT_ERROR_THRESHOLD = 5;
export const DEFAULT_STAGE_DEADLINE_S = 3 * 24 * 3600;
export const MAX_ROLLOUT_TERMINALS = 10_000;
const SECOND_US = 1_000_000;

export interface StageProgress {
  stage_no: number;
  percent: number;
  total: number;
  pending: number;
  notified: number;
  downloading: number;
  installed: number;
  failed: number;
  started_at: number | null;
  deadline_at: number | null;
  completed_at: number | null;
}

export interface Rollout {
  id: string;
  app_id: string;
  app_code: string;
  version_id: string;
  version: string;
  name: string;
  group_id: string | null;
  org_id: string;
  state: RolloutState;
  pause_reason: PauseReason | null;
  /** Index of the stage most recently started; -1 before the rollout starts. */
  current_stage: number;
  /** The current stage met its success threshold and the next one waits for `approve`. */
  awaiting_approval: boolean;
  success_threshold: number;
  error_threshold: number;
  auto_advance: boolean;
  stage_deadline_s: number;
  ignore_maintenance_window: boolean;
  created_by: string;
  approved_by: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  updated_at: number;
  stages: StageProgress[];
  totals: Omit<StageProgress, 'stage_no' | 'percent' | 'started_at' | 'deadline_at' | 'completed_at'>;
}

export interface NewRollout {
  app_id: string;
  version: string;
  name?: string | undefined;
  /** Exactly one of group_id and terminal_ids. */
  group_id?: string | undefined;
  terminal_ids?: readonly string[] | undefined;
  stages?: readonly number[] | undefined;
  success_threshold?: number | undefined;
  error_threshold?: number | undefined;
  auto_advance?: boolean | undefined;
  stage_deadline_s?: number | undefined;
  ignore_maintenance_window?: boolean | undefined;
}

// ————————————————————————————————————————— stages

/** Checks stage percentages: 1–10 stages, integers 1–100, strictly increasing, the last 100. */
export function validateStages(stages: readonly number[]): void {
  if (stages.length < 1 || stages.length > 10) throw new XiaoweiError('rollout_invalid', 'stages must have 1 to 10 entries');
  let previous = 0;
  for (const p of stages) {
    if (!Number.isInteger(p) || p < 1 || p > 100) throw new XiaoweiError('rollout_invalid', 'each stage is a whole percentage from 1 to 100');
    if (p <= previous) throw new XiaoweiError('rollout_invalid', 'stage percentages must increase');
    previous = p;
  }
  if (previous !== 100) throw new XiaoweiError('rollout_invalid', 'the last stage must be 100 %');
}

/**
 * How many of `n` terminals each stage gets: stage k ends at ceil(n × p_k / 100), so a small
 * first percentage still reaches at least one terminal, and the counts add up to n exactly.
 */
export function stageSizes(n: number, stages: readonly number[]): number[] {
  const sizes: number[] = [];
  let start = 0;
  for (const p of stages) {
    const end = Math.ceil((n * p) / 100);
    sizes.push(end - start);
    start = end;
  }
  return sizes;
}

/** The hash that orders terminals for stages: stable per terminal, so canaries stay canaries. */
function stageKey(terminalId: string): string {
  return createHash('sha256').update(terminalId).digest('hex');
}

/** Each terminal's stage: terminals ordered by the hash of their id, cut by `stageSizes`. */
export function assignStages(terminalIds: readonly string[], stages: readonly number[]): Map<string, number> {
  const ordered = [...new Set(terminalIds)].map((id) => ({ id, key: stageKey(id) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : 1));
  const sizes = stageSizes(ordered.length, stages);
  const out = new Map<string, number>();
  let i = 0;
  sizes.forEach((size, stage) => {
    for (let k = 0; k < size; k++) out.set(ordered[i++]!.id, stage);
  });
  return out;
}

// ————————————————————————————————————————— reading

type RolloutRow = AppsDb['rollouts'];
type StageRow = AppsDb['rollout_stages'];

function stageView(s: StageRow): StageProgress {
  const total = toSafeInt(s.total);
  const notified = toSafeInt(s.notified);
  const downloading = toSafeInt(s.downloading);
  const installed = toSafeInt(s.installed);
  const failed = toSafeInt(s.failed);
  return {
    stage_no: toSafeInt(s.stage_no),
    percent: toSafeInt(s.percent),
    total,
    pending: total - notified - downloading - installed - failed,
    notified,
    downloading,
    installed,
    failed,
    started_at: toSafeIntOrNull(s.started_at),
    deadline_at: toSafeIntOrNull(s.deadline_at),
    completed_at: toSafeIntOrNull(s.completed_at),
  };
}

function rolloutView(r: RolloutRow & { app_code: string; version: string }, stageRows: StageRow[]): Rollout {
  const stages = stageRows.map(stageView).sort((a, b) => a.stage_no - b.stage_no);
  const current = toSafeInt(r.current_stage);
  const state = r.state as RolloutState;
  const currentStage = stages[current];
  const totals = { total: 0, pending: 0, notified: 0, downloading: 0, installed: 0, failed: 0 };
  for (const s of stages) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += s[k];
  return {
    id: r.id,
    app_id: r.app_id,
    app_code: r.app_code,
    version_id: r.version_id,
    version: r.version,
    name: r.name,
    group_id: r.group_id,
    org_id: r.org_id,
    state,
    pause_reason: (r.pause_reason as PauseReason | null) ?? null,
    current_stage: current,
    awaiting_approval: state === 'running' && currentStage !== undefined && currentStage.completed_at !== null && current < stages.length - 1,
    success_threshold: toSafeInt(r.success_threshold),
    error_threshold: toSafeInt(r.error_threshold),
    auto_advance: toSafeInt(r.auto_advance) === 1,
    stage_deadline_s: toSafeInt(r.stage_deadline_s),
    ignore_maintenance_window: toSafeInt(r.ignore_window) === 1,
    created_by: r.created_by,
    approved_by: r.approved_by,
    created_at: toSafeInt(r.created_at),
    started_at: toSafeIntOrNull(r.started_at),
    ended_at: toSafeIntOrNull(r.ended_at),
    updated_at: toSafeInt(r.updated_at),
    stages,
    totals,
  };
}

export async function getRollout(db: Kysely<AppsDb>, id: string): Promise<Rollout | undefined> {
  const r = await db
    .selectFrom('rollouts as r')
    .innerJoin('apps as a', 'a.id', 'r.app_id')
    .innerJoin('app_versions as v', 'v.id', 'r.version_id')
    .selectAll('r')
    .select(['a.code as app_code', 'v.version'])
    .where('r.id', '=', id)
    .executeTakeFirst();
  if (!r) return undefined;
  const stages = await db.selectFrom('rollout_stages').selectAll().where('rollout_id', '=', id).execute();
  return rolloutView(r, stages);
}

export async function requireRollout(db: Kysely<AppsDb>, id: string): Promise<Rollout> {
  const r = await getRollout(db, id);
  if (!r) throw new XiaoweiError('rollout_not_found');
  return r;
}

export interface RolloutQuery {
  state?: RolloutState | undefined;
  app_id?: string | undefined;
  group_id?: string | undefined;
  /** Organisations whose rollouts the actor sees; null = all. */
  org_ids: readonly string[] | null;
  limit: number;
  offset: number;
}

export async function listRollouts(db: Kysely<AppsDb>, q: RolloutQuery): Promise<{ items: Rollout[]; total: number }> {
  if (q.org_ids !== null && q.org_ids.length === 0) return { items: [], total: 0 };
  let base = db.selectFrom('rollouts as r');
  if (q.state) base = base.where('r.state', '=', q.state);
  if (q.app_id) base = base.where('r.app_id', '=', q.app_id);
  if (q.group_id) base = base.where('r.group_id', '=', q.group_id);
  if (q.org_ids) base = base.where('r.org_id', 'in', [...q.org_ids]);
  const { n } = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .innerJoin('apps as a', 'a.id', 'r.app_id')
    .innerJoin('app_versions as v', 'v.id', 'r.version_id')
    .selectAll('r')
    .select(['a.code as app_code', 'v.version'])
    .orderBy('r.created_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(q.limit)
    .offset(q.offset)
    .execute();
  const ids = rows.map((r) => r.id);
  const stages = ids.length === 0 ? [] : await db.selectFrom('rollout_stages').selectAll().where('rollout_id', 'in', ids).execute();
  return { items: rows.map((r) => rolloutView(r, stages.filter((s) => s.rollout_id === r.id))), total: toSafeInt(n) };
}

export interface RolloutTarget {
  terminal_id: string;
  stage_no: number;
  status: TargetStatus;
  updated_at: number;
}

export async function listTargets(
  db: Kysely<AppsDb>,
  rolloutId: string,
  q: { stage?: number | undefined; status?: TargetStatus | undefined; limit: number; offset: number },
): Promise<{ items: RolloutTarget[]; total: number }> {
  let base = db.selectFrom('rollout_targets').where('rollout_id', '=', rolloutId);
  if (q.stage !== undefined) base = base.where('stage_no', '=', q.stage);
  if (q.status) base = base.where('status', '=', q.status);
  const { n } = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const rows = await base.select(['terminal_id', 'stage_no', 'status', 'updated_at']).orderBy('stage_no').orderBy('terminal_id').limit(q.limit).offset(q.offset).execute();
  return { items: rows.map((r) => ({ terminal_id: r.terminal_id, stage_no: toSafeInt(r.stage_no), status: r.status as TargetStatus, updated_at: toSafeInt(r.updated_at) })), total: toSafeInt(n) };
}

// ————————————————————————————————————————— creating

export async function createRollout(deps: RolloutDeps, input: NewRollout, actor: { user_id: string; org_id: string }, targetOrgId: string): Promise<Rollout> {
  const { db } = deps;
  const stages = input.stages ?? DEFAULT_STAGES;
  validateStages(stages);
  const success = input.success_threshold ?? DEFAULT_SUCCESS_THRESHOLD;
  const error = input.error_threshold ?? DEFAULT_ERROR_THRESHOLD;
  if (!Number.isInteger(success) || success < 1 || success > 100) throw new XiaoweiError('rollout_invalid', 'success_threshold is a whole percentage from 1 to 100');
  if (!Number.isInteger(error) || error < 0 || error > 100) throw new XiaoweiError('rollout_invalid', 'error_threshold is a whole percentage from 0 to 100');
  const deadline = input.stage_deadline_s ?? DEFAULT_STAGE_DEADLINE_S;
  if ((input.group_id === undefined) === (input.terminal_ids === undefined)) throw new XiaoweiError('rollout_invalid', 'give either group_id or terminal_ids');
  if (input.terminal_ids && (input.terminal_ids.length === 0 || input.terminal_ids.length > MAX_ROLLOUT_TERMINALS)) {
    throw new XiaoweiError('rollout_invalid', `terminal_ids must hold 1 to ${MAX_ROLLOUT_TERMINALS} ids`);
  }
  const app = await db.selectFrom('apps').select(['id', 'code']).where('id', '=', input.app_id).executeTakeFirst();
  if (!app) throw new XiaoweiError('app_not_found');
  const version = await db.selectFrom('app_versions').select(['id', 'version']).where('app_id', '=', app.id).where('version', '=', input.version).executeTakeFirst();
  if (!version) throw new XiaoweiError('app_version_not_found');

  const now = deps.now();
  const id = newId();
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('rollouts')
      .values({
        id,
        app_id: app.id,
        version_id: version.id,
        name: input.name ?? `${app.code} ${version.version}`,
        group_id: input.group_id ?? null,
        terminal_ids: input.terminal_ids ? JSON.stringify([...new Set(input.terminal_ids)]) : null,
        org_id: targetOrgId,
        state: 'created',
        pause_reason: null,
        current_stage: -1,
        success_threshold: success,
        error_threshold: error,
        auto_advance: input.auto_advance === false ? 0 : 1,
        stage_deadline_s: deadline,
        ignore_window: input.ignore_maintenance_window ? 1 : 0,
        created_by: actor.user_id,
        approved_by: null,
        created_at: now,
        started_at: null,
        ended_at: null,
        updated_at: now,
      })
      .execute();
    await trx
      .insertInto('rollout_stages')
      .values(stages.map((percent, stage_no) => ({ rollout_id: id, stage_no, percent, total: 0, notified: 0, downloading: 0, installed: 0, failed: 0, started_at: null, deadline_at: null, completed_at: null })))
      .execute();
  });
  return (await getRollout(db, id))!;
}

// ————————————————————————————————————————— transitions

type Trx = Transaction<AppsDb>;

async function lockRollout(trx: Trx, dialect: Dialect, id: string): Promise<RolloutRow> {
  let q = trx.selectFrom('rollouts').selectAll().where('id', '=', id);
  if (dialect === 'postgres') q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw new XiaoweiError('rollout_not_found');
  return row;
}

function illegal(row: RolloutRow): XiaoweiError {
  return new XiaoweiError('rollout_illegal_transition', row.state);
}

/** Moves the rollout from one of `from` to `to`; false when another transaction moved it first. */
async function transition(trx: Trx, id: string, from: readonly RolloutState[], to: RolloutState, set: Partial<RolloutRow>, now: number): Promise<boolean> {
  const result = await trx
    .updateTable('rollouts')
    .set({ ...set, state: to, updated_at: now })
    .where('id', '=', id)
    .where('state', 'in', [...from])
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

async function inTransaction<T>(deps: RolloutDeps, id: string, work: (trx: Trx, row: RolloutRow, now: number) => Promise<T>): Promise<T> {
  return deps.db.transaction().execute(async (trx) => {
    const row = await lockRollout(trx, deps.dialect, id);
    return work(trx, row, deps.now());
  });
}

/**
 * `approve`: starts a created rollout (fixes its targets and starts stage 0), or starts the next
 * stage of a running one whose current stage met its success threshold (`force` skips that check).
 */
export async function approveRollout(deps: RolloutDeps, id: string, by: string, options: { force?: boolean } = {}): Promise<Rollout> {
  await inTransaction(deps, id, async (trx, row, now) => {
    if (row.state === 'created') {
      await startRollout(deps, trx, row, by, now);
      return;
    }
    if (row.state !== 'running') throw illegal(row);
    const stages = (await trx.selectFrom('rollout_stages').selectAll().where('rollout_id', '=', id).orderBy('stage_no').execute()).map(stageView);
    const current = toSafeInt(row.current_stage);
    const stage = stages[current];
    if (!stage || current >= stages.length - 1) throw illegal(row);
    if (stage.completed_at === null && !options.force) {
      throw new XiaoweiError('rollout_stage_incomplete', `${stage.installed}/${stage.total} < ${toSafeInt(row.success_threshold)} %`);
    }
    await trx.updateTable('rollouts').set({ approved_by: by }).where('id', '=', id).execute();
    await startStage(deps, trx, row, current + 1, now);
  });
  return (await getRollout(deps.db, id))!;
}

export async function pauseRollout(deps: RolloutDeps, id: string): Promise<Rollout> {
  await inTransaction(deps, id, async (trx, row, now) => {
    if (row.state !== 'running' || !(await transition(trx, id, ['running'], 'paused', { pause_reason: 'manual' }, now))) throw illegal(row);
  });
  return (await getRollout(deps.db, id))!;
}

/**
 * `resume`: back to running. The error threshold is not re-checked here (staff chose to go on;
 * the next failure report checks it again), a stage whose deadline has passed gets a fresh one
 * (or it would pause again at once), and a stage that completed while paused advances.
 */
export async function resumeRollout(deps: RolloutDeps, id: string): Promise<Rollout> {
  await inTransaction(deps, id, async (trx, row, now) => {
    if (row.state !== 'paused' || !(await transition(trx, id, ['paused'], 'running', { pause_reason: null }, now))) throw illegal(row);
    const current = toSafeInt(row.current_stage);
    if (current < 0) return;
    await trx
      .updateTable('rollout_stages')
      .set({ deadline_at: now + toSafeInt(row.stage_deadline_s) * SECOND_US })
      .where('rollout_id', '=', id)
      .where('stage_no', '=', current)
      .where('completed_at', 'is', null)
      .where('deadline_at', '<=', now)
      .execute();
    await checkSuccess(deps, trx, { ...row, state: 'running' }, current, now);
  });
  return (await getRollout(deps.db, id))!;
}

export async function cancelRollout(deps: RolloutDeps, id: string): Promise<Rollout> {
  await inTransaction(deps, id, async (trx, row, now) => {
    const from: RolloutState[] = ['created', 'running', 'paused'];
    if (!from.includes(row.state as RolloutState) || !(await transition(trx, id, from, 'cancelled', { ended_at: now }, now))) throw illegal(row);
  });
  return (await getRollout(deps.db, id))!;
}

/**
 * `rollback`: the rollout stops reaching its terminals, so each goes back to what it would run
 * without it (normally the previous version), and every terminal of a started stage gets an
 * immediate `update_available` for that version (not held to maintenance windows: a rollback is
 * urgent). A terminal whose version does not change (e.g. the version was approved meanwhile)
 * gets no notice.
 */
export async function rollbackRollout(deps: RolloutDeps, id: string): Promise<Rollout & { notified: number }> {
  let notified = 0;
  await inTransaction(deps, id, async (trx, row, now) => {
    const from: RolloutState[] = ['running', 'paused', 'finished', 'cancelled'];
    if (!from.includes(row.state as RolloutState) || !(await transition(trx, id, from, 'rolled_back', { ended_at: now }, now))) throw illegal(row);
    const current = toSafeInt(row.current_stage);
    const reached = await trx.selectFrom('rollout_targets').select('terminal_id').where('rollout_id', '=', id).where('stage_no', '<=', current).execute();
    const terminalIds = reached.map((t) => t.terminal_id);
    const resolved = await resolveApps(trx, terminalIds, row.app_id);
    const app = await trx.selectFrom('apps').select('code').where('id', '=', row.app_id).executeTakeFirstOrThrow();
    const items: CommandInput[] = [];
    const spreadS = downloadSpreadS(terminalIds.length, toSafeInt(row.stage_deadline_s));
    for (const terminalId of terminalIds) {
      const res = resolved.get(terminalId)?.get(row.app_id);
      if (!res || res.target.id === row.version_id) continue;
      items.push(updateCommand(terminalId, app.code, res.target, id, { expires_at: now + toSafeInt(row.stage_deadline_s) * SECOND_US, not_before: null, rollback: true, spreadS }));
    }
    await enqueue(deps, trx, items);
    notified = items.length;
  });
  return { ...(await getRollout(deps.db, id))!, notified };
}

/** Fixes targets and starts stage 0. */
async function startRollout(deps: RolloutDeps, trx: Trx, row: RolloutRow, by: string, now: number): Promise<void> {
  const active = new Set<string>();
  if (row.group_id) {
    const members = await trx
      .selectFrom('terminal_group_members as m')
      .innerJoin('terminals as t', 't.id', 'm.terminal_id')
      .select('t.id')
      .where('m.group_id', '=', row.group_id)
      .where('t.status', '=', 'active')
      .execute();
    for (const m of members) active.add(m.id);
  } else {
    const candidates = JSON.parse(row.terminal_ids ?? '[]') as string[];
    for (let i = 0; i < candidates.length; i += 500) {
      const rows = await trx.selectFrom('terminals').select('id').where('id', 'in', candidates.slice(i, i + 500)).where('status', '=', 'active').execute();
      for (const r of rows) active.add(r.id);
    }
  }
  const version = (await trx.selectFrom('app_versions').select('version').where('id', '=', row.version_id).executeTakeFirstOrThrow()).version;
  const resolved = await resolveApps(trx, [...active], row.app_id);
  // Only terminals authorised for the app and not already at or above the version take part.
  const targets = [...active].filter((t) => {
    const res = resolved.get(t)?.get(row.app_id);
    return res !== undefined && compareVersions(res.target.version, version) < 0;
  });
  if (targets.length === 0) throw new XiaoweiError('rollout_no_targets');

  const percents = (await trx.selectFrom('rollout_stages').select(['stage_no', 'percent']).where('rollout_id', '=', row.id).orderBy('stage_no').execute()).map((s) => toSafeInt(s.percent));
  const stageOf = assignStages(targets, percents);
  await insertTargets(trx, deps.dialect, row.id, stageOf, now);
  const sizes = stageSizes(targets.length, percents);
  for (const [stage_no, total] of sizes.entries()) {
    await trx.updateTable('rollout_stages').set({ total }).where('rollout_id', '=', row.id).where('stage_no', '=', stage_no).execute();
  }
  if (!(await transition(trx, row.id, ['created'], 'running', { started_at: now, approved_by: by, terminal_ids: null }, now))) throw illegal(row);
  await startStage(deps, trx, { ...row, state: 'running' }, 0, now);
}

/**
 * Stores a rollout's targets, all pending, in one statement: the list travels as one JSON
 * parameter that the database unpacks (json_each / jsonb_to_recordset). A rollout to 20,000
 * terminals runs inside one transaction, which on SQLite holds the only writer, so it must be short.
 */
async function insertTargets(trx: Trx, dialect: Dialect, rolloutId: string, stageOf: ReadonlyMap<string, number>, now: number): Promise<void> {
  const list = JSON.stringify([...stageOf].map(([t, s]) => [t, s]));
  if (dialect === 'postgres') {
    await sql`insert into rollout_targets (rollout_id, terminal_id, stage_no, status, updated_at)
      select ${rolloutId}, x->>0, (x->>1)::int, 'pending', ${now}::bigint from jsonb_array_elements(${list}::jsonb) as x`.execute(trx);
  } else {
    await sql`insert into rollout_targets (rollout_id, terminal_id, stage_no, status, updated_at)
      select ${rolloutId}, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'pending', ${now} from json_each(${list})`.execute(trx);
  }
}

/**
 * Starts stage `k` (the one after the current): its terminals are notified through the command
 * queue, held to their maintenance window unless the rollout ignores windows. An empty stage is
 * complete at once.
 */
async function startStage(deps: RolloutDeps, trx: Trx, row: RolloutRow, k: number, now: number): Promise<void> {
  const moved = await trx
    .updateTable('rollouts')
    .set({ current_stage: k, updated_at: now })
    .where('id', '=', row.id)
    .where('current_stage', '=', k - 1)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (moved.numUpdatedRows === 0n) return;
  const deadline = now + toSafeInt(row.stage_deadline_s) * SECOND_US;
  const notified = await trx
    .updateTable('rollout_targets')
    .set({ status: 'notified', updated_at: now })
    .where('rollout_id', '=', row.id)
    .where('stage_no', '=', k)
    .where('status', '=', 'pending')
    .returning('terminal_id')
    .execute();
  await trx.updateTable('rollout_stages').set({ started_at: now, deadline_at: deadline, notified: notified.length }).where('rollout_id', '=', row.id).where('stage_no', '=', k).execute();

  const version = toVersion(await trx.selectFrom('app_versions').selectAll().where('id', '=', row.version_id).executeTakeFirstOrThrow());
  const app = await trx.selectFrom('apps').select('code').where('id', '=', row.app_id).executeTakeFirstOrThrow();
  const ids = notified.map((t) => t.terminal_id);
  const holdFor = await windowsFor(trx, row, ids);
  const spreadS = downloadSpreadS(ids.length, toSafeInt(row.stage_deadline_s));
  const items = ids.map((terminalId) => {
    const windows = holdFor(terminalId);
    const opening = earliestOpening(windows, now);
    const notBefore = opening !== null && opening > now ? opening : null;
    // A notice held past the stage deadline still gets one full window to be fetched in.
    const expires = notBefore !== null ? Math.max(deadline, notBefore + Math.min(...windows.map(windowLengthUs))) : deadline;
    return updateCommand(terminalId, app.code, version, row.id, { expires_at: expires, not_before: notBefore, rollback: false, spreadS });
  });
  await enqueue(deps, trx, items);
  await checkSuccess(deps, trx, { ...row, current_stage: k }, k, now);
}

/** The maintenance windows that hold each terminal's download, per the rollout's rules. */
async function windowsFor(trx: Trx, row: RolloutRow, terminalIds: readonly string[]): Promise<(terminalId: string) => Window[]> {
  if (toSafeInt(row.ignore_window) === 1) return () => [];
  if (row.group_id) {
    const w = await windowOfGroup(trx, row.group_id);
    return () => (w ? [w] : []);
  }
  const windows = await windowsOfTerminals(trx, terminalIds);
  return (t) => windows.get(t) ?? [];
}

export function downloadPath(appCode: string, version: string): string {
  return `/api/v1/terminal/apps/${appCode}/versions/${encodeURIComponent(version)}/bundle`;
}

/**
 * Downloads per second a stage's notices aim at: each terminal starts its download at a random
 * moment within `downloadSpreadS` = ⌈terminals / this⌉ seconds of the notice (0, at once, for a
 * stage of at most this many), so a stage of 20,000 terminals does not download and report all
 * in the same seconds, starving everyone's heartbeats (bench:fleet).
 */
export const STAGE_DOWNLOADS_PER_S = 100;

/** Never more than a quarter of the stage's deadline, so every terminal can download, install and report before it. */
export function downloadSpreadS(terminals: number, stageDeadlineS: number): number {
  if (terminals <= STAGE_DOWNLOADS_PER_S) return 0;
  return Math.min(Math.ceil(terminals / STAGE_DOWNLOADS_PER_S), Math.floor(stageDeadlineS / 4));
}

function updateCommand(
  terminalId: string,
  appCode: string,
  v: AppVersion,
  rolloutId: string,
  o: { expires_at: number; not_before: number | null; rollback: boolean; spreadS: number },
): CommandInput {
  return {
    terminal_id: terminalId,
    kind: 'update_available',
    payload: {
      app: appCode,
      version: v.version,
      digest: v.digest,
      signature: v.signature,
      size: v.size,
      rolloutId,
      downloadPath: downloadPath(appCode, v.version),
      downloadSpreadS: o.spreadS,
      ...(o.rollback ? { rollback: true } : {}),
    },
    expires_at: o.expires_at,
    not_before: o.not_before,
  };
}

async function enqueue(deps: RolloutDeps, trx: Trx, items: CommandInput[]): Promise<void> {
  if (items.length === 0) return;
  // The queue's tables are in the same database; its contract takes the caller's transaction so
  // that notices are stored exactly when the stage start commits.
  await deps.commands.enqueue(items, trx as unknown as Kysely<TerminalSharedTables>);
}

/**
 * The success check for the current stage: installed ≥ threshold % completes it, then the last
 * stage finishes the rollout, and an earlier one starts the next (auto-advance) or waits.
 */
async function checkSuccess(deps: RolloutDeps, trx: Trx, row: RolloutRow, stageNo: number, now: number): Promise<void> {
  if (row.state !== 'running' || stageNo !== toSafeInt(row.current_stage)) return;
  const stage = await trx.selectFrom('rollout_stages').selectAll().where('rollout_id', '=', row.id).where('stage_no', '=', stageNo).executeTakeFirstOrThrow();
  const s = stageView(stage);
  if (s.installed * 100 < toSafeInt(row.success_threshold) * s.total) return;
  if (s.completed_at === null) {
    await trx.updateTable('rollout_stages').set({ completed_at: now }).where('rollout_id', '=', row.id).where('stage_no', '=', stageNo).where('completed_at', 'is', null).execute();
  }
  const last = await trx.selectFrom('rollout_stages').select((eb) => eb.fn.max('stage_no').as('m')).where('rollout_id', '=', row.id).executeTakeFirstOrThrow();
  if (stageNo >= toSafeInt(last.m)) {
    await transition(trx, row.id, ['running'], 'finished', { ended_at: now }, now);
  } else if (toSafeInt(row.auto_advance) === 1) {
    await startStage(deps, trx, row, stageNo + 1, now);
  }
}

// ————————————————————————————————————————— update reports

const NEXT: Record<TargetStatus, readonly TargetStatus[]> = {
  pending: [],
  notified: ['downloading', 'installed', 'failed'],
  downloading: ['installed', 'failed'],
  failed: ['downloading', 'installed'],
  installed: [],
};

export interface UpdateReport {
  app: string;
  version: string;
  status: UpdateStatus;
  detail?: string | undefined;
  rolloutId?: string | undefined;
}

export interface ReportOutcome {
  /** False when the same report was already recorded (nothing changed). */
  recorded: boolean;
  rolloutId: string | null;
}

/**
 * Records a terminal's update report and, when it belongs to a rollout (named, or the rollout
 * that brought that version to the terminal), moves the stage counters and checks thresholds,
 * all in one transaction. Idempotent per terminal + rollout + status.
 */
export async function recordUpdateReport(deps: RolloutDeps, terminalId: string, report: UpdateReport): Promise<ReportOutcome> {
  const { db } = deps;
  const app = await db.selectFrom('apps').select(['id', 'code']).where('code', '=', report.app).executeTakeFirst();
  if (!app) throw new XiaoweiError('app_not_found');
  const version = await db.selectFrom('app_versions').select(['id', 'version']).where('app_id', '=', app.id).where('version', '=', report.version).executeTakeFirst();
  if (!version) throw new XiaoweiError('app_version_not_found');

  let rolloutId: string | null = null;
  if (report.rolloutId !== undefined) {
    const target = await db
      .selectFrom('rollout_targets as t')
      .innerJoin('rollouts as r', 'r.id', 't.rollout_id')
      .select(['r.app_id', 'r.version_id'])
      .where('t.rollout_id', '=', report.rolloutId)
      .where('t.terminal_id', '=', terminalId)
      .executeTakeFirst();
    // A rollout the terminal is not part of is answered as unknown.
    if (!target || target.app_id !== app.id) throw new XiaoweiError('rollout_not_found');
    if (target.version_id !== version.id) throw new XiaoweiError('rollout_invalid', 'the rollout delivers another version');
    rolloutId = report.rolloutId;
  } else {
    const reaching = (await rolloutsReaching(db, [terminalId], app.id)).get(terminalId) ?? [];
    rolloutId = reaching.filter((r) => r.version_id === version.id).sort((a, b) => b.started_at - a.started_at)[0]?.id ?? null;
  }

  const dedupe = rolloutId ? `${terminalId}|r:${rolloutId}|${report.status}` : `${terminalId}|a:${app.id}@${version.version}|${report.status}`;
  const detail = report.detail ? report.detail.slice(0, 500) : null;

  return db.transaction().execute(async (trx) => {
    const now = deps.now();
    const row = rolloutId ? await lockRollout(trx, deps.dialect, rolloutId) : null;
    const inserted = await trx
      .insertInto('app_update_reports')
      .values({ id: newId(), dedupe_key: dedupe, terminal_id: terminalId, app_id: app.id, version: version.version, status: report.status, detail, rollout_id: rolloutId, reported_at: now })
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return { recorded: false, rolloutId };
    if (row) await countReport(deps, trx, row, terminalId, report.status, now);
    return { recorded: true, rolloutId };
  });
}

async function countReport(deps: RolloutDeps, trx: Trx, row: RolloutRow, terminalId: string, status: UpdateStatus, now: number): Promise<void> {
  const target = await trx.selectFrom('rollout_targets').select(['stage_no', 'status']).where('rollout_id', '=', row.id).where('terminal_id', '=', terminalId).executeTakeFirst();
  if (!target) return;
  const from = target.status as TargetStatus;
  const stageNo = toSafeInt(target.stage_no);
  if (stageNo > toSafeInt(row.current_stage) || !NEXT[from].includes(status)) return;
  const moved = await trx
    .updateTable('rollout_targets')
    .set({ status, updated_at: now })
    .where('rollout_id', '=', row.id)
    .where('terminal_id', '=', terminalId)
    .where('status', '=', from)
    .executeTakeFirst();
  if (moved.numUpdatedRows === 0n) return;
  // `from` is never 'pending' here (NEXT.pending is empty), so both are counter columns.
  const fromCol = from as Exclude<TargetStatus, 'pending'>;
  await trx
    .updateTable('rollout_stages')
    .set((eb) => ({ [fromCol]: eb(fromCol, '-', 1), [status]: eb(status, '+', 1) }))
    .where('rollout_id', '=', row.id)
    .where('stage_no', '=', stageNo)
    .execute();
  if (row.state !== 'running') return;

  const stage = stageView(await trx.selectFrom('rollout_stages').selectAll().where('rollout_id', '=', row.id).where('stage_no', '=', stageNo).executeTakeFirstOrThrow());
  if (stage.failed * 100 > toSafeInt(row.error_threshold) * stage.total) {
    await transition(trx, row.id, ['running'], 'paused', { pause_reason: 'error_threshold' }, now);
    return;
  }
  await checkSuccess(deps, trx, row, stageNo, now);
}

// ————————————————————————————————————————— update reports, group-committed

type ReportResult = { ok: ReportOutcome } | { error: unknown };

/** Least time between the starts of two groups of update reports (per process). */
export const REPORT_GROUP_INTERVAL_MS = 100;

/** Counter columns of `rollout_stages`, by target status. */
type Counter = Exclude<TargetStatus, 'pending'>;

/**
 * Update reports group-committed: a rollout to thousands of terminals brings two or three
 * reports from each within seconds, and one at a time each took the rollout's row lock for a
 * transaction of a dozen statements — the reports queued behind the lock and installs were
 * reported minutes late. Here the reports that arrive while a group runs form the next group:
 * they are resolved with a few queries, then one transaction locks each rollout concerned once
 * (id order), stores the reports in one insert (the dedupe key still makes each count once),
 * moves the targets and the stage counters in bulk, and checks each touched stage's thresholds
 * once, with the same rules as one report alone. A group that fails as a whole is run again
 * report by report, so one bad report never fails the others.
 */
export class UpdateReportBatcher {
  private readonly batcher: TickBatcher<{ terminalId: string; report: UpdateReport }, ReportResult>;

  constructor(private readonly deps: RolloutDeps) {
    // A group at most every 100 ms: a report waits that much longer, and a rollout's reports cost
    // a dozen statements (under the rollout's row lock) ten times a second instead of per tick.
    this.batcher = new TickBatcher({ run: (items) => this.group(items), maxBatch: 2000, maxQueue: 100_000, minIntervalMs: REPORT_GROUP_INTERVAL_MS });
  }

  async record(terminalId: string, report: UpdateReport): Promise<ReportOutcome> {
    const result = await this.batcher.submit({ terminalId, report });
    if ('error' in result) throw result.error;
    return result.ok;
  }

  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async group(items: { terminalId: string; report: UpdateReport }[]): Promise<ReportResult[]> {
    try {
      return await recordUpdateReports(this.deps, items);
    } catch {
      const out: ReportResult[] = [];
      for (const { terminalId, report } of items) {
        out.push(await recordUpdateReport(this.deps, terminalId, report).then((ok) => ({ ok }), (error: unknown) => ({ error })));
      }
      return out;
    }
  }
}

/** Many terminals' update reports in one transaction; see `UpdateReportBatcher`. */
export async function recordUpdateReports(deps: RolloutDeps, items: readonly { terminalId: string; report: UpdateReport }[]): Promise<ReportResult[]> {
  const { db } = deps;
  const results: (ReportResult | undefined)[] = items.map(() => undefined);
  // Resolve every report's app, version and rollout first, outside the transaction.
  const codes = [...new Set(items.map((i) => i.report.app))];
  const apps = new Map((await db.selectFrom('apps').select(['id', 'code']).where('code', 'in', codes).execute()).map((a) => [a.code, a]));
  const appIds = [...new Set([...apps.values()].map((a) => a.id))];
  const versionTexts = [...new Set(items.map((i) => i.report.version))];
  const versions = new Map(
    appIds.length === 0
      ? []
      : (await db.selectFrom('app_versions').select(['id', 'app_id', 'version']).where('app_id', 'in', appIds).where('version', 'in', versionTexts).execute()).map((v) => [`${v.app_id}@${v.version}`, v]),
  );
  const named = items.filter((i) => i.report.rolloutId !== undefined);
  const targetsNamed = new Map<string, { app_id: string; version_id: string }>();
  if (named.length > 0) {
    const rows = await db
      .selectFrom('rollout_targets as t')
      .innerJoin('rollouts as r', 'r.id', 't.rollout_id')
      .select(['t.rollout_id', 't.terminal_id', 'r.app_id', 'r.version_id'])
      .where('t.rollout_id', 'in', [...new Set(named.map((i) => i.report.rolloutId!))])
      .where('t.terminal_id', 'in', [...new Set(named.map((i) => i.terminalId))])
      .execute();
    for (const r of rows) targetsNamed.set(`${r.rollout_id}|${r.terminal_id}`, r);
  }
  interface Resolved {
    index: number;
    terminalId: string;
    report: UpdateReport;
    appId: string;
    version: string;
    rolloutId: string | null;
    dedupe: string;
  }
  const resolved: Resolved[] = [];
  for (const [index, { terminalId, report }] of items.entries()) {
    const app = apps.get(report.app);
    if (!app) {
      results[index] = { error: new XiaoweiError('app_not_found') };
      continue;
    }
    const version = versions.get(`${app.id}@${report.version}`);
    if (!version) {
      results[index] = { error: new XiaoweiError('app_version_not_found') };
      continue;
    }
    let rolloutId: string | null;
    if (report.rolloutId !== undefined) {
      const target = targetsNamed.get(`${report.rolloutId}|${terminalId}`);
      if (!target || target.app_id !== app.id) {
        results[index] = { error: new XiaoweiError('rollout_not_found') };
        continue;
      }
      if (target.version_id !== version.id) {
        results[index] = { error: new XiaoweiError('rollout_invalid', 'the rollout delivers another version') };
        continue;
      }
      rolloutId = report.rolloutId;
    } else {
      const reaching = (await rolloutsReaching(db, [terminalId], app.id)).get(terminalId) ?? [];
      rolloutId = reaching.filter((r) => r.version_id === version.id).sort((a, b) => b.started_at - a.started_at)[0]?.id ?? null;
    }
    const dedupe = rolloutId ? `${terminalId}|r:${rolloutId}|${report.status}` : `${terminalId}|a:${app.id}@${version.version}|${report.status}`;
    resolved.push({ index, terminalId, report, appId: app.id, version: version.version, rolloutId, dedupe });
  }
  if (resolved.length === 0) return results as ReportResult[];

  await db.transaction().execute(async (trx) => {
    const now = deps.now();
    const rolloutIds = [...new Set(resolved.flatMap((r) => (r.rolloutId ? [r.rolloutId] : [])))].sort();
    const locked = new Map<string, RolloutRow>();
    for (const id of rolloutIds) locked.set(id, await lockRollout(trx, deps.dialect, id));

    // One insert for the group; the dedupe key makes a repeat (or a retry racing it) count once.
    const stored = new Set<string>();
    for (let i = 0; i < resolved.length; i += 500) {
      const rows = await trx
        .insertInto('app_update_reports')
        .values(
          resolved.slice(i, i + 500).map((r) => ({
            id: newId(),
            dedupe_key: r.dedupe,
            terminal_id: r.terminalId,
            app_id: r.appId,
            version: r.version,
            status: r.report.status,
            detail: r.report.detail ? r.report.detail.slice(0, 500) : null,
            rollout_id: r.rolloutId,
            reported_at: now,
          })),
        )
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('dedupe_key')
        .execute();
      for (const row of rows) stored.add(row.dedupe_key);
    }
    const counted: Resolved[] = [];
    for (const r of resolved) {
      // The first of several equal reports in the group is the one recorded.
      const recorded = stored.delete(r.dedupe);
      results[r.index] = { ok: { recorded, rolloutId: r.rolloutId } };
      if (recorded && r.rolloutId) counted.push(r);
    }
    if (counted.length === 0) return;

    // Targets read under the rollouts' locks: nothing else moves them meanwhile.
    const targetRows = await trx
      .selectFrom('rollout_targets')
      .select(['rollout_id', 'terminal_id', 'stage_no', 'status'])
      .where('rollout_id', 'in', [...new Set(counted.map((r) => r.rolloutId!))])
      .where('terminal_id', 'in', [...new Set(counted.map((r) => r.terminalId))])
      .execute();
    const targets = new Map(targetRows.map((t) => [`${t.rollout_id}|${t.terminal_id}`, { stage_no: toSafeInt(t.stage_no), status: t.status as TargetStatus }]));
    const moved = new Map<string, { rollout_id: string; terminal_id: string; status: TargetStatus }>();
    const deltas = new Map<string, { rolloutId: string; stageNo: number; by: Partial<Record<Counter, number>> }>();
    for (const r of counted) {
      const key = `${r.rolloutId}|${r.terminalId}`;
      const target = targets.get(key);
      const row = locked.get(r.rolloutId!)!;
      if (!target || target.stage_no > toSafeInt(row.current_stage) || !NEXT[target.status].includes(r.report.status)) continue;
      const from = target.status as Counter;
      target.status = r.report.status;
      moved.set(key, { rollout_id: r.rolloutId!, terminal_id: r.terminalId, status: r.report.status });
      const stageKey = `${r.rolloutId}|${target.stage_no}`;
      const delta = deltas.get(stageKey) ?? { rolloutId: r.rolloutId!, stageNo: target.stage_no, by: {} };
      delta.by[from] = (delta.by[from] ?? 0) - 1;
      delta.by[r.report.status] = (delta.by[r.report.status] ?? 0) + 1;
      deltas.set(stageKey, delta);
    }
    if (moved.size === 0) return;
    const list = [...moved.values()];
    if (deps.dialect === 'postgres') {
      await sql`update rollout_targets t set status = v.status, updated_at = ${now}::bigint
        from unnest(${list.map((m) => m.rollout_id)}::text[], ${list.map((m) => m.terminal_id)}::text[], ${list.map((m) => m.status)}::text[]) as v(rollout_id, terminal_id, status)
        where t.rollout_id = v.rollout_id and t.terminal_id = v.terminal_id`.execute(trx);
    } else {
      for (const m of list) {
        await trx.updateTable('rollout_targets').set({ status: m.status, updated_at: now }).where('rollout_id', '=', m.rollout_id).where('terminal_id', '=', m.terminal_id).execute();
      }
    }
    for (const d of deltas.values()) {
      const changes = Object.entries(d.by).filter(([, n]) => n !== 0) as [Counter, number][];
      if (changes.length === 0) continue;
      await trx
        .updateTable('rollout_stages')
        .set((eb) => Object.fromEntries(changes.map(([col, n]) => [col, eb(col, '+', n)])))
        .where('rollout_id', '=', d.rolloutId)
        .where('stage_no', '=', d.stageNo)
        .execute();
    }
    // Thresholds once per touched stage, as `countReport` checks them after one report.
    for (const d of deltas.values()) {
      const row = await trx.selectFrom('rollouts').selectAll().where('id', '=', d.rolloutId).executeTakeFirstOrThrow();
      if (row.state !== 'running') continue;
      const stage = stageView(await trx.selectFrom('rollout_stages').selectAll().where('rollout_id', '=', d.rolloutId).where('stage_no', '=', d.stageNo).executeTakeFirstOrThrow());
      if (stage.failed * 100 > toSafeInt(row.error_threshold) * stage.total) {
        await transition(trx, d.rolloutId, ['running'], 'paused', { pause_reason: 'error_threshold' }, now);
        continue;
      }
      await checkSuccess(deps, trx, row, d.stageNo, now);
    }
  });
  return results as ReportResult[];
}

// ————————————————————————————————————————— deadlines

/**
 * Pauses running rollouts whose current stage passed its deadline without reaching the success
 * threshold (reason 'deadline'). Called on a timer by the routes plugin; returns the paused ids.
 */
export async function sweepRolloutDeadlines(deps: RolloutDeps): Promise<string[]> {
  const now = deps.now();
  const overdue = await deps.db
    .selectFrom('rollouts as r')
    .innerJoin('rollout_stages as s', (j) => j.onRef('s.rollout_id', '=', 'r.id').onRef('s.stage_no', '=', 'r.current_stage'))
    .select('r.id')
    .where('r.state', '=', 'running')
    .where('s.completed_at', 'is', null)
    .where('s.deadline_at', '<', now)
    .execute();
  const paused: string[] = [];
  for (const { id } of overdue) {
    const done = await inTransaction(deps, id, async (trx, row, at) => {
      // Re-checked under the lock: a report may have completed the stage meanwhile.
      if (row.state !== 'running') return false;
      const stage = await trx.selectFrom('rollout_stages').select(['completed_at', 'deadline_at']).where('rollout_id', '=', id).where('stage_no', '=', toSafeInt(row.current_stage)).executeTakeFirst();
      if (!stage || stage.completed_at !== null || stage.deadline_at === null || toSafeInt(stage.deadline_at) >= at) return false;
      return transition(trx, id, ['running'], 'paused', { pause_reason: 'deadline' }, at);
    });
    if (done) paused.push(id);
  }
  return paused;
}

export { ROLLOUT_STATES, PAUSE_REASONS, TARGET_STATUSES };
export type { RolloutState, PauseReason, TargetStatus };
