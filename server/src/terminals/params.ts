import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../platform/db/database.js';
import { XiaoweiError } from '../platform/errors.js';
import type { CommandInput, CommandQueue } from './contracts.js';
import type { AnyKysely, FleetTables } from './fleet-tables.js';

/**
 * Terminal parameters: the allow-list (names, types, ranges), the defaults, and how the effective
 * set is found — defaults ← each group the terminal belongs to (oldest group first, so a newer
 * group overrides an older one) ← the terminal's own. A stored set holds only what it overrides.
 *
 * | name | type | range | default | meaning |
 * | --- | --- | --- | --- | --- |
 * | receipt_header_zh | text | 1–64, no control characters | 欢迎光临 | first receipt line, Chinese |
 * | receipt_header_en | text | 1–64, no control characters | Welcome | first receipt line, English |
 * | txn_limit_fen | integer fen | 1 – 1,000,000,000 | 5,000,000 (¥50,000) | largest single transaction |
 * | request_timeout_s | integer s | 5–180 | 60 | wait for a host answer before reversal |
 * | connect_timeout_s | integer s | 1–60 | 10 | wait for a connection |
 * | idle_timeout_s | integer s | 60–86,400 | 900 | operator signed off after inactivity |
 * | heartbeat_interval_s | integer s | 15–3,600 | 60 | heartbeat period; offline after 3 missed |
 * | poll_interval_s | integer s | 15–86,400 | 300 | command-queue poll period besides push |
 */
const HeaderText = (description: string) =>
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description });

export const TerminalParamsSchema = Type.Object(
  {
    receipt_header_zh: Type.Optional(HeaderText('Receipt header, Chinese 小票抬头（中文）')),
    receipt_header_en: Type.Optional(HeaderText('Receipt header, English 小票抬头（英文）')),
    txn_limit_fen: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Per-transaction limit in fen 单笔限额（分）' }),
    ),
    request_timeout_s: Type.Optional(
      Type.Integer({ minimum: 5, maximum: 180, description: 'Host answer timeout, seconds 交易超时（秒）' }),
    ),
    connect_timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 60, description: 'Connection timeout, seconds 连接超时（秒）' })),
    idle_timeout_s: Type.Optional(
      Type.Integer({ minimum: 60, maximum: 86_400, description: 'Operator idle sign-off, seconds 操作员空闲签退（秒）' }),
    ),
    heartbeat_interval_s: Type.Optional(
      Type.Integer({ minimum: 15, maximum: 3_600, description: 'Heartbeat period, seconds 心跳间隔（秒）' }),
    ),
    poll_interval_s: Type.Optional(
      Type.Integer({ minimum: 15, maximum: 86_400, description: 'Command poll period, seconds 指令轮询间隔（秒）' }),
    ),
  },
  { additionalProperties: false },
);

export type TerminalParams = Static<typeof TerminalParamsSchema>;
export type EffectiveParams = Required<TerminalParams>;
export type ParamName = keyof EffectiveParams;

export const EffectiveParamsSchema = Type.Required(TerminalParamsSchema);

export const PARAM_DEFAULTS: EffectiveParams = {
  receipt_header_zh: '欢迎光临',
  receipt_header_en: 'Welcome',
  txn_limit_fen: 5_000_000,
  request_timeout_s: 60,
  connect_timeout_s: 10,
  idle_timeout_s: 900,
  heartbeat_interval_s: 60,
  poll_interval_s: 300,
};

const PARAM_NAMES = Object.keys(TerminalParamsSchema.properties) as ParamName[];

/** A terminal is online while its last heartbeat is younger than this many intervals. */
export const OFFLINE_AFTER_MISSED = 3;

/** How long a `parameters` command waits for an offline terminal (it gets the full set again at sign-on). */
export const PARAMS_COMMAND_TTL_US = 30 * 86_400 * 1_000_000;

/** Checks a parameter set from a caller; refuses unknown names, wrong types and values out of range. */
export function checkParams(value: unknown): TerminalParams {
  if (Value.Check(TerminalParamsSchema, value)) return value;
  const first = Value.Errors(TerminalParamsSchema, value).First();
  const where = first?.path ? `params${first.path.replaceAll('/', '.')}` : 'params';
  throw new XiaoweiError('validation_failed', `${where} ${first?.message ?? 'is invalid'}`.slice(0, 300));
}

/**
 * A stored set, read tolerantly: a value that no longer fits the allow-list (after a release
 * narrowed a range, say) is dropped so the default or a group's value applies, never a crash.
 */
export function readParams(text: string | null | undefined): TerminalParams {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '{}');
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const out: Record<string, unknown> = {};
  const props = TerminalParamsSchema.properties as Record<ParamName, TSchema>;
  for (const name of PARAM_NAMES) {
    const v = (parsed as Record<string, unknown>)[name];
    if (v !== undefined && Value.Check(props[name], v)) out[name] = v;
  }
  return out;
}

/** The stored form: only the names set, in allow-list order. */
export function writeParams(params: TerminalParams): string {
  const out: Record<string, unknown> = {};
  for (const name of PARAM_NAMES) if (params[name] !== undefined) out[name] = params[name];
  return JSON.stringify(out);
}

/** defaults ← groups (in the order given) ← own; keys always in allow-list order. */
export function mergeParams(groups: readonly TerminalParams[], own: TerminalParams): EffectiveParams {
  const out: Record<string, unknown> = {};
  for (const name of PARAM_NAMES) {
    let v: unknown = PARAM_DEFAULTS[name];
    for (const g of groups) if (g[name] !== undefined) v = g[name];
    if (own[name] !== undefined) v = own[name];
    out[name] = v;
  }
  return out as EffectiveParams;
}

/** The heartbeat interval some group or the terminal itself sets, or null when the default applies. */
export function heartbeatOverride(groups: readonly TerminalParams[], own: TerminalParams): number | null {
  let v: number | null = null;
  for (const g of groups) if (g.heartbeat_interval_s !== undefined) v = g.heartbeat_interval_s;
  return own.heartbeat_interval_s ?? v;
}

/** Online: seen within OFFLINE_AFTER_MISSED heartbeat intervals (all times in µs). */
export function isOnline(lastSeenAt: number | null, heartbeatIntervalS: number | null, now: number): boolean {
  if (lastSeenAt === null) return false;
  return now - lastSeenAt <= OFFLINE_AFTER_MISSED * (heartbeatIntervalS ?? PARAM_DEFAULTS.heartbeat_interval_s) * 1_000_000;
}

/** Which terminals a parameter change may touch: some ids, or every member of a group. */
export type ParamTarget = { ids: readonly string[] } | { groupId: string };

export interface ParamState {
  status: string;
  effective: EffectiveParams;
  heartbeatOverride: number | null;
}

const ID_CHUNK = 500;
const COMMAND_CHUNK = 1_000;

/** Effective parameters of the targeted terminals (those that exist), by terminal id. */
export async function loadParamStates(database: AnyKysely, target: ParamTarget): Promise<Map<string, ParamState>> {
  const db = database as Kysely<FleetTables>;
  const chunks: (readonly string[] | null)[] = [];
  if ('ids' in target) {
    for (let i = 0; i < target.ids.length; i += ID_CHUNK) chunks.push(target.ids.slice(i, i + ID_CHUNK));
  } else {
    chunks.push(null);
  }
  const out = new Map<string, ParamState>();
  const groupCache = new Map<string, TerminalParams>();
  for (const chunk of chunks) {
    const members = db
      .selectFrom('terminal_group_members')
      .select('terminal_id')
      .where('group_id', '=', 'groupId' in target ? target.groupId : '');
    let terminals = db.selectFrom('terminals').select(['id', 'status', 'params']);
    terminals = chunk ? terminals.where('id', 'in', chunk) : terminals.where('id', 'in', members);
    const rows = chunk && chunk.length === 0 ? [] : await terminals.execute();
    if (rows.length === 0) continue;
    let memberships = db
      .selectFrom('terminal_group_members as m')
      .innerJoin('terminal_groups as g', 'g.id', 'm.group_id')
      .select(['m.terminal_id', 'g.id', 'g.params'])
      .orderBy('g.created_at')
      .orderBy('g.id');
    memberships = chunk ? memberships.where('m.terminal_id', 'in', chunk) : memberships.where('m.terminal_id', 'in', members);
    const groupsOf = new Map<string, TerminalParams[]>();
    for (const m of await memberships.execute()) {
      let params = groupCache.get(m.id);
      if (!params) groupCache.set(m.id, (params = readParams(m.params)));
      const list = groupsOf.get(m.terminal_id) ?? [];
      list.push(params);
      groupsOf.set(m.terminal_id, list);
    }
    for (const r of rows) {
      const own = readParams(r.params);
      const groups = groupsOf.get(r.id) ?? [];
      out.set(r.id, { status: r.status, effective: mergeParams(groups, own), heartbeatOverride: heartbeatOverride(groups, own) });
    }
  }
  return out;
}

/** The parameters a terminal works with now (for the protocol part's sign-on answer, say). */
export async function effectiveParams(db: AnyKysely, terminalId: string): Promise<EffectiveParams | undefined> {
  return (await loadParamStates(db, { ids: [terminalId] })).get(terminalId)?.effective;
}

/** Any number; it only has to be the same in every process. */
const PARAM_LOCK_KEY = 0x5857_0004;

/**
 * Serialises parameter changes (own sets, group sets, group membership) across processes for the
 * rest of the transaction, so each change computes its commands from the state the previous one
 * left: without it, a terminal's own change and its group's change, committed side by side,
 * could each send a set that lacks the other. Staff make these changes rarely, so one lock for
 * the bank costs nothing. SQLite runs one write transaction at a time anyway.
 */
export async function lockParamChanges(trx: AnyKysely, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${PARAM_LOCK_KEY})`.execute(trx);
}

/** Terminals that can act on a command: a retired one never will, a registered one has no device yet. */
const COMMANDED_STATUSES = new Set(['active', 'locked']);

/**
 * After a change to own parameters, group parameters or group membership (made inside `trx`):
 * refreshes each affected terminal's stored heartbeat interval and enqueues one `parameters`
 * command, carrying the whole effective set, to each device whose effective set really changed.
 * Returns the ids of the terminals whose effective parameters changed.
 */
export async function settleParamChange(
  database: AnyKysely,
  commands: CommandQueue,
  before: ReadonlyMap<string, ParamState>,
  target: ParamTarget,
  now: number,
): Promise<string[]> {
  const db = database as Kysely<FleetTables>;
  const after = await loadParamStates(db, target);
  const missing = [...before.keys()].filter((id) => !after.has(id));
  if (missing.length > 0) for (const [id, state] of await loadParamStates(db, { ids: missing })) after.set(id, state);
  const changed: string[] = [];
  const queued: CommandInput[] = [];
  // One UPDATE per distinct new interval, not one per terminal: a group may hold thousands.
  const heartbeat = new Map<number | null, string[]>();
  for (const [id, was] of before) {
    const is = after.get(id);
    if (!is) continue;
    if (is.heartbeatOverride !== was.heartbeatOverride) {
      const list = heartbeat.get(is.heartbeatOverride) ?? [];
      list.push(id);
      heartbeat.set(is.heartbeatOverride, list);
    }
    if (JSON.stringify(is.effective) === JSON.stringify(was.effective)) continue;
    changed.push(id);
    if (COMMANDED_STATUSES.has(is.status)) {
      queued.push({
        terminal_id: id,
        kind: 'parameters',
        payload: { params: is.effective },
        expires_at: now + PARAMS_COMMAND_TTL_US,
        not_before: null,
      });
    }
  }
  for (const [value, ids] of heartbeat) {
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      await db
        .updateTable('terminals')
        .set({ heartbeat_interval_s: value })
        .where('id', 'in', ids.slice(i, i + ID_CHUNK))
        .execute();
    }
  }
  for (let i = 0; i < queued.length; i += COMMAND_CHUNK) {
    await commands.enqueue(queued.slice(i, i + COMMAND_CHUNK), database);
  }
  return changed;
}

/** Where each effective value comes from: 'default', 'terminal' or 'group:<id>'. */
export type ParamSources = Record<ParamName, string>;

/** The effective set of one terminal with the source of every value, for the console to explain it. */
export async function explainParams(
  database: AnyKysely,
  terminalId: string,
): Promise<{ effective: EffectiveParams; own: TerminalParams; sources: ParamSources } | undefined> {
  const db = database as Kysely<FleetTables>;
  const row = await db.selectFrom('terminals').select('params').where('id', '=', terminalId).executeTakeFirst();
  if (!row) return undefined;
  const groups = await db
    .selectFrom('terminal_group_members as m')
    .innerJoin('terminal_groups as g', 'g.id', 'm.group_id')
    .select(['g.id', 'g.params'])
    .where('m.terminal_id', '=', terminalId)
    .orderBy('g.created_at')
    .orderBy('g.id')
    .execute();
  const own = readParams(row.params);
  const groupParams = groups.map((g) => ({ id: g.id, params: readParams(g.params) }));
  const sources = {} as ParamSources;
  for (const name of PARAM_NAMES) {
    let source = 'default';
    for (const g of groupParams) if (g.params[name] !== undefined) source = `group:${g.id}`;
    if (own[name] !== undefined) source = 'terminal';
    sources[name] = source;
  }
  return {
    effective: mergeParams(
      groupParams.map((g) => g.params),
      own,
    ),
    own,
    sources,
  };
}
