/**
 * The counting risk limits (velocity, daily totals) rechecked inside the claim of a QR payment or a
 * customer transfer, as a card sale's is: concurrent payments count each other, so of N at once against "at most K"
 * exactly K are approved and the rest declined with the rule's code, the row's `risk` naming the
 * rule. On PostgreSQL half the payments go through a second engine (own pool, own rule cache),
 * standing for a second server process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import type { Actor } from '../platform/http/actor.js';
import { openDatabase, type Database } from '../platform/db/database.js';
import type { RiskDecision, TxnReply } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { payQr } from './qr-pay.js';
import { createRiskEngine } from './risk.js';
import { customerTransfer } from './transfers.js';
import { setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

let seq = 0;
const cid = (p = 'rc'): string => `${p}-${process.pid}-${++seq}`;

describe.each(DIALECTS)('risk limits rechecked in the claim of QR payments and transfers (%s)', (dialect) => {
  let h: Harness;
  let second: Database | undefined;
  let engines: PaymentsDeps[];

  beforeAll(async () => {
    h = await createHarness(dialect);
    if (dialect === 'postgres') second = openDatabase({ url: h.tdb.url, poolSize: 4 });
  });
  afterAll(async () => {
    await second?.close();
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  const post = (url: string, payload: object, token = h.adminToken) =>
    h.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: auth(token), payload });
  /** A branch of its own with a merchant, a terminal and funded customers, so nothing earlier counts. */
  const world = async (customers = 1): Promise<{ org: string; w: PaymentsWorld }> => {
    const res = await post('/organisations', { parent_id: h.bankId, kind: 'branch', code: cid('RC'), name: '并发风控支行' });
    const org = res.json<{ id: string }>().id;
    const w = await setupPaymentsWorld(h, { orgId: org, customers, cardLimits: { per_txn_limit: 500_000, daily_limit: 2_000_000 } });
    return { org, w };
  };
  const rule = async (org: string, body: Record<string, unknown>): Promise<string> => {
    const res = await post('/risk/rules', { org_id: org, name: `rule ${body.kind as string}`, mode: 'active', ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const customer = (org: string, partyId: string): Actor => ({
    user_id: cid('u'),
    username: cid('cust'),
    display_name: 'customer',
    role: 'customer',
    permissions: new Set(),
    org_id: org,
    merchant_id: partyId,
    org_scope: null,
  });
  const storedRisk = async (id: string): Promise<RiskDecision | null> => {
    const row = (await h.db.selectFrom('pay_transactions' as never).select('risk' as never).where('id' as never, '=', id as never).executeTakeFirstOrThrow()) as { risk: string | null };
    return row.risk ? (JSON.parse(row.risk) as RiskDecision) : null;
  };
  /** The engines, made after the test's rule (a new risk engine loads the rules it finds). */
  const start = (): void => {
    engines = [h.payments.deps];
    if (!second) return;
    const { risk: _risk, ...rest } = h.payments.deps;
    const other = { ...rest, database: second, db: second.kysely };
    engines.push({ ...other, risk: createRiskEngine(other) });
  };
  const engine = (i: number): PaymentsDeps => engines[i % engines.length]!;

  it('of 8 concurrent payments of the static code under a merchant’s "3 in 10 minutes", 3 are approved, 5 declined 65', async () => {
    const { org, w } = await world();
    const ruleId = await rule(org, { kind: 'velocity', params: { scope: 'merchant', max_count: 3, window_minutes: 10, types: ['qr_sale'] } });
    start();
    const { payload } = await w.terminal.request<{ payload: string }>('GET', '/api/v1/terminal/pay/qr/static');
    const payer = customer(org, w.customers[0]!.partyId);
    const before = await w.balanceOf(w.customerAccount);
    const replies: TxnReply[] = await Promise.all(
      Array.from({ length: 8 }, (_, i) => payQr(engine(i), payer, { clientId: cid('qr'), payload, accountId: w.customerAccount, amount: 1_000 })),
    );
    expect(replies.map((r) => r.responseCode).sort()).toEqual(['00', '00', '00', '65', '65', '65', '65', '65']);
    expect(before - (await w.balanceOf(w.customerAccount))).toBe(3_000);
    const declined = replies.find((r) => r.responseCode === '65')!;
    expect(declined).toMatchObject({ status: 'declined', approved: false, fee: 0 });
    expect((await storedRisk(declined.id))?.hits.at(-1)).toMatchObject({ rule_id: ruleId, outcome: 'decline', shadow: false });
    // Settled, the limit still holds for the next payment.
    expect((await payQr(engine(0), payer, { clientId: cid('qr'), payload, accountId: w.customerAccount, amount: 1_000 })).responseCode).toBe('65');
  });

  it('of 6 concurrent payments of dynamic orders under a merchant’s daily total of ¥50, 2 of ¥20 are approved, 4 declined 61 and their orders stay open', async () => {
    const { org, w } = await world();
    const ruleId = await rule(org, { kind: 'daily_total', params: { scope: 'merchant', max_total: 5_000, types: ['qr_sale'] } });
    start();
    const orders = await Promise.all(
      Array.from({ length: 6 }, () => w.terminal.request<{ orderId: string; payload: string }>('POST', '/api/v1/terminal/pay/qr/orders', { clientId: cid('o'), amount: 2_000 })),
    );
    const payer = customer(org, w.customers[0]!.partyId);
    const before = await w.balanceOf(w.customerAccount);
    const replies = await Promise.all(orders.map((o, i) => payQr(engine(i), payer, { clientId: cid('qr'), payload: o.payload, accountId: w.customerAccount })));
    expect(replies.map((r) => r.responseCode).sort()).toEqual(['00', '00', '61', '61', '61', '61']);
    expect(before - (await w.balanceOf(w.customerAccount))).toBe(4_000);
    for (const [i, r] of replies.entries()) {
      const state = await w.terminal.request<{ status: string }>('GET', `/api/v1/terminal/pay/qr/orders/${orders[i]!.orderId}`);
      expect(state.status).toBe(r.approved ? 'paid' : 'open');
      if (!r.approved) expect((await storedRisk(r.id))?.hits.at(-1)).toMatchObject({ rule_id: ruleId, outcome: 'decline' });
    }
  });
  it('of 8 concurrent transfers from one account under the payer account’s "3 in 10 minutes", 3 are approved, 5 declined 65', async () => {
    const { org, w } = await world(2);
    const ruleId = await rule(org, { kind: 'velocity', params: { scope: 'account', max_count: 3, window_minutes: 10, types: ['transfer'] } });
    start();
    const [from, to] = [w.customers[0]!, w.customers[1]!];
    const payer = customer(org, from.partyId);
    const before = await w.balanceOf(from.accountId);
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => customerTransfer(engine(i), payer, { clientId: cid('xfer'), fromAccountId: from.accountId, toAccountId: to.accountId, amount: 700 })),
    );
    expect(replies.map((r) => r.responseCode).sort()).toEqual(['00', '00', '00', '65', '65', '65', '65', '65']);
    expect(before - (await w.balanceOf(from.accountId))).toBe(2_100);
    const declined = replies.find((r) => r.responseCode === '65')!;
    expect((await storedRisk(declined.id))?.hits.at(-1)).toMatchObject({ rule_id: ruleId, outcome: 'decline', shadow: false, reason: { en: expect.stringMatching(/^velocity \(payer account\): \d+ in 10 min > 3$/) } });
    // The payee's account is not the payer's: transfers out of it are not limited by this count.
    const back = await customerTransfer(engine(0), customer(org, to.partyId), { clientId: cid('xfer'), fromAccountId: to.accountId, toAccountId: from.accountId, amount: 100 });
    expect(back.responseCode).toBe('00');
  });

  it('of 6 concurrent transfers of ¥20 under the payer account’s daily total of ¥50, 2 are approved, 4 declined 61', async () => {
    const { org, w } = await world(2);
    await rule(org, { kind: 'daily_total', params: { scope: 'account', max_total: 5_000, types: ['transfer'] } });
    start();
    const [from, to] = [w.customers[0]!, w.customers[1]!];
    const payer = customer(org, from.partyId);
    const before = await w.balanceOf(to.accountId);
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) => customerTransfer(engine(i), payer, { clientId: cid('xfer'), fromAccountId: from.accountId, toAccountId: to.accountId, amount: 2_000 })),
    );
    expect(replies.map((r) => r.responseCode).sort()).toEqual(['00', '00', '61', '61', '61', '61']);
    expect((await w.balanceOf(to.accountId)) - before).toBe(4_000);
  });
});
