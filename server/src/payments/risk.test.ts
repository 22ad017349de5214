/**
 * Risk rules on every dialect: each kind fires above its edge and not at it, shadow rules are
 * recorded but never change the outcome, versions replace each other in evaluation, mode off is
 * ignored, allow lists beat the rest, rules apply to their organisation's subtree, staff scope and
 * audit, and the review queue over HTTP. `assess` is called with stub contexts (the engine's
 * caller is tested with real sales in risk-review.test.ts); history is written as transaction rows.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { newId } from '../platform/ids.js';
import { buildWorld, newTerminal, type FleetWorld } from '../terminals/test-support/fleet-testkit.js';
import { businessDate, type PaymentsSharedTables, type RiskContext, type TxnStatus, type TxnType } from './contracts.js';
import { createRiskEngine, type RiskEngineImpl } from './risk.js';
import { businessDateRange, distanceM, inWindow, statistic } from './risk-rules.js';

/** 2026-11-27 12:00 Beijing time, in µs. */
const NOON = Date.UTC(2026, 10, 27, 4, 0) * 1000;
const MIN = 60_000_000;
const DAY = 86_400_000_000;
const CUTOFF = 23 * 60;
let seq = 0;
const uid = (p: string) => `${p}-${process.pid}-${++seq}`;

describe('risk rule arithmetic', () => {
  it('windows, distances, statistics and business-date ranges', () => {
    expect(inWindow(0, '00:00', '05:00')).toBe(true);
    expect(inWindow(299, '00:00', '05:00')).toBe(true);
    expect(inWindow(300, '00:00', '05:00')).toBe(false);
    expect(inWindow(23 * 60, '23:00', '02:00')).toBe(true);
    expect(inWindow(60, '23:00', '02:00')).toBe(true);
    expect(inWindow(120, '23:00', '02:00')).toBe(false);
    // One millidegree of latitude is about 111 m.
    expect(Math.round(distanceM(36_000_000, 120_000_000, 36_001_000, 120_000_000))).toBe(111);
    expect(statistic([5, 1, 3, 100], 'median')).toBe(3);
    expect(statistic([5, 1, 3, 100], 'mean')).toBe(27);
    const [start, end] = businessDateRange('2026-11-27', CUTOFF);
    expect(businessDate(start, CUTOFF)).toBe('2026-11-27');
    expect(businessDate(start - 1, CUTOFF)).toBe('2026-11-26');
    expect(businessDate(end - 1, CUTOFF)).toBe('2026-11-27');
    expect(businessDate(end, CUTOFF)).toBe('2026-11-28');
    const [s2, e2] = businessDateRange('2026-11-27', 1440);
    expect(businessDate(s2, 1440)).toBe('2026-11-27');
    expect(businessDate(s2 - 1, 1440)).toBe('2026-11-26');
    expect(businessDate(e2, 1440)).toBe('2026-11-28');
  });
});

describe.each(DIALECTS)('risk rules on %s', (dialect) => {
  let h: Harness;
  let w: FleetWorld;
  let risk: RiskEngineImpl;
  let db: Kysely<PaymentsSharedTables>;
  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_CUTOFF: '23:00' });
    w = await buildWorld(h);
    risk = h.payments.risk as RiskEngineImpl;
    db = h.tdb.database.kysely as Kysely<PaymentsSharedTables>;
  });
  afterAll(async () => h?.close());

  const get = (token: string, url: string) => h.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth(token) });
  const post = (token: string, url: string, payload: object) =>
    h.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: auth(token), payload });

  /** A branch of its own, so each test's rules touch only its own contexts. */
  async function branch(parent = h.bankId): Promise<string> {
    const res = await post(h.adminToken, '/organisations', {
      parent_id: parent,
      kind: parent === h.bankId ? 'branch' : 'service_point',
      code: uid('R'),
      name: '风控测试机构',
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  async function rule(body: Record<string, unknown>, token = h.adminToken): Promise<{ id: string; version: number }> {
    const res = await post(token, '/risk/rules', { name: `rule ${body.kind as string}`, mode: 'active', ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  const ctx = (org: string, over: Partial<RiskContext> = {}): RiskContext => ({
    type: 'sale',
    amount: 1000,
    at: NOON,
    org_id: org,
    merchant_party_id: null,
    terminal_id: null,
    card_id: null,
    account_id: null,
    ...over,
  });

  async function history(
    n: number,
    row: {
      org: string;
      at: number;
      amount?: number;
      card?: string;
      terminal?: string;
      merchant?: string;
      status?: TxnStatus;
      type?: TxnType;
    },
  ): Promise<void> {
    for (let i = 0; i < n; i++) {
      const id = newId();
      await db
        .insertInto('pay_transactions')
        .values({
          id,
          type: row.type ?? 'sale',
          status: row.status ?? 'approved',
          response_code: '00',
          client_scope: 'risk-test',
          client_id: id,
          request_hash: 'x',
          reply: '{}',
          terminal_id: row.terminal ?? null,
          merchant_party_id: row.merchant ?? null,
          org_id: row.org,
          batch_id: null,
          operator_id: null,
          card_id: row.card ?? null,
          card_last4: null,
          account_id: null,
          counter_account_id: null,
          amount: row.amount ?? 1000,
          fee: 0,
          refunded_amount: 0,
          refunded_fee: 0,
          original_id: null,
          trace_no: null,
          auth_code: null,
          pending_transfer_id: null,
          hold_expires_at: null,
          risk: null,
          business_date: businessDate(row.at, CUTOFF),
          settlement_id: null,
          created_at: row.at,
          updated_at: row.at,
        })
        .execute();
    }
  }

  it('approves without a query when no rule applies', async () => {
    const org = await branch();
    expect(await risk.assess(ctx(org))).toEqual({ outcome: 'approve', code: '00', hits: [] });
  });

  it('amount_limit: above the limit declines 61, at it approves; ids narrow it', async () => {
    const org = await branch();
    const r = await rule({ org_id: org, kind: 'amount_limit', params: { scope: 'card', max_amount: 50_000 } });
    await rule({ org_id: org, kind: 'amount_limit', outcome: 'review', params: { scope: 'terminal', ids: ['T-big'], max_amount: 100 } });
    expect((await risk.assess(ctx(org, { card_id: 'c1', amount: 50_000 }))).outcome).toBe('approve');
    const d = await risk.assess(ctx(org, { card_id: 'c1', amount: 50_001 }));
    expect(d).toMatchObject({ outcome: 'decline', code: '61', hits: [{ rule_id: r.id, version: 1, outcome: 'decline', shadow: false }] });
    expect(d.hits[0]!.reason.en).toContain('500.01 > 500.00');
    expect(d.hits[0]!.reason.zh).toContain('单笔限额');
    expect(d.decision_id).toBeTruthy();
    // Without a card the card-scoped rule has nothing to judge.
    expect((await risk.assess(ctx(org, { amount: 90_000 }))).outcome).toBe('approve');
    // The terminal rule names one terminal only.
    expect((await risk.assess(ctx(org, { terminal_id: 'T-other', amount: 5000 }))).outcome).toBe('approve');
    expect(await risk.assess(ctx(org, { terminal_id: 'T-big', amount: 5000 }))).toMatchObject({ outcome: 'review', code: '09' });
    // Refunds, voids and reversals are never judged.
    expect((await risk.assess(ctx(org, { card_id: 'c1', amount: 90_000, type: 'refund' }))).outcome).toBe('approve');
    // The decision is recorded and visible by rule.
    const list = await get(h.adminToken, `/risk/decisions?rule_id=${r.id}`);
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json<{ items: { id: string; code: string; amount: number }[] }>().items).toEqual([
      expect.objectContaining({ id: d.decision_id, code: '61', amount: 50_001 }),
    ]);
  });

  it('daily_total: counts approved and held of the business date, with this amount', async () => {
    const org = await branch();
    await rule({ org_id: org, kind: 'daily_total', params: { scope: 'card', max_total: 10_000 } });
    await rule({ org_id: org, kind: 'daily_total', params: { scope: 'merchant', max_total: 20_000 } });
    const [dayStart] = businessDateRange(businessDate(NOON, CUTOFF), CUTOFF);
    await history(1, { org, at: dayStart, amount: 4000, card: 'dc1', merchant: 'dm1' });
    await history(1, { org, at: NOON - MIN, amount: 2000, card: 'dc1', merchant: 'dm1', status: 'held' });
    await history(1, { org, at: NOON - MIN, amount: 5000, card: 'dc1', merchant: 'dm1', status: 'declined' });
    await history(1, { org, at: dayStart - 1, amount: 9000, card: 'dc1', merchant: 'dm1' });
    // Card: 6000 so far today.
    expect((await risk.assess(ctx(org, { card_id: 'dc1', amount: 4000 }))).outcome).toBe('approve');
    const d = await risk.assess(ctx(org, { card_id: 'dc1', amount: 4001 }));
    expect(d).toMatchObject({ outcome: 'decline', code: '61' });
    expect(d.hits[0]!.reason.en).toBe('daily total (card): 100.01 with this one > 100.00 yuan');
    // Merchant (by business date): 6000 so far today.
    expect((await risk.assess(ctx(org, { merchant_party_id: 'dm1', amount: 14_000 }))).outcome).toBe('approve');
    expect((await risk.assess(ctx(org, { merchant_party_id: 'dm1', amount: 14_001 }))).code).toBe('61');
    // An amount above the limit on its own needs no history.
    expect((await risk.assess(ctx(org, { card_id: 'dc-new', amount: 10_001 }))).code).toBe('61');
  });

  it('velocity: more than N in M minutes declines 65, per card and per terminal', async () => {
    const org = await branch();
    await rule({ org_id: org, kind: 'velocity', params: { scope: 'card', max_count: 5, window_minutes: 10 } });
    await rule({ org_id: org, kind: 'velocity', params: { scope: 'terminal', max_count: 2, window_minutes: 1, types: ['sale'] } });
    await history(4, { org, at: NOON - 9 * MIN, card: 'vc1' });
    await history(3, { org, at: NOON - 10 * MIN, card: 'vc1' }); // exactly at the window's start: outside
    await history(2, { org, at: NOON - MIN, card: 'vc1', status: 'declined' });
    expect((await risk.assess(ctx(org, { card_id: 'vc1' }))).outcome).toBe('approve');
    await history(1, { org, at: NOON - 1, card: 'vc1' });
    const d = await risk.assess(ctx(org, { card_id: 'vc1' }));
    expect(d).toMatchObject({ outcome: 'decline', code: '65' });
    expect(d.hits[0]!.reason.en).toBe('velocity (card): 6 in 10 min > 5');
    expect(d.hits[0]!.reason.zh).toBe('频次（卡）：10 分钟内 6 笔 > 5 笔');

    await history(2, { org, at: NOON - 30_000_000, terminal: 'vt1', type: 'preauth' });
    await history(1, { org, at: NOON - 30_000_000, terminal: 'vt1' });
    expect((await risk.assess(ctx(org, { terminal_id: 'vt1' }))).outcome).toBe('approve');
    await history(1, { org, at: NOON - 20_000_000, terminal: 'vt1' });
    expect((await risk.assess(ctx(org, { terminal_id: 'vt1' }))).code).toBe('65');
    // The rule judges sales only.
    expect((await risk.assess(ctx(org, { terminal_id: 'vt1', type: 'preauth' }))).outcome).toBe('approve');
  });

  it('time_window: Beijing time, across midnight, with an amount threshold', async () => {
    const org = await branch();
    await rule({ org_id: org, kind: 'time_window', params: { from: '00:00', to: '05:00' } });
    await rule({ org_id: org, kind: 'time_window', outcome: 'review', params: { from: '22:00', to: '23:30', amount_above: 10_000 } });
    const beijing = (hh: number, mm: number) => Date.UTC(2026, 10, 27, hh - 8, mm) * 1000;
    const d = await risk.assess(ctx(org, { at: beijing(4, 59) }));
    expect(d).toMatchObject({ outcome: 'decline', code: '59' });
    expect(d.hits[0]!.reason.en).toBe('time window: 04:59 Beijing time is within 00:00–05:00');
    expect((await risk.assess(ctx(org, { at: beijing(5, 0) }))).outcome).toBe('approve');
    expect((await risk.assess(ctx(org, { at: beijing(22, 30), amount: 10_000 }))).outcome).toBe('approve');
    expect((await risk.assess(ctx(org, { at: beijing(22, 30), amount: 10_001 }))).outcome).toBe('review');
  });

  it('outside_area: distance from the registered place, and a demanded location', async () => {
    const org = await branch();
    const t = await newTerminal(h, h.adminToken, w.merchantA, { lat_e6: 36_000_000, lng_e6: 120_000_000 });
    const unplaced = await newTerminal(h, h.adminToken, w.merchantA);
    await rule({ org_id: org, kind: 'outside_area', outcome: 'review', params: { radius_m: 10_000 } });
    // 0.089° of latitude ≈ 9.9 km; 0.091° ≈ 10.1 km.
    expect((await risk.assess(ctx(org, { terminal_id: t.id, lat_e6: 36_089_000, lng_e6: 120_000_000 }))).outcome).toBe('approve');
    const d = await risk.assess(ctx(org, { terminal_id: t.id, lat_e6: 36_091_000, lng_e6: 120_000_000 }));
    expect(d).toMatchObject({ outcome: 'review', code: '09' });
    expect(d.hits[0]!.reason.en).toBe('outside area: 10.1 km from the terminal’s registered place > 10.0 km');
    expect((await risk.assess(ctx(org, { terminal_id: t.id }))).outcome).toBe('approve');
    expect((await risk.assess(ctx(org, { terminal_id: unplaced.id, lat_e6: 1, lng_e6: 1 }))).outcome).toBe('approve');
    await rule({ org_id: org, kind: 'outside_area', params: { radius_m: 10_000, require_location: true } });
    expect(await risk.assess(ctx(org, { terminal_id: t.id }))).toMatchObject({ outcome: 'decline', code: '59' });
  });

  it('amount_vs_normal: K × the merchant’s median with a minimum sample', async () => {
    const org = await branch();
    await rule({
      org_id: org,
      kind: 'amount_vs_normal',
      outcome: 'review',
      params: { factor_pct: 500, statistic: 'median', days: 7, min_samples: 10 },
    });
    await history(10, { org, at: NOON - 2 * DAY, amount: 1000, merchant: 'nm1' });
    await history(5, { org, at: NOON - 8 * DAY, amount: 1, merchant: 'nm1' }); // older than 7 days
    await history(9, { org, at: NOON - DAY, amount: 1000, merchant: 'nm2' });
    expect((await risk.assess(ctx(org, { merchant_party_id: 'nm1', amount: 5000 }))).outcome).toBe('approve');
    const d = await risk.assess(ctx(org, { merchant_party_id: 'nm1', amount: 5001 }));
    expect(d).toMatchObject({ outcome: 'review', code: '09' });
    expect(d.hits[0]!.reason.en).toBe('amount vs normal: 50.01 > 5.00 × the 7-day median 10.00 yuan (10 transactions)');
    // Nine samples are not enough to know what is normal.
    expect((await risk.assess(ctx(org, { merchant_party_id: 'nm2', amount: 1_000_000 }))).outcome).toBe('approve');
  });

  it('deny lists decline 59; an allow list beats every other rule', async () => {
    const org = await branch();
    await rule({ org_id: org, kind: 'deny_list', params: { cards: ['bad-card'], merchants: ['bad-shop'] } });
    await rule({ org_id: org, kind: 'amount_limit', params: { scope: 'card', max_amount: 100 } });
    expect(await risk.assess(ctx(org, { card_id: 'bad-card', amount: 50 }))).toMatchObject({ outcome: 'decline', code: '59' });
    const both = await risk.assess(ctx(org, { card_id: 'bad-card', amount: 500 }));
    // The first decline in kind order gives the code: the deny list before the amount limit.
    expect(both).toMatchObject({ outcome: 'decline', code: '59' });
    expect(both.hits).toHaveLength(2);
    expect((await risk.assess(ctx(org, { merchant_party_id: 'bad-shop' }))).outcome).toBe('decline');
    // A shadow allow list is recorded but does not approve.
    const shadowAllow = await rule({ org_id: org, kind: 'allow_list', mode: 'shadow', params: { cards: ['bad-card'] } });
    expect(await risk.assess(ctx(org, { card_id: 'bad-card', amount: 50 }))).toMatchObject({
      outcome: 'decline',
      code: '59',
      allowed_by: [{ rule_id: shadowAllow.id, shadow: true }],
    });
    const allow = await rule({ org_id: org, kind: 'allow_list', params: { cards: ['bad-card'] } });
    const d = await risk.assess(ctx(org, { card_id: 'bad-card', amount: 500 }));
    expect(d).toMatchObject({
      outcome: 'approve',
      code: '00',
      hits: [],
      allowed_by: [
        { rule_id: shadowAllow.id, shadow: true },
        { rule_id: allow.id, shadow: false },
      ],
    });
    expect(d.decision_id).toBeTruthy();
    // Outcomes of lists are fixed.
    const bad = await post(h.adminToken, '/risk/rules', {
      org_id: org,
      name: 'x',
      kind: 'deny_list',
      outcome: 'review',
      params: { cards: ['a'] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('risk_rule_invalid');
  });

  it('shadow rules are recorded and summarised but never change the outcome', async () => {
    const org = await branch();
    const shadow = await rule({ org_id: org, kind: 'amount_limit', mode: 'shadow', params: { scope: 'card', max_amount: 1000 } });
    const shadowReview = await rule({
      org_id: org,
      kind: 'velocity',
      mode: 'shadow',
      outcome: 'review',
      params: { scope: 'card', max_count: 1, window_minutes: 5 },
    });
    await history(1, { org, at: NOON - MIN, card: 'sc1' });
    const d = await risk.assess(ctx(org, { card_id: 'sc1', amount: 2000 }));
    expect(d.outcome).toBe('approve');
    expect(d.code).toBe('00');
    expect(d.hits.map((x) => [x.rule_id, x.outcome, x.shadow])).toEqual([
      [shadow.id, 'decline', true],
      [shadowReview.id, 'review', true],
    ]);
    await risk.assess(ctx(org, { card_id: 'sc2', amount: 2000 }));
    expect((await risk.assess(ctx(org, { card_id: 'sc2', amount: 1000 }))).hits).toEqual([]);
    const s = await get(h.adminToken, `/risk/rules/${shadow.id}/summary`);
    expect(s.statusCode, s.body).toBe(200);
    expect(s.json()).toMatchObject({
      would_decline: 2,
      would_review: 0,
      declined: 0,
      items: [{ version: 1, shadow: true, outcome: 'decline', count: 2 }],
    });
    expect((await get(h.adminToken, `/risk/rules/${shadowReview.id}/summary`)).json()).toMatchObject({ would_review: 1, would_decline: 0 });
    // Shadow beside an active review: the active one decides.
    await rule({ org_id: org, kind: 'time_window', outcome: 'review', params: { from: '11:00', to: '13:00' } });
    expect(await risk.assess(ctx(org, { card_id: 'sc3', amount: 2000 }))).toMatchObject({ outcome: 'review', code: '09' });
  });

  it('versions replace each other in evaluation and decisions name the version; off is ignored', async () => {
    const org = await branch();
    const r = await rule({ org_id: org, kind: 'amount_limit', params: { scope: 'card', max_amount: 1000 } });
    expect((await risk.assess(ctx(org, { card_id: 'k1', amount: 3000 }))).hits[0]!.version).toBe(1);
    const v2 = await post(h.adminToken, `/risk/rules/${r.id}/versions`, { params: { scope: 'card', max_amount: 5000 }, note: '旺季调整' });
    expect(v2.statusCode, v2.body).toBe(201);
    expect(v2.json()).toMatchObject({ version: 2, outcome: 'decline', note: '旺季调整', params: { max_amount: 5000 } });
    expect((await risk.assess(ctx(org, { card_id: 'k1', amount: 3000 }))).outcome).toBe('approve');
    const d = await risk.assess(ctx(org, { card_id: 'k1', amount: 6000 }));
    expect(d.hits).toMatchObject([{ rule_id: r.id, version: 2 }]);
    const shown = (await get(h.adminToken, `/risk/rules/${r.id}`)).json<{
      version: number;
      versions: { version: number; params: { max_amount: number } }[];
    }>();
    expect(shown.version).toBe(2);
    expect(shown.versions.map((v) => [v.version, v.params.max_amount])).toEqual([
      [2, 5000],
      [1, 1000],
    ]);
    // A version with bad parameters is refused and changes nothing.
    const bad = await post(h.adminToken, `/risk/rules/${r.id}/versions`, { params: { scope: 'card', max_amount: -1 } });
    expect(bad.statusCode).toBe(400);
    expect((await get(h.adminToken, `/risk/rules/${r.id}`)).json<{ version: number }>().version).toBe(2);

    const off = await post(h.adminToken, `/risk/rules/${r.id}/mode`, { mode: 'off' });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json()).toMatchObject({ mode: 'off', version: 2 });
    expect(await risk.assess(ctx(org, { card_id: 'k1', amount: 6000 }))).toEqual({ outcome: 'approve', code: '00', hits: [] });
    await post(h.adminToken, `/risk/rules/${r.id}/mode`, { mode: 'active' });
    expect((await risk.assess(ctx(org, { card_id: 'k1', amount: 6000 }))).outcome).toBe('decline');
    const summary = (await get(h.adminToken, `/risk/rules/${r.id}/summary`)).json<{
      declined: number;
      items: { version: number; count: number }[];
    }>();
    expect(summary.declined).toBe(3);
    expect(summary.items.map((i) => [i.version, i.count])).toEqual([
      [2, 2],
      [1, 1],
    ]);

    // Every change was audited with the rule as its target.
    const audit = await h.db.selectFrom('audit_log').select(['action', 'outcome']).where('target', '=', r.id).orderBy('at').execute();
    expect(audit.map((a) => a.action)).toEqual([
      'risk.rule_create',
      'risk.rule_version',
      'risk.rule_version',
      'risk.rule_mode',
      'risk.rule_mode',
    ]);
    expect(audit.map((a) => a.outcome)).toEqual(['ok', 'ok', 'failed:400', 'ok', 'ok']);
  });

  it('a rule applies to its organisation’s subtree only', async () => {
    const org = await branch();
    const point = await branch(org);
    const other = await branch();
    await rule({ org_id: org, kind: 'amount_limit', params: { scope: 'card', max_amount: 100 } });
    expect((await risk.assess(ctx(point, { card_id: 'o1', amount: 101 }))).outcome).toBe('decline');
    expect((await risk.assess(ctx(other, { card_id: 'o1', amount: 101 }))).outcome).toBe('approve');
  });

  it('checks parameters per kind, and keeps staff to their subtree', async () => {
    const cases: [string, unknown][] = [
      ['velocity', { scope: 'card', max_count: 0, window_minutes: 10 }],
      ['velocity', { scope: 'card', max_count: 3 }],
      ['amount_limit', { scope: 'customer', max_amount: 10 }],
      ['amount_limit', { scope: 'card', max_amount: 1.5 }],
      ['time_window', { from: '25:00', to: '05:00' }],
      ['time_window', { from: '05:00', to: '05:00' }],
      ['outside_area', { radius_m: 1000, extra: true }],
      ['allow_list', {}],
      ['amount_vs_normal', { factor_pct: 50, statistic: 'median', days: 7, min_samples: 10 }],
    ];
    for (const [kind, params] of cases) {
      const res = await post(h.adminToken, '/risk/rules', { org_id: w.branchA, name: 'bad', kind, params });
      expect(res.statusCode, `${kind} ${JSON.stringify(params)}: ${res.body}`).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('risk_rule_invalid');
    }
    expect((await post(h.adminToken, '/risk/rules', { name: 'bad', kind: 'magic', params: {} })).statusCode).toBe(400);

    const a = await rule({ kind: 'amount_limit', params: { scope: 'card', max_amount: 100 } }, w.tokens.staffA);
    expect((await get(w.tokens.staffA, `/risk/rules/${a.id}`)).json()).toMatchObject({ org_id: w.branchA, mode: 'active' });
    expect((await get(w.tokens.staffB, `/risk/rules/${a.id}`)).statusCode).toBe(404);
    expect((await post(w.tokens.staffB, `/risk/rules/${a.id}/mode`, { mode: 'off' })).statusCode).toBe(404);
    expect((await get(w.tokens.staffB, '/risk/rules')).json<{ items: { id: string }[] }>().items.map((i) => i.id)).not.toContain(a.id);
    expect((await get(w.tokens.staffA, '/risk/rules')).json<{ items: { id: string }[] }>().items.map((i) => i.id)).toContain(a.id);
    const outside = await post(w.tokens.staffA, '/risk/rules', {
      org_id: w.branchB,
      name: 'x',
      kind: 'amount_limit',
      params: { scope: 'card', max_amount: 1 },
    });
    expect(outside.statusCode).toBe(400);
    // The auditor reads, never writes; a merchant owner has no risk permission.
    expect((await get(w.tokens.auditor, `/risk/rules/${a.id}`)).statusCode).toBe(200);
    expect((await post(w.tokens.auditor, `/risk/rules/${a.id}/mode`, { mode: 'off' })).statusCode).toBe(403);
    expect((await get(w.tokens.ownerA, '/risk/rules')).statusCode).toBe(403);
  });

  it('another process sees a change within about a second', async () => {
    const org = await branch();
    let clock = Date.now() * 1000;
    const other = createRiskEngine({ ...h.payments.deps, now: () => clock });
    try {
      expect((await other.assess(ctx(org, { card_id: 'p1', amount: 200 }))).outcome).toBe('approve');
      await rule({ org_id: org, kind: 'amount_limit', params: { scope: 'card', max_amount: 100 } });
      // Within the second, the other process still has the rules it loaded.
      expect((await other.assess(ctx(org, { card_id: 'p1', amount: 200 }))).outcome).toBe('approve');
      clock += 1_100_000;
      await vi.waitFor(async () => expect((await other.assess(ctx(org, { card_id: 'p1', amount: 200 }))).outcome).toBe('decline'));
    } finally {
      await other.close();
    }
  });

  it('lists held transactions for review in the staff’s subtree; only held ones can be decided', async () => {
    const id = newId();
    await history(0, { org: w.branchA, at: NOON });
    await db
      .insertInto('pay_transactions')
      .values({
        id,
        type: 'sale',
        status: 'held',
        response_code: '09',
        client_scope: 'risk-test',
        client_id: id,
        request_hash: 'x',
        reply: '{}',
        terminal_id: null,
        merchant_party_id: w.merchantA,
        org_id: w.branchA,
        batch_id: null,
        operator_id: null,
        card_id: null,
        card_last4: '1234',
        account_id: null,
        counter_account_id: null,
        amount: 88_800,
        fee: 0,
        refunded_amount: 0,
        refunded_fee: 0,
        original_id: null,
        trace_no: null,
        auth_code: null,
        pending_transfer_id: null,
        hold_expires_at: null,
        risk: JSON.stringify({
          outcome: 'review',
          code: '09',
          hits: [{ rule_id: 'r', version: 1, name: 'n', outcome: 'review', shadow: false, reason: { zh: '原因', en: 'why' } }],
        }),
        business_date: businessDate(NOON, CUTOFF),
        settlement_id: null,
        created_at: NOON,
        updated_at: NOON,
      })
      .execute();
    const pending = await get(w.tokens.staffA, '/risk/reviews?status=pending');
    expect(pending.statusCode, pending.body).toBe(200);
    expect(pending.json<{ items: unknown[] }>().items).toContainEqual(
      expect.objectContaining({
        id,
        amount: 88_800,
        card_last4: '1234',
        review: null,
        risk: expect.objectContaining({ outcome: 'review', hits: [expect.objectContaining({ reason: { zh: '原因', en: 'why' } })] }),
      }),
    );
    expect((await get(w.tokens.staffB, '/risk/reviews')).json<{ items: { id: string }[] }>().items.map((i) => i.id)).not.toContain(id);
    expect((await post(w.tokens.staffB, `/risk/reviews/${id}/decision`, { decision: 'approve', note: '核实' })).statusCode).toBe(404);
    expect((await post(w.tokens.auditor, `/risk/reviews/${id}/decision`, { decision: 'approve', note: '核实' })).statusCode).toBe(403);
    expect((await post(w.tokens.staffA, `/risk/reviews/${id}/decision`, { decision: 'maybe', note: '核实' })).statusCode).toBe(400);
    await db.updateTable('pay_transactions').set({ status: 'declined' }).where('id', '=', id).execute();
    const late = await post(w.tokens.staffA, `/risk/reviews/${id}/decision`, { decision: 'approve', note: '核实' });
    expect(late.statusCode).toBe(409);
    expect(late.json<{ error: { code: string } }>().error.code).toBe('risk_review_not_pending');
  });
});
