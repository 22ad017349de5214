/**
 * QR payments, payment codes and customer transfers end to end on SQLite and PostgreSQL: a real
 * signed-on terminal (setupPaymentsWorld) and customer users over HTTP.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { createUser } from '../identity/users.js';
import { TerminalApiError } from '../terminals/client.js';
import type { TxnReply } from './contracts.js';
import { buildMpm, crc16, parseMpm } from './emv-qr.js';
import { payQr } from './qr-pay.js';
import type { QrTables } from './qr-tables.js';
import { setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

let users = 0;

describe.each(DIALECTS)('QR payments on %s', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let db: Kysely<QrTables>;
  let alice: string; // token of the first customer
  let bob: string; // token of the second customer
  let aliceAccount: string;
  let bobAccount: string;

  const customerToken = async (partyId: string): Promise<string> => {
    const username = `cust${++users}-${dialect}`;
    await createUser(h.db, { username, display_name: username, role: 'customer', org_id: w.orgId, merchant_id: partyId, password: 'Passw0rd-for-tests' });
    return h.login(username, 'Passw0rd-for-tests');
  };

  const call = async <T = Record<string, unknown>>(token: string, method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await h.app.inject({ method, url: `/api/v1${url}`, headers: auth(token), ...(payload ? { payload } : {}) });
    const body = res.json<T & { code?: string; error?: { code: string } }>();
    // Errors answer { error: { code, … } }: lift the code so tests read one place.
    return { status: res.statusCode, body: (body.error ? { ...body, code: body.error.code } : body) as T & { code?: string } };
  };

  const term = <T>(method: 'GET' | 'POST', path: string, body?: unknown) => w.terminal.request<T>(method, `/api/v1/terminal/pay${path}`, body);

  const newOrder = async (amount: number, clientId = `o-${Math.random().toString(36).slice(2)}`) =>
    term<{ orderId: string; payload: string; expiresAt: number }>('POST', '/qr/orders', { clientId, amount });

  const pay = (token: string, body: object) => call<TxnReply>(token, 'POST', '/pay/qr/pay', body);

  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h, { customers: 2, balance: 100_000 });
    db = h.db as unknown as Kysely<QrTables>;
    aliceAccount = w.customers[0]!.accountId;
    bobAccount = w.customers[1]!.accountId;
    alice = await customerToken(w.customers[0]!.partyId);
    bob = await customerToken(w.customers[1]!.partyId);
  }, 120_000);

  afterAll(async () => {
    const report = await h.ledger.verify();
    expect(report.ok, JSON.stringify(report)).toBe(true);
    await h.close();
  });

  it('lists only the own accounts, with balances', async () => {
    const res = await call<{ items: { id: string; balance: number }[] }>(alice, 'GET', '/pay/accounts');
    expect(res.status).toBe(200);
    expect(res.body.items.map((a) => a.id)).toEqual([aliceAccount]);
    expect(res.body.items[0]!.balance).toBe(await w.balanceOf(aliceAccount));
    // Staff are not customers: the permission is the customer role's.
    expect((await call(h.adminToken, 'GET', '/pay/accounts')).status).toBe(403);
  });

  it('a dynamic order: decode, pay once, the terminal sees it paid; the money moved with the fee', async () => {
    const order = await newOrder(2_500);
    const qr = parseMpm(order.payload);
    expect(qr.initiation).toBe('dynamic');
    expect(qr.accounts[0]!.fields).toMatchObject({ '00': 'CN.XIAOWEI', '01': w.merchant.partyId, '02': order.orderId });

    const decoded = await call(alice, 'POST', '/pay/qr/decode', { payload: order.payload });
    expect(decoded.status).toBe(200);
    expect(decoded.body).toMatchObject({ merchantName: expect.stringContaining('测试商户'), mcc: '5411', amount: 2_500, orderId: order.orderId });

    const before = { alice: await w.balanceOf(aliceAccount), recv: await w.balanceOf(w.merchant.receivable) };
    const res = await pay(alice, { clientId: 'pay-1', payload: order.payload, accountId: aliceAccount });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ type: 'qr_sale', status: 'approved', approved: true, responseCode: '00', amount: 2_500, fee: 10 });
    expect(res.body.authCode).toMatch(/^[0-9A-Z]{6}$/);
    expect(await w.balanceOf(aliceAccount)).toBe(before.alice - 2_500);
    expect(await w.balanceOf(w.merchant.receivable)).toBe(before.recv + 2_500 - 10);

    // The same request again: the first answer, nothing moves.
    const again = await pay(alice, { clientId: 'pay-1', payload: order.payload, accountId: aliceAccount });
    expect(again.body).toEqual(res.body);
    expect(await w.balanceOf(aliceAccount)).toBe(before.alice - 2_500);

    const state = await term<{ status: string; transaction: TxnReply | null }>('GET', `/qr/orders/${order.orderId}`);
    expect(state.status).toBe('paid');
    expect(state.transaction?.id).toBe(res.body.id);

    // Another payment of the paid order is refused and moves nothing.
    const second = await pay(bob, { clientId: 'pay-2', payload: order.payload, accountId: bobAccount });
    expect([second.status, second.body.code]).toEqual([409, 'payment_qr_order_closed']);

    const row = await db.selectFrom('pay_transactions').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ client_scope: expect.any(String), merchant_party_id: w.merchant.partyId, terminal_id: w.terminalId, account_id: aliceAccount });
    expect(row.batch_id).not.toBeNull();
  });

  it('two parallel payments of one order: exactly one is paid, the other moves no money', async () => {
    const order = await newOrder(3_000);
    const before = { alice: await w.balanceOf(aliceAccount), bob: await w.balanceOf(bobAccount) };
    const [a, b] = await Promise.all([
      pay(alice, { clientId: 'race-a', payload: order.payload, accountId: aliceAccount }),
      pay(bob, { clientId: 'race-b', payload: order.payload, accountId: bobAccount }),
    ]);
    const approved = [a, b].filter((r) => r.status === 200 && r.body.approved);
    const refused = [a, b].filter((r) => r.status === 409);
    expect(approved).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.body.code).toBe('payment_qr_order_closed');
    const spent = before.alice - (await w.balanceOf(aliceAccount)) + (before.bob - (await w.balanceOf(bobAccount)));
    expect(spent).toBe(3_000);
    const paid = await db.selectFrom('pay_transactions').select('id').where('type', '=', 'qr_sale').where('status', '=', 'approved').where('client_id', 'in', ['race-a', 'race-b']).execute();
    expect(paid).toHaveLength(1);
  });

  it('an expired order is refused and reads as expired', async () => {
    const order = await newOrder(1_000);
    await db.updateTable('pay_qr_orders').set({ expires_at: Date.now() * 1000 - 1 }).where('id', '=', order.orderId).execute();
    const res = await pay(alice, { clientId: 'late-1', payload: order.payload, accountId: aliceAccount });
    expect([res.status, res.body.code]).toEqual([409, 'payment_qr_order_closed']);
    const state = await term<{ status: string }>('GET', `/qr/orders/${order.orderId}`);
    expect(state.status).toBe('expired');
  });

  it('a tampered payload is refused by its CRC; a re-signed tampered amount does not match the order', async () => {
    const order = await newOrder(1_200);
    const tampered = order.payload.replace('540512.00', '540501.00');
    expect(tampered).not.toBe(order.payload);
    const res = await pay(alice, { clientId: 'tamper-1', payload: tampered, accountId: aliceAccount });
    expect([res.status, res.body.code]).toEqual([400, 'payment_qr_invalid']);
    const resigned = tampered.slice(0, -4) + crc16(tampered.slice(0, -4));
    const res2 = await pay(alice, { clientId: 'tamper-2', payload: resigned, accountId: aliceAccount });
    expect([res2.status, res2.body.code]).toEqual([404, 'payment_qr_order_unknown']);
    const foreign = buildMpm({ initiation: 'static', accounts: [{ id: '26', fields: [{ id: '00', value: 'COM.OTHER' }] }], mcc: '5411', currency: '156', country: 'CN', merchantName: 'X', merchantCity: 'Y' });
    expect((await call(alice, 'POST', '/pay/qr/decode', { payload: foreign })).body.code).toBe('payment_qr_not_ours');
  });

  it('the static code: the customer types the amount', async () => {
    const { payload } = await term<{ payload: string }>('GET', '/qr/static');
    expect(parseMpm(payload).initiation).toBe('static');
    const decoded = await call(alice, 'POST', '/pay/qr/decode', { payload });
    expect(decoded.body).toMatchObject({ amount: null, orderId: null });
    const noAmount = await pay(alice, { clientId: 'static-0', payload, accountId: aliceAccount });
    expect([noAmount.status, noAmount.body.code]).toEqual([400, 'payment_qr_amount_required']);
    const res = await pay(alice, { clientId: 'static-1', payload, accountId: aliceAccount, amount: 888 });
    expect(res.body).toMatchObject({ approved: true, amount: 888, batchNo: null });
    // Same client id, other amount: '94', nothing moves.
    const before = await w.balanceOf(aliceAccount);
    const dup = await pay(alice, { clientId: 'static-1', payload, accountId: aliceAccount, amount: 999 });
    expect(dup.body).toMatchObject({ approved: false, responseCode: '94' });
    expect(await w.balanceOf(aliceAccount)).toBe(before);
    // More than the balance: '51', nothing moves.
    const big = await pay(alice, { clientId: 'static-2', payload, accountId: aliceAccount, amount: before + 1 });
    expect(big.body).toMatchObject({ approved: false, responseCode: '51', status: 'declined' });
    expect(await w.balanceOf(aliceAccount)).toBe(before);
  });

  it('another customer’s account is refused with 403', async () => {
    const { payload } = await term<{ payload: string }>('GET', '/qr/static');
    const res = await pay(bob, { clientId: 'steal-1', payload, accountId: aliceAccount, amount: 100 });
    expect([res.status, res.body.code]).toEqual([403, 'payment_account_not_own']);
    expect((await call(bob, 'POST', '/pay/codes', { accountId: aliceAccount })).status).toBe(403);
    const t = await call(bob, 'POST', '/pay/transfers', { clientId: 'steal-2', fromAccountId: aliceAccount, toAccountId: bobAccount, amount: 100 });
    expect([t.status, t.body.code]).toEqual([403, 'payment_account_not_own']);
  });

  it('a payment code: single use, exactly once by the terminal’s client id, expiry and unknown codes decline A0', async () => {
    const issued = await call<{ code: string; expiresAt: number }>(alice, 'POST', '/pay/codes', { accountId: aliceAccount });
    expect(issued.status).toBe(200);
    expect(issued.body.code).toMatch(/^62\d{16}$/);
    // Only the blind index is stored.
    const stored = await db.selectFrom('pay_payment_codes').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(issued.body.code);

    const before = await w.balanceOf(aliceAccount);
    const first = await term<TxnReply>('POST', '/qr/scan', { clientId: 'scan-1', amount: 450, code: issued.body.code });
    expect(first).toMatchObject({ approved: true, type: 'qr_sale', amount: 450, responseCode: '00' });
    expect(first.batchNo).toEqual(expect.any(Number));
    expect(first.traceNo).toEqual(expect.any(Number));
    const retry = await term<TxnReply>('POST', '/qr/scan', { clientId: 'scan-1', amount: 450, code: issued.body.code });
    expect(retry).toEqual(first);
    expect(await w.balanceOf(aliceAccount)).toBe(before - 450);

    const reuse = await term<TxnReply>('POST', '/qr/scan', { clientId: 'scan-2', amount: 450, code: issued.body.code });
    expect(reuse).toMatchObject({ approved: false, responseCode: 'A0' });
    const unknown = await term<TxnReply>('POST', '/qr/scan', { clientId: 'scan-3', amount: 450, code: '620000000000000000' });
    expect(unknown).toMatchObject({ approved: false, responseCode: 'A0' });

    const late = await call<{ code: string }>(alice, 'POST', '/pay/codes', { accountId: aliceAccount });
    await db.updateTable('pay_payment_codes').set({ expires_at: Date.now() * 1000 - 1 }).where('used_at', 'is', null).execute();
    const expired = await term<TxnReply>('POST', '/qr/scan', { clientId: 'scan-4', amount: 450, code: late.body.code });
    expect(expired).toMatchObject({ approved: false, responseCode: 'A0' });
    expect(await w.balanceOf(aliceAccount)).toBe(before - 450);

    // Minting codes in a loop is refused (5 per minute per user).
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(alice, 'POST', '/pay/codes', { accountId: aliceAccount })).status);
    expect(statuses).toContain(429);

    // A malformed code is a validation error, not a decline.
    await expect(term('POST', '/qr/scan', { clientId: 'scan-5', amount: 450, code: '12ab' })).rejects.toBeInstanceOf(TerminalApiError);
  });

  it('transfers: exactly once, 94 for other fields, 51, bad targets', async () => {
    const before = { a: await w.balanceOf(aliceAccount), b: await w.balanceOf(bobAccount) };
    const body = { clientId: 'xfer-1', fromAccountId: aliceAccount, toAccountId: bobAccount, amount: 1_234, memo: '还钱' };
    const first = await call<TxnReply>(alice, 'POST', '/pay/transfers', body);
    expect(first.body).toMatchObject({ type: 'transfer', approved: true, amount: 1_234, fee: 0 });
    const retry = await call<TxnReply>(alice, 'POST', '/pay/transfers', body);
    expect(retry.body).toEqual(first.body);
    const other = await call<TxnReply>(alice, 'POST', '/pay/transfers', { ...body, amount: 1_235 });
    expect(other.body).toMatchObject({ approved: false, responseCode: '94' });
    expect(await w.balanceOf(aliceAccount)).toBe(before.a - 1_234);
    expect(await w.balanceOf(bobAccount)).toBe(before.b + 1_234);
    const transfer = await h.ledger.lookupTransfer(`${first.body.id}:xfer`);
    expect(transfer).toMatchObject({ debit_account_id: aliceAccount, credit_account_id: bobAccount, amount: 1_234, code: 12 });

    const poor = await call<TxnReply>(alice, 'POST', '/pay/transfers', { clientId: 'xfer-2', fromAccountId: aliceAccount, toAccountId: bobAccount, amount: before.a });
    expect(poor.body).toMatchObject({ approved: false, responseCode: '51' });
    expect(await w.balanceOf(aliceAccount)).toBe(before.a - 1_234);

    const toMerchant = await call(alice, 'POST', '/pay/transfers', { clientId: 'xfer-3', fromAccountId: aliceAccount, toAccountId: w.merchant.receivable, amount: 1 });
    expect([toMerchant.status, toMerchant.body.code]).toEqual([422, 'payment_transfer_target_invalid']);
    const self = await call(alice, 'POST', '/pay/transfers', { clientId: 'xfer-4', fromAccountId: aliceAccount, toAccountId: aliceAccount, amount: 1 });
    expect([self.status, self.body.code]).toEqual([400, 'validation_failed']);
    const zero = await call(alice, 'POST', '/pay/transfers', { clientId: 'xfer-5', fromAccountId: aliceAccount, toAccountId: bobAccount, amount: 0 });
    expect(zero.status).toBe(400);
  });

  it('a payment cut off between its intent and the ledger is rolled forward, never lost or doubled', async () => {
    const order = await newOrder(700);
    const before = await w.balanceOf(aliceAccount);
    const actor = { user_id: '', username: '', display_name: '', role: 'customer', permissions: new Set<string>(), org_id: w.orgId, merchant_id: w.customers[0]!.partyId, org_scope: null };
    const me = await h.db.selectFrom('users').select('id').where('merchant_id', '=', w.customers[0]!.partyId).executeTakeFirstOrThrow();
    actor.user_id = me.id;
    // The "crash": the ledger call never happens after the intent row and the order claim.
    const crashing = { ...w.deps, ledger: { ...w.deps.ledger, createTransfers: () => Promise.reject(new Error('power cut')) } };
    await expect(payQr(crashing, actor, { clientId: 'crash-1', payload: order.payload, accountId: aliceAccount })).rejects.toThrow('power cut');
    expect(await w.balanceOf(aliceAccount)).toBe(before);
    // The terminal's status poll finishes it: paid, once.
    const state = await term<{ status: string; transaction: TxnReply | null }>('GET', `/qr/orders/${order.orderId}`);
    expect(state.status).toBe('paid');
    expect(state.transaction).toMatchObject({ approved: true, amount: 700, clientId: 'crash-1' });
    // The customer's retry gets that same answer; nothing moves twice.
    const retry = await pay(alice, { clientId: 'crash-1', payload: order.payload, accountId: aliceAccount });
    expect(retry.body).toEqual(state.transaction);
    expect(await w.balanceOf(aliceAccount)).toBe(before - 700);
  });

  it('hostile bodies get typed errors and change nothing', async () => {
    const before = await w.balanceOf(aliceAccount);
    for (const payload of ['', 'x'.repeat(600), '000201', '\u0000\u0000', '0002010102122626'.repeat(3)]) {
      const res = await call(alice, 'POST', '/pay/qr/pay', { clientId: 'hostile', payload, accountId: aliceAccount, amount: 1 });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body.code).toBe('string');
    }
    const floaty = await call(alice, 'POST', '/pay/transfers', { clientId: 'f1', fromAccountId: aliceAccount, toAccountId: bobAccount, amount: 1.5 });
    expect([floaty.status, floaty.body.code]).toEqual([400, 'validation_failed']);
    expect(await w.balanceOf(aliceAccount)).toBe(before);
  });
});

describe.each(DIALECTS)('QR payments with risk rules on %s', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let token: string;

  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await setupPaymentsWorld(h, { balance: 100_000 });
    const username = `cust-risk${++users}-${dialect}`;
    await createUser(h.db, { username, display_name: username, role: 'customer', org_id: w.orgId, merchant_id: w.customer.partyId, password: 'Passw0rd-for-tests' });
    token = await h.login(username, 'Passw0rd-for-tests');
    const rule = await h.app.inject({
      method: 'POST',
      url: '/api/v1/risk/rules',
      headers: auth(h.adminToken),
      payload: { name: 'QR 单笔限额', kind: 'amount_limit', mode: 'active', outcome: 'decline', params: { types: ['qr_sale'], scope: 'merchant', max_amount: 5_000 } },
    });
    expect(rule.statusCode, rule.body).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await h.close();
  });

  it('a QR sale over the merchant’s limit is declined by the rules, stored once, and moves nothing', async () => {
    const { payload } = await w.terminal.request<{ payload: string }>('GET', '/api/v1/terminal/pay/qr/static');
    const before = await w.balanceOf(w.customerAccount);
    const body = { clientId: 'risky-1', payload, accountId: w.customerAccount, amount: 6_000 };
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/pay/qr/pay', headers: auth(token), payload: body });
    expect(res.json()).toMatchObject({ approved: false, status: 'declined', responseCode: '61' });
    const again = await h.app.inject({ method: 'POST', url: '/api/v1/pay/qr/pay', headers: auth(token), payload: body });
    expect(again.json()).toEqual(res.json());
    expect(await w.balanceOf(w.customerAccount)).toBe(before);
    const ok = await h.app.inject({ method: 'POST', url: '/api/v1/pay/qr/pay', headers: auth(token), payload: { ...body, clientId: 'risky-2', amount: 4_000 } });
    expect(ok.json()).toMatchObject({ approved: true });
    expect(await w.balanceOf(w.customerAccount)).toBe(before - 4_000);
  });
});
