/**
 * Risk rules as staff manage them: create, new version, mode, read with the version history, the
 * per-rule summary of hits (what a shadow rule would have done) and the recorded decisions.
 * A rule belongs to an organisation and applies to its subtree; staff see and change the rules of
 * organisations in their own subtree only (others answer `risk_rule_not_found`).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { scopeHas } from '../identity/access.js';
import type { IdentityTables } from '../identity/tables.js';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import { defaultOutcome, outcomeProblem, paramsProblem, type RuleKind, type RuleMode, type RuleOutcome } from './risk-rules.js';
import type { HitView } from './risk-tables.js';
import type { RiskTables } from './risk-tables.js';

type Db = Kysely<RiskTables>;

export interface RuleVersionView {
  version: number;
  name: string;
  outcome: RuleOutcome;
  params: unknown;
  note: string | null;
  created_by: string | null;
  created_at: number;
}

export interface RuleView extends RuleVersionView {
  id: string;
  org_id: string;
  kind: RuleKind;
  mode: RuleMode;
  updated_at: number;
  versions?: RuleVersionView[];
}

const versionView = (v: RiskTables['risk_rule_versions']): RuleVersionView => ({
  version: toSafeInt(v.version),
  name: v.name,
  outcome: v.outcome as RuleOutcome,
  params: JSON.parse(v.params) as unknown,
  note: v.note,
  created_by: v.created_by,
  created_at: toSafeInt(v.created_at),
});

export function requireStaffActor(actor: Actor): void {
  if (actor.org_scope === null) throw new XiaoweiError('forbidden');
}

async function inScope(db: Db, actor: Actor, orgId: string): Promise<boolean> {
  return actor.org_scope !== null && scopeHas(db as unknown as Kysely<IdentityTables>, actor, orgId);
}

function checkDefinition(kind: RuleKind, outcome: RuleOutcome, params: unknown): void {
  const p = paramsProblem(kind, params);
  if (p) throw new XiaoweiError('risk_rule_invalid', `params${p}`);
  const o = outcomeProblem(kind, outcome);
  if (o) throw new XiaoweiError('risk_rule_invalid', o);
}

export async function loadRule(db: Db, actor: Actor, id: string, withVersions = false): Promise<RuleView> {
  const r = await db.selectFrom('risk_rules').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r || !(await inScope(db, actor, r.org_id))) throw new XiaoweiError('risk_rule_not_found');
  const versions = await db
    .selectFrom('risk_rule_versions')
    .selectAll()
    .where('rule_id', '=', id)
    .$if(!withVersions, (q) => q.where('version', '=', r.version))
    .orderBy('version', 'desc')
    .execute();
  const cur = versions.find((v) => toSafeInt(v.version) === toSafeInt(r.version))!;
  return {
    id: r.id,
    org_id: r.org_id,
    kind: r.kind as RuleKind,
    mode: r.mode as RuleMode,
    ...versionView(cur),
    created_at: toSafeInt(r.created_at),
    updated_at: toSafeInt(r.updated_at),
    ...(withVersions ? { versions: versions.map(versionView) } : {}),
  };
}

export async function listRules(db: Db, actor: Actor, q: { kind?: RuleKind; mode?: RuleMode; org_id?: string }): Promise<RuleView[]> {
  requireStaffActor(actor);
  let query = db
    .selectFrom('risk_rules as r')
    .innerJoin('risk_rule_versions as v', (j) => j.onRef('v.rule_id', '=', 'r.id').onRef('v.version', '=', 'r.version'))
    .select([
      'r.id',
      'r.org_id',
      'r.kind',
      'r.mode',
      'r.created_at',
      'r.updated_at',
      'v.version',
      'v.name',
      'v.outcome',
      'v.params',
      'v.note',
      'v.created_by',
    ])
    .where('r.org_id', 'in', [...actor.org_scope!])
    .orderBy('r.created_at')
    .orderBy('r.id');
  if (q.kind) query = query.where('r.kind', '=', q.kind);
  if (q.mode) query = query.where('r.mode', '=', q.mode);
  if (q.org_id) query = query.where('r.org_id', '=', q.org_id);
  return (await query.execute()).map((r) => ({
    id: r.id,
    org_id: r.org_id,
    kind: r.kind as RuleKind,
    mode: r.mode as RuleMode,
    version: toSafeInt(r.version),
    name: r.name,
    outcome: r.outcome as RuleOutcome,
    params: JSON.parse(r.params) as unknown,
    note: r.note,
    created_by: r.created_by,
    created_at: toSafeInt(r.created_at),
    updated_at: toSafeInt(r.updated_at),
  }));
}

export interface NewRule {
  org_id?: string;
  name: string;
  kind: RuleKind;
  mode?: RuleMode;
  outcome?: RuleOutcome;
  params: unknown;
  note?: string;
}

export async function createRule(db: Db, actor: Actor, input: NewRule, now: number): Promise<RuleView> {
  requireStaffActor(actor);
  const orgId = input.org_id ?? actor.org_id;
  if (!(await inScope(db, actor, orgId))) throw new XiaoweiError('risk_rule_invalid', 'org_id must be an organisation in your scope');
  const outcome = input.outcome ?? defaultOutcome(input.kind);
  checkDefinition(input.kind, outcome, input.params);
  const id = newId();
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('risk_rules')
      .values({
        id,
        org_id: orgId,
        kind: input.kind,
        mode: input.mode ?? 'shadow',
        version: 1,
        revision: 1,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await trx
      .insertInto('risk_rule_versions')
      .values({
        rule_id: id,
        version: 1,
        name: input.name,
        outcome,
        params: JSON.stringify(input.params),
        note: input.note ?? null,
        created_by: actor.user_id,
        created_at: now,
      })
      .execute();
  });
  return loadRule(db, actor, id, true);
}

export async function addVersion(
  db: Db,
  actor: Actor,
  id: string,
  input: { name?: string; outcome?: RuleOutcome; params: unknown; note?: string },
  now: number,
): Promise<RuleView> {
  requireStaffActor(actor);
  const rule = await loadRule(db, actor, id);
  const outcome = input.outcome ?? rule.outcome;
  checkDefinition(rule.kind, outcome, input.params);
  await db.transaction().execute(async (trx) => {
    // The version number is claimed by the primary key: a concurrent change loses with a conflict.
    const latest = await trx
      .selectFrom('risk_rule_versions')
      .select(sql<string>`max(version)`.as('v'))
      .where('rule_id', '=', id)
      .executeTakeFirstOrThrow();
    const version = toSafeInt(latest.v) + 1;
    await trx
      .insertInto('risk_rule_versions')
      .values({
        rule_id: id,
        version,
        name: input.name ?? rule.name,
        outcome,
        params: JSON.stringify(input.params),
        note: input.note ?? null,
        created_by: actor.user_id,
        created_at: now,
      })
      .execute();
    await trx
      .updateTable('risk_rules')
      .set({ version, revision: sql`revision + 1`, updated_at: now })
      .where('id', '=', id)
      .execute();
  });
  return loadRule(db, actor, id, true);
}

export async function setMode(db: Db, actor: Actor, id: string, mode: RuleMode, now: number): Promise<RuleView> {
  requireStaffActor(actor);
  const rule = await loadRule(db, actor, id);
  if (rule.mode !== mode) {
    await db
      .updateTable('risk_rules')
      .set({ mode, revision: sql`revision + 1`, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
  return loadRule(db, actor, id, true);
}

export interface SummaryRow {
  version: number;
  shadow: boolean;
  outcome: 'approve' | 'decline' | 'review';
  count: number;
}

/**
 * What a rule did (active) or would have done (shadow), per version, in [from, to): the counts of
 * hits by outcome. `would_decline`/`would_review` add up the shadow hits.
 */
export async function ruleSummary(db: Db, actor: Actor, id: string, range: { from?: number; to?: number }) {
  const rule = await loadRule(db, actor, id);
  let q = db
    .selectFrom('risk_hits')
    .select(['version', 'shadow', 'outcome', sql<string>`count(*)`.as('n')])
    .where('rule_id', '=', id)
    .groupBy(['version', 'shadow', 'outcome'])
    .orderBy('version', 'desc');
  if (range.from !== undefined) q = q.where('at', '>=', range.from);
  if (range.to !== undefined) q = q.where('at', '<', range.to);
  const items: SummaryRow[] = (await q.execute()).map((r) => ({
    version: toSafeInt(r.version),
    shadow: toSafeInt(r.shadow) === 1,
    outcome: r.outcome as SummaryRow['outcome'],
    count: toSafeInt(r.n),
  }));
  const sum = (shadow: boolean, outcome: SummaryRow['outcome']) =>
    items.filter((i) => i.shadow === shadow && i.outcome === outcome).reduce((s, i) => s + i.count, 0);
  return {
    rule_id: rule.id,
    mode: rule.mode,
    version: rule.version,
    would_decline: sum(true, 'decline'),
    would_review: sum(true, 'review'),
    would_approve: sum(true, 'approve'),
    declined: sum(false, 'decline'),
    reviewed: sum(false, 'review'),
    approved: sum(false, 'approve'),
    items,
  };
}

/** Recorded assessments (newest first), optionally those that hit one rule. */
export async function listDecisions(db: Db, actor: Actor, q: { rule_id?: string; before?: number; limit?: number }) {
  requireStaffActor(actor);
  const limit = q.limit ?? 50;
  let query = db
    .selectFrom('risk_decisions as d')
    .selectAll('d')
    .where('d.org_id', 'in', [...actor.org_scope!])
    .orderBy('d.at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(limit);
  if (q.rule_id) {
    await loadRule(db, actor, q.rule_id);
    const ruleId = q.rule_id;
    query = query.where((eb) =>
      eb.exists(eb.selectFrom('risk_hits as h').select('h.rule_id').whereRef('h.decision_id', '=', 'd.id').where('h.rule_id', '=', ruleId)),
    );
  }
  if (q.before !== undefined) query = query.where('d.at', '<', q.before);
  const rows = await query.execute();
  const items = rows.map((r) => {
    const parsed = JSON.parse(r.hits) as { hits: HitView[]; allowed_by: HitView[] };
    return {
      id: r.id,
      at: toSafeInt(r.at),
      org_id: r.org_id,
      type: r.type,
      amount: toSafeInt(r.amount),
      merchant_party_id: r.merchant_party_id,
      terminal_id: r.terminal_id,
      card_id: r.card_id,
      outcome: r.outcome,
      code: r.code,
      hits: parsed.hits,
      allowed_by: parsed.allowed_by,
    };
  });
  return { items, next_before: items.length === limit ? items[items.length - 1]!.at : null };
}
