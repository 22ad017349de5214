/**
 * Merchant settlement paid into the merchant's account in the bank's core-banking system, on SQLite
 * and PostgreSQL, with the switch simulator as the core host (real TCP, IsoCore): the ledger leg goes
 * to bank:core-clearing under the settlement's transfer id, the core credit under a payout id
 * recorded before the call; paid exactly once across re-runs and concurrent runs, a lost answer
 * settled by asking the core (never a new id while the outcome is unknown), a credit that never
 * arrived sent again under the same id, a rejected one retried under a new id once the account is
 * fixed; a merchant without a core account, and the default ledger core, settle as before.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { startTestSwitch, type TestSwitch } from '../gateway/switch/test-support.js';
import { createParty } from '../identity/parties.js';
import { BANK_ACCOUNTS } from '../seed/bootstrap.js';
import { expectError } from '../terminals/test-support/fleet-testkit.js';
import { feeFor } from './contracts.js';
import { writeTxn } from './settlement-fixtures.js';
import { nextPayoutId, payoutId, runSettlement, settlementId, type SettlementDb } from './settlement.js';
import { setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

const plan = { rate_bp: 38, min_fee: 0, max_fee: null, fixed_fee: 0 };
const fee = (amount: number) => feeFor(plan, amount);
/** Sim account numbers are 16 digits starting 6000: this one is none of them. */
const NO_SUCH_ACCOUNT = '6999000000000001';

describe('payout ids (pure)', () => {
  it('are the settlement id plus :payout, then :payout:2, :3 …; a long settlement id is hashed to fit 64', () => {
    expect(payoutId('stl:2026-01-01:p')).toBe('stl:2026-01-01:p:payout');
    expect(nextPayoutId('stl:2026-01-01:p:payout')).toBe('stl:2026-01-01:p:payout:2');
    expect(nextPayoutId('stl:2026-01-01:p:payout:9')).toBe('stl:2026-01-01:p:payout:10');
    const long = payoutId(`stl:2026-01-01:${'x'.repeat(60)}`);
    expect(long).toMatch(/^stlh:[0-9a-f]{40}:payout$/);
    expect(nextPayoutId(nextPayoutId(long)).length).toBeLessThanOrEqual(64);
    // A UUID party's settlement id is kept as it is.
    const uuid = settlementId('2026-01-01', '0190f0a4-6a4e-7c3b-9d2a-1b2c3d4e5f60');
    expect(payoutId(uuid)).toBe(`${uuid}:payout`);
  });
});

describe.each(DIALECTS)('settlement payouts through the core on %s', (dialect) => {
  let sw: TestSwitch;
  let port: number;
  let h: Harness;
  let accounts: string[];
  let nextAccount = 0;
  const fresh = (): string => accounts[nextAccount++]!;

  beforeAll(async () => {
    sw = await startTestSwitch({ accounts: 20 });
    port = sw.sim.port;
    // A short timeout: a dropped answer costs this long.
    h = await createHarness(dialect, {
      XIAOWEI_RISK: 'off',
      XIAOWEI_CORE: `iso8583://127.0.0.1:${port}`,
      XIAOWEI_SWITCH_TIMEOUT_MS: '1000',
    });
    accounts = sw.sim.accounts().map((a) => a.number);
  });
  afterAll(async () => {
    const report = await h?.ledger.verify();
    await h?.close();
    await sw?.close();
    expect(report?.ok, report?.problem).toBe(true);
  });

  const db = () => h.payments.deps.db as SettlementDb;
  const row = (id: string) => db().selectFrom('pay_settlements').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const simBalance = (account: string) => sw.sim.account(account)!.balance;
  /** Core credits the host has processed (answered or not). */
  const credits = () => Object.values(sw.sim.stats().answers.coreCredit ?? {}).reduce((a, b) => a + b, 0);
  const statusQueries = () => sw.sim.stats().received['0600'] ?? 0;
  const patch = (partyId: string, body: Record<string, unknown>) =>
    h.app.inject({ method: 'PATCH', url: `/api/v1/merchants/${partyId}`, headers: auth(h.adminToken), payload: body });
  const runViaApi = async (date: string) => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/settlements/run', headers: auth(h.adminToken), payload: { date } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ settled: number; pending: number; failures: { settlement_id: string; error: string }[] }>();
  };
  /** A T0 merchant with two sales and a refund on `date`; returns the world and the settlement's net. */
  const merchantWithSales = async (date: string, coreAccount: string | null): Promise<{ w: PaymentsWorld; net: number; id: string }> => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    if (coreAccount !== null) {
      const res = await patch(w.merchant.partyId, { core_account: coreAccount });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ core_account: coreAccount });
    }
    const m = { partyId: w.merchant.partyId, receivable: w.merchant.receivable, orgId: w.orgId };
    const base = { businessDate: date, customerAccount: w.customerAccount, terminalId: w.terminalId };
    const s1 = await writeTxn(h.payments.deps, m, { ...base, type: 'sale', amount: 120_000, fee: fee(120_000) });
    await writeTxn(h.payments.deps, m, { ...base, type: 'sale', amount: 35_000, fee: fee(35_000) });
    await writeTxn(h.payments.deps, m, { ...base, type: 'refund', amount: 20_000, fee: 0, original: s1 });
    return { w, net: 120_000 - fee(120_000) + 35_000 - fee(35_000) - 20_000, id: settlementId(date, w.merchant.partyId) };
  };
  const waitReady = () => vi.waitFor(() => expect(h.gateway.core.state().state).toBe('ready'), { timeout: 20_000, interval: 25 });

  it('core_account: optional at enrolment, 8–32 digits, part of the terms, shown and changed on the merchant', async () => {
    const w = await setupPaymentsWorld(h);
    const party = await createParty(h.db, h.secrets, { kind: 'business', name: '核心账号商户', roles: ['merchant'], org_id: h.bankId });
    const enrol = (body: Record<string, unknown>) =>
      h.app.inject({
        method: 'POST',
        url: '/api/v1/merchants',
        headers: auth(h.adminToken),
        payload: { party_id: party.id, mcc: '5411', fee_plan_id: w.feePlan.id, settlement_cycle: 'T1', ...body },
      });
    for (const bad of ['1234567', '12345678901234567890123456789012X', '6000-0000-0000', '123456789012345678901234567890123', 42]) {
      expectError(await enrol({ core_account: bad }), 'validation_failed');
    }
    const account = fresh();
    const created = await enrol({ core_account: account });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ party_id: party.id, core_account: account });
    expect((await enrol({ core_account: account })).statusCode).toBe(200);
    expect((await enrol({})).statusCode).toBe(200);
    expectError(await enrol({ core_account: '12345678' }), 'merchant_exists');

    const view = await h.app.inject({ method: 'GET', url: `/api/v1/merchants/${party.id}`, headers: auth(h.adminToken) });
    expect(view.json()).toMatchObject({ core_account: account });
    expectError(await patch(party.id, { core_account: '12' }), 'validation_failed');
    expect((await patch(party.id, { core_account: null })).json()).toMatchObject({ core_account: null });
    // A merchant enrolled without one shows null.
    expect(
      (await h.app.inject({ method: 'GET', url: `/api/v1/merchants/${w.merchant.partyId}`, headers: auth(h.adminToken) })).json(),
    ).toMatchObject({
      core_account: null,
    });
  });

  it('pays the net into the core account exactly once (two runs at once, then re-runs); a merchant without one settles into 2002', async () => {
    const D = '2026-05-10';
    const account = fresh();
    const { w, net, id } = await merchantWithSales(D, account);
    const plain = await merchantWithSales(D, null);
    const simBefore = simBalance(account);
    const clearingBefore = await w.balanceOf(BANK_ACCOUNTS.core_clearing);
    const creditsBefore = credits();

    // The API's run and a direct one at the same time: one credit reaches the core.
    const [viaApi] = await Promise.all([runViaApi(D), runSettlement(h.payments.deps, D)]);
    expect(viaApi.failures).toEqual([]);
    expect(await row(id)).toMatchObject({
      status: 'settled',
      transfer_id: `${id}:settle`,
      payout_state: 'done',
      payout_id: `${id}:payout`,
      payout_account: account,
      payout_code: '00',
      error: null,
    });
    // The money moved once; the second run may have sent the same request (same id) again, which the core answers from its record.
    expect(simBalance(account)).toBe(simBefore + net);
    const creditsAfter = credits();
    expect(creditsAfter - creditsBefore).toBeGreaterThanOrEqual(1);
    expect(creditsAfter - creditsBefore).toBeLessThanOrEqual(2);
    // The ledger leg: receivable → core-clearing under the settlement's own transfer id; 2002 untouched.
    const leg = await h.ledger.lookupTransfer(`${id}:settle`);
    expect(leg).toMatchObject({
      debit_account_id: w.merchant.receivable,
      credit_account_id: BANK_ACCOUNTS.core_clearing,
      amount: net,
      code: 6,
    });
    expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(0);
    expect(clearingBefore - (await w.balanceOf(BANK_ACCOUNTS.core_clearing))).toBe(net);

    // Without a core account: the 2002 account, as before, no payout.
    expect(await row(plain.id)).toMatchObject({ status: 'settled', payout_state: 'none', payout_id: null, error: null });
    expect(await h.ledger.lookupTransfer(`${plain.id}:settle`)).toMatchObject({
      credit_account_id: plain.w.merchant.settlement,
      amount: plain.net,
    });
    expect(await plain.w.balanceOf(plain.w.merchant.settlement)).toBe(plain.net);

    // Re-runs change nothing.
    await runSettlement(h.payments.deps, D);
    await runViaApi(D);
    expect(simBalance(account)).toBe(simBefore + net);
    expect(credits()).toBe(creditsAfter);
    expect(clearingBefore - (await w.balanceOf(BANK_ACCOUNTS.core_clearing))).toBe(net);

    // The statement says where the money went.
    const csv = async (lang: string) =>
      (
        await h.app.inject({
          method: 'GET',
          url: `/api/v1/settlements/${id}/statement.csv`,
          headers: auth(h.adminToken, { 'accept-language': lang }),
        })
      ).body;
    expect(await csv('zh-CN')).toMatch(new RegExp(`核心系统入账,${D},已入账,00,${account},.*,${id}:payout\\r\\n$`));
    expect(await csv('en')).toMatch(new RegExp(`Core payout,${D},paid,00,${account},`));
    const plainCsv = (
      await h.app.inject({ method: 'GET', url: `/api/v1/settlements/${plain.id}/statement.csv`, headers: auth(h.adminToken) })
    ).body;
    expect(plainCsv).not.toMatch(/核心系统入账|Core payout/);
  });

  it('a crash after the ledger leg: the next run finds the leg (exists) and pays out once', async () => {
    const D = '2026-05-15';
    const account = fresh();
    const { w, net, id } = await merchantWithSales(D, account);
    const simBefore = simBalance(account);
    const clearingBefore = await w.balanceOf(BANK_ACCOUNTS.core_clearing);
    await runSettlement(h.payments.deps, D, { stopAfterTransfers: true });
    expect(await row(id)).toMatchObject({ status: 'pending', payout_state: 'due', payout_id: `${id}:payout` });
    expect(clearingBefore - (await w.balanceOf(BANK_ACCOUNTS.core_clearing))).toBe(net);
    expect(simBalance(account)).toBe(simBefore);
    await runSettlement(h.payments.deps, D);
    expect(await row(id)).toMatchObject({ status: 'settled', payout_state: 'done', transfer_id: `${id}:settle` });
    expect(clearingBefore - (await w.balanceOf(BANK_ACCOUNTS.core_clearing))).toBe(net);
    expect(simBalance(account)).toBe(simBefore + net);
  });

  it('a dropped credit answer: the link asks the core at once and finds it posted; credited once', async () => {
    const D = '2026-05-11';
    const account = fresh();
    const { net, id } = await merchantWithSales(D, account);
    const simBefore = simBalance(account);
    const creditsBefore = credits();
    const queriesBefore = statusQueries();
    sw.sim.failNext(1, 'drop');
    await runSettlement(h.payments.deps, D);
    expect(sw.sim.stats().faults.drop).toBeGreaterThanOrEqual(1);
    expect(statusQueries()).toBe(queriesBefore + 1);
    expect(await row(id)).toMatchObject({ status: 'settled', payout_state: 'done', payout_id: `${id}:payout` });
    expect(simBalance(account)).toBe(simBefore + net);
    expect(credits()).toBe(creditsBefore + 1);
  });

  it('a dropped answer and the core gone before it can be asked: stays sent; the next run asks the core first → settled, credited once, same id', async () => {
    const D = '2026-05-12';
    const account = fresh();
    const { net, id } = await merchantWithSales(D, account);
    const simBefore = simBalance(account);
    const creditsBefore = credits();
    sw.sim.failNext(1, 'drop');
    const run = runSettlement(h.payments.deps, D);
    // The host posted the credit and dropped its answer; then it goes away.
    await vi.waitFor(() => expect(credits()).toBe(creditsBefore + 1), { timeout: 10_000, interval: 5 });
    await sw.sim.close();
    const first = await run;
    expect(first.failures).toEqual([
      { settlement_id: id, merchant_party_id: expect.any(String), error: expect.stringContaining('core payout outcome unknown') },
    ]);
    expect(await row(id)).toMatchObject({
      status: 'pending',
      payout_state: 'sent',
      payout_id: `${id}:payout`,
      payout_account: account,
      payout_code: 'unknown',
    });
    expect((await row(id)).error).toContain('结果未知');
    expect(simBalance(account)).toBe(simBefore + net);

    // The core is back: the next run asks about the same id before anything else.
    await sw.sim.listen(port);
    await waitReady();
    const queriesBefore = statusQueries();
    await runSettlement(h.payments.deps, D);
    expect(statusQueries()).toBe(queriesBefore + 1);
    expect(await row(id)).toMatchObject({
      status: 'settled',
      payout_state: 'done',
      payout_id: `${id}:payout`,
      payout_code: '00',
      error: null,
    });
    expect(simBalance(account)).toBe(simBefore + net);
    expect(credits()).toBe(creditsBefore + 1);
  });

  it('the core unreachable when the credit is due (91): stays sent; the next run finds the id not found and sends it again under the same id', async () => {
    const D = '2026-05-13';
    const account = fresh();
    const { net, id } = await merchantWithSales(D, account);
    const simBefore = simBalance(account);
    const creditsBefore = credits();
    await sw.sim.close();
    const first = await runSettlement(h.payments.deps, D);
    expect(first.pending).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'pending', payout_state: 'sent', payout_id: `${id}:payout`, payout_code: '91' });
    expect((await row(id)).error).toMatch(/（91）.*\(91\)/);
    expect(credits()).toBe(creditsBefore);

    await sw.sim.listen(port);
    await waitReady();
    const queriesBefore = statusQueries();
    await runSettlement(h.payments.deps, D);
    expect(statusQueries()).toBe(queriesBefore + 1);
    expect(await row(id)).toMatchObject({ status: 'settled', payout_state: 'done', payout_id: `${id}:payout` });
    expect(simBalance(account)).toBe(simBefore + net);
    expect(credits()).toBe(creditsBefore + 1);
  });

  it('an unknown core account (14): rejected, the money stays in core-clearing, the error shows in zh and en; paid under a new id once the account is fixed', async () => {
    const D = '2026-05-14';
    const { w, net, id } = await merchantWithSales(D, NO_SUCH_ACCOUNT);
    const clearingBefore = await w.balanceOf(BANK_ACCOUNTS.core_clearing);
    const first = await runViaApi(D);
    expect(first.failures).toEqual([expect.objectContaining({ settlement_id: id, error: expect.stringContaining('no such account') })]);
    expect(await row(id)).toMatchObject({
      status: 'pending',
      payout_state: 'due',
      payout_id: `${id}:payout:2`,
      payout_account: null,
      payout_code: '14',
    });
    // The money left the receivable for core-clearing, and stays there; not in 2002.
    expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(0);
    expect(clearingBefore - (await w.balanceOf(BANK_ACCOUNTS.core_clearing))).toBe(net);
    const view = await h.app.inject({ method: 'GET', url: `/api/v1/settlements/${id}`, headers: auth(h.adminToken) });
    expect(view.json()).toMatchObject({ status: 'pending' });
    expect(view.json<{ error: string }>().error).toMatch(/账户不存在.*no such account/);
    const csv = (
      await h.app.inject({
        method: 'GET',
        url: `/api/v1/settlements/${id}/statement.csv`,
        headers: auth(h.adminToken, { 'accept-language': 'en' }),
      })
    ).body;
    expect(csv).toMatch(/Core payout,2026-05-14,due: core payout rejected: no such account \(14\)/);

    // Not fixed yet: the next run tries the next id, rejected again; nothing moves.
    await runSettlement(h.payments.deps, D);
    expect(await row(id)).toMatchObject({ status: 'pending', payout_state: 'due', payout_id: `${id}:payout:3` });

    const account = fresh();
    const simBefore = simBalance(account);
    expect((await patch(w.merchant.partyId, { core_account: account })).statusCode).toBe(200);
    await runSettlement(h.payments.deps, D);
    expect(await row(id)).toMatchObject({
      status: 'settled',
      payout_state: 'done',
      payout_id: `${id}:payout:3`,
      payout_account: account,
      error: null,
    });
    expect(simBalance(account)).toBe(simBefore + net);
    // One ledger leg in all.
    expect(clearingBefore - (await w.balanceOf(BANK_ACCOUNTS.core_clearing))).toBe(net);
    await runSettlement(h.payments.deps, D);
    expect(simBalance(account)).toBe(simBefore + net);
  });
});

describe.each(DIALECTS)('settlement with the default ledger core on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
  });
  afterAll(async () => {
    const report = await h?.ledger.verify();
    await h?.close();
    expect(report?.ok, report?.problem).toBe(true);
  });

  it('changes nothing: a merchant with a core account settles into its 2002 account under the same transfer id', async () => {
    expect(h.payments.deps.core?.kind).toBe('ledger');
    const D = '2026-05-20';
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const res = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/merchants/${w.merchant.partyId}`,
      headers: auth(h.adminToken),
      payload: { core_account: '6000123412341234' },
    });
    expect(res.statusCode, res.body).toBe(200);
    await writeTxn(
      h.payments.deps,
      { partyId: w.merchant.partyId, receivable: w.merchant.receivable, orgId: w.orgId },
      {
        businessDate: D,
        customerAccount: w.customerAccount,
        terminalId: w.terminalId,
        type: 'sale',
        amount: 50_000,
        fee: fee(50_000),
      },
    );
    const clearingBefore = await w.balanceOf(BANK_ACCOUNTS.core_clearing);
    await runSettlement(h.payments.deps, D);
    const id = settlementId(D, w.merchant.partyId);
    expect(
      await (h.payments.deps.db as SettlementDb).selectFrom('pay_settlements').selectAll().where('id', '=', id).executeTakeFirst(),
    ).toMatchObject({
      status: 'settled',
      transfer_id: `${id}:settle`,
      payout_state: 'none',
      payout_id: null,
    });
    expect(await h.ledger.lookupTransfer(`${id}:settle`)).toMatchObject({
      credit_account_id: w.merchant.settlement,
      amount: 50_000 - fee(50_000),
    });
    expect(await w.balanceOf(w.merchant.settlement)).toBe(50_000 - fee(50_000));
    expect(await w.balanceOf(BANK_ACCOUNTS.core_clearing)).toBe(clearingBefore);
  });
});
