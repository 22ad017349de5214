import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { luhnDigit } from '../gateway/switch-sim/index.js';
import { BANK_ACCOUNTS } from '../seed/bootstrap.js';
import { TerminalApiError } from '../terminals/client.js';
import { expectError } from '../terminals/test-support/fleet-testkit.js';
import type { TxnReply } from './contracts.js';
import * as E from './engine.js';
import { resolveHeld } from './engine-held.js';
import { engineRequest, setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

const SALE = '/api/v1/terminal/pay/sale';
let seq = 0;
const cid = (p = 'c'): string => `${p}-${process.pid}-${++seq}`;

describe.each(DIALECTS)('terminal transaction engine (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;

  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h, { cardLimits: { per_txn_limit: 200_000, daily_limit: 500_000 } });
  });
  afterAll(async () => {
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  const pay = <T = TxnReply>(path: string, body: unknown, client = w.terminal): Promise<T> => client.request<T>('POST', `/api/v1/terminal/pay/${path}`, body);
  const card = () => ({ pan: w.card.pan, expiry: w.card.expiry });
  const sale = async (amount: number, extra: Record<string, unknown> = {}): Promise<TxnReply> =>
    pay('sale', { clientId: cid('sale'), amount, card: card(), pinBlock: await w.pinBlock(), ...extra });
  const available = async (id: string): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([id]);
    return a!.credits_posted - a!.debits_posted - a!.debits_pending;
  };
  const balances = async () => ({
    customer: await available(w.customerAccount),
    receivable: await w.balanceOf(w.merchant.receivable),
    fee: await w.balanceOf(BANK_ACCOUNTS.fee_income),
  });
  const asSupervisor = async <T>(fn: () => Promise<T>): Promise<T> => {
    await w.signOnSupervisor();
    try {
      return await fn();
    } finally {
      await w.signOnCashier();
    }
  };

  it('approves a sale: customer debited, merchant receivable and fee income credited, trace and batch on the reply', async () => {
    const before = await balances();
    const r = await sale(10_000);
    expect(r).toMatchObject({ type: 'sale', status: 'approved', approved: true, responseCode: '00', amount: 10_000, fee: 38, cardLast4: w.card.last4 });
    expect(r.authCode).toMatch(/^\d{6}$/);
    expect(r.traceNo).toBeGreaterThan(0);
    expect(r.batchNo).toBeGreaterThan(0);
    const after = await balances();
    expect(after.customer).toBe(before.customer - 10_000);
    expect(after.receivable - before.receivable).toBe(10_000 - 38);
    expect(after.fee - before.fee).toBe(38);
  });

  it('answers a retry (new seq, same clientId) with the first answer and moves money once; other fields → 94', async () => {
    const body = { clientId: cid('dup'), amount: 1_234, card: card(), pinBlock: await w.pinBlock() };
    const before = await balances();
    const first = await pay('sale', body);
    const again = await pay('sale', body);
    expect(again).toEqual(first);
    const other = await pay('sale', { ...body, amount: 1_235 });
    expect(other).toMatchObject({ responseCode: '94', approved: false });
    expect((await balances()).customer).toBe(before.customer - 1_234);
  });

  it('truly concurrent identical sales (engine called in parallel) have one effect and one row', async () => {
    const req = engineRequest(w);
    const input = { clientId: cid('par'), amount: 555, card: card(), pinBlock: await w.pinBlock() };
    const before = await balances();
    const replies = await Promise.all([1, 2, 3, 4].map(() => E.sale(h.payments.deps, req, input)));
    expect(new Set(replies.map((r) => r.id)).size).toBe(1);
    expect(replies.every((r) => r.responseCode === '00')).toBe(true);
    expect((await balances()).customer).toBe(before.customer - 555);
  });

  it('a refund racing a reversal of the same sale never returns more than the sale', async () => {
    const req = engineRequest(w);
    for (let round = 0; round < 4; round++) {
      const before = await balances();
      const s = await sale(10_000);
      const [refund, reversal] = await Promise.all([
        E.refund(h.payments.deps, req, { clientId: cid('race-ref'), originalId: s.id, amount: 4_000 }),
        E.reversal(h.payments.deps, req, { clientId: cid('race-rev'), originalClientId: s.clientId }),
      ]);
      expect(reversal.responseCode).toBe('00');
      expect(['00', '22']).toContain(refund.responseCode);
      expect(await balances()).toEqual(before);
    }
  });

  it('two identical requests in a row through the client have one effect', async () => {
    const body = { clientId: cid('conc'), amount: 777, card: card(), pinBlock: await w.pinBlock() };
    const before = await balances();
    // Two clients would share one session; send through the same client (it serialises sequence numbers, the server races the work).
    const [a, b] = await Promise.all([pay('sale', body), pay('sale', body)]);
    expect(a.id).toBe(b.id);
    expect((await balances()).customer).toBe(before.customer - 777);
  });

  it('declines off-us cards 91, wrong PIN 55, limits 61, insufficient funds 51, and counts PIN tries to 75', async () => {
    const before = await balances();
    const offUs = await pay('sale', { clientId: cid(), amount: 100, card: { pan: `621234567890123${luhnDigit('621234567890123')}`, expiry: '3012' }, pinBlock: await w.pinBlock() });
    expect(offUs).toMatchObject({ responseCode: '91', approved: false, status: 'declined' });
    const perTxn = await sale(200_001);
    expect(perTxn.responseCode).toBe('61');
    // A second world card with little money: insufficient funds.
    const poor = await setupPaymentsWorld(h, { balance: 500, cardLimits: { per_txn_limit: 100_000, daily_limit: 100_000 } });
    const insufficient = await poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 600, card: { pan: poor.card.pan, expiry: poor.card.expiry }, pinBlock: await poor.pinBlock() });
    expect(insufficient).toMatchObject({ responseCode: '51', status: 'declined' });
    expect(await poor.balanceOf(poor.customerAccount)).toBe(500);
    const wrong1 = await poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 100, card: { pan: poor.card.pan, expiry: poor.card.expiry }, pinBlock: await poor.pinBlock('999999') });
    expect(wrong1.responseCode).toBe('55');
    const noPin = await poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 100, card: { pan: poor.card.pan, expiry: poor.card.expiry } });
    expect(noPin.responseCode).toBe('55');
    await poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 100, card: { pan: poor.card.pan, expiry: poor.card.expiry }, pinBlock: await poor.pinBlock('999998') });
    const third = await poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 100, card: { pan: poor.card.pan, expiry: poor.card.expiry }, pinBlock: await poor.pinBlock('999997') });
    expect(third.responseCode).toBe('75');
    const rightButLocked = await poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 100, card: { pan: poor.card.pan, expiry: poor.card.expiry }, pinBlock: await poor.pinBlock() });
    expect(rightButLocked.responseCode).toBe('75');
    expect(await poor.balanceOf(poor.customerAccount)).toBe(500);
    expect((await balances()).customer).toBe(before.customer);
  });

  it('enforces the daily limit across sales', async () => {
    const limited = await setupPaymentsWorld(h, { cardLimits: { per_txn_limit: 3_000, daily_limit: 5_000 } });
    const go = async (amount: number) => limited.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount, card: { pan: limited.card.pan, expiry: limited.card.expiry }, pinBlock: await limited.pinBlock() });
    expect((await go(3_000)).responseCode).toBe('00');
    expect((await go(2_500)).responseCode).toBe('61');
    expect((await go(2_000)).responseCode).toBe('00');
  });

  it('gives the daily limit back when a sale is voided or reversed, not when it is refunded', async () => {
    const limited = await setupPaymentsWorld(h, { cardLimits: { per_txn_limit: 5_000, daily_limit: 5_000 } });
    const go = async (amount: number) =>
      limited.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount, card: { pan: limited.card.pan, expiry: limited.card.expiry }, pinBlock: await limited.pinBlock() });
    const first = await go(5_000);
    expect(first.responseCode).toBe('00');
    expect((await go(1)).responseCode).toBe('61');
    const reversal = await limited.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/reversal', { clientId: cid(), originalClientId: first.clientId });
    expect(reversal.responseCode).toBe('00');
    const second = await go(5_000);
    expect(second.responseCode).toBe('00');
    await limited.signOnSupervisor();
    const voided = await limited.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/void', { clientId: cid(), originalId: second.id });
    expect(voided.responseCode).toBe('00');
    const third = await go(5_000);
    expect(third.responseCode).toBe('00');
    const refund = await limited.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/refund', { clientId: cid(), originalId: third.id, amount: 5_000 });
    expect(refund.responseCode).toBe('00');
    expect((await go(1)).responseCode).toBe('61');
  });

  it('gives the daily limit a pre-auth reserved back when its completion is voided', async () => {
    const limited = await setupPaymentsWorld(h, { cardLimits: { per_txn_limit: 5_000, daily_limit: 5_000 } });
    const body = async (amount: number) => ({ clientId: cid(), amount, card: { pan: limited.card.pan, expiry: limited.card.expiry }, pinBlock: await limited.pinBlock() });
    const p = await limited.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/preauth', await body(5_000));
    expect(p.responseCode).toBe('00');
    const c = await limited.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/completion', { clientId: cid(), originalId: p.id, amount: 5_000 });
    expect(c.responseCode).toBe('00');
    expect((await limited.terminal.request<TxnReply>('POST', SALE, await body(1))).responseCode).toBe('61');
    await limited.signOnSupervisor();
    const cv = await limited.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/completion-void', { clientId: cid(), originalId: c.id });
    expect(cv.responseCode).toBe('00');
    await limited.signOnCashier();
    expect((await limited.terminal.request<TxnReply>('POST', SALE, await body(5_000))).responseCode).toBe('00');
  });

  it('a claim whose process died after the ledger call is settled by the retry, charging once', async () => {
    const before = await balances();
    const body = { clientId: cid('crash'), amount: 2_468, card: card(), pinBlock: await w.pinBlock() };
    const first = await pay('sale', body);
    // As if the process died between the ledger commit and the final update.
    await h.db.updateTable('pay_transactions' as never).set({ reply: '', status: 'declined', response_code: '96', auth_code: null } as never).where('id' as never, '=', first.id as never).execute();
    const retry = await pay('sale', { ...body, pinBlock: await w.pinBlock() });
    expect(retry).toMatchObject({ id: first.id, responseCode: '00', status: 'approved' });
    expect((await balances()).customer).toBe(before.customer - 2_468);
  });

  it('a claim whose process died before the ledger call is settled by the sweep; a reversal then undoes it', async () => {
    const before = await balances();
    const model = await sale(100);
    const row = (await h.db.selectFrom('pay_transactions' as never).selectAll().where('id' as never, '=', model.id as never).executeTakeFirstOrThrow()) as Record<string, unknown>;
    const id = `${model.id.slice(0, -4)}beef`;
    const clientId = cid('orphan');
    const old = Date.now() * 1000 - 60_000_000;
    await h.db.insertInto('pay_transactions' as never).values({ ...row, id, client_id: clientId, amount: 3_000, fee: 11, reply: '', status: 'declined', response_code: '96', auth_code: null, created_at: old, updated_at: old }).execute();
    const swept = await E.sweepEngine(h.payments.deps);
    expect(swept.settled).toBeGreaterThanOrEqual(1);
    const seen = await w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${id}`);
    expect(seen).toMatchObject({ status: 'approved', responseCode: '00', amount: 3_000 });
    expect((await balances()).customer).toBe(before.customer - 3_100);
    const rev = await pay('reversal', { clientId: cid('rev'), originalClientId: clientId });
    expect(rev).toMatchObject({ responseCode: '00', amount: 3_000, fee: 11 });
    expect((await balances()).customer).toBe(before.customer - 100);
  });

  it('a retry with the PIN entered again (a new PIN block, formed by the client helper) is the same request', async () => {
    const body = { clientId: cid('pin-again'), amount: 321, card: card(), pinBlock: await w.terminal.pinBlock(w.card.pin, w.card.pan) };
    const first = await w.terminal.pay<TxnReply>('sale', body);
    expect(first.responseCode).toBe('00');
    const again = await w.terminal.pay<TxnReply>('sale', { ...body, pinBlock: await w.terminal.pinBlock(w.card.pin, w.card.pan) });
    expect(again).toEqual(first);
  });

  it('refuses malformed and hostile bodies with typed errors and changes nothing', async () => {
    const before = await balances();
    const bad = [
      { clientId: cid(), amount: -5, card: card(), pinBlock: await w.pinBlock() },
      { clientId: cid(), amount: 1.5, card: card(), pinBlock: await w.pinBlock() },
      { clientId: cid(), amount: 100, card: { pan: w.card.pan.slice(0, -1) + ((Number(w.card.pan.slice(-1)) + 1) % 10), expiry: w.card.expiry }, pinBlock: await w.pinBlock() },
      { clientId: 'bad id with spaces', amount: 100, card: card(), pinBlock: await w.pinBlock() },
      { clientId: cid(), amount: 100, card: card(), pinBlock: 'zz' },
      { clientId: cid(), amount: 100, card: card(), pinBlock: await w.pinBlock(), extra: 1 },
      { clientId: cid(), amount: '100', card: card() },
    ];
    for (const body of bad) {
      const error = await pay('sale', body).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TerminalApiError);
      expect((error as TerminalApiError).status).toBe(400);
      expect((error as TerminalApiError).code).toBe('validation_failed');
    }
    expect(await balances()).toEqual(before);
  });

  it('voids a sale (supervisor only, same open batch, full amount, once) and restores every balance', async () => {
    const before = await balances();
    const s = await sale(5_000);
    const asCashier = await pay('void', { clientId: cid(), originalId: s.id }).catch((e: unknown) => e);
    expect((asCashier as TerminalApiError).code).toBe('terminal_supervisor_required');
    const v = await asSupervisor(() => pay('void', { clientId: cid('void'), originalId: s.id }));
    expect(v).toMatchObject({ type: 'void', responseCode: '00', amount: 5_000, fee: s.fee, originalId: s.id });
    expect(await balances()).toEqual(before);
    const again = await asSupervisor(() => pay('void', { clientId: cid(), originalId: s.id }));
    expect(again.responseCode).toBe('22');
    const missing = await asSupervisor(() => pay('void', { clientId: cid(), originalId: 'no-such-txn' }));
    expect(missing.responseCode).toBe('25');
    const status = await w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${s.id}`);
    expect(status.status).toBe('voided');
  });

  it('refunds partially and repeatedly up to the original (64 above), returning the fee in proportion', async () => {
    const before = await balances();
    const s = await sale(10_000);
    const r1 = await asSupervisor(() => pay('refund', { clientId: cid(), originalId: s.id, amount: 4_000 }));
    expect(r1).toMatchObject({ type: 'refund', responseCode: '00', amount: 4_000, fee: 15 });
    const over = await asSupervisor(() => pay('refund', { clientId: cid(), originalId: s.id, amount: 6_001 }));
    expect(over.responseCode).toBe('64');
    const r2 = await asSupervisor(() => pay('refund', { clientId: cid(), originalId: s.id, amount: 6_000 }));
    expect(r2).toMatchObject({ responseCode: '00', fee: 38 - 15 });
    expect(await balances()).toEqual(before);
    const voidAfterRefund = await asSupervisor(() => pay('void', { clientId: cid(), originalId: s.id }));
    expect(voidAfterRefund.responseCode).toBe('22');
    const original = await w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${s.id}`);
    expect(original.status).toBe('refunded');
  });

  it('pre-auth holds funds; completion up to 115 % (61 above), once; pre-auth void releases', async () => {
    const before = await balances();
    const p = await pay('preauth', { clientId: cid('pa'), amount: 10_000, card: card(), pinBlock: await w.pinBlock() });
    expect(p).toMatchObject({ type: 'preauth', responseCode: '00', status: 'approved' });
    expect((await balances()).customer).toBe(before.customer - 10_000);
    const tooMuch = await pay('completion', { clientId: cid(), originalId: p.id, amount: 11_501 });
    expect(tooMuch.responseCode).toBe('61');
    const c = await pay('completion', { clientId: cid('comp'), originalId: p.id, amount: 11_500 });
    expect(c).toMatchObject({ type: 'completion', responseCode: '00', amount: 11_500, fee: 44 });
    const after = await balances();
    expect(after.customer).toBe(before.customer - 11_500);
    expect(after.receivable - before.receivable).toBe(11_500 - 44);
    const twice = await pay('completion', { clientId: cid(), originalId: p.id, amount: 100 });
    expect(twice.responseCode).toBe('22');
    // Completion void gives it all back.
    const cv = await asSupervisor(() => pay('completion-void', { clientId: cid(), originalId: c.id }));
    expect(cv.responseCode).toBe('00');
    expect(await balances()).toEqual(before);

    const p2 = await pay('preauth', { clientId: cid('pa'), amount: 3_000, card: card(), pinBlock: await w.pinBlock() });
    const pv = await asSupervisor(() => pay('preauth-void', { clientId: cid(), originalId: p2.id }));
    expect(pv.responseCode).toBe('00');
    expect(await balances()).toEqual(before);
    const late = await pay('completion', { clientId: cid(), originalId: p2.id, amount: 3_000 });
    expect(late.responseCode).toBe('22');
  });

  it('an expired pre-auth shows expired once the ledger sweep voided its hold, and cannot be completed', async () => {
    const before = await balances();
    const p = await pay('preauth', { clientId: cid('pa'), amount: 2_000, card: card(), pinBlock: await w.pinBlock() });
    // Let time pass: move the hold's expiry (ours and the ledger's) into the past, then sweep.
    const past = Date.now() * 1000 - 1_000_000;
    await h.db.updateTable('pay_transactions' as never).set({ hold_expires_at: past } as never).where('id' as never, '=', p.id as never).execute();
    await h.tdb.database.kysely.updateTable('ledger_pending' as never).set({ expires_at: past } as never).where('id' as never, '=', `${p.id}:hold` as never).execute();
    expect(await h.ledger.expirePendings()).toBeGreaterThanOrEqual(1);
    expect((await balances()).customer).toBe(before.customer);
    const status = await w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${p.id}`);
    expect(status.status).toBe('expired');
    const c = await pay('completion', { clientId: cid(), originalId: p.id, amount: 2_000 });
    expect(c.responseCode).toBe('22');
    expect((await balances()).customer).toBe(before.customer);
  });

  it('reversal restores both balances, is idempotent, and refuses a late original after an early reversal', async () => {
    const before = await balances();
    const body = { clientId: cid('orig'), amount: 4_321, card: card(), pinBlock: await w.pinBlock() };
    await pay('sale', body);
    const rev = await pay('reversal', { clientId: cid('rev'), originalClientId: body.clientId });
    expect(rev).toMatchObject({ type: 'reversal', responseCode: '00', approved: true, amount: 4_321 });
    expect(await balances()).toEqual(before);
    const rev2 = await pay('reversal', { clientId: cid('rev'), originalClientId: body.clientId });
    expect(rev2.responseCode).toBe('00');
    expect(await balances()).toEqual(before);

    // Reversal before the original arrives: acknowledged; the late original is not approved.
    const lateId = cid('late');
    const early = await pay('reversal', { clientId: cid('rev'), originalClientId: lateId });
    expect(early.responseCode).toBe('00');
    const late = await pay('sale', { clientId: lateId, amount: 999, card: card(), pinBlock: await w.pinBlock() });
    expect(late.approved).toBe(false);
    expect(late.status).toBe('reversed');
    expect(await balances()).toEqual(before);
  });

  describe('reversal of a void (the terminal had no answer to the void)', () => {
    const req = () => engineRequest(w);
    const status = async (id: string): Promise<string> => (await w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${id}`)).status;
    const verified = async (): Promise<void> => expect((await h.ledger.verify()).ok).toBe(true);
    const usage = async (cardId: string): Promise<number> => {
      const rows = (await h.db.selectFrom('pay_card_usage' as never).selectAll().where('card_id' as never, '=', cardId as never).execute()) as { amount: unknown }[];
      return rows.reduce((n, r) => n + Number(r.amount), 0);
    };

    it('a sale void reversed: the sale stands again — customer debited, merchant credited with the fee — once, however often it is sent', async () => {
      const before = await balances();
      const s = await sale(7_000);
      const charged = await balances();
      const usedBefore = await usage(w.card.id);
      const v = await asSupervisor(() => pay('void', { clientId: cid('void'), originalId: s.id }));
      expect(v.responseCode).toBe('00');
      expect(await balances()).toEqual(before);
      expect(await usage(w.card.id)).toBe(usedBefore - 7_000);

      const body = { clientId: cid('rv'), originalClientId: v.clientId };
      const rev = await pay('reversal', body);
      expect(rev).toMatchObject({ type: 'reversal', responseCode: '00', approved: true, amount: 7_000, fee: s.fee, originalId: v.id });
      expect(await balances()).toEqual(charged);
      expect(await status(s.id)).toBe('approved');
      expect(await status(v.id)).toBe('reversed');
      expect(await usage(w.card.id)).toBe(usedBefore);
      // The same reversal again (a retry) answers the first answer; another one finds nothing left to undo.
      expect(await pay('reversal', body)).toEqual(rev);
      const other = await pay('reversal', { clientId: cid('rv'), originalClientId: v.clientId });
      expect(other).toMatchObject({ responseCode: '00', amount: 0 });
      expect(await balances()).toEqual(charged);
      await verified();
      // The sale stands: it can be voided again, and that void reversed again.
      const v2 = await asSupervisor(() => pay('void', { clientId: cid('void'), originalId: s.id }));
      expect(v2.responseCode).toBe('00');
      expect(await balances()).toEqual(before);
      expect((await E.reversal(h.payments.deps, req(), { clientId: cid('rv'), originalClientId: v2.clientId })).amount).toBe(7_000);
      expect(await balances()).toEqual(charged);
      await verified();
    });

    it('a declined void is acknowledged with nothing to undo; a reversal before the void arrives makes the late void refused', async () => {
      const s = await sale(1_500);
      const charged = await balances();
      const declinedVoid = await asSupervisor(() => pay('void', { clientId: cid('void'), originalId: 'no-such-txn' }));
      expect(declinedVoid.responseCode).toBe('25');
      expect(await pay('reversal', { clientId: cid('rv'), originalClientId: declinedVoid.clientId })).toMatchObject({ responseCode: '00', amount: 0 });

      const lateClientId = cid('late-void');
      const early = await pay('reversal', { clientId: cid('rv'), originalClientId: lateClientId });
      expect(early.responseCode).toBe('00');
      const late = await asSupervisor(() => pay('void', { clientId: lateClientId, originalId: s.id }));
      expect(late).toMatchObject({ type: 'void', status: 'reversed', approved: false, responseCode: '22' });
      expect(await status(s.id)).toBe('approved');
      expect(await balances()).toEqual(charged);
      await verified();
    });

    it('a pre-auth void reversed restores the hold until the pre-auth’s own expiry; the pre-auth can then be completed', async () => {
      const before = await balances();
      const p = await pay('preauth', { clientId: cid('pa'), amount: 6_000, card: card(), pinBlock: await w.pinBlock() });
      const held = await balances();
      expect(held.customer).toBe(before.customer - 6_000);
      const pv = await asSupervisor(() => pay('preauth-void', { clientId: cid('pv'), originalId: p.id }));
      expect(pv.responseCode).toBe('00');
      expect(await balances()).toEqual(before);
      const rev = await pay('reversal', { clientId: cid('rv'), originalClientId: pv.clientId });
      expect(rev).toMatchObject({ responseCode: '00', amount: 6_000, fee: 0 });
      expect(await balances()).toEqual(held);
      expect(await status(p.id)).toBe('approved');
      expect(await status(pv.id)).toBe('reversed');
      const row = (await h.db.selectFrom('pay_transactions' as never).selectAll().where('id' as never, '=', p.id as never).executeTakeFirstOrThrow()) as { pending_transfer_id: string; hold_expires_at: unknown };
      expect(row.pending_transfer_id).toBe(`${rev.id}:hold`);
      const pending = (await h.tdb.database.kysely.selectFrom('ledger_pending' as never).selectAll().where('id' as never, '=', `${rev.id}:hold` as never).executeTakeFirstOrThrow()) as { expires_at: unknown };
      // The restored hold lapses with the pre-auth (to the second), not 30 days from now.
      expect(Math.abs(Number(pending.expires_at) - Number(row.hold_expires_at))).toBeLessThanOrEqual(2_000_000);
      await verified();
      const c = await pay('completion', { clientId: cid('comp'), originalId: p.id, amount: 6_000 });
      expect(c.responseCode).toBe('00');
      expect((await balances()).customer).toBe(before.customer - 6_000);
      await verified();
    });

    it('a completion void reversed restores the completion exactly', async () => {
      const before = await balances();
      const p = await pay('preauth', { clientId: cid('pa'), amount: 4_000, card: card(), pinBlock: await w.pinBlock() });
      const c = await pay('completion', { clientId: cid('comp'), originalId: p.id, amount: 4_400 });
      expect(c.responseCode).toBe('00');
      const completed = await balances();
      expect(completed.customer).toBe(before.customer - 4_400);
      const cv = await asSupervisor(() => pay('completion-void', { clientId: cid('cv'), originalId: c.id }));
      expect(cv.responseCode).toBe('00');
      expect(await balances()).toEqual(before);
      const rev = await pay('reversal', { clientId: cid('rv'), originalClientId: cv.clientId });
      expect(rev).toMatchObject({ responseCode: '00', amount: 4_400, fee: c.fee });
      expect(await balances()).toEqual(completed);
      expect(await status(c.id)).toBe('approved');
      expect(await status(cv.id)).toBe('reversed');
      await verified();
    });

    it('when the customer cannot be charged again the reversal is still acknowledged, the void stands and staff get the case', async () => {
      const poor = await setupPaymentsWorld(h, { balance: 1_000, cardLimits: { per_txn_limit: 100_000, daily_limit: 100_000 } });
      const go = async (amount: number) =>
        poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid('poor'), amount, card: { pan: poor.card.pan, expiry: poor.card.expiry }, pinBlock: await poor.pinBlock() });
      const s = await go(800);
      expect(s.responseCode).toBe('00');
      await poor.signOnSupervisor();
      const v = await poor.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/void', { clientId: cid('void'), originalId: s.id });
      expect(v.responseCode).toBe('00');
      await poor.signOnCashier();
      // Meanwhile the customer spent most of it.
      expect((await go(700)).responseCode).toBe('00');
      const receivable = await poor.balanceOf(poor.merchant.receivable);
      const rev = await poor.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/reversal', { clientId: cid('rv'), originalClientId: v.clientId });
      expect(rev).toMatchObject({ responseCode: '00', approved: true, amount: 0, fee: 0, originalId: v.id });
      expect(await poor.balanceOf(poor.customerAccount)).toBe(300);
      expect(await poor.balanceOf(poor.merchant.receivable)).toBe(receivable);
      const seen = async (id: string) => (await poor.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${id}`)).status;
      expect(await seen(v.id)).toBe('approved');
      expect(await seen(s.id)).toBe('voided');
      const cases = (await h.db.selectFrom('pay_recon_exceptions' as never).selectAll().where('host_txn_id' as never, '=', v.id as never).execute()) as { kind: string; status: string }[];
      expect(cases).toEqual([expect.objectContaining({ kind: 'void_reversal_unposted', status: 'open' })]);
      const listed = await h.app.inject({ method: 'GET', url: '/api/v1/reconciliation/exceptions?status=open', headers: auth(h.adminToken) });
      expect(listed.json<{ items: { kind: string; host_txn_id: string }[] }>().items).toContainEqual(expect.objectContaining({ kind: 'void_reversal_unposted', host_txn_id: v.id }));
      // The retry answers the same; the void can be reversed later by nobody but a new sale.
      expect(await poor.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/reversal', { clientId: rev.clientId, originalClientId: v.clientId })).toEqual(rev);
      await verified();
    });
  });

  describe('reversal of a refund (the terminal had no answer to the refund)', () => {
    const status = async (id: string): Promise<TxnReply> => w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${id}`);
    const verified = async (): Promise<void> => expect((await h.ledger.verify()).ok).toBe(true);
    const refundOf = (originalId: string, amount: number): Promise<TxnReply> => asSupervisor(() => pay('refund', { clientId: cid('ref'), originalId, amount }));

    it('a refund reversed: the customer is charged again, receivable and fee restored, once however often it is sent; the sale can be refunded and reversed whole again', async () => {
      const before = await balances();
      const s = await sale(10_000);
      const charged = await balances();
      const f = await refundOf(s.id, 4_000);
      expect(f).toMatchObject({ responseCode: '00', amount: 4_000, fee: 15 });
      const refunded = await balances();
      expect(refunded.customer).toBe(charged.customer + 4_000);

      const body = { clientId: cid('rv'), originalClientId: f.clientId };
      const rev = await pay('reversal', body);
      expect(rev).toMatchObject({ type: 'reversal', responseCode: '00', approved: true, amount: 4_000, fee: 15, originalId: f.id });
      expect(await balances()).toEqual(charged);
      expect((await status(f.id)).status).toBe('reversed');
      expect((await status(s.id)).status).toBe('approved');
      // The same reversal again answers the first answer; another one finds nothing left to undo.
      expect(await pay('reversal', body)).toEqual(rev);
      expect(await pay('reversal', { clientId: cid('rv'), originalClientId: f.clientId })).toMatchObject({ responseCode: '00', amount: 0 });
      expect(await balances()).toEqual(charged);
      await verified();

      // The refunded total came down: the whole sale can be refunded again (not 64), and that refund reversed too.
      const whole = await refundOf(s.id, 10_000);
      expect(whole).toMatchObject({ responseCode: '00', amount: 10_000, fee: 38 });
      expect((await status(s.id)).status).toBe('refunded');
      expect(await balances()).toEqual(before);
      expect((await E.reversal(h.payments.deps, engineRequest(w), { clientId: cid('rv'), originalClientId: whole.clientId })).amount).toBe(10_000);
      expect((await status(s.id)).status).toBe('approved');
      expect(await balances()).toEqual(charged);
      // …and a reversal of the sale now gives all of it back.
      expect(await pay('reversal', { clientId: cid('rv'), originalClientId: s.clientId })).toMatchObject({ responseCode: '00', amount: 10_000, fee: 38 });
      expect(await balances()).toEqual(before);
      await verified();
    });

    it('a reversal of a refund never seen is acknowledged with no effect, and the late refund is refused', async () => {
      const s = await sale(2_000);
      const charged = await balances();
      const late = cid('late-ref');
      expect(await pay('reversal', { clientId: cid('rv'), originalClientId: late })).toMatchObject({ responseCode: '00', approved: true, amount: 0 });
      const refused = await asSupervisor(() => pay('refund', { clientId: late, originalId: s.id, amount: 500 }));
      expect(refused).toMatchObject({ approved: false, responseCode: '22' });
      expect(await balances()).toEqual(charged);
      // A declined refund: nothing to undo either.
      const declined = await refundOf(s.id, 2_001);
      expect(declined.responseCode).toBe('64');
      expect(await pay('reversal', { clientId: cid('rv'), originalClientId: declined.clientId })).toMatchObject({ responseCode: '00', amount: 0 });
      expect(await balances()).toEqual(charged);
      await verified();
    });

    it('when the customer cannot be charged again the reversal is still acknowledged, the refund stands and staff get the case', async () => {
      const poor = await setupPaymentsWorld(h, { balance: 1_000, cardLimits: { per_txn_limit: 100_000, daily_limit: 100_000 } });
      const go = async (amount: number) =>
        poor.terminal.request<TxnReply>('POST', SALE, { clientId: cid('poor'), amount, card: { pan: poor.card.pan, expiry: poor.card.expiry }, pinBlock: await poor.pinBlock() });
      const s = await go(800);
      expect(s.responseCode).toBe('00');
      await poor.signOnSupervisor();
      const f = await poor.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/refund', { clientId: cid('ref'), originalId: s.id, amount: 800 });
      expect(f.responseCode).toBe('00');
      await poor.signOnCashier();
      // Meanwhile the customer spent most of it.
      expect((await go(900)).responseCode).toBe('00');
      const receivable = await poor.balanceOf(poor.merchant.receivable);
      const rev = await poor.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/reversal', { clientId: cid('rv'), originalClientId: f.clientId });
      expect(rev).toMatchObject({ responseCode: '00', approved: true, amount: 0, fee: 0, originalId: f.id });
      expect(await poor.balanceOf(poor.customerAccount)).toBe(100);
      expect(await poor.balanceOf(poor.merchant.receivable)).toBe(receivable);
      const seen = async (id: string) => (await poor.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${id}`)).status;
      expect(await seen(f.id)).toBe('approved');
      expect(await seen(s.id)).toBe('refunded');
      const cases = (await h.db.selectFrom('pay_recon_exceptions' as never).selectAll().where('host_txn_id' as never, '=', f.id as never).execute()) as { kind: string; status: string }[];
      expect(cases).toEqual([expect.objectContaining({ kind: 'refund_reversal_unposted', status: 'open' })]);
      const listed = await h.app.inject({ method: 'GET', url: '/api/v1/reconciliation/exceptions?status=open', headers: auth(h.adminToken) });
      const items = listed.json<{ items: { id: string; kind: string; host_txn_id: string }[] }>().items;
      expect(items).toContainEqual(expect.objectContaining({ kind: 'refund_reversal_unposted', host_txn_id: f.id }));
      // Reversing the host's refund again would only fail again: refused, staff settle it otherwise.
      const exception = items.find((i) => i.host_txn_id === f.id)!;
      const resolved = await h.app.inject({ method: 'POST', url: `/api/v1/reconciliation/exceptions/${exception.id}/resolve`, headers: auth(h.adminToken), payload: { action: 'reverse_host' } });
      expectError(resolved, 'recon_action_unavailable');
      expect(await poor.balanceOf(poor.customerAccount)).toBe(100);
      // The retry answers the same; the refund stays refunded (no second refund past the sale).
      expect(await poor.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/reversal', { clientId: rev.clientId, originalClientId: f.clientId })).toEqual(rev);
      await verified();
    });

    it('a refund reversal racing a reversal of its sale never charges the customer for a sale reversed', async () => {
      const req = engineRequest(w);
      for (let round = 0; round < 4; round++) {
        const before = await balances();
        const s = await sale(6_000);
        const f = await refundOf(s.id, 2_500);
        expect(f.responseCode).toBe('00');
        const [refRev, saleRev] = await Promise.all([
          E.reversal(h.payments.deps, req, { clientId: cid('race-rr'), originalClientId: f.clientId }),
          E.reversal(h.payments.deps, req, { clientId: cid('race-sr'), originalClientId: s.clientId }),
        ]);
        expect(refRev.responseCode).toBe('00');
        expect(saleRev.responseCode).toBe('00');
        expect((await status(s.id)).status).toBe('reversed');
        // Whichever won, the sale is undone whole: the customer and the merchant are where they started.
        expect(await balances()).toEqual(before);
      }
      await verified();
    });
  });

  it('reverseHostTransaction (reconciliation) reverses a host transaction once', async () => {
    const before = await balances();
    const s = await sale(6_000);
    const r1 = await E.reverseHostTransaction(h.payments.deps, s.id, 'staff-1');
    expect(r1).toMatchObject({ type: 'reversal', responseCode: '00', amount: 6_000, originalId: s.id });
    const r2 = await E.reverseHostTransaction(h.payments.deps, s.id, 'staff-2');
    expect(r2).toEqual(r1);
    expect(await balances()).toEqual(before);
    await expect(E.reverseHostTransaction(h.payments.deps, 'no-such', 'staff-1')).rejects.toMatchObject({ code: 'payment_transaction_not_found' });
  });

  it('batch: totals, close balanced / mismatch, upload stores lines, void after close → 77', async () => {
    const t = await w.addTerminal();
    const s1 = await t.client.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 1_000, card: card(), pinBlock: await t.pinBlock() });
    await t.client.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 2_000, card: card(), pinBlock: await t.pinBlock() });
    const open = await t.client.request<{ batchNo: number; totals: { saleCount: number; saleAmount: number }; transactions: TxnReply[] }>('GET', '/api/v1/terminal/pay/batch');
    expect(open.totals).toEqual({ saleCount: 2, saleAmount: 3_000, refundCount: 0, refundAmount: 0 });
    expect(open.transactions).toHaveLength(2);
    const closeBody = { clientId: cid('close'), totals: { saleCount: 2, saleAmount: 3_000, refundCount: 0, refundAmount: 0 } };
    const closed = await t.client.request<{ result: string; batchNo: number; nextBatchNo: number }>('POST', '/api/v1/terminal/pay/batch/close', closeBody);
    expect(closed).toMatchObject({ result: 'balanced', batchNo: open.batchNo, nextBatchNo: open.batchNo + 1 });
    expect(await t.client.request('POST', '/api/v1/terminal/pay/batch/close', closeBody)).toEqual(closed);

    await t.signOnSupervisor();
    const lateVoid = await t.client.request<TxnReply>('POST', '/api/v1/terminal/pay/void', { clientId: cid(), originalId: s1.id });
    expect(lateVoid.responseCode).toBe('77');
    await t.signOnCashier();

    const s3 = await t.client.request<TxnReply>('POST', SALE, { clientId: cid('b2'), amount: 500, card: card(), pinBlock: await t.pinBlock() });
    expect(s3.batchNo).toBe(open.batchNo + 1);
    const mismatch = await t.client.request<{ result: string; batchNo: number }>('POST', '/api/v1/terminal/pay/batch/close', {
      clientId: cid('close'),
      totals: { saleCount: 2, saleAmount: 800, refundCount: 0, refundAmount: 0 },
    });
    expect(mismatch.result).toBe('mismatch');
    const upload = await t.client.request<{ result: string; exceptions: number }>('POST', '/api/v1/terminal/pay/batch/upload', {
      clientId: cid('up'),
      batchNo: mismatch.batchNo,
      transactions: [
        { clientId: s3.clientId, type: 'sale', amount: 500 },
        { clientId: 'never-on-host', type: 'sale', amount: 300 },
      ],
    });
    expect(upload).toEqual({ batchNo: mismatch.batchNo, result: 'uploaded', exceptions: 1 });
    const lines = await h.tdb.database.kysely.selectFrom('pay_batch_lines' as never).selectAll().execute();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const again = await t.client.request('POST', '/api/v1/terminal/pay/batch/upload', { clientId: cid('up'), batchNo: mismatch.batchNo, transactions: [] }).catch((e: unknown) => e);
    expect((again as TerminalApiError).code).toBe('payment_batch_not_uploadable');
  });

  it('batch close finishes the sales still in flight before counting, and a crashed close completes on the next', async () => {
    const t = await w.addTerminal();
    const s1 = await t.client.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 1_000, card: card(), pinBlock: await t.pinBlock() });
    // As if its process were between the ledger commit and the final update when the close came.
    await h.db.updateTable('pay_transactions' as never).set({ reply: '', status: 'declined', response_code: '96', auth_code: null } as never).where('id' as never, '=', s1.id as never).execute();
    const totals = { saleCount: 1, saleAmount: 1_000, refundCount: 0, refundAmount: 0 };
    const closed = await t.client.request<{ result: string; batchNo: number; hostTotals: unknown }>('POST', '/api/v1/terminal/pay/batch/close', { clientId: cid('close'), totals });
    expect(closed).toMatchObject({ result: 'balanced', hostTotals: totals });
    expect(await t.client.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${s1.id}`)).toMatchObject({ status: 'approved', responseCode: '00' });

    // A close that died after marking its batch closed: the next close finishes that batch, not a new one.
    const s2 = await t.client.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 700, card: card(), pinBlock: await t.pinBlock() });
    expect(s2.batchNo).toBe(closed.batchNo + 1);
    await h.db.updateTable('pay_batches' as never).set({ status: 'closed', closed_at: Date.now() * 1000 } as never).where('terminal_id' as never, '=', t.id as never).where('status' as never, '=', 'open' as never).execute();
    const finished = await t.client.request<{ result: string; batchNo: number }>('POST', '/api/v1/terminal/pay/batch/close', {
      clientId: cid('close'),
      totals: { saleCount: 1, saleAmount: 700, refundCount: 0, refundAmount: 0 },
    });
    expect(finished).toMatchObject({ result: 'balanced', batchNo: closed.batchNo + 1 });
    // And a sale now opens the batch after that.
    expect((await t.client.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 300, card: card(), pinBlock: await t.pinBlock() })).batchNo).toBe(closed.batchNo + 2);
  });

  it('held sale: resolveHeld approve posts it with the fee, decline releases it; the terminal sees the outcome', async () => {
    const before = await balances();
    // Hold two sales by hand (risk is off here; the risk part's tests hold them through rules).
    const held = async (amount: number): Promise<TxnReply> => {
      const risk = h.payments.deps.risk;
      const original = risk.assess.bind(risk);
      risk.assess = async () => ({ outcome: 'review', code: '09', hits: [] });
      try {
        return await sale(amount);
      } finally {
        risk.assess = original;
      }
    };
    const a = await held(3_000);
    expect(a).toMatchObject({ status: 'held', responseCode: '09', approved: false, authCode: null });
    expect((await balances()).customer).toBe(before.customer - 3_000);
    const approved = await resolveHeld(h.payments.deps, a.id, 'approve', 'tester');
    expect(approved.row.status).toBe('approved');
    expect((await resolveHeld(h.payments.deps, a.id, 'decline', 'tester')).changed).toBe(false);
    const seen = await w.terminal.request<TxnReply>('GET', `/api/v1/terminal/pay/transactions/${a.id}`);
    expect(seen).toMatchObject({ status: 'approved', responseCode: '00', approved: true });
    const b = await held(2_000);
    const declined = await resolveHeld(h.payments.deps, b.id, 'decline', 'tester');
    expect(declined.row.status).toBe('declined');
    const after = await balances();
    expect(after.customer).toBe(before.customer - 3_000);
    expect(after.receivable - before.receivable).toBe(3_000 - 11);
    expect(after.fee - before.fee).toBe(11);
  });

  it('merchant not active → 03; staff search and detail follow scope', async () => {
    const s = await sale(1_111);
    const list = await h.app.inject({ method: 'GET', url: `/api/v1/payments/transactions?terminal_id=${w.terminalId}&type=sale&limit=5`, headers: auth(h.adminToken) });
    expect(list.statusCode).toBe(200);
    const page = list.json<{ items: { id: string }[]; next_before: string | null }>();
    expect(page.items[0]!.id).toBe(s.id);
    const detail = await h.app.inject({ method: 'GET', url: `/api/v1/payments/transactions/${s.id}`, headers: auth(h.adminToken) });
    expect(detail.statusCode).toBe(200);
    expect(detail.json<{ ledger_transfer_ids: string[] }>().ledger_transfer_ids.sort()).toEqual([`${s.id}:fee`, `${s.id}:pay`]);
    const other = await setupPaymentsWorld(h);
    const ownerToken = await h.userToken('merchant_owner', h.bankId, other.merchant.partyId);
    const hidden = await h.app.inject({ method: 'GET', url: `/api/v1/payments/transactions/${s.id}`, headers: auth(ownerToken) });
    expect(hidden.statusCode).toBe(404);
    const ownList = await h.app.inject({ method: 'GET', url: '/api/v1/payments/transactions', headers: auth(ownerToken) });
    expect(ownList.json<{ items: unknown[] }>().items).toHaveLength(0);

    await h.db.updateTable('pay_merchants' as never).set({ status: 'suspended' } as never).where('party_id' as never, '=', other.merchant.partyId as never).execute();
    const r = await other.terminal.request<TxnReply>('POST', SALE, { clientId: cid(), amount: 100, card: { pan: other.card.pan, expiry: other.card.expiry }, pinBlock: await other.pinBlock() });
    expect(r.responseCode).toBe('03');
  });
});

