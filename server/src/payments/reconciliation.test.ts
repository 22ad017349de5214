/**
 * Reconciliation on SQLite and PostgreSQL: an uploaded batch's lines against the host's
 * transactions — each exception kind found once, a repeat adds nothing, the settle run picks up
 * batches not reconciled yet, and each staff action resolves (or is refused) with a typed error.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { newId } from '../platform/ids.js';
import { expectError } from '../terminals/test-support/fleet-testkit.js';
import type { PaymentsSharedTables } from './contracts.js';
import type { EngineTables } from './engine-migration.js';
import { reconcileBatch } from './reconciliation.js';
import { writeTxn, type FixtureMerchant } from './settlement-fixtures.js';
import { runSettlement } from './settlement.js';
import { setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

type Db = Kysely<PaymentsSharedTables & EngineTables>;

interface ExceptionJson {
  id: string;
  kind: string;
  client_id: string;
  status: string;
  resolution: string | null;
  note: string | null;
  terminal_amount: number | null;
  host_amount: number | null;
  host_status: string | null;
  host_txn_id: string | null;
  terminal_serial: string | null;
}

describe.each(DIALECTS)('reconciliation on %s', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let m: FixtureMerchant;
  let batchNo = 900;
  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    m = { partyId: w.merchant.partyId, receivable: w.merchant.receivable, orgId: w.orgId };
  });
  afterAll(async () => {
    const report = await h?.ledger.verify();
    await h?.close();
    expect(report?.ok, report?.problem).toBe(true);
  });

  /** A closed, uploaded batch of the world's terminal with host transactions and terminal lines. */
  async function uploadedBatch(tag: string): Promise<{ batchId: string; ids: Record<string, string> }> {
    const db = h.payments.deps.db as Db;
    const batchId = newId();
    // The engine opens batches of this terminal too (a reversal does): take the next free number.
    const last = await db.selectFrom('pay_batches').select((eb) => eb.fn.max('batch_no').as('n')).where('terminal_id', '=', w.terminalId).executeTakeFirst();
    const no = Math.max(Number(last?.n ?? 0), batchNo) + 1;
    batchNo = no;
    const now = h.payments.deps.now();
    await db
      .insertInto('pay_batches')
      .values({ id: batchId, terminal_id: w.terminalId, batch_no: no, status: 'closed', opened_at: now, closed_at: now, terminal_totals: null, host_totals: null, result: 'uploaded' })
      .execute();
    const base = { businessDate: '2026-07-01', customerAccount: w.customerAccount, terminalId: w.terminalId, batchId };
    const c = (n: number) => `${tag}-c${n}`;
    const h1 = await writeTxn(h.payments.deps, m, { ...base, type: 'sale', amount: 1_000, fee: 4, clientId: c(1) });
    const h2 = await writeTxn(h.payments.deps, m, { ...base, type: 'sale', amount: 2_000, fee: 8, clientId: c(2) });
    const h3 = await writeTxn(h.payments.deps, m, { ...base, type: 'sale', amount: 3_000, status: 'declined', clientId: c(3) });
    const h4 = await writeTxn(h.payments.deps, m, { ...base, type: 'sale', amount: 4_000, fee: 15, clientId: c(4) });
    // Not lines of a batch: a declined one the terminal does not list.
    await writeTxn(h.payments.deps, m, { ...base, type: 'sale', amount: 9_000, status: 'declined', clientId: c(9) });
    const lines = [
      { client_id: c(1), type: 'sale', amount: 1_000, txn_id: h1.id },
      { client_id: c(2), type: 'sale', amount: 2_500, txn_id: h2.id },
      { client_id: c(3), type: 'sale', amount: 3_000, txn_id: h3.id },
      { client_id: c(5), type: 'sale', amount: 500, txn_id: null },
    ];
    await db
      .insertInto('pay_batch_lines')
      .values(lines.map((l, i) => ({ id: newId(), batch_id: batchId, terminal_id: w.terminalId, batch_no: no, line_no: i, uploaded_at: now, ...l })))
      .execute();
    return { batchId, ids: { h1: h1.id, h2: h2.id, h3: h3.id, h4: h4.id } };
  }

  const list = async (query: string, token = h.adminToken) => {
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/reconciliation/exceptions?${query}`, headers: auth(token) });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: ExceptionJson[]; total: number }>();
  };
  const resolve = (id: string, payload: object, token = h.adminToken) =>
    h.app.inject({ method: 'POST', url: `/api/v1/reconciliation/exceptions/${id}/resolve`, headers: auth(token), payload });

  it('finds each kind of difference once; a repeat adds nothing', async () => {
    const { batchId, ids } = await uploadedBatch('a');
    expect(await reconcileBatch(h.payments.deps, batchId)).toBe(4);
    expect(await reconcileBatch(h.payments.deps, batchId)).toBe(4);
    const found = await list(`batch_id=${batchId}`);
    expect(found.total).toBe(4);
    const byKind = Object.fromEntries(found.items.map((e) => [e.kind, e]));
    expect(byKind.amount_differs).toMatchObject({ client_id: 'a-c2', terminal_amount: 2_500, host_amount: 2_000, host_txn_id: ids.h2, status: 'open' });
    expect(byKind.status_differs).toMatchObject({ client_id: 'a-c3', terminal_amount: 3_000, host_status: 'declined', host_txn_id: ids.h3 });
    expect(byKind.missing_on_terminal).toMatchObject({ client_id: 'a-c4', terminal_amount: null, host_amount: 4_000, host_txn_id: ids.h4 });
    expect(byKind.missing_on_host).toMatchObject({ client_id: 'a-c5', terminal_amount: 500, host_amount: null, host_txn_id: null });
    expect(found.items[0]!.terminal_serial).toBe(w.terminals[0]!.serial);
  });

  it('each action resolves an exception (audited; reverse_host through the engine); a second resolution, a missing note, reversing nothing are refused', async () => {
    const { batchId } = await uploadedBatch('b');
    await reconcileBatch(h.payments.deps, batchId);
    const byKind = Object.fromEntries((await list(`batch_id=${batchId}&status=open`)).items.map((e) => [e.kind, e]));

    const accepted = await resolve(byKind.amount_differs!.id, { action: 'accept_host' });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({ status: 'resolved', resolution: 'accept_host', note: null });
    expectError(await resolve(byKind.amount_differs!.id, { action: 'note', note: 'again' }), 'recon_exception_resolved');

    expectError(await resolve(byKind.missing_on_host!.id, { action: 'reverse_host' }), 'recon_action_unavailable');
    expectError(await resolve(byKind.missing_on_host!.id, { action: 'write_off' }), 'recon_note_required');
    expectError(await resolve(byKind.missing_on_host!.id, { action: 'write_off', note: '   ' }), 'recon_note_required');
    const written = await resolve(byKind.missing_on_host!.id, { action: 'write_off', note: '终端重复记账，已与商户核实' });
    expect(written.json()).toMatchObject({ status: 'resolved', resolution: 'write_off', note: '终端重复记账，已与商户核实' });

    expectError(await resolve(byKind.missing_on_terminal!.id, { action: 'bogus' }), 'validation_failed');
    // The terminal never completed it: the host sale is reversed through the engine, money goes back.
    const customerBefore = await w.balanceOf(w.customerAccount);
    const receivableBefore = await w.balanceOf(w.merchant.receivable);
    const reversed = await resolve(byKind.missing_on_terminal!.id, { action: 'reverse_host', note: '终端未完成' });
    expect(reversed.statusCode, reversed.body).toBe(200);
    expect(reversed.json()).toMatchObject({ status: 'resolved', resolution: 'reverse_host' });
    expect(reversed.json<ExceptionJson>().note).toMatch(/^终端未完成 \[reversal .+\]$/);
    expect(await w.balanceOf(w.customerAccount)).toBe(customerBefore + 4_000);
    expect(await w.balanceOf(w.merchant.receivable)).toBe(receivableBefore - (4_000 - 15));
    const host = await (h.payments.deps.db as Db).selectFrom('pay_transactions').select('status').where('id', '=', byKind.missing_on_terminal!.host_txn_id!).executeTakeFirstOrThrow();
    expect(host.status).toBe('reversed');

    // A merchant user may look but not act; another merchant's user sees none of it.
    const own = await h.userToken('merchant_owner', w.orgId, w.merchant.partyId);
    expect((await list(`batch_id=${batchId}`, own)).total).toBe(4);
    expectError(await resolve(byKind.status_differs!.id, { action: 'accept_host' }, own), 'forbidden');
    const other = await setupPaymentsWorld(h, { settlementCycle: 'T0' });
    const stranger = await h.userToken('merchant_owner', other.orgId, other.merchant.partyId);
    expect((await list(`batch_id=${batchId}`, stranger)).total).toBe(0);

    expect((await list(`batch_id=${batchId}&status=open`)).items.map((e) => e.kind)).toEqual(['status_differs']);
    expect((await list(`batch_id=${batchId}&status=resolved`)).total).toBe(3);
    const audit = await (h.db)
      .selectFrom('audit_log')
      .select(['target', 'outcome'])
      .where('action', '=', 'reconciliation.resolve')
      .where('target', '=', byKind.missing_on_host!.id)
      .execute();
    expect(audit.map((a) => a.outcome).sort()).toEqual(['failed:400', 'failed:400', 'failed:422', 'ok']);
  });

  it('the settle run reconciles uploaded batches not reconciled yet', async () => {
    const { batchId } = await uploadedBatch('c');
    const summary = await runSettlement(h.payments.deps, '2026-07-02');
    expect(summary.reconciled_batches).toBeGreaterThanOrEqual(1);
    expect((await list(`batch_id=${batchId}`)).total).toBe(4);
    const again = await runSettlement(h.payments.deps, '2026-07-02');
    expect(again.reconciled_batches).toBe(0);
  });
});
