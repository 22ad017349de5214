/**
 * Risk rules with real terminal sales on every dialect: a review rule holds a sale (status 'held',
 * code '09', funds reserved), the review queue lists it with its reasons, a reviewer approves or
 * declines it over HTTP (audited, recorded with the note), velocity counts real approvals, an allow
 * list by card token beats a decline, and shadow hits are stored on the transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { createUser } from '../identity/users.js';
import { openDatabase } from '../platform/db/database.js';
import type { RiskDecision, TxnReply } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import * as E from './engine.js';
import type { TerminalRequest } from './engine.js';
import { createRiskEngine } from './risk.js';
import { setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

let seq = 0;
const cid = (p = 'r'): string => `${p}-${process.pid}-${++seq}`;

describe.each(DIALECTS)('risk with real sales (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let branch: string;

  beforeAll(async () => {
    h = await createHarness(dialect);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/organisations',
      headers: auth(h.adminToken),
      payload: { parent_id: h.bankId, kind: 'branch', code: cid('RB'), name: '风控支行' },
    });
    branch = res.json<{ id: string }>().id;
    w = await setupPaymentsWorld(h, { orgId: branch, customers: 2, cardLimits: { per_txn_limit: 500_000, daily_limit: 2_000_000 } });
  });
  afterAll(async () => {
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  const get = (url: string, token = h.adminToken) => h.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth(token) });
  const post = (url: string, payload: object, token = h.adminToken) =>
    h.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: auth(token), payload });
  const sale = async (amount: number, card = w.card): Promise<TxnReply> =>
    w.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/sale', {
      clientId: cid('sale'),
      amount,
      card: { pan: card.pan, expiry: card.expiry },
      pinBlock: await w.pinBlock(card.pin, card.pan),
    });
  const rule = async (body: Record<string, unknown>): Promise<string> => {
    const res = await post('/risk/rules', { org_id: branch, name: `rule ${body.kind as string}`, mode: 'active', ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const mode = async (id: string, m: 'active' | 'shadow' | 'off') =>
    expect((await post(`/risk/rules/${id}/mode`, { mode: m })).statusCode).toBe(200);
  const available = async (): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([w.customerAccount]);
    return a!.credits_posted - a!.debits_posted - a!.debits_pending;
  };
  const storedRisk = async (id: string): Promise<RiskDecision | null> => {
    const row = await h.tdb.database.kysely
      .selectFrom('pay_transactions' as never)
      .select('risk' as never)
      .where('id' as never, '=', id as never)
      .executeTakeFirstOrThrow();
    const text = (row as { risk: string | null }).risk;
    return text ? (JSON.parse(text) as RiskDecision) : null;
  };

  it('holds a sale for review; a reviewer approves one and declines another over HTTP', async () => {
    const ruleId = await rule({ kind: 'amount_limit', outcome: 'review', params: { scope: 'merchant', max_amount: 100_000 } });
    try {
      const staff = await h.userToken('branch_staff', branch);
      const before = await available();
      const a = await sale(150_000);
      expect(a).toMatchObject({ status: 'held', responseCode: '09', approved: false });
      expect(await available()).toBe(before - 150_000);
      const stored = await storedRisk(a.id);
      expect(stored).toMatchObject({
        outcome: 'review',
        code: '09',
        hits: [{ rule_id: ruleId, version: 1, outcome: 'review', shadow: false }],
      });

      const pending = await get('/risk/reviews?status=pending', staff);
      expect(pending.statusCode, pending.body).toBe(200);
      const item = pending
        .json<{ items: { id: string; risk: { hits: { reason: { en: string } }[] } }[] }>()
        .items.find((i) => i.id === a.id);
      expect(item?.risk.hits[0]!.reason.en).toBe('amount limit (merchant): 1500.00 > 1000.00 yuan');

      const ok = await post(`/risk/reviews/${a.id}/decision`, { decision: 'approve', note: '已电话核实持卡人' }, staff);
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({
        id: a.id,
        status: 'approved',
        review: { decision: 'approve', note: '已电话核实持卡人', status_after: 'approved' },
      });
      const seen = await w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${a.id}`);
      expect(seen).toMatchObject({ status: 'approved', responseCode: '00', approved: true });
      expect(await available()).toBe(before - 150_000);
      // Deciding again changes nothing.
      const again = await post(`/risk/reviews/${a.id}/decision`, { decision: 'decline', note: '再次' }, staff);
      expect(again.statusCode).toBe(409);
      expect(again.json<{ error: { code: string } }>().error.code).toBe('risk_review_not_pending');

      const b = await sale(120_000);
      expect(b.status).toBe('held');
      const no = await post(`/risk/reviews/${b.id}/decision`, { decision: 'decline', note: '疑似盗刷' }, staff);
      expect(no.statusCode, no.body).toBe(200);
      expect(no.json()).toMatchObject({ status: 'declined', review: { decision: 'decline', status_after: 'declined' } });
      expect(await available()).toBe(before - 150_000);

      const approvedList = (await get('/risk/reviews?status=approved', staff)).json<{ items: { id: string }[] }>().items.map((i) => i.id);
      const declinedList = (await get('/risk/reviews?status=declined', staff)).json<{ items: { id: string }[] }>().items.map((i) => i.id);
      const pendingList = (await get('/risk/reviews', staff)).json<{ items: { id: string }[] }>().items.map((i) => i.id);
      expect(approvedList).toEqual([a.id]);
      expect(declinedList).toEqual([b.id]);
      expect(pendingList).not.toContain(a.id);
      expect(pendingList).not.toContain(b.id);
      const audit = await h.db
        .selectFrom('audit_log')
        .select(['action', 'target', 'outcome'])
        .where('action', '=', 'risk.review_decision')
        .execute();
      expect(audit).toEqual(
        expect.arrayContaining([
          { action: 'risk.review_decision', target: a.id, outcome: 'ok' },
          { action: 'risk.review_decision', target: b.id, outcome: 'ok' },
          { action: 'risk.review_decision', target: a.id, outcome: 'failed:409' },
        ]),
      );
    } finally {
      await mode(ruleId, 'off');
    }
  });

  const customerToken = async (partyId: string): Promise<string> => {
    const username = cid('cust');
    await createUser(h.db, { username, display_name: username, role: 'customer', org_id: branch, merchant_id: partyId, password: 'Passw0rd-for-tests' });
    return h.login(username, 'Passw0rd-for-tests');
  };
  const availableOf = async (id: string): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([id]);
    return a!.credits_posted - a!.debits_posted - a!.debits_pending;
  };

  it('holds a QR payment for review like a card sale: the payer’s funds reserved, the order kept; decline reopens it, approve posts it with the fee', async () => {
    const ruleId = await rule({ kind: 'amount_limit', outcome: 'review', params: { scope: 'merchant', max_amount: 100_000, types: ['qr_sale'] } });
    try {
      const staff = await h.userToken('branch_staff', branch);
      const payer = w.customers[0]!;
      const token = await customerToken(payer.partyId);
      const order = await w.terminal.request<{ orderId: string; payload: string }>('POST', '/api/v1/terminal/pay/qr/orders', { clientId: cid('o'), amount: 150_000 });
      const before = { payer: await availableOf(payer.accountId), receivable: await w.balanceOf(w.merchant.receivable) };
      const body = { clientId: cid('qr'), payload: order.payload, accountId: payer.accountId };
      const pay = async (b = body) => (await post('/pay/qr/pay', b, token)).json<TxnReply>();
      const held = await pay();
      expect(held).toMatchObject({ type: 'qr_sale', status: 'held', responseCode: '09', approved: false, authCode: null, amount: 150_000 });
      expect(await availableOf(payer.accountId)).toBe(before.payer - 150_000);
      expect(await w.balanceOf(w.merchant.receivable)).toBe(before.receivable);
      expect(await pay()).toEqual(held);
      const queue = (await get('/risk/reviews?status=pending', staff)).json<{ items: { id: string; type: string }[] }>().items;
      expect(queue).toContainEqual(expect.objectContaining({ id: held.id, type: 'qr_sale' }));
      const polled = await w.terminal.request<{ status: string; transaction: TxnReply | null }>('GET', `/api/v1/terminal/pay/qr/orders/${order.orderId}`);
      expect(polled.transaction).toMatchObject({ id: held.id, status: 'held' });

      const no = await post(`/risk/reviews/${held.id}/decision`, { decision: 'decline', note: '商户异常' }, staff);
      expect(no.statusCode, no.body).toBe(200);
      expect(await availableOf(payer.accountId)).toBe(before.payer);
      expect(await pay()).toMatchObject({ id: held.id, status: 'declined', responseCode: '59', approved: false });
      const reopened = await w.terminal.request<{ status: string }>('GET', `/api/v1/terminal/pay/qr/orders/${order.orderId}`);
      expect(reopened.status).toBe('open');

      // Paid again (a new request): held again, and this time approved.
      const second = await pay({ ...body, clientId: cid('qr') });
      expect(second.status).toBe('held');
      const ok = await post(`/risk/reviews/${second.id}/decision`, { decision: 'approve', note: '已核实' }, staff);
      expect(ok.statusCode, ok.body).toBe(200);
      expect(await availableOf(payer.accountId)).toBe(before.payer - 150_000);
      expect(await w.balanceOf(w.merchant.receivable)).toBe(before.receivable + 150_000 - second.fee);
      expect(second.fee).toBeGreaterThan(0);
      expect(await pay({ ...body, clientId: second.clientId })).toMatchObject({ status: 'approved', responseCode: '00', approved: true });
      expect((await w.terminal.request<{ status: string }>('GET', `/api/v1/terminal/pay/qr/orders/${order.orderId}`)).status).toBe('paid');
      expect((await h.ledger.verify()).ok).toBe(true);
    } finally {
      await mode(ruleId, 'off');
    }
  });

  it('a held QR payment whose hold lapses is expired by the sweep and gives its order back', async () => {
    const ruleId = await rule({ kind: 'amount_limit', outcome: 'review', params: { scope: 'merchant', max_amount: 100_000, types: ['qr_sale'] } });
    try {
      const payer = w.customers[0]!;
      const token = await customerToken(payer.partyId);
      const order = await w.terminal.request<{ orderId: string; payload: string }>('POST', '/api/v1/terminal/pay/qr/orders', { clientId: cid('o'), amount: 120_000 });
      const held = (await post('/pay/qr/pay', { clientId: cid('qr'), payload: order.payload, accountId: payer.accountId }, token)).json<TxnReply>();
      expect(held).toMatchObject({ status: 'held', responseCode: '09' });
      const orderStatus = async () => (await w.terminal.request<{ status: string }>('GET', `/api/v1/terminal/pay/qr/orders/${order.orderId}`)).status;
      expect(await orderStatus()).toBe('paid');
      // The hold's time is up (the reviewer never decided).
      const past = Date.now() * 1000 - 1_000_000;
      await h.db.updateTable('pay_transactions' as never).set({ hold_expires_at: past } as never).where('id' as never, '=', held.id as never).execute();
      const swept = await E.sweepEngine(h.payments.deps);
      expect(swept.expired).toBeGreaterThanOrEqual(1);
      const row = (await h.db.selectFrom('pay_transactions' as never).select('status' as never).where('id' as never, '=', held.id as never).executeTakeFirstOrThrow()) as { status: string };
      expect(row.status).toBe('expired');
      expect(await orderStatus()).toBe('open');
      // A second sweep changes nothing more.
      await E.sweepEngine(h.payments.deps);
      expect(await orderStatus()).toBe('open');
    } finally {
      await mode(ruleId, 'off');
    }
  });

  it('holds a customer transfer for review: approve moves it to the payee, decline gives the payer the funds back', async () => {
    // Transfers have no card, terminal or merchant: two time windows covering the day hold those above ¥500.
    const ruleId = await rule({ kind: 'time_window', outcome: 'review', params: { from: '00:00', to: '12:00', amount_above: 50_000, types: ['transfer'] } });
    const ruleId2 = await rule({ kind: 'time_window', outcome: 'review', params: { from: '12:00', to: '00:00', amount_above: 50_000, types: ['transfer'] } });
    try {
      const staff = await h.userToken('branch_staff', branch);
      const [from, to] = [w.customers[0]!, w.customers[1]!];
      const token = await customerToken(from.partyId);
      const before = { from: await availableOf(from.accountId), to: await availableOf(to.accountId) };
      const body = { clientId: cid('xfer'), fromAccountId: from.accountId, toAccountId: to.accountId, amount: 60_000 };
      const held = (await post('/pay/transfers', body, token)).json<TxnReply>();
      expect(held).toMatchObject({ type: 'transfer', status: 'held', responseCode: '09', approved: false, amount: 60_000, fee: 0 });
      expect(await availableOf(from.accountId)).toBe(before.from - 60_000);
      expect(await availableOf(to.accountId)).toBe(before.to);
      expect((await get('/risk/reviews?status=pending', staff)).json<{ items: { id: string }[] }>().items.map((i) => i.id)).toContain(held.id);
      // Below the rule's amount: not held.
      expect((await post('/pay/transfers', { ...body, clientId: cid('xfer'), amount: 100 }, token)).json<TxnReply>()).toMatchObject({ status: 'approved' });

      const ok = await post(`/risk/reviews/${held.id}/decision`, { decision: 'approve', note: '本人确认' }, staff);
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'approved', review: { status_after: 'approved' } });
      expect(await availableOf(from.accountId)).toBe(before.from - 60_100);
      expect(await availableOf(to.accountId)).toBe(before.to + 60_100);
      expect(await h.ledger.lookupTransfer(`${held.id}:xfer`)).toMatchObject({ debit_account_id: from.accountId, credit_account_id: to.accountId, amount: 60_000, code: 12 });
      expect((await post('/pay/transfers', body, token)).json<TxnReply>()).toMatchObject({ status: 'approved', responseCode: '00', approved: true });

      const again = (await post('/pay/transfers', { ...body, clientId: cid('xfer') }, token)).json<TxnReply>();
      expect(again.status).toBe('held');
      const no = await post(`/risk/reviews/${again.id}/decision`, { decision: 'decline', note: '疑似诈骗' }, staff);
      expect(no.statusCode, no.body).toBe(200);
      expect(await availableOf(from.accountId)).toBe(before.from - 60_100);
      expect(await availableOf(to.accountId)).toBe(before.to + 60_100);
      expect((await h.ledger.verify()).ok).toBe(true);
    } finally {
      await mode(ruleId, 'off');
      await mode(ruleId2, 'off');
    }
  });

  it('velocity counts real approvals of the card; an allow list by card token beats it', async () => {
    const velocity = await rule({ kind: 'velocity', params: { scope: 'card', max_count: 2, window_minutes: 60 } });
    try {
      const other = w.customers[1]!.card;
      expect((await sale(100, other)).responseCode).toBe('00');
      expect((await sale(100, other)).responseCode).toBe('00');
      const third = await sale(100, other);
      expect(third).toMatchObject({ responseCode: '65', approved: false, status: 'declined' });
      expect((await storedRisk(third.id))?.hits[0]!.reason.en).toMatch(/^velocity \(card\): \d+ in 60 min > 2$/);
      const allow = await rule({ kind: 'allow_list', params: { cards: [other.token] } });
      try {
        expect((await sale(100, other)).responseCode).toBe('00');
      } finally {
        await mode(allow, 'off');
      }
      expect((await sale(100, other)).responseCode).toBe('65');
    } finally {
      await mode(velocity, 'off');
    }
  });

  it('a shadow hit is stored on the approved transaction and counted in the summary', async () => {
    const shadow = await rule({ kind: 'amount_limit', mode: 'shadow', params: { scope: 'card', max_amount: 1000 } });
    try {
      const r = await sale(5000);
      expect(r).toMatchObject({ responseCode: '00', status: 'approved' });
      expect(await storedRisk(r.id)).toMatchObject({
        outcome: 'approve',
        code: '00',
        hits: [{ rule_id: shadow, shadow: true, outcome: 'decline' }],
      });
      expect((await get(`/risk/rules/${shadow}/summary`)).json()).toMatchObject({ would_decline: 1, declined: 0 });
    } finally {
      await mode(shadow, 'off');
    }
  });

  it('limits count sales in flight: of 8 concurrent sales on one card under "3 in 10 minutes", 3 are approved (two engines on PostgreSQL)', async () => {
    // A world of its own: a fresh card, terminal and branch, so no earlier sale counts.
    const res = await post('/organisations', { parent_id: h.bankId, kind: 'branch', code: cid('RV'), name: '并发风控支行' });
    const org = res.json<{ id: string }>().id;
    const v = await setupPaymentsWorld(h, { orgId: org, customers: 1, cardLimits: { per_txn_limit: 500_000, daily_limit: 2_000_000 } });
    const created = await post('/risk/rules', { org_id: org, name: 'rule velocity', mode: 'active', kind: 'velocity', params: { scope: 'card', max_count: 3, window_minutes: 10 } });
    expect(created.statusCode, created.body).toBe(201);
    const ruleId = created.json<{ id: string }>().id;
    // On PostgreSQL a second engine with its own pool and rule cache stands for a second server process.
    const second = dialect === 'postgres' ? openDatabase({ url: h.tdb.url, poolSize: 4 }) : undefined;
    try {
      const base = h.payments.deps;
      const engines: PaymentsDeps[] = [base];
      if (second) {
        const { risk: _risk, ...rest } = base;
        const other = { ...rest, database: second, db: second.kysely };
        engines.push({ ...other, risk: createRiskEngine(other) });
      }
      const req: TerminalRequest = {
        terminal: { terminal_id: v.terminalId, serial: '', owner_party_id: v.merchant.partyId, org_id: org, group_ids: [], session_id: v.terminal.session!.sessionId, operator: null },
        operatorId: null,
        seq: null,
      };
      const pinBlock = await v.pinBlock(v.card.pin, v.card.pan);
      const before = await v.balanceOf(v.customerAccount);
      const replies = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          E.sale(engines[i % engines.length]!, req, { clientId: cid('vel'), amount: 1_000, card: { pan: v.card.pan, expiry: v.card.expiry }, pinBlock }),
        ),
      );
      const codes = replies.map((r) => r.responseCode).sort();
      expect(codes).toEqual(['00', '00', '00', '65', '65', '65', '65', '65']);
      expect(before - (await v.balanceOf(v.customerAccount))).toBe(3_000);
      const declined = replies.find((r) => r.responseCode === '65')!;
      expect((await storedRisk(declined.id))?.hits.at(-1)).toMatchObject({ rule_id: ruleId, outcome: 'decline', shadow: false });
      // Settled, the limit still holds for the next sale.
      expect((await E.sale(base, req, { clientId: cid('vel'), amount: 1_000, card: { pan: v.card.pan, expiry: v.card.expiry }, pinBlock })).responseCode).toBe('65');
    } finally {
      await mode(ruleId, 'off');
      await second?.close();
    }
  });
});
