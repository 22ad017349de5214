import { sql, type ExpressionBuilder, type Kysely, type SelectQueryBuilder } from 'kysely';
import { getRegion } from '../identity/regions.js';
import type { RegionTables } from '../identity/regions.js';
import type { Dialect } from '../platform/db/database.js';
import { XiaoweiError, type ErrorCode } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { isStorableText } from '../platform/text.js';
import { TERMINAL_KINDS, TERMINAL_STATUSES, type TerminalKind, type TerminalStatus } from './contracts.js';
import { canSeeTerminal, resolveOwner, type FleetScope } from './fleet-access.js';
import type { FleetTables } from './fleet-tables.js';
import { OFFLINE_AFTER_MISSED, PARAM_DEFAULTS, isOnline, readParams, type TerminalParams } from './params.js';

/**
 * Terminal records: create (one, or many from an import), change, read, list and count. Status
 * changes live in fleet-status.ts, groups in fleet-groups.ts.
 */

/** Serials are stored upper-case: 'p2mi00123' and 'P2MI00123' are one device. */
export const SERIAL_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{3,39}$';
/** A tag: letters (any script), digits and `_ . : -`, up to 32; at most MAX_TAGS per terminal. */
export const TAG_PATTERN = '^[\\p{L}\\p{N}][\\p{L}\\p{N}_.:-]{0,31}$';
export const MAX_TAGS = 16;
export const MODEL_MAX = 64;
/** Coordinates in millionths of a degree. */
export const LAT_E6_MAX = 90_000_000;
export const LNG_E6_MAX = 180_000_000;

const serialRe = new RegExp(SERIAL_PATTERN);
const tagRe = new RegExp(TAG_PATTERN, 'u');

export interface TerminalInput {
  serial: string;
  model: string;
  kind: TerminalKind;
  owner_party_id: string;
  region_code?: string | null;
  lat_e6?: number | null;
  lng_e6?: number | null;
  tags?: readonly string[];
}

/** A terminal as the API shows it. */
export interface TerminalView {
  id: string;
  serial: string;
  model: string;
  kind: TerminalKind;
  status: TerminalStatus;
  owner_party_id: string;
  org_id: string;
  region_code: string | null;
  lat_e6: number | null;
  lng_e6: number | null;
  tags: string[];
  /** Whether a device key is bound (the key itself is public but of no use to a reader). */
  device_bound: boolean;
  activated_at: number | null;
  last_seen_at: number | null;
  /** Seen within 3 heartbeat intervals. */
  online: boolean;
  heartbeat_interval_s: number;
  created_at: number;
}

type TerminalRow = FleetTables['terminals'];

export function readTags(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

export function toTerminalView(r: TerminalRow, now: number): TerminalView {
  const lastSeen = toSafeIntOrNull(r.last_seen_at);
  const interval = r.heartbeat_interval_s === null ? null : toSafeInt(r.heartbeat_interval_s);
  return {
    id: r.id,
    serial: r.serial,
    model: r.model,
    kind: r.kind as TerminalKind,
    status: r.status as TerminalStatus,
    owner_party_id: r.owner_party_id,
    org_id: r.org_id,
    region_code: r.region_code,
    lat_e6: toSafeIntOrNull(r.lat_e6),
    lng_e6: toSafeIntOrNull(r.lng_e6),
    tags: readTags(r.tags),
    device_bound: r.device_public_key !== null,
    activated_at: toSafeIntOrNull(r.activated_at),
    last_seen_at: lastSeen,
    online: r.status !== 'retired' && isOnline(lastSeen, interval, now),
    heartbeat_interval_s: interval ?? PARAM_DEFAULTS.heartbeat_interval_s,
    created_at: toSafeInt(r.created_at),
  };
}

/** One problem with one field of one input (an import row, or the single terminal being created). */
export interface FieldProblem {
  row: number;
  field: string;
  code: ErrorCode;
  detail?: string;
}

export function normaliseSerial(serial: string): string {
  return serial.trim().toUpperCase();
}

/** Distinct tags in the order given. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t !== ''))];
}

/** Checks the fields that need no database (the API schema checks them too; the import relies on this). */
export function checkTerminalFields(row: number, input: TerminalInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const bad = (field: string, detail: string) => problems.push({ row, field, code: 'validation_failed', detail: `${field} ${detail}` });
  if (!serialRe.test(input.serial))
    bad('serial', 'must be 4–40 letters, digits, dots, underscores or hyphens, starting with a letter or digit');
  if (!isStorableText(input.model, MODEL_MAX) || input.model.trim() === '') bad('model', `must be 1–${MODEL_MAX} characters`);
  if (!(TERMINAL_KINDS as readonly string[]).includes(input.kind)) bad('kind', `must be one of ${TERMINAL_KINDS.join(', ')}`);
  if (input.owner_party_id === '') bad('owner_party_id', 'is required');
  if (input.region_code != null && !/^[0-9]{4,12}$/.test(input.region_code)) bad('region_code', 'must be 4–12 digits');
  const lat = input.lat_e6 ?? null;
  const lng = input.lng_e6 ?? null;
  if ((lat === null) !== (lng === null)) bad(lat === null ? 'lat' : 'lng', 'latitude and longitude go together');
  if (lat !== null && !(Number.isSafeInteger(lat) && Math.abs(lat) <= LAT_E6_MAX)) bad('lat', 'must be within ±90 degrees');
  if (lng !== null && !(Number.isSafeInteger(lng) && Math.abs(lng) <= LNG_E6_MAX)) bad('lng', 'must be within ±180 degrees');
  const tags = input.tags ?? [];
  if (tags.length > MAX_TAGS) bad('tags', `may hold at most ${MAX_TAGS} tags`);
  const wrong = tags.find((t) => !tagRe.test(t));
  if (wrong !== undefined) bad('tags', `'${wrong.slice(0, 40)}' is not a tag (letters, digits, _ . : -, up to 32)`);
  return problems;
}

/** A row ready to insert, with the organisation of its owner. */
export interface PreparedTerminal {
  row: number;
  input: TerminalInput & { serial: string };
  org_id: string;
}

/**
 * The checks that need the database, for many inputs at once: owner (a party the staff actor
 * serves, holding an owner role), region (an existing division code) and serial (not taken).
 * Looks every distinct owner and region up once.
 */
export async function checkTerminalReferences(
  db: Kysely<FleetTables>,
  actor: Actor,
  inputs: readonly { row: number; input: TerminalInput }[],
): Promise<{ ready: PreparedTerminal[]; problems: FieldProblem[] }> {
  const owners = new Map<string, Awaited<ReturnType<typeof resolveOwner>>>();
  for (const { input } of inputs)
    if (!owners.has(input.owner_party_id)) owners.set(input.owner_party_id, await resolveOwner(db, actor, input.owner_party_id));
  const regions = new Map<string, boolean>();
  for (const { input } of inputs) {
    const code = input.region_code;
    if (code && !regions.has(code)) regions.set(code, (await getRegion(db as unknown as Kysely<RegionTables>, code)) !== undefined);
  }
  const taken = await takenSerials(
    db,
    inputs.map((i) => i.input.serial),
  );
  const ready: PreparedTerminal[] = [];
  const problems: FieldProblem[] = [];
  for (const { row, input } of inputs) {
    const before = problems.length;
    const owner = owners.get(input.owner_party_id)!;
    if ('problem' in owner) problems.push({ row, field: 'owner_party_id', code: owner.problem, detail: input.owner_party_id.slice(0, 64) });
    if (input.region_code && !regions.get(input.region_code))
      problems.push({ row, field: 'region_code', code: 'terminal_region_unknown', detail: input.region_code });
    if (taken.has(input.serial)) problems.push({ row, field: 'serial', code: 'terminal_serial_exists', detail: input.serial });
    if (problems.length === before && 'org_id' in owner) ready.push({ row, input, org_id: owner.org_id });
  }
  return { ready, problems };
}

const CHUNK = 500;

async function takenSerials(db: Kysely<FleetTables>, serials: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < serials.length; i += CHUNK) {
    const rows = await db
      .selectFrom('terminals')
      .select('serial')
      .where('serial', 'in', serials.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) out.add(r.serial);
  }
  return out;
}

/**
 * Inserts prepared terminals (status `registered`), `ON CONFLICT (serial) DO NOTHING`: a serial
 * another request took since the check is reported back instead of failing the whole batch.
 */
export async function insertTerminals(
  db: Kysely<FleetTables>,
  prepared: readonly PreparedTerminal[],
  now: number,
): Promise<{ created: { row: number; id: string; serial: string }[]; conflicts: PreparedTerminal[] }> {
  const created: { row: number; id: string; serial: string }[] = [];
  const conflicts: PreparedTerminal[] = [];
  for (let i = 0; i < prepared.length; i += CHUNK) {
    const chunk = prepared.slice(i, i + CHUNK);
    const rows = chunk.map((p) => terminalRow(p, now));
    const inserted = await db
      .insertInto('terminals')
      .values(rows)
      .onConflict((oc) => oc.column('serial').doNothing())
      .returning(['id', 'serial'])
      .execute();
    const ids = new Map(inserted.map((r) => [r.serial, r.id]));
    for (const p of chunk) {
      const id = ids.get(p.input.serial);
      if (id) created.push({ row: p.row, id, serial: p.input.serial });
      else conflicts.push(p);
    }
  }
  return { created, conflicts };
}

function terminalRow(p: PreparedTerminal, now: number): TerminalRow {
  const { input } = p;
  return {
    id: newId(),
    serial: input.serial,
    model: input.model.trim(),
    kind: input.kind,
    status: 'registered',
    owner_party_id: input.owner_party_id,
    org_id: p.org_id,
    region_code: input.region_code ?? null,
    lat_e6: input.lat_e6 ?? null,
    lng_e6: input.lng_e6 ?? null,
    tags: JSON.stringify(normaliseTags(input.tags ?? [])),
    params: '{}',
    device_public_key: null,
    activated_at: null,
    last_seen_at: null,
    created_at: now,
    heartbeat_interval_s: null,
  };
}

/** Throws the first problem as the error the API answers with. */
export function throwFirst(problems: readonly FieldProblem[]): void {
  const p = problems[0];
  if (p) throw new XiaoweiError(p.code, p.detail);
}

/** Registers one terminal for a staff actor. */
export async function createTerminal(db: Kysely<FleetTables>, actor: Actor, input: TerminalInput, now: number): Promise<TerminalView> {
  const normalised = { ...input, serial: normaliseSerial(input.serial), tags: normaliseTags(input.tags ?? []) };
  throwFirst(checkTerminalFields(1, normalised));
  const { ready, problems } = await checkTerminalReferences(db, actor, [{ row: 1, input: normalised }]);
  throwFirst(problems);
  const { created, conflicts } = await insertTerminals(db, ready, now);
  if (conflicts.length > 0 || !created[0]) throw new XiaoweiError('terminal_serial_exists', normalised.serial);
  return toTerminalView(await loadTerminal(db, created[0].id), now);
}

export async function loadTerminal(db: Kysely<FleetTables>, id: string): Promise<TerminalRow> {
  const row = await db.selectFrom('terminals').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new XiaoweiError('not_found');
  return row;
}

/** The terminal if the actor may see it; `not_found` otherwise (whether or not it exists). */
export async function visibleTerminal(db: Kysely<FleetTables>, actor: Actor, id: string): Promise<TerminalRow> {
  const row = await db.selectFrom('terminals').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(await canSeeTerminal(db, actor, row))) throw new XiaoweiError('not_found');
  return row;
}

export interface TerminalPatch {
  serial?: string;
  model?: string;
  kind?: TerminalKind;
  owner_party_id?: string;
  region_code?: string | null;
  lat_e6?: number | null;
  lng_e6?: number | null;
  tags?: readonly string[];
}

/**
 * Changes a terminal's record. A retired terminal is final. The serial may be corrected only
 * while the terminal is `registered` (before a device has bound to it). A new owner must be one
 * the actor serves, and brings its organisation along.
 */
export async function updateTerminal(
  db: Kysely<FleetTables>,
  actor: Actor,
  id: string,
  patch: TerminalPatch,
  now: number,
): Promise<TerminalView> {
  const current = await visibleTerminal(db, actor, id);
  if (current.status === 'retired') throw new XiaoweiError('terminal_status_conflict', current.status);
  const next: TerminalInput = {
    serial: patch.serial === undefined ? current.serial : normaliseSerial(patch.serial),
    model: patch.model ?? current.model,
    kind: patch.kind ?? (current.kind as TerminalKind),
    owner_party_id: patch.owner_party_id ?? current.owner_party_id,
    region_code: patch.region_code === undefined ? current.region_code : patch.region_code,
    lat_e6: patch.lat_e6 === undefined ? toSafeIntOrNull(current.lat_e6) : patch.lat_e6,
    lng_e6: patch.lng_e6 === undefined ? toSafeIntOrNull(current.lng_e6) : patch.lng_e6,
    tags: patch.tags === undefined ? readTags(current.tags) : normaliseTags(patch.tags),
  };
  throwFirst(checkTerminalFields(1, next));
  if (next.serial !== current.serial && current.status !== 'registered') throw new XiaoweiError('terminal_status_conflict', current.status);
  let orgId = current.org_id;
  if (next.owner_party_id !== current.owner_party_id) {
    const owner = await resolveOwner(db, actor, next.owner_party_id);
    if ('problem' in owner) throw new XiaoweiError(owner.problem, next.owner_party_id.slice(0, 64));
    orgId = owner.org_id;
  }
  if (
    next.region_code &&
    next.region_code !== current.region_code &&
    !(await getRegion(db as unknown as Kysely<RegionTables>, next.region_code))
  ) {
    throw new XiaoweiError('terminal_region_unknown', next.region_code);
  }
  if (next.serial !== current.serial && (await takenSerials(db, [next.serial])).size > 0)
    throw new XiaoweiError('terminal_serial_exists', next.serial);
  try {
    // Conditional on the status read above, so a retirement in between is not overwritten.
    const result = await db
      .updateTable('terminals')
      .set({
        serial: next.serial,
        model: next.model.trim(),
        kind: next.kind,
        owner_party_id: next.owner_party_id,
        org_id: orgId,
        region_code: next.region_code ?? null,
        lat_e6: next.lat_e6 ?? null,
        lng_e6: next.lng_e6 ?? null,
        tags: JSON.stringify(next.tags),
      })
      .where('id', '=', id)
      .where('status', '=', current.status)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      const now2 = await loadTerminal(db, id);
      throw new XiaoweiError('terminal_status_conflict', now2.status);
    }
  } catch (error) {
    if (error instanceof XiaoweiError) throw error;
    // Only a serial taken by a concurrent request can break the unique index here.
    if ((await takenSerials(db, [next.serial])).size > 0) throw new XiaoweiError('terminal_serial_exists', next.serial);
    throw error;
  }
  return toTerminalView(await loadTerminal(db, id), now);
}

export interface TerminalQuery {
  status?: TerminalStatus;
  kind?: TerminalKind;
  group_id?: string;
  tag?: string;
  owner_party_id?: string;
  /** A division code: the terminals in it and in every division under it. */
  region?: string;
  /** Part of a serial. */
  search?: string;
  online?: boolean;
  limit?: number;
  offset?: number;
}

type TerminalSelect = SelectQueryBuilder<FleetTables, 'terminals', object>;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `online` as SQL, matching isOnline(): the interval is cast so 3 × 3600 × 10^6 cannot overflow int4. */
function onlineCondition(eb: ExpressionBuilder<FleetTables, 'terminals'>, now: number) {
  return eb.and([
    eb('status', '<>', 'retired'),
    eb('last_seen_at', 'is not', null),
    eb(
      sql<number>`last_seen_at + ${OFFLINE_AFTER_MISSED * 1_000_000} * cast(coalesce(heartbeat_interval_s, ${PARAM_DEFAULTS.heartbeat_interval_s}) as bigint)`,
      '>=',
      now,
    ),
  ]);
}

function scoped(query: TerminalSelect, scope: FleetScope): TerminalSelect {
  if (scope.kind === 'owner')
    return scope.partyId === null ? query.where(sql<boolean>`1 = 0`) : query.where('owner_party_id', '=', scope.partyId);
  return scope.orgIds.length === 0 ? query.where(sql<boolean>`1 = 0`) : query.where('org_id', 'in', scope.orgIds);
}

function filtered(db: Kysely<FleetTables>, dialect: Dialect, scope: FleetScope, q: TerminalQuery, now: number): TerminalSelect {
  let query = scoped(db.selectFrom('terminals'), scope);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.kind) query = query.where('kind', '=', q.kind);
  if (q.owner_party_id) query = query.where('owner_party_id', '=', q.owner_party_id);
  if (q.group_id) {
    const groupId = q.group_id;
    query = query.where('id', 'in', (eb) => eb.selectFrom('terminal_group_members').select('terminal_id').where('group_id', '=', groupId));
  }
  if (q.tag) {
    // Tags are a JSON array of strings whose alphabet needs no JSON escaping, so `"tag"` occurs
    // in the text exactly when the tag is in the array. A substring search, not LIKE, keeps the
    // match exact and case-sensitive on both databases.
    const needle = JSON.stringify(q.tag);
    query = query.where(dialect === 'postgres' ? sql<boolean>`strpos(tags, ${needle}) > 0` : sql<boolean>`instr(tags, ${needle}) > 0`);
  }
  if (q.region) query = query.where('region_code', 'like', `${escapeLike(q.region)}%`);
  if (q.search) query = query.where(sql<boolean>`upper(serial) like ${`%${escapeLike(q.search.toUpperCase())}%`} escape '\\'`);
  if (q.online !== undefined)
    query = q.online ? query.where((eb) => onlineCondition(eb, now)) : query.where((eb) => eb.not(onlineCondition(eb, now)));
  return query;
}

/** Terminals the scope sees, newest first, with the total that match. */
export async function listTerminals(
  db: Kysely<FleetTables>,
  dialect: Dialect,
  scope: FleetScope,
  q: TerminalQuery,
  now: number,
): Promise<{ items: TerminalView[]; total: number }> {
  const base = filtered(db, dialect, scope, q, now);
  const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(Math.min(q.limit ?? 50, 500))
    .offset(q.offset ?? 0)
    .execute();
  return { items: rows.map((r) => toTerminalView(r, now)), total: toSafeInt(total.n) };
}

export interface FleetSummary {
  total: number;
  by_status: Record<TerminalStatus, number>;
  by_kind: Record<TerminalKind, number>;
  /** Not retired and seen within 3 heartbeat intervals. */
  online: number;
  /** Activated (active or locked) but not online. */
  offline: number;
}

/** Counts for the console's overview, in two grouped queries. */
export async function fleetSummary(db: Kysely<FleetTables>, scope: FleetScope, now: number): Promise<FleetSummary> {
  const rows = await scoped(db.selectFrom('terminals'), scope)
    .select(['status', 'kind'])
    .select((eb) => [
      eb.fn.countAll().as('n'),
      eb.fn.sum<number>(eb.case().when(onlineCondition(eb, now)).then(1).else(0).end()).as('online'),
    ])
    .groupBy(['status', 'kind'])
    .execute();
  const summary: FleetSummary = {
    total: 0,
    by_status: Object.fromEntries(TERMINAL_STATUSES.map((s) => [s, 0])) as Record<TerminalStatus, number>,
    by_kind: Object.fromEntries(TERMINAL_KINDS.map((k) => [k, 0])) as Record<TerminalKind, number>,
    online: 0,
    offline: 0,
  };
  for (const r of rows) {
    const n = toSafeInt(r.n);
    const online = toSafeInt(r.online ?? 0);
    summary.total += n;
    if (r.status in summary.by_status) summary.by_status[r.status as TerminalStatus] += n;
    if (r.kind in summary.by_kind) summary.by_kind[r.kind as TerminalKind] += n;
    summary.online += online;
    if (r.status === 'active' || r.status === 'locked') summary.offline += n - online;
  }
  return summary;
}

export interface HeartbeatView {
  ts: number;
  app_versions: Record<string, string> | null;
  network: string | null;
  signal_dbm: number | null;
  /** Percent. */
  battery: number | null;
  charging: boolean | null;
  lat_e6: number | null;
  lng_e6: number | null;
}

export interface TerminalDetail extends TerminalView {
  groups: { id: string; name: string }[];
  /** The terminal's own parameters (what it overrides); see effective-params for the merged set. */
  params: TerminalParams;
  last_heartbeat: HeartbeatView | null;
}

export async function terminalDetail(
  db: Kysely<FleetTables>,
  row: TerminalRow,
  now: number,
  lastHeartbeat: HeartbeatView | null,
): Promise<TerminalDetail> {
  const groups = await db
    .selectFrom('terminal_group_members as m')
    .innerJoin('terminal_groups as g', 'g.id', 'm.group_id')
    .select(['g.id', 'g.name'])
    .where('m.terminal_id', '=', row.id)
    .orderBy('g.created_at')
    .orderBy('g.id')
    .execute();
  return { ...toTerminalView(row, now), groups, params: readParams(row.params), last_heartbeat: lastHeartbeat };
}
