/**
 * Settlement on SQLite and PostgreSQL: T0 and T1 due dates, totals = sales − refunds − fees +
 * returned fees (and voids), net = the receivable's change, idempotent re-runs, a crash between the
 * steps completed by the next run, carried negative nets, statements (JSON and CSV) and who sees them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { expectError } from '../terminals/test-support/fleet-testkit.js';
import { businessDate, feeFor, refundFee, type TxnReply } from './contracts.js';
import * as E from './engine.js';
import { writeTxn, type FixtureMerchant } from './settlement-fixtures.js';
import { nextAttempt, previousDate, runSettlement, settlementId, statementCsv, yuan, type SettlementDb } from './settlement.js';
import { engineRequest, setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

const plan = { rate_bp: 38, min_fee: 0, max_fee: null, fixed_fee: 0 };
const fee = (amount: number) => feeFor(plan, amount);

describe('settlement helpers (pure)', () => {
  it('formats fen as yuan exactly, negative too', () => {
    expect(yuan(0)).toBe('0.00');
    expect(yuan(5)).toBe('0.05');
    expect(yuan(123456)).toBe('1234.56');
    expect(yuan(-1999)).toBe('-19.99');
    expect(yuan(Number.MAX_SAFE_INTEGER)).toBe('90071992547409.91');
  });
  it('a refused settlement transfer is retried under the next id', () => {
    expect(nextAttempt('stl:2026-01-01:p:settle')).toBe('stl:2026-01-01:p:settle:2');
    expect(nextAttempt('stl:2026-01-01:p:settle:2')).toBe('stl:2026-01-01:p:settle:3');
  });
  it('the previous date crosses months and leap days', () => {
    expect(previousDate('2026-03-01')).toBe('2026-02-28');
    expect(previousDate('2028-03-01')).toBe('2028-02-29');
    expect(previousDate('2027-01-01')).toBe('2026-12-31');
  });
});

describe.each(DIALECTS)('settlement on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
  });
  afterAll(async () => {
    const report = await h?.ledger.verify();
    await h?.close();
    expect(report?.ok, report?.problem).toBe(true);
  });

  const merchantOf = (w: PaymentsWorld): FixtureMerchant => ({ partyId: w.merchant.partyId, receivable: w.merchant.receivable, orgId: w.orgId });
  const settlement = (id: string) => (h.payments.deps.db as SettlementDb).selectFrom('pay_settlements').selectAll().where('id', '=', id).executeTakeFirst();
  const stamped = async (id: string) =>
    (await (h.payments.deps.db as SettlementDb).selectFrom('pay_transactions').select('id').where('settlement_id', '=', id).execute()).length;
  const get = async (url: string, token = h.adminToken, headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth(token, headers) });

  it('T1: a date settles on the next day’s run; net = sales − fees − refunds + returned fees − voids = the receivable’s change', async () => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T1' });
    const m = merchantOf(w);
    const deps = h.payments.deps;
    const D = '2026-03-10';
    const D1 = '2026-03-11';
    const base = { businessDate: D, customerAccount: w.customerAccount, terminalId: w.terminalId };
    const s1 = await writeTxn(deps, m, { ...base, type: 'sale', amount: 10_000, fee: fee(10_000) });
    const s2 = await writeTxn(deps, m, { ...base, type: 'sale', amount: 25_000, fee: fee(25_000) });
    const s3 = await writeTxn(deps, m, { ...base, type: 'sale', amount: 5_000, fee: fee(5_000) });
    const rFee = refundFee(s2, 8_000);
    await writeTxn(deps, m, { ...base, type: 'refund', amount: 8_000, fee: rFee, original: s2 });
    await writeTxn(deps, m, { ...base, type: 'void', amount: 5_000, fee: s3.fee, original: s3 });
    await writeTxn(deps, m, { ...base, type: 'qr_sale', amount: 3_000, fee: fee(3_000) });
    await writeTxn(deps, m, { ...base, type: 'sale', amount: 7_000, status: 'declined' });
    // The next day's sale is not due on the next day's run (T1).
    await writeTxn(deps, m, { ...base, businessDate: D1, type: 'sale', amount: 20_000, fee: fee(20_000) });

    const gross = 10_000 + 25_000 + 5_000 + 3_000;
    const fees = fee(10_000) + fee(25_000) + fee(5_000) + fee(3_000);
    const expected = gross - fees - 8_000 + rFee - 5_000 + s3.fee;
    expect(s1.fee).toBe(38);

    await runSettlement(deps, D);
    expect(await settlement(settlementId(D, m.partyId))).toBeUndefined();

    const before = await w.balanceOf(m.receivable);
    expect(before).toBe(expected + 20_000 - fee(20_000));
    const first = await runSettlement(deps, D1);
    const row = await settlement(settlementId(D1, m.partyId));
    expect(row).toMatchObject({ status: 'settled', cycle: 'T1', due_date: D, transfer_id: `${settlementId(D1, m.partyId)}:settle` });
    expect(Number(row!.net)).toBe(expected);
    expect(Number(row!.sale_count)).toBe(4);
    expect(Number(row!.sale_amount)).toBe(gross);
    expect(Number(row!.fee_amount)).toBe(fees);
    expect(Number(row!.refund_amount)).toBe(8_000);
    expect(Number(row!.refund_fee)).toBe(rFee);
    expect(Number(row!.reversal_count)).toBe(1);
    // The receivable fell by exactly the net, into the settlement account.
    expect(before - (await w.balanceOf(m.receivable))).toBe(expected);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(expected);
    expect(await stamped(settlementId(D1, m.partyId))).toBe(6);

    // Running the date again changes nothing and answers the same.
    const second = await runSettlement(deps, D1);
    expect({ ...second, created: 0 }).toEqual({ ...first, created: 0 });
    expect(second.created).toBe(0);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(expected);
    expect(await stamped(settlementId(D1, m.partyId))).toBe(6);

    // The D1 sale is settled on the run for D1 + 1.
    await runSettlement(deps, '2026-03-12');
    expect(await w.balanceOf(m.receivable)).toBe(0);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(expected + 20_000 - fee(20_000));
  });

  it('T0: the date settles on its own run; a late arrival goes to the next run; a negative net is carried', async () => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const m = merchantOf(w);
    const deps = h.payments.deps;
    const D = '2026-04-01';
    const base = { customerAccount: w.customerAccount, terminalId: w.terminalId };
    const sale = await writeTxn(deps, m, { ...base, businessDate: D, type: 'sale', amount: 10_000, fee: fee(10_000) });
    await runSettlement(deps, D);
    const first = await settlement(settlementId(D, m.partyId));
    expect(first).toMatchObject({ status: 'settled', due_date: D });
    expect(Number(first!.net)).toBe(10_000 - fee(10_000));

    // Arrives after the run with the same business date: not added to a settled settlement.
    await writeTxn(deps, m, { ...base, businessDate: D, type: 'sale', amount: 2_000, fee: fee(2_000) });
    await runSettlement(deps, D);
    expect(Number((await settlement(settlementId(D, m.partyId)))!.net)).toBe(10_000 - fee(10_000));
    await runSettlement(deps, '2026-04-02');
    expect(Number((await settlement(settlementId('2026-04-02', m.partyId)))!.net)).toBe(2_000 - fee(2_000));
    expect(await w.balanceOf(m.receivable)).toBe(0);

    // A refund of a sale settled earlier, and nothing else: net < 0 → carried, no transfer, rows left for the next one.
    await writeTxn(deps, m, { ...base, businessDate: '2026-04-03', type: 'refund', amount: 10_000, fee: refundFee(sale, 10_000), original: sale });
    const settledBefore = await w.balanceOf(w.merchant.settlement);
    await runSettlement(deps, '2026-04-03');
    const carried = await settlement(settlementId('2026-04-03', m.partyId));
    expect(carried).toMatchObject({ status: 'carried', transfer_id: null });
    expect(Number(carried!.net)).toBe(-(10_000 - fee(10_000)));
    expect(await stamped(carried!.id)).toBe(0);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(settledBefore);

    await writeTxn(deps, m, { ...base, businessDate: '2026-04-04', type: 'sale', amount: 30_000, fee: fee(30_000) });
    const recvBefore = await w.balanceOf(m.receivable);
    await runSettlement(deps, '2026-04-04');
    const next = await settlement(settlementId('2026-04-04', m.partyId));
    const net = 30_000 - fee(30_000) - 10_000 + fee(10_000);
    expect(next).toMatchObject({ status: 'settled' });
    expect(Number(next!.net)).toBe(net);
    expect(Number(next!.refund_count)).toBe(1);
    expect(recvBefore - (await w.balanceOf(m.receivable))).toBe(net);
    expect(await w.balanceOf(m.receivable)).toBe(0);
  });

  it('voids and reversals count by their own effect: a reversed, partly refunded sale nets to 0; a released hold counts nothing', async () => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const m = merchantOf(w);
    const deps = h.payments.deps;
    const D = '2026-04-20';
    const base = { businessDate: D, customerAccount: w.customerAccount, terminalId: w.terminalId };
    const a = await writeTxn(deps, m, { ...base, type: 'sale', amount: 10_000, fee: fee(10_000) });
    const rf = refundFee(a, 4_000);
    await writeTxn(deps, m, { ...base, type: 'refund', amount: 4_000, fee: rf, original: a });
    // The engine reverses what is left of a partly refunded sale.
    await writeTxn(deps, m, { ...base, type: 'reversal', amount: 6_000, fee: fee(10_000) - rf, original: a });
    const held = await writeTxn(deps, m, { ...base, type: 'sale', amount: 7_000, status: 'held' });
    await writeTxn(deps, m, { ...base, type: 'reversal', amount: 7_000, fee: 0, original: held, noLedger: true });
    const before = await w.balanceOf(m.receivable);
    expect(before).toBe(0);

    await runSettlement(deps, D);
    const row = await settlement(settlementId(D, m.partyId));
    // Net 0: a row, settled, but no transfer.
    expect(row).toMatchObject({ status: 'settled', transfer_id: null });
    expect([Number(row!.net), Number(row!.sale_count), Number(row!.refund_count), Number(row!.reversal_count)]).toEqual([0, 1, 1, 1]);
    expect(Number(row!.reversal_amount)).toBe(6_000);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(0);
    const st = await get(`/settlements/${encodeURIComponent(row!.id)}/statement`);
    const lines = st.json<{ lines: { kind: string; net: number; amount: number; fee: number }[] }>().lines;
    expect(lines.map((l) => l.kind)).toEqual(['sale', 'refund', 'reversal', 'none']);
    expect(lines.map((l) => l.net)).toEqual([10_000 - fee(10_000), -4_000 + rf, -6_000 + fee(10_000) - rf, 0]);
    for (const l of lines.slice(0, 3)) expect(l.amount - l.fee).toBe(l.net);
  });

  it('end to end through the terminal API: sales, a void, a refund, a reversal — the settlement equals what the terminal was told', async () => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const deps = h.payments.deps;
    let n = 0;
    const cid = () => `e2e-${process.pid}-${++n}`;
    const pay = (path: string, body: object) => w.terminal.pay<TxnReply>(path, body);
    const card = { pan: w.card.pan, expiry: w.card.expiry };
    const sale = async (amount: number) => pay('sale', { clientId: cid(), amount, card, pinBlock: await w.pinBlock() });
    const a = await sale(12_000);
    const b = await sale(30_000);
    const c = await sale(4_500);
    const lost = cid();
    const d = await pay('sale', { clientId: lost, amount: 2_200, card, pinBlock: await w.pinBlock() });
    await w.signOnSupervisor();
    const v = await pay('void', { clientId: cid(), originalId: c.id });
    const r = await pay('refund', { clientId: cid(), originalId: b.id, amount: 10_000 });
    await w.signOnCashier();
    const rev = await pay('reversal', { clientId: cid(), originalClientId: lost });
    for (const x of [a, b, c, d, v, r, rev]) expect(x.responseCode, JSON.stringify(x)).toBe('00');
    // What the terminal was told, independently of settlement.
    const told = a.amount - a.fee + b.amount - b.fee + c.amount - c.fee + d.amount - d.fee - v.amount + v.fee - r.amount + r.fee - (d.amount - d.fee);
    expect(told).toBe(12_000 - fee(12_000) + 30_000 - fee(30_000) - 10_000 + refundFee({ amount: 30_000, fee: fee(30_000), refunded_amount: 0, refunded_fee: 0 }, 10_000));

    const date = businessDate(deps.now(), deps.cutoffMinutes);
    const before = await w.balanceOf(w.merchant.receivable);
    expect(before).toBe(told);
    await runSettlement(deps, date);
    const row = await settlement(settlementId(date, w.merchant.partyId));
    expect(row).toMatchObject({ status: 'settled' });
    expect(Number(row!.net)).toBe(told);
    expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(told);
    expect([Number(row!.sale_count), Number(row!.refund_count), Number(row!.reversal_count)]).toEqual([4, 1, 2]);
    const lines = (await get(`/settlements/${encodeURIComponent(row!.id)}/statement`)).json<{ lines: { net: number; trace_no: number | null }[] }>().lines;
    expect(lines.reduce((x, l) => x + l.net, 0)).toBe(told);
    expect(lines.every((l) => l.trace_no !== null)).toBe(true);
  });

  it('a crash after the claim, or after the ledger transfer, is completed by the next run without a second transfer', async () => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const m = merchantOf(w);
    const deps = h.payments.deps;
    const base = { customerAccount: w.customerAccount, terminalId: w.terminalId };
    await writeTxn(deps, m, { ...base, businessDate: '2026-05-01', type: 'sale', amount: 40_000, fee: fee(40_000) });
    const net1 = 40_000 - fee(40_000);

    // Crash 1: rows stamped and totals fixed, no transfer yet.
    await runSettlement(deps, '2026-05-01', { stopAfterClaim: true });
    const id1 = settlementId('2026-05-01', m.partyId);
    expect(await settlement(id1)).toMatchObject({ status: 'pending' });
    expect(await stamped(id1)).toBe(1);
    expect(await w.balanceOf(w.merchant.settlement)).toBe(0);
    // A run for another date completes it (pending rows of any date are resumed).
    await runSettlement(deps, '2026-05-02');
    expect(await settlement(id1)).toMatchObject({ status: 'settled' });
    expect(await w.balanceOf(w.merchant.settlement)).toBe(net1);

    // Crash 2: the transfer committed, the row not marked yet.
    await writeTxn(deps, m, { ...base, businessDate: '2026-05-03', type: 'sale', amount: 12_345, fee: fee(12_345) });
    const net2 = 12_345 - fee(12_345);
    await runSettlement(deps, '2026-05-03', { stopAfterTransfers: true });
    const id2 = settlementId('2026-05-03', m.partyId);
    expect(await settlement(id2)).toMatchObject({ status: 'pending' });
    expect(await w.balanceOf(w.merchant.settlement)).toBe(net1 + net2);
    const again = await runSettlement(deps, '2026-05-03');
    expect(again.failures).toEqual([]);
    expect(await settlement(id2)).toMatchObject({ status: 'settled' });
    expect(await w.balanceOf(w.merchant.settlement)).toBe(net1 + net2);
    expect(await w.balanceOf(m.receivable)).toBe(0);
  });

  it('a crash after the open rows are claimed, before any is stamped, is completed by the next run; a merchant per transaction, each settled once', async () => {
    const worlds = [];
    for (let i = 0; i < 3; i++) worlds.push(await setupPaymentsWorld(h, { settlementCycle: 'T0' }));
    const deps = h.payments.deps;
    const D = '2026-06-01';
    const nets: number[] = [];
    for (const [i, w] of worlds.entries()) {
      const amount = 10_000 * (i + 1);
      await writeTxn(deps, merchantOf(w), { businessDate: D, customerAccount: w.customerAccount, terminalId: w.terminalId, type: 'sale', amount, fee: fee(amount) });
      nets.push(amount - fee(amount));
    }
    // The crash: open rows, nothing stamped, no transfer, and nobody sees them.
    await runSettlement(deps, D, { stopAfterOpen: true });
    for (const w of worlds) {
      const id = settlementId(D, w.merchant.partyId);
      expect(await settlement(id)).toMatchObject({ status: 'open' });
      expect(await stamped(id)).toBe(0);
      expect((await get(`/settlements/${encodeURIComponent(id)}`)).statusCode).toBe(404);
    }
    // A run for the next date finishes them first (their rows are theirs, not the new date's).
    await runSettlement(deps, '2026-06-02', { stampChunk: 1 });
    for (const [i, w] of worlds.entries()) {
      const id = settlementId(D, w.merchant.partyId);
      const row = await settlement(id);
      expect(row).toMatchObject({ status: 'settled', sale_count: expect.anything() });
      expect([Number(row!.sale_count), Number(row!.net)]).toEqual([1, nets[i]]);
      expect(await stamped(id)).toBe(1);
      expect(await settlement(settlementId('2026-06-02', w.merchant.partyId))).toBeUndefined();
      expect(await w.balanceOf(w.merchant.settlement)).toBe(nets[i]);
      expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
    }
    // Runs again, of either date, change nothing.
    await runSettlement(deps, D, { stampChunk: 2 });
    await runSettlement(deps, '2026-06-02');
    for (const [i, w] of worlds.entries()) expect(await w.balanceOf(w.merchant.settlement)).toBe(nets[i]);
  });

  it('a transfer the ledger refuses leaves the settlement pending with the reason; once fixed, the next run settles it under a new transfer id', async () => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const m = merchantOf(w);
    const deps = h.payments.deps;
    const D = '2026-05-20';
    await writeTxn(deps, m, { businessDate: D, customerAccount: w.customerAccount, terminalId: w.terminalId, type: 'sale', amount: 9_000, fee: fee(9_000) });
    const db = deps.db as SettlementDb;
    await db.updateTable('pay_merchants').set({ settlement_account_id: 'no-such-account' }).where('party_id', '=', m.partyId).execute();
    const failed = await runSettlement(deps, D);
    const id = settlementId(D, m.partyId);
    expect(failed.failures).toContainEqual({ settlement_id: id, merchant_party_id: m.partyId, error: 'credit_account_not_found' });
    expect(await settlement(id)).toMatchObject({ status: 'pending', error: 'credit_account_not_found', transfer_id: `${id}:settle:2` });
    expect(await w.balanceOf(m.receivable)).toBe(9_000 - fee(9_000));

    await db.updateTable('pay_merchants').set({ settlement_account_id: w.merchant.settlement }).where('party_id', '=', m.partyId).execute();
    const fixed = await runSettlement(deps, D);
    expect(fixed.failures).toEqual([]);
    expect(await settlement(id)).toMatchObject({ status: 'settled', error: null, transfer_id: `${id}:settle:2` });
    expect(await w.balanceOf(w.merchant.settlement)).toBe(9_000 - fee(9_000));
    expect(await w.balanceOf(m.receivable)).toBe(0);
  });

  it('statements: JSON lines sum to the net, CSV with BOM in zh or en, merchant users see only their own', async () => {
    const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const other = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const m = merchantOf(w);
    const deps = h.payments.deps;
    const D = '2026-06-18';
    const base = { businessDate: D, customerAccount: w.customerAccount, terminalId: w.terminalId };
    const s = await writeTxn(deps, m, { ...base, type: 'sale', amount: 12_345, fee: fee(12_345), cardLast4: '4321' });
    await writeTxn(deps, m, { ...base, type: 'qr_sale', amount: 800, fee: fee(800) });
    await writeTxn(deps, m, { ...base, type: 'refund', amount: 2_000, fee: refundFee(s, 2_000), original: s });
    await writeTxn(deps, merchantOf(other), { ...base, customerAccount: other.customerAccount, terminalId: other.terminalId, type: 'sale', amount: 500, fee: 2 });

    const run = await h.app.inject({ method: 'POST', url: '/api/v1/settlements/run', headers: auth(h.adminToken), payload: { date: D } });
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json()).toMatchObject({ date: D, failures: [] });
    const audit = await (h.db).selectFrom('audit_log').select(['target', 'outcome']).where('action', '=', 'settlement.run').execute();
    expect(audit).toContainEqual({ target: D, outcome: 'ok' });

    const list = await get(`/settlements?date=${D}&merchant_party_id=${m.partyId}`);
    expect(list.statusCode, list.body).toBe(200);
    const items = list.json<{ items: { id: string; net: number; merchant_name: string }[]; total: number }>();
    expect(items.total).toBe(1);
    const id = items.items[0]!.id;
    const net = 12_345 - fee(12_345) + 800 - fee(800) - 2_000 + refundFee(s, 2_000);
    expect(items.items[0]!.net).toBe(net);

    const st = await get(`/settlements/${encodeURIComponent(id)}/statement`);
    expect(st.statusCode, st.body).toBe(200);
    const body = st.json<{ settlement: { net: number }; lines: { net: number; type: string; card: string | null; terminal_serial: string | null; auth_code: string | null }[] }>();
    expect(body.lines).toHaveLength(3);
    expect(body.lines.reduce((a, l) => a + l.net, 0)).toBe(net);
    expect(body.lines.map((l) => l.card)).toEqual(['4321', 'QR', '1234']);
    expect(body.lines[0]!.terminal_serial).toBe(w.terminals[0]!.serial);
    expect(body.lines[0]!.auth_code).toMatch(/^\d{6}$/);

    const zh = await get(`/settlements/${encodeURIComponent(id)}/statement.csv`);
    expect(zh.statusCode).toBe(200);
    expect(zh.headers['content-type']).toContain('text/csv');
    expect(zh.body.charCodeAt(0)).toBe(0xfeff);
    const zhRows = zh.body.slice(1).trim().split('\r\n');
    expect(zhRows[0]).toContain('结算净额(元)');
    expect(zhRows[1]).toContain(',123.45,');
    expect(zhRows[1]).toContain(',消费,');
    expect(zhRows.at(-1)).toContain(`,${yuan(net)},`);
    const en = await get(`/settlements/${encodeURIComponent(id)}/statement.csv`, h.adminToken, { 'accept-language': 'en-GB,en' });
    expect(en.body.slice(1).split('\r\n')[0]).toBe('Time,Business date,Type,Status,Card last 4 / QR,Amount (CNY),Fee (CNY),Net (CNY),Terminal serial,Trace no,Auth code,Transaction id');
    expect(en.body).toContain(',-20.00,');

    // The merchant's own user sees it; another merchant's user does not learn it exists.
    const own = await h.userToken('merchant_owner', w.orgId, m.partyId);
    expect((await get(`/settlements/${encodeURIComponent(id)}`, own)).statusCode).toBe(200);
    const ownList = (await get(`/settlements?date=${D}`, own)).json<{ items: { merchant_party_id: string }[] }>();
    expect(ownList.items.map((i) => i.merchant_party_id)).toEqual([m.partyId]);
    const stranger = await h.userToken('merchant_owner', other.orgId, other.merchant.partyId);
    expectError(await get(`/settlements/${encodeURIComponent(id)}/statement`, stranger), 'not_found');
    expectError(await get(`/settlements/${encodeURIComponent(id)}/statement.csv`, stranger), 'not_found');
    // Only settlement:run may run it; bad dates are typed errors.
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/settlements/run', headers: auth(own), payload: { date: D } }), 'forbidden');
    for (const date of ['2026-02-30', '2026-6-18', '', 'x']) {
      expectError(await h.app.inject({ method: 'POST', url: '/api/v1/settlements/run', headers: auth(h.adminToken), payload: { date } }), 'validation_failed');
    }
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/settlements/run', headers: auth(h.adminToken), payload: { date: D, extra: 1 } }), 'validation_failed');
    expectError(await get('/settlements/stl:nope'), 'not_found');
  });

  it('a reversed void: the sale counts again, the void still counts where it was settled — nets equal the receivable, in one run or split over two', async () => {
    const deps = h.payments.deps;
    for (const split of [false, true]) {
      const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
      const req = engineRequest(w);
      const s = await E.sale(deps, req, { clientId: `vr-s-${split}`, amount: 10_000, card: { pan: w.card.pan, expiry: w.card.expiry }, pinBlock: await w.pinBlock() });
      const v = await E.voidSale(deps, req, { clientId: `vr-v-${split}`, originalId: s.id });
      expect(v.responseCode).toBe('00');
      const D = businessDate(deps.now(), deps.cutoffMinutes);
      const next = new Date(Date.parse(`${D}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      // Split: the void is settled (with its sale: net 0) before its reversal arrives.
      if (split) await runSettlement(deps, D);
      const r = await E.reversal(deps, req, { clientId: `vr-r-${split}`, originalClientId: v.clientId });
      expect(r).toMatchObject({ responseCode: '00', amount: 10_000, fee: s.fee });
      await runSettlement(deps, split ? next : D);
      const nets = await (deps.db as SettlementDb).selectFrom('pay_settlements').select('net').where('merchant_party_id', '=', w.merchant.partyId).execute();
      expect(nets.reduce((n, x) => n + Number(x.net), 0)).toBe(10_000 - s.fee);
      expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
      expect(await w.balanceOf(w.merchant.settlement)).toBe(10_000 - s.fee);
      const last = settlementId(split ? next : D, w.merchant.partyId);
      const lines = (await get(`/settlements/${encodeURIComponent(last)}/statement`)).json<{ lines: { net: number; type: string; kind: string }[] }>().lines;
      expect(lines.reduce((n, l) => n + l.net, 0)).toBe(10_000 - s.fee);
      if (split) expect(lines).toEqual([expect.objectContaining({ type: 'reversal', kind: 'sale', net: 10_000 - s.fee })]);
    }
  });

  it('a reversed refund: the refund still counts where it was settled, its reversal counts as a sale — nets equal the receivable, in one run or split over two', async () => {
    const deps = h.payments.deps;
    for (const split of [false, true]) {
      const w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
      const req = engineRequest(w);
      const s = await E.sale(deps, req, { clientId: `rr-s-${split}`, amount: 10_000, card: { pan: w.card.pan, expiry: w.card.expiry }, pinBlock: await w.pinBlock() });
      const f = await E.refund(deps, req, { clientId: `rr-f-${split}`, originalId: s.id, amount: 4_000 });
      expect(f.responseCode).toBe('00');
      const D = businessDate(deps.now(), deps.cutoffMinutes);
      const next = new Date(Date.parse(`${D}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      // Split: the refund is settled (with its sale) before its reversal arrives.
      if (split) await runSettlement(deps, D);
      const r = await E.reversal(deps, req, { clientId: `rr-r-${split}`, originalClientId: f.clientId });
      expect(r).toMatchObject({ responseCode: '00', amount: 4_000, fee: f.fee });
      await runSettlement(deps, split ? next : D);
      const nets = await (deps.db as SettlementDb).selectFrom('pay_settlements').select('net').where('merchant_party_id', '=', w.merchant.partyId).execute();
      expect(nets.reduce((n, x) => n + Number(x.net), 0)).toBe(10_000 - s.fee);
      expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
      expect(await w.balanceOf(w.merchant.settlement)).toBe(10_000 - s.fee);
      const last = settlementId(split ? next : D, w.merchant.partyId);
      const lines = (await get(`/settlements/${encodeURIComponent(last)}/statement`)).json<{ lines: { net: number; type: string; kind: string }[] }>().lines;
      if (split) expect(lines).toEqual([expect.objectContaining({ type: 'reversal', kind: 'sale', net: 4_000 - f.fee })]);
      else expect(lines.map((l) => l.kind).sort()).toEqual(['refund', 'sale', 'sale']);
    }
  });

  it('the CSV neutralises spreadsheet formulas and quotes commas', () => {
    const csv = statementCsv(
      {
        settlement: {
          id: 'stl:x', merchant_party_id: 'p', merchant_name: null, org_id: 'o', business_date: '2026-01-01', cycle: 'T0', due_date: '2026-01-01', status: 'settled',
          sale_count: 1, sale_amount: 100, fee_amount: 1, refund_count: 0, refund_amount: 0, refund_fee: 0, reversal_count: 0, reversal_amount: 0, reversal_fee: 0, net: 99,
          transfer_id: null, error: null, created_at: 0, settled_at: null, payout_state: 'none', payout_id: null, payout_account: null, payout_code: null,
        },
        lines: [{ transaction_id: 't', time: 0, business_date: '2026-01-01', type: 'sale', status: 'approved', kind: 'sale', card: '=1+1', amount: 100, fee: 1, net: 99, terminal_serial: 'A,B', trace_no: 1, auth_code: null, original_id: null }],
      },
      'en',
    );
    expect(csv).toContain(",'=1+1,");
    expect(csv).toContain(',"A,B",');
  });
});
