/**
 * The risk engine: evaluates the active and shadow rules of the transaction's organisation and
 * its ancestors before money moves, and records every assessment that hit a rule.
 *
 * Rules are cached per process and reloaded when the sum of the rules' revisions changes (one
 * cheap aggregate query at most once a second, started by an assessment; a change made through
 * this process's routes reloads at once) — another process sees a change within about a second of
 * its next assessment. Counts and sums (velocity, daily totals, the merchant's normal amount) are
 * read from pay_transactions, so they are right across processes; only the kinds of rule that exist
 * cost a query, and no rules cost none at all. On SQLite (one process) a velocity count is first
 * bounded from above in memory (risk-velocity.ts): a subject far under its limit costs no query.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { prepared, type Prepared } from '../platform/db/prepared.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import {
  businessDate,
  type ResponseCode,
  type RiskContext,
  type RiskDecision,
  type RiskEngine,
  type RiskHit,
  type TxnStatus,
  type TxnType,
} from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import {
  ASSESSED_TYPES,
  KIND_ORDER,
  beijingMinutes,
  businessDateRange,
  declineCode,
  distanceM,
  hhmm,
  inWindow,
  reasons,
  statistic,
  type Reason,
  type RuleKind,
  type RuleMode,
  type RuleOutcome,
  type RuleParams,
  type Scope,
} from './risk-rules.js';
import type { RiskTables } from './risk-tables.js';
import { IN_FLIGHT } from './engine-rows.js';
import { velocityBound } from './risk-velocity.js';

/** Diagnostic: XIAOWEI_RISK_ADVISORY_CARDS=1 serialises a card's claims with an advisory lock too, as before (PostgreSQL; for `BENCH_PAY_VARIANT`). */
const ADVISORY_FOR_CARDS = process.env.XIAOWEI_RISK_ADVISORY_CARDS === '1';

/** What a prepared count query is given (`counted`). */
type CountValues = { subject: string; since: number; until: number; date1: string; date2: string };
/** The count queries by shape, each built once (`counted`). */
const countQueries = new Map<string, Prepared<CountValues, { n: string; s: string | null }>>();

/** A rule as the engine evaluates it: its current version. */
export interface LoadedRule {
  id: string;
  org_id: string;
  kind: RuleKind;
  mode: Exclude<RuleMode, 'off'>;
  version: number;
  name: string;
  outcome: RuleOutcome;
  params: RuleParams[RuleKind];
  /** allow/deny lists: card ids (tokens resolved at load). */
  cardIds?: ReadonlySet<string>;
}

/** A hit of an allow list: approves, and is recorded, but is not a RiskHit (which declines or reviews). */
export interface AllowHit {
  rule_id: string;
  version: number;
  name: string;
  shadow: boolean;
  reason: Reason;
}

/** What assess answers: the contract's decision, plus the id of the recorded decision row and any allow-list hits. */
export interface RiskDecisionRecord extends RiskDecision {
  decision_id?: string;
  allowed_by?: AllowHit[];
}

export interface RiskEngineImpl extends RiskEngine {
  assess(ctx: RiskContext): Promise<RiskDecisionRecord>;
  /** Reload the rules now (this process changed one). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

const APPROVE: RiskDecision = { outcome: 'approve', code: '00', hits: [] };
/** Statuses that count towards velocity and daily totals: approved, or held for review (funds reserved). */
const COUNTED_STATUSES: TxnStatus[] = ['approved', 'held'];
/** The reply of a QR payment's or transfer's row in flight ends so (qr-commit.ts). */
const QR_IN_FLIGHT = '%,"inFlight":true}';
const NORMAL_TYPES: TxnType[] = ['sale', 'completion', 'qr_sale'];
const POLL_US = 1_000_000;
const NORMAL_TTL_US = 300_000_000;
const TERMINAL_TTL_US = 30_000_000;
const MINUTE_US = 60_000_000;
const DAY_US = 86_400_000_000;

type Db = Kysely<RiskTables>;

export function createRiskEngine(deps: Omit<PaymentsDeps, 'risk'>): RiskEngineImpl {
  const db = deps.db as Db;
  let rules: LoadedRule[] | null = null;
  let key: string | null = null;
  let checkedAt = 0;
  let loading: Promise<void> | null = null;
  /** Organisation → itself and its ancestors (organisations never move). */
  const lineage = new Map<string, ReadonlySet<string>>();
  const terminalPlaces = new Map<string, { lat: number | null; lng: number | null; at: number }>();
  const normals = new Map<string, { values: number[]; at: number }>();
  const writer = new DecisionWriter(db);
  /** SQLite: an upper bound of velocity counts kept in memory (risk-velocity.ts); a count under the limit needs no query. */
  const bound = deps.database.dialect === 'sqlite' && deps.database.sqlite ? velocityBound(deps.database.sqlite) : undefined;

  async function revisionKey(): Promise<string> {
    const r = await db
      .selectFrom('risk_rules')
      .select([sql<string>`count(*)`.as('n'), sql<string | null>`sum(revision)`.as('s')])
      .executeTakeFirstOrThrow();
    return `${String(r.n)}:${String(r.s ?? 0)}`;
  }

  async function load(): Promise<void> {
    const k = await revisionKey();
    if (k === key && rules) return;
    const rows = await db
      .selectFrom('risk_rules as r')
      .innerJoin('risk_rule_versions as v', (j) => j.onRef('v.rule_id', '=', 'r.id').onRef('v.version', '=', 'r.version'))
      .select(['r.id', 'r.org_id', 'r.kind', 'r.mode', 'r.version', 'r.created_at', 'v.name', 'v.outcome', 'v.params'])
      .where('r.mode', '!=', 'off')
      .execute();
    const loaded: LoadedRule[] = rows
      .map((r) => ({
        id: r.id,
        org_id: r.org_id,
        kind: r.kind as RuleKind,
        mode: r.mode as LoadedRule['mode'],
        version: toSafeInt(r.version),
        name: r.name,
        outcome: r.outcome as RuleOutcome,
        params: JSON.parse(r.params) as RuleParams[RuleKind],
        created: toSafeInt(r.created_at),
      }))
      .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.created - b.created || a.id.localeCompare(b.id))
      .map(({ created: _created, ...rule }) => rule);
    // Lists may name cards by token: resolve to ids once per load.
    const tokens = new Set<string>();
    for (const r of loaded)
      if (r.kind === 'allow_list' || r.kind === 'deny_list')
        for (const c of (r.params as RuleParams['allow_list']).cards ?? []) tokens.add(c);
    const byToken = new Map<string, string>();
    if (tokens.size > 0) {
      const list = [...tokens];
      for (let i = 0; i < list.length; i += 500) {
        const found = await db
          .selectFrom('pay_cards')
          .select(['id', 'token'])
          .where('token', 'in', list.slice(i, i + 500))
          .execute();
        for (const f of found) byToken.set(f.token, f.id);
      }
      for (const r of loaded) {
        if (r.kind !== 'allow_list' && r.kind !== 'deny_list') continue;
        r.cardIds = new Set(((r.params as RuleParams['allow_list']).cards ?? []).map((c) => byToken.get(c) ?? c));
      }
    }
    rules = loaded;
    key = k;
  }

  /** The rules, reloaded when stale: the first load waits; later checks run in the background. */
  async function current(): Promise<LoadedRule[]> {
    const now = deps.now();
    if (rules && now - checkedAt < POLL_US) return rules;
    checkedAt = now;
    if (!loading) loading = load().finally(() => (loading = null));
    if (!rules) await loading;
    else loading.catch(() => undefined);
    return rules ?? [];
  }

  async function lineageOf(orgId: string): Promise<ReadonlySet<string>> {
    const known = lineage.get(orgId);
    if (known) return known;
    const all = await db.selectFrom('organisations').select(['id', 'parent_id']).execute();
    const parent = new Map(all.map((o) => [o.id, o.parent_id]));
    const out = new Set<string>();
    for (let at: string | null | undefined = orgId; at && !out.has(at); at = parent.get(at)) out.add(at);
    if (parent.has(orgId)) lineage.set(orgId, out);
    return out;
  }

  async function terminalPlace(terminalId: string, now: number): Promise<{ lat: number | null; lng: number | null }> {
    const cached = terminalPlaces.get(terminalId);
    if (cached && now - cached.at < TERMINAL_TTL_US) return cached;
    const row = await db.selectFrom('terminals').select(['lat_e6', 'lng_e6']).where('id', '=', terminalId).executeTakeFirst();
    const place = {
      lat: row?.lat_e6 == null ? null : toSafeInt(row.lat_e6),
      lng: row?.lng_e6 == null ? null : toSafeInt(row.lng_e6),
      at: now,
    };
    terminalPlaces.set(terminalId, place);
    return place;
  }

  const subjectOf = (ctx: RiskContext, scope: Scope): string | null =>
    scope === 'card' ? ctx.card_id : scope === 'terminal' ? ctx.terminal_id : scope === 'account' ? ctx.account_id : ctx.merchant_party_id;

  /**
   * Counted transactions of a subject since a moment (for velocity) — or of a business date. Rows
   * in flight (claimed, their outcome not recorded yet: `reply = ''`) count too: they may still be
   * approved. `on` is the claim's transaction for `confirm`.
   */
  async function counted(
    scope: Scope,
    subject: string,
    types: readonly string[],
    range: { since: number; until: number; date?: string },
    on: Db = db,
  ): Promise<{ count: number; sum: number }> {
    // The query is built once per shape (scope, types, by date or by time; platform/db/prepared.ts):
    // the subject, the moments and the dates are its parameters.
    const byDate = range.date !== undefined && scope === 'merchant';
    const shape = `${scope}:${byDate ? 'date' : 'time'}:${types.join(',')}`;
    let query = countQueries.get(shape);
    if (!query) {
      query = prepared<CountValues, { n: string; s: string | null }>((d, p) => {
        let q = (d as Db)
          .selectFrom('pay_transactions')
          .select([sql<string>`count(*)`.as('n'), sql<string | null>`sum(amount)`.as('s')])
          .where((eb) =>
            eb.or([
              eb('status', 'in', COUNTED_STATUSES),
              eb('reply', '=', IN_FLIGHT),
              // A QR payment's or transfer's row in flight (qr-commit.ts): a placeholder '96' marked inFlight.
              eb.and([eb('response_code', '=', '96'), eb('reply', 'like', QR_IN_FLIGHT)]),
            ]),
          )
          .where('type', 'in', [...types] as TxnType[]);
        if (scope === 'merchant') {
          q = q.where('merchant_party_id', '=', p.subject);
          // The (merchant_party_id, business_date) index: narrow to the dates the range touches.
          q = q.where('business_date', 'in', [p.date1, p.date2]);
        } else q = q.where(scope === 'card' ? 'card_id' : scope === 'terminal' ? 'terminal_id' : 'account_id', '=', p.subject);
        if (!byDate) q = q.where('created_at', '>', p.since).where('created_at', '<=', p.until);
        return q;
      });
      countQueries.set(shape, query);
    }
    // By date: that date; else the dates the range touches (one or two; the same one twice is one).
    const merchant = scope === 'merchant';
    const date1 = merchant ? (range.date ?? businessDate(range.since, deps.cutoffMinutes)) : '';
    const date2 = merchant ? (range.date ?? businessDate(range.until, deps.cutoffMinutes)) : '';
    const r = (await query.first(on, { subject, since: range.since, until: range.until, date1, date2 }))!;
    return { count: toSafeInt(r.n), sum: r.s === null ? 0 : toSafeInt(r.s) };
  }

  async function normalOf(merchant: string, days: number, now: number): Promise<number[]> {
    const k = `${merchant}:${days}`;
    const cached = normals.get(k);
    if (cached && now - cached.at < NORMAL_TTL_US) return cached.values;
    const from = businessDate(now - days * DAY_US, deps.cutoffMinutes);
    const rows = await db
      .selectFrom('pay_transactions')
      .select('amount')
      .where('merchant_party_id', '=', merchant)
      .where('business_date', '>=', from)
      .where('status', '=', 'approved')
      .where('type', 'in', NORMAL_TYPES)
      .where('created_at', '>', now - days * DAY_US)
      .execute();
    const values = rows.map((r) => toSafeInt(r.amount));
    normals.set(k, { values, at: now });
    if (normals.size > 10_000) normals.delete(normals.keys().next().value!);
    return values;
  }

  /** Evaluates one rule: the reason when it hits, else null. */
  async function evaluate(
    rule: LoadedRule,
    ctx: RiskContext,
    memo: Map<string, Promise<{ count: number; sum: number }>>,
  ): Promise<Reason | null> {
    const p = rule.params;
    if ('types' in p && p.types && !(p.types as readonly string[]).includes(ctx.type)) return null;
    if (!('types' in p && p.types) && !(ASSESSED_TYPES as readonly string[]).includes(ctx.type)) return null;
    const memoised = (k: string, f: () => Promise<{ count: number; sum: number }>) => {
      let v = memo.get(k);
      if (!v) memo.set(k, (v = f()));
      return v;
    };
    switch (rule.kind) {
      case 'allow_list':
      case 'deny_list': {
        const l = p as RuleParams['allow_list'];
        const say = rule.kind === 'allow_list' ? reasons.allow : reasons.deny;
        if (ctx.card_id && rule.cardIds?.has(ctx.card_id)) return say('card');
        if (ctx.card_id && !rule.cardIds && l.cards?.includes(ctx.card_id)) return say('card');
        if (ctx.terminal_id && l.terminals?.includes(ctx.terminal_id)) return say('terminal');
        if (ctx.merchant_party_id && l.merchants?.includes(ctx.merchant_party_id)) return say('merchant');
        return null;
      }
      case 'amount_limit': {
        const a = p as RuleParams['amount_limit'];
        const subject = subjectOf(ctx, a.scope);
        if (!subject || (a.ids && !a.ids.includes(subject))) return null;
        return ctx.amount > a.max_amount ? reasons.amount(a.scope, ctx.amount, a.max_amount) : null;
      }
      case 'daily_total': {
        const d = p as RuleParams['daily_total'];
        const subject = subjectOf(ctx, d.scope);
        if (!subject || (d.ids && !d.ids.includes(subject))) return null;
        // Cheap first: the amount alone over the limit needs no query.
        if (ctx.amount <= d.max_total) {
          const date = businessDate(ctx.at, deps.cutoffMinutes);
          const [since, until] = businessDateRange(date, deps.cutoffMinutes);
          const types = d.types ?? ASSESSED_TYPES;
          const sofar = await memoised(`d:${d.scope}:${subject}:${types.join(',')}`, () =>
            counted(d.scope, subject, types, { since: since - 1, until: until - 1, date }),
          );
          if (sofar.sum + ctx.amount <= d.max_total) return null;
          return reasons.daily(d.scope, sofar.sum + ctx.amount, d.max_total);
        }
        return reasons.daily(d.scope, ctx.amount, d.max_total);
      }
      case 'velocity': {
        const v = p as RuleParams['velocity'];
        const subject = subjectOf(ctx, v.scope);
        if (!subject || (v.ids && !v.ids.includes(subject))) return null;
        const types = v.types ?? ASSESSED_TYPES;
        const since = ctx.at - v.window_minutes * MINUTE_US;
        // Far under the limit by the bound (every row of the subject in the window, whatever its status): no query.
        const atMost = bound?.atMost(v.scope, subject, since, ctx.at) ?? null;
        if (atMost !== null && atMost + 1 <= v.max_count) return null;
        const sofar = await memoised(`v:${v.scope}:${subject}:${v.window_minutes}:${types.join(',')}`, () =>
          counted(v.scope, subject, types, { since, until: ctx.at }),
        );
        const count = sofar.count + 1;
        return count > v.max_count ? reasons.velocity(v.scope, count, v.window_minutes, v.max_count) : null;
      }
      case 'time_window': {
        const t = p as RuleParams['time_window'];
        const minute = beijingMinutes(ctx.at);
        if (!inWindow(minute, t.from, t.to)) return null;
        if (t.amount_above !== undefined && ctx.amount <= t.amount_above) return null;
        return reasons.time(t.from, t.to, hhmm(minute), t.amount_above);
      }
      case 'outside_area': {
        const o = p as RuleParams['outside_area'];
        if (!ctx.terminal_id) return null;
        const hasCoords = typeof ctx.lat_e6 === 'number' && typeof ctx.lng_e6 === 'number';
        if (!hasCoords) return o.require_location ? reasons.noLocation() : null;
        const place = await terminalPlace(ctx.terminal_id, ctx.at);
        // A terminal without a registered place cannot be outside it.
        if (place.lat === null || place.lng === null) return null;
        const d = distanceM(place.lat, place.lng, ctx.lat_e6!, ctx.lng_e6!);
        return d > o.radius_m ? reasons.area(d, o.radius_m) : null;
      }
      case 'amount_vs_normal': {
        const n = p as RuleParams['amount_vs_normal'];
        if (!ctx.merchant_party_id) return null;
        const values = await normalOf(ctx.merchant_party_id, n.days, ctx.at);
        if (values.length < n.min_samples) return null;
        const normal = statistic(values, n.statistic);
        if (BigInt(ctx.amount) * 100n <= BigInt(normal) * BigInt(n.factor_pct)) return null;
        return reasons.normal(ctx.amount, normal, n.factor_pct, n.statistic, values.length, n.days);
      }
    }
  }

  async function assess(ctx: RiskContext): Promise<RiskDecisionRecord> {
    const all = await current();
    if (all.length === 0) return APPROVE;
    const orgs = await lineageOf(ctx.org_id);
    const applicable = all.filter((r) => orgs.has(r.org_id));
    if (applicable.length === 0) return APPROVE;

    const memo = new Map<string, Promise<{ count: number; sum: number }>>();
    const allowed: AllowHit[] = [];
    // An active allow list short-circuits: nothing else is evaluated.
    for (const rule of applicable) {
      if (rule.kind !== 'allow_list') continue;
      const reason = await evaluate(rule, ctx, memo);
      if (reason) allowed.push({ rule_id: rule.id, version: rule.version, name: rule.name, shadow: rule.mode === 'shadow', reason });
    }
    if (allowed.some((a) => !a.shadow)) {
      const decision: RiskDecisionRecord = { ...APPROVE, allowed_by: allowed };
      decision.decision_id = await writer.write(ctx, decision);
      return decision;
    }

    const reasonsOf = await Promise.all(
      applicable.map((rule) => (rule.kind === 'allow_list' ? Promise.resolve(null) : evaluate(rule, ctx, memo))),
    );
    const hits: RiskHit[] = [];
    let outcome: RiskDecision['outcome'] = 'approve';
    let code: ResponseCode = '00';
    applicable.forEach((rule, i) => {
      const reason = reasonsOf[i];
      if (!reason) return;
      const shadow = rule.mode === 'shadow';
      const ruleOutcome = rule.outcome === 'review' ? 'review' : 'decline';
      hits.push({ rule_id: rule.id, version: rule.version, name: rule.name, outcome: ruleOutcome, shadow, reason });
      if (shadow) return;
      if (ruleOutcome === 'decline' && outcome !== 'decline') {
        outcome = 'decline';
        code = declineCode(rule.kind);
      } else if (ruleOutcome === 'review' && outcome === 'approve') {
        outcome = 'review';
        code = '09';
      }
    });
    if (hits.length === 0 && allowed.length === 0) return APPROVE;
    const decision: RiskDecisionRecord = { outcome, code, hits, ...(allowed.length > 0 ? { allowed_by: allowed } : {}) };
    decision.decision_id = await writer.write(ctx, decision);
    return decision;
  }

  /**
   * The counting rules again, inside the claim's transaction with its row inserted (so counted):
   * only active rules that decline (a review rule's hit would need a hold, which a claim cannot
   * start; shadow rules change nothing), and nothing when an active allow list approved. On
   * SQLite the group writer runs claims one after another in one transaction, so each counts the
   * claims before it; on PostgreSQL a lock per subject makes the next claim of the subject wait
   * for this one's commit, and its count — a new statement, so a new snapshot under read
   * committed — then sees this row. For a card it is the row lock on the card's usage row of the
   * day, which a sale's or pre-auth's claim holds already (it reserved the daily limit there,
   * `held.cardUsage`: no extra statement) and any other claim takes here first; for a terminal or
   * a merchant a transaction-scoped advisory lock, taken after it in key order, so two claims
   * never wait on each other crosswise.
   */
  async function confirm(trx: Db, ctx: RiskContext, decision: RiskDecision, held: { cardUsage?: boolean } = {}): Promise<{ code: ResponseCode; hit: RiskHit } | null> {
    if ((decision as RiskDecisionRecord).allowed_by?.some((a) => !a.shadow)) return null;
    const all = rules ?? [];
    if (all.length === 0) return null;
    const orgs = await lineageOf(ctx.org_id);
    const limits: { rule: LoadedRule; subject: string }[] = [];
    for (const rule of all) {
      if (rule.mode !== 'active' || rule.outcome === 'review' || !orgs.has(rule.org_id)) continue;
      if (rule.kind !== 'velocity' && rule.kind !== 'daily_total') continue;
      const p = rule.params as RuleParams['velocity'] | RuleParams['daily_total'];
      const types: readonly string[] = p.types ?? ASSESSED_TYPES;
      if (!types.includes(ctx.type)) continue;
      const subject = subjectOf(ctx, p.scope);
      if (!subject || (p.ids && !p.ids.includes(subject))) continue;
      limits.push({ rule, subject });
    }
    if (limits.length === 0) return null;
    if (deps.database.dialect === 'postgres') {
      const scopeOf = (l: { rule: LoadedRule }): Scope => (l.rule.params as RuleParams['velocity']).scope;
      if (ADVISORY_FOR_CARDS) {
        const all = [...new Set(limits.map((l) => `risk:${scopeOf(l)}:${l.subject}`))].sort();
        await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${all}::text[]) as t(k)`.execute(trx);
      } else if (ctx.card_id && !held.cardUsage && limits.some((l) => scopeOf(l) === 'card')) {
        // The lock a sale's claim takes by reserving its daily limit, taken without changing the row.
        await sql`insert into pay_card_usage (card_id, business_date, amount, count) values (${ctx.card_id}, ${businessDate(ctx.at, deps.cutoffMinutes)}, 0, 0)
          on conflict (card_id, business_date) do update set amount = pay_card_usage.amount`.execute(trx);
      }
      const keys = [...new Set(limits.filter((l) => scopeOf(l) !== 'card').map((l) => `risk:${scopeOf(l)}:${l.subject}`))].sort();
      if (keys.length > 0 && !ADVISORY_FOR_CARDS) await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${keys}::text[]) as t(k)`.execute(trx);
    }
    for (const { rule, subject } of limits) {
      if (rule.kind === 'velocity') {
        const v = rule.params as RuleParams['velocity'];
        const since = ctx.at - v.window_minutes * MINUTE_US;
        // The bound counts this claim's row (inserted) and every claim before it: at most the limit, no query.
        const atMost = bound?.atMost(v.scope, subject, since, ctx.at) ?? null;
        if (atMost !== null && atMost <= v.max_count) continue;
        // No upper bound: a concurrent claim may carry a moment a little after this one's.
        const sofar = await counted(v.scope, subject, v.types ?? ASSESSED_TYPES, { since, until: Number.MAX_SAFE_INTEGER }, trx);
        if (sofar.count > v.max_count) return limitHit(rule, reasons.velocity(v.scope, sofar.count, v.window_minutes, v.max_count));
      } else {
        const d = rule.params as RuleParams['daily_total'];
        const date = businessDate(ctx.at, deps.cutoffMinutes);
        const [since, until] = businessDateRange(date, deps.cutoffMinutes);
        const sofar = await counted(d.scope, subject, d.types ?? ASSESSED_TYPES, { since: since - 1, until: until - 1, date }, trx);
        if (sofar.sum > d.max_total) return limitHit(rule, reasons.daily(d.scope, sofar.sum, d.max_total));
      }
    }
    return null;
  }

  const limitHit = (rule: LoadedRule, reason: Reason): { code: ResponseCode; hit: RiskHit } => ({
    code: declineCode(rule.kind),
    hit: { rule_id: rule.id, version: rule.version, name: rule.name, outcome: 'decline', shadow: false, reason },
  });

  return {
    assess,
    confirm: (trx, ctx, decision, held) => confirm(trx as Db, ctx, decision, held),
    // Counts are read from pay_transactions (claims in flight included): nothing to do.
    record: () => undefined,
    async reload() {
      checkedAt = deps.now();
      await (loading ?? Promise.resolve());
      key = null;
      await load();
    },
    async close() {
      await writer.idle();
    },
  };
}

/**
 * Decision rows: an assessment's write joins those of the same tick in one insert, so a burst of
 * hits costs one commit; each caller waits for its row.
 */
class DecisionWriter {
  private queue: { decision: RiskTables['risk_decisions']; hits: RiskTables['risk_hits'][]; done: (e?: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly db: Db) {}

  write(ctx: RiskContext, d: RiskDecisionRecord): Promise<string> {
    const id = newId();
    const hits: RiskTables['risk_hits'][] = [
      ...(d.allowed_by ?? []).map((a) => ({
        decision_id: id,
        rule_id: a.rule_id,
        version: a.version,
        outcome: 'approve',
        shadow: a.shadow ? 1 : 0,
        at: ctx.at,
      })),
      ...d.hits.map((h) => ({
        decision_id: id,
        rule_id: h.rule_id,
        version: h.version,
        outcome: h.outcome,
        shadow: h.shadow ? 1 : 0,
        at: ctx.at,
      })),
    ];
    const row: RiskTables['risk_decisions'] = {
      id,
      at: ctx.at,
      org_id: ctx.org_id,
      type: ctx.type,
      amount: ctx.amount,
      merchant_party_id: ctx.merchant_party_id,
      terminal_id: ctx.terminal_id,
      card_id: ctx.card_id,
      account_id: ctx.account_id,
      outcome: d.outcome,
      code: d.code,
      hits: JSON.stringify({ hits: d.hits, allowed_by: d.allowed_by ?? [] }),
    };
    return new Promise((resolve, reject) => {
      this.queue.push({
        decision: row,
        hits,
        done: (e) => (e ? reject(e instanceof Error ? e : new Error('risk decision write failed')) : resolve(id)),
      });
      if (!this.flushing) this.flushing = new Promise((r) => setImmediate(r)).then(() => this.flush());
    });
  }

  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      // 12 columns a decision: 200 stay well under SQLite's bound-parameter limit.
      const batch = this.queue.splice(0, 200);
      try {
        const hits = batch.flatMap((b) => b.hits);
        await this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('risk_decisions')
            .values(batch.map((b) => b.decision))
            .execute();
          for (let i = 0; i < hits.length; i += 300)
            await trx
              .insertInto('risk_hits')
              .values(hits.slice(i, i + 300))
              .execute();
        });
        for (const b of batch) b.done();
      } catch (error) {
        for (const b of batch) b.done(error);
      }
    }
    this.flushing = undefined;
  }
}
