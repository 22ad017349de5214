/**
 * Risk rules with real terminal sales on every dialect: a review rule holds a sale (status 'held',
 * code '09', funds reserved), the review queue lists it with its reasons, a reviewer approves or
 * declines it over HTTP (audited, recorded with the note), velocity counts real approvals, an allow
 * list by card token beats a decline, and shadow hits are stored on the transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import type { RiskDecision, TxnReply } from './contracts.js';
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
});
