/**
 * Fee plans and acquiring merchants on SQLite and PostgreSQL: the fee arithmetic over many
 * amounts, enrolment with its ledger accounts, scope (branches, merchant owners) and hostile input.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { buildWorld, expectError, type FleetWorld } from '../terminals/test-support/fleet-testkit.js';
import { feeFor, refundFee, type FeePlan } from './contracts.js';
import { loadMerchant, merchantAccountIds } from './merchants.js';

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fee arithmetic (feeFor, refundFee)', () => {
  const plan = (rate_bp: number, min_fee = 0, max_fee: number | null = null, fixed_fee = 0) => ({ rate_bp, min_fee, max_fee, fixed_fee });

  it('known values: half up to the fen, min, cap, fixed, never above the amount', () => {
    expect(feeFor(plan(38), 10_000)).toBe(38);
    expect(feeFor(plan(38), 131)).toBe(0); // 0.4978 fen
    expect(feeFor(plan(38), 132)).toBe(1); // 0.5016 fen
    expect(feeFor(plan(4), 1_250)).toBe(1); // exactly half a fen rounds up
    expect(feeFor(plan(25, 0, 2_000), 1_000_000)).toBe(2_000); // 0.25 % capped at ¥20
    expect(feeFor(plan(25, 0, 2_000), 100_000)).toBe(250);
    expect(feeFor(plan(60, 50), 1_000)).toBe(50); // minimum
    expect(feeFor(plan(60, 50, null, 10), 100_000)).toBe(610); // fixed on top
    expect(feeFor(plan(60, 500, null, 10), 300)).toBe(300); // never more than the amount
    expect(feeFor(plan(38), 0)).toBe(0);
    // No double rounding error at the top of the range: 9,007,199,254,740,991 × 10000 bp.
    expect(feeFor(plan(10_000), Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(feeFor(plan(1), Number.MAX_SAFE_INTEGER)).toBe(900_719_925_474);
  });

  it('over many plans and amounts: 0 ≤ fee ≤ amount, min/max respected, monotone in the amount', () => {
    const next = rng(20261127);
    for (let i = 0; i < 20_000; i++) {
      const min = Math.floor(next() * 200);
      const max = next() < 0.3 ? null : min + Math.floor(next() * 5_000);
      const p = plan(Math.floor(next() * 1_001), min, max, next() < 0.2 ? Math.floor(next() * 100) : 0);
      const amount = 1 + Math.floor(next() ** 3 * 100_000_000);
      const fee = feeFor(p, amount);
      expect(Number.isSafeInteger(fee)).toBe(true);
      expect(fee).toBeGreaterThanOrEqual(0);
      expect(fee).toBeLessThanOrEqual(amount);
      if (fee < amount) {
        const variable = fee - p.fixed_fee;
        expect(variable).toBeGreaterThanOrEqual(p.min_fee);
        if (p.max_fee !== null) expect(variable).toBeLessThanOrEqual(p.max_fee);
        // Within half a fen of the exact rate unless min or max clamped it.
        const exact = (amount * p.rate_bp) / 10_000;
        if (variable > p.min_fee && (p.max_fee === null || variable < p.max_fee))
          expect(Math.abs(variable - exact)).toBeLessThanOrEqual(0.5 + 1e-6);
      }
      expect(feeFor(p, amount + 1)).toBeGreaterThanOrEqual(fee);
    }
  });

  it('refund fees: never more than charged at any step, and all of it once the sale is fully refunded', () => {
    const next = rng(7);
    for (let i = 0; i < 5_000; i++) {
      const amount = 1 + Math.floor(next() * 1_000_000);
      const fee = feeFor(plan(Math.floor(next() * 300), Math.floor(next() * 50), null, 0), amount);
      const sale = { amount, fee, refunded_amount: 0, refunded_fee: 0 };
      while (sale.refunded_amount < amount) {
        const left = amount - sale.refunded_amount;
        const part = next() < 0.3 ? left : 1 + Math.floor(next() * left);
        const back = refundFee(sale, part);
        expect(back).toBeGreaterThanOrEqual(0);
        // Proportional share, rounded down (the last refund takes the rest).
        if (sale.refunded_amount + part < amount) expect(back).toBeLessThanOrEqual((fee * part) / amount);
        sale.refunded_amount += part;
        sale.refunded_fee += back;
        expect(sale.refunded_fee).toBeLessThanOrEqual(fee);
      }
      expect(sale.refunded_fee).toBe(fee);
    }
  });
});

describe.each(DIALECTS)('fee plans and merchants on %s', (dialect) => {
  let h: Harness;
  let w: FleetWorld;
  let bankPlan: FeePlan;
  let branchPlan: FeePlan;

  const call = async (token: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    h.app.inject({ method, url: `/api/v1${url}`, headers: auth(token), ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await buildWorld(h);
    const a = await call(h.adminToken, 'POST', '/fee-plans', { name: '村口小店', rate_bp: 38 });
    expect(a.statusCode, a.body).toBe(201);
    bankPlan = a.json();
    const b = await call(w.tokens.staffA, 'POST', '/fee-plans', { name: '农资', rate_bp: 25, max_fee: 2_000 });
    expect(b.statusCode, b.body).toBe(201);
    branchPlan = b.json();
  });

  afterAll(async () => {
    await h.close();
  });

  it('creates fee plans with defaults, unique names per organisation, and refuses bad numbers', async () => {
    expect(bankPlan).toMatchObject({ org_id: h.bankId, rate_bp: 38, min_fee: 0, max_fee: null, fixed_fee: 0, status: 'active' });
    expect(branchPlan).toMatchObject({ org_id: w.branchA, rate_bp: 25, max_fee: 2_000 });
    expectError(await call(h.adminToken, 'POST', '/fee-plans', { name: '村口小店', rate_bp: 40 }), 'fee_plan_exists');
    // The same name in another organisation is fine.
    expect((await call(w.tokens.staffB, 'POST', '/fee-plans', { name: '农资', rate_bp: 30 })).statusCode).toBe(201);
    expectError(await call(h.adminToken, 'POST', '/fee-plans', { name: 'neg', rate_bp: 38, min_fee: -1 }), 'validation_failed');
    expectError(await call(h.adminToken, 'POST', '/fee-plans', { name: 'big', rate_bp: 10_001 }), 'validation_failed');
    expectError(await call(h.adminToken, 'POST', '/fee-plans', { name: 'float', rate_bp: 0.5 }), 'validation_failed');
    expectError(
      await call(h.adminToken, 'POST', '/fee-plans', { name: 'cap', rate_bp: 38, min_fee: 100, max_fee: 50 }),
      'fee_plan_invalid',
    );
    expectError(await call(h.adminToken, 'POST', '/fee-plans', { name: 'x', rate_bp: 38, extra: 1 }), 'validation_failed');
    expectError(await call(h.adminToken, 'POST', '/fee-plans', { name: '   ', rate_bp: 38 }), 'fee_plan_invalid');
    // Staff cannot create a plan for another branch; merchant owners cannot create plans at all.
    expectError(await call(w.tokens.staffA, 'POST', '/fee-plans', { org_id: w.branchB, name: 'x', rate_bp: 1 }), 'validation_failed');
    expectError(await call(w.tokens.ownerA, 'POST', '/fee-plans', { name: 'x', rate_bp: 1 }), 'forbidden');
  });

  it('shows a branch its own plans and the bank’s; a branch may not change the bank’s', async () => {
    const listA = (await call(w.tokens.staffA, 'GET', '/fee-plans')).json<{ items: FeePlan[] }>().items.map((p) => p.id);
    expect(listA).toEqual(expect.arrayContaining([bankPlan.id, branchPlan.id]));
    const listB = (await call(w.tokens.staffB, 'GET', '/fee-plans')).json<{ items: FeePlan[] }>().items.map((p) => p.id);
    expect(listB).toContain(bankPlan.id);
    expect(listB).not.toContain(branchPlan.id);
    expectError(await call(w.tokens.staffA, 'PATCH', `/fee-plans/${bankPlan.id}`, { rate_bp: 1 }), 'forbidden');
    expectError(await call(w.tokens.staffB, 'PATCH', `/fee-plans/${branchPlan.id}`, { rate_bp: 1 }), 'fee_plan_not_found');
    expectError(await call(w.tokens.staffA, 'PATCH', `/fee-plans/${branchPlan.id}`, { min_fee: 3_000 }), 'fee_plan_invalid');
    expectError(await call(w.tokens.staffA, 'PATCH', `/fee-plans/${branchPlan.id}`, {}), 'validation_failed');
  });

  it('enrols a merchant with its two ledger accounts; the same request again answers the merchant', async () => {
    const body = { party_id: w.merchantA, mcc: '5411', fee_plan_id: bankPlan.id, settlement_cycle: 'T1' };
    const res = await call(w.tokens.staffA, 'POST', '/merchants', body);
    expect(res.statusCode, res.body).toBe(201);
    const ids = merchantAccountIds(w.merchantA);
    expect(res.json()).toMatchObject({
      party_id: w.merchantA,
      name: '城阳便利店',
      org_id: w.branchA,
      mcc: '5411',
      mcc_name: { zh: expect.stringMatching(/超市/), en: expect.stringMatching(/Grocery/) },
      fee_plan: { id: bankPlan.id, rate_bp: 38 },
      receivable_account_id: ids.receivable,
      settlement_account_id: ids.settlement,
      settlement_cycle: 'T1',
      status: 'active',
    });
    const accounts = await h.ledger.lookupAccounts([ids.receivable, ids.settlement]);
    expect(accounts.map((a) => [a.id, a.code, a.owner_id]).sort()).toEqual(
      [
        [ids.receivable, 2004, w.merchantA],
        [ids.settlement, 2002, w.merchantA],
      ].sort(),
    );
    const again = await call(w.tokens.staffA, 'POST', '/merchants', body);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ party_id: w.merchantA, created_at: res.json().created_at });
    expectError(await call(w.tokens.staffA, 'POST', '/merchants', { ...body, mcc: '5812' }), 'merchant_exists');
    // The loader the engine uses: the merchant and its plan.
    const loaded = await loadMerchant(h.payments.deps.db, w.merchantA);
    expect(loaded).toMatchObject({ party_id: w.merchantA, fee_plan: { id: bankPlan.id, rate_bp: 38, max_fee: null }, status: 'active' });
    expect(await loadMerchant(h.payments.deps.db, w.customerA)).toBeUndefined();
    // Audited, with the party as target.
    const audit = await h.db
      .selectFrom('audit_log')
      .select(['action', 'target', 'outcome'])
      .where('action', '=', 'merchant.enrol')
      .execute();
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ target: w.merchantA })]));
  });

  it('enrols concurrently once', async () => {
    const body = { party_id: w.merchantA2, mcc: '5311', fee_plan_id: branchPlan.id, settlement_cycle: 'T0' };
    const results = await Promise.all(Array.from({ length: 4 }, () => call(w.tokens.staffA, 'POST', '/merchants', body)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 201]);
    const n = await (h.db as unknown as Kysely<{ pay_merchants: { party_id: string } }>)
      .selectFrom('pay_merchants')
      .select('party_id')
      .where('party_id', '=', w.merchantA2)
      .execute();
    expect(n).toHaveLength(1);
  });

  it('refuses parties that cannot be merchants, plans a merchant may not use, and bad MCCs', async () => {
    const body = { party_id: w.merchantB, mcc: '5251', fee_plan_id: bankPlan.id, settlement_cycle: 'T1' };
    // Another branch's party: as if it did not exist.
    expectError(await call(w.tokens.staffA, 'POST', '/merchants', body), 'merchant_party_invalid');
    expectError(await call(w.tokens.staffB, 'POST', '/merchants', { ...body, party_id: w.customerA }), 'merchant_party_invalid');
    expectError(await call(h.adminToken, 'POST', '/merchants', { ...body, party_id: w.customerA }), 'merchant_party_invalid');
    expectError(await call(h.adminToken, 'POST', '/merchants', { ...body, party_id: 'no-such-party' }), 'merchant_party_invalid');
    // Branch A's plan is not for branch B's merchants.
    expectError(await call(w.tokens.staffB, 'POST', '/merchants', { ...body, fee_plan_id: branchPlan.id }), 'fee_plan_not_found');
    for (const mcc of ['541', '54111', '54a1', ' 5411', ''])
      expectError(await call(w.tokens.staffB, 'POST', '/merchants', { ...body, mcc }), 'validation_failed');
    expectError(await call(w.tokens.staffB, 'POST', '/merchants', { ...body, settlement_cycle: 'T2' }), 'validation_failed');
    expectError(await call(w.tokens.ownerB, 'POST', '/merchants', body), 'forbidden');
    // An agent at a service point may be enrolled (a service point's own acquiring).
    const agent = await call(w.tokens.staffA, 'POST', '/merchants', {
      party_id: w.agentA,
      mcc: '6012',
      fee_plan_id: branchPlan.id,
      settlement_cycle: 'T1',
    });
    expect(agent.statusCode, agent.body).toBe(201);
    expect(agent.json()).toMatchObject({ org_id: w.pointA });
    // A retired plan goes to no new merchant.
    const retired = (await call(h.adminToken, 'POST', '/fee-plans', { name: '旧方案', rate_bp: 50 })).json<FeePlan>();
    expect((await call(h.adminToken, 'PATCH', `/fee-plans/${retired.id}`, { status: 'retired' })).json()).toMatchObject({
      status: 'retired',
    });
    expectError(await call(w.tokens.staffB, 'POST', '/merchants', { ...body, fee_plan_id: retired.id }), 'fee_plan_retired');
    expect((await call(w.tokens.staffB, 'POST', '/merchants', body)).statusCode).toBe(201);
  });

  it('scopes reads: staff their subtree, a merchant owner only its own merchant', async () => {
    const names = async (token: string, query = '') =>
      (await call(token, 'GET', `/merchants${query}`)).json<{ items: { party_id: string }[]; total: number }>();
    const a = await names(w.tokens.staffA);
    expect(a.items.map((m) => m.party_id).sort()).toEqual([w.merchantA, w.merchantA2, w.agentA].sort());
    expect(a.total).toBe(3);
    expect((await names(w.tokens.staffB)).items.map((m) => m.party_id)).toEqual([w.merchantB]);
    expect((await names(w.tokens.ownerA)).items.map((m) => m.party_id)).toEqual([w.merchantA]);
    expect((await names(w.tokens.auditor)).total).toBe(4);
    expect((await names(h.adminToken, '?q=%E4%B8%8A%E9%A9%AC')).items.map((m) => m.party_id).sort()).toEqual(
      [w.merchantA2, w.agentA].sort(),
    ); // 上马
    expect((await names(h.adminToken, '?q=5251')).items.map((m) => m.party_id)).toEqual([w.merchantB]);
    const page = await names(h.adminToken, '?limit=2&offset=1');
    expect(page.items).toHaveLength(2);
    expect(page.total).toBe(4);

    expect((await call(w.tokens.ownerA, 'GET', `/merchants/${w.merchantA}`)).statusCode).toBe(200);
    expectError(await call(w.tokens.ownerA, 'GET', `/merchants/${w.merchantB}`), 'merchant_not_found');
    expectError(await call(w.tokens.staffB, 'GET', `/merchants/${w.merchantA}`), 'merchant_not_found');
    expectError(await call(w.tokens.staffB, 'PATCH', `/merchants/${w.merchantA}`, { status: 'suspended' }), 'merchant_not_found');
    expectError(await call(w.tokens.ownerA, 'PATCH', `/merchants/${w.merchantA}`, { status: 'active' }), 'forbidden');
    // The owner sees its own plan, nothing else.
    expect((await call(w.tokens.ownerA, 'GET', '/fee-plans')).json<{ items: FeePlan[] }>().items.map((p) => p.id)).toEqual([bankPlan.id]);
    expectError(await call(w.tokens.ownerA, 'GET', '/merchants?extra=1'), 'validation_failed');
    expectError(await call(w.tokens.ownerA, 'GET', '/merchants?limit=100000'), 'validation_failed');
  });

  it('suspends, changes the plan and closes; the loader sees each change at once; closed stays closed', async () => {
    const patch = (body: object) => call(w.tokens.staffA, 'PATCH', `/merchants/${w.merchantA}`, body);
    expect((await patch({ status: 'suspended' })).json()).toMatchObject({ status: 'suspended' });
    expect((await loadMerchant(h.payments.deps.db, w.merchantA))!.status).toBe('suspended');
    expect((await patch({ status: 'active', fee_plan_id: branchPlan.id, settlement_cycle: 'T0' })).json()).toMatchObject({
      status: 'active',
      settlement_cycle: 'T0',
      fee_plan: { id: branchPlan.id },
    });
    expect((await loadMerchant(h.payments.deps.db, w.merchantA))!.fee_plan).toMatchObject({ rate_bp: 25, max_fee: 2_000 });
    // A plan change applies to the next transaction of every merchant on it.
    await call(w.tokens.staffA, 'PATCH', `/fee-plans/${branchPlan.id}`, { max_fee: 1_500 });
    expect((await loadMerchant(h.payments.deps.db, w.merchantA))!.fee_plan.max_fee).toBe(1_500);
    expectError(await patch({ mcc: '12' }), 'validation_failed');
    expectError(await patch({ fee_plan_id: 'nope' }), 'fee_plan_not_found');
    expect((await patch({ status: 'closed' })).json()).toMatchObject({ status: 'closed' });
    expectError(await patch({ status: 'active' }), 'conflict');
  });
});
