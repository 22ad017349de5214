/**
 * Other banks' cards through the engine with a scripted switch (the OffUsAuthorizer contract):
 * what reaches the ledger and what the switch is told, for each answer and each undoing. The
 * real link and simulator over TCP are tested in gateway/.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { createHarness, type Harness } from '../../test/harness.js';
import { luhnDigit } from '../gateway/switch-sim/index.js';
import { BANK_ACCOUNTS } from '../seed/bootstrap.js';
import type { OffUsAdvice, OffUsAnswer, OffUsAuthorizer, OffUsRequest, TxnReply } from './contracts.js';
import * as E from './engine.js';
import { sweepEngine } from './engine.js';
import { engineRequest, setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

let seq = 0;
const cid = (p = 'c'): string => `${p}-${process.pid}-${++seq}`;

const OFF_US_PAN = `621999000000000123${luhnDigit('621999000000000123')}`;

/** A scripted switch: answers from `next`, records every call and the store-and-forward queue. */
class FakeSwitch implements OffUsAuthorizer {
  next: (r: OffUsRequest) => OffUsAnswer = () => ({ outcome: 'answered', code: '00', authCode: 'SW0001' });
  /** What recover() answers, per txn id (the link's journal). */
  recorded = new Map<string, OffUsAnswer>();
  requests: OffUsRequest[] = [];
  advices = new Map<string, OffUsAdvice & { state: 'held' | 'queued' | 'dropped' | 'sent'; attempts: number }>();
  recovers = 0;
  async authorize(r: OffUsRequest): Promise<OffUsAnswer> {
    this.requests.push(r);
    const a = this.next(r);
    this.recorded.set(r.txnId, a);
    return a;
  }
  async recover(txnId: string): Promise<OffUsAnswer> {
    this.recovers++;
    return this.recorded.get(txnId) ?? { outcome: 'unavailable' };
  }
  async queue(_trx: unknown, advice: OffUsAdvice): Promise<void> {
    if (!this.advices.has(advice.txnId)) this.advices.set(advice.txnId, { ...advice, state: 'held', attempts: 0 });
  }
  async release(_trx: unknown, txnId: string, send: boolean): Promise<void> {
    const a = this.advices.get(txnId);
    if (a?.state === 'held') a.state = send ? 'queued' : 'dropped';
  }
  async recallable(txnId: string): Promise<boolean> {
    const a = this.advices.get(txnId);
    return a?.state === 'queued' && a.attempts === 0;
  }
  async recall(_trx: unknown, txnId: string): Promise<boolean> {
    const a = this.advices.get(txnId);
    if (a?.state !== 'queued' || a.attempts > 0) return false;
    a.state = 'held';
    return true;
  }
  /** The forwarder tried the advice (the switch may have it now). */
  send(txnId: string): void {
    const a = this.advices.get(txnId);
    if (a) {
      a.attempts++;
      a.state = 'sent';
    }
  }
}

describe.each(DIALECTS)('off-us cards through the engine (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  const sw = new FakeSwitch();

  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h);
    h.payments.deps.offUs = sw;
  });
  beforeEach(() => {
    sw.next = () => ({ outcome: 'answered', code: '00', authCode: 'SW0001' });
  });
  afterAll(async () => {
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  const req = () => engineRequest(w, null);
  const card = { pan: OFF_US_PAN, expiry: '3012' };
  const sale = async (amount: number, clientId = cid('s')): Promise<TxnReply> => E.sale(h.payments.deps, req(), { clientId, amount, card, pinBlock: await w.pinBlock('147258', OFF_US_PAN) });
  const clearing = async (): Promise<number> => w.balanceOf(BANK_ACCOUNTS.switch_clearing);

  it('an approved sale posts clearing → receivable with the issuer’s auth code; the PIN goes to the switch', async () => {
    const before = { clearing: await clearing(), receivable: await w.balanceOf(w.merchant.receivable) };
    const r = await sale(10_000);
    expect(r).toMatchObject({ status: 'approved', responseCode: '00', authCode: 'SW0001', cardLast4: OFF_US_PAN.slice(-4), fee: 38 });
    const sent = sw.requests.at(-1)!;
    expect(sent).toMatchObject({ kind: 'sale', pan: OFF_US_PAN, amount: 10_000, terminalId: w.terminalId, txnId: r.id });
    expect(sent.pin?.format).toBe(4);
    // The clearing account is debit-normal: what the switch owes grows by the sale.
    expect((await clearing()) - before.clearing).toBe(10_000);
    expect((await w.balanceOf(w.merchant.receivable)) - before.receivable).toBe(10_000 - 38);
  });

  it('a decline, a lost answer and no link move nothing: 51, 98, 91', async () => {
    const before = await clearing();
    sw.next = () => ({ outcome: 'answered', code: '51', authCode: null });
    expect(await sale(500)).toMatchObject({ approved: false, responseCode: '51', status: 'declined' });
    sw.next = () => ({ outcome: 'unknown' });
    expect(await sale(500)).toMatchObject({ approved: false, responseCode: '98' });
    sw.next = () => ({ outcome: 'unavailable' });
    expect(await sale(500)).toMatchObject({ approved: false, responseCode: '91' });
    expect(await clearing()).toBe(before);
  });

  it('a retry of an answered sale is not sent again', async () => {
    const clientId = cid('retry');
    const first = await sale(700, clientId);
    const calls = sw.requests.length;
    expect(await sale(700, clientId)).toEqual(first);
    expect(sw.requests.length).toBe(calls);
  });

  it('a void, a reversal and a refund each queue the advice the switch must get, released once the ledger took it', async () => {
    const before = await clearing();
    const a = await sale(3_000);
    const v = await E.voidSale(h.payments.deps, req(), { clientId: cid('v'), originalId: a.id });
    expect(v).toMatchObject({ responseCode: '00', type: 'void' });
    expect(sw.advices.get(v.id)).toMatchObject({ kind: 'reversal', originalTxnId: a.id, amount: 3_000, state: 'queued' });

    const b = await sale(4_000);
    const rev = await E.reversal(h.payments.deps, req(), { clientId: cid('r'), originalClientId: b.clientId });
    expect(rev.responseCode).toBe('00');
    expect(sw.advices.get(rev.id)).toMatchObject({ kind: 'reversal', originalTxnId: b.id, amount: 4_000, state: 'queued' });
    expect(await clearing()).toBe(before);

    const c = await sale(5_000);
    const ref = await E.refund(h.payments.deps, req(), { clientId: cid('f'), originalId: c.id, amount: 1_500 });
    expect(ref.responseCode).toBe('00');
    expect(sw.advices.get(ref.id)).toMatchObject({ kind: 'refund', originalTxnId: c.id, amount: 1_500, state: 'queued' });
    expect((await clearing()) - before).toBe(5_000 - 1_500);
    // Partly refunded at the switch: a whole reversal would undo more than is left.
    const late = await E.reversal(h.payments.deps, req(), { clientId: cid('r'), originalClientId: c.clientId });
    expect(late.responseCode).toBe('22');
  });

  it('a reversal of a void whose advice is still queued recalls it: the sale stands again at the switch and in our ledger', async () => {
    const before = { clearing: await clearing(), receivable: await w.balanceOf(w.merchant.receivable) };
    const a = await sale(6_000);
    const charged = { clearing: await clearing(), receivable: await w.balanceOf(w.merchant.receivable) };
    const v = await E.voidSale(h.payments.deps, req(), { clientId: cid('v'), originalId: a.id });
    expect(sw.advices.get(v.id)).toMatchObject({ kind: 'reversal', originalTxnId: a.id, state: 'queued' });
    expect({ clearing: await clearing(), receivable: await w.balanceOf(w.merchant.receivable) }).toEqual(before);
    const body = { clientId: cid('rv'), originalClientId: v.clientId };
    const rev = await E.reversal(h.payments.deps, req(), body);
    expect(rev).toMatchObject({ responseCode: '00', amount: 6_000, fee: a.fee, originalId: v.id });
    // The switch never hears of the void; no advice is made for the reversal itself.
    expect(sw.advices.get(v.id)?.state).toBe('dropped');
    expect(sw.advices.has(rev.id)).toBe(false);
    expect({ clearing: await clearing(), receivable: await w.balanceOf(w.merchant.receivable) }).toEqual(charged);
    expect((await E.transactionByClient(h.payments.deps, w.terminalId, a.clientId))?.status).toBe('approved');
    expect(await E.reversal(h.payments.deps, req(), body)).toEqual(rev);
    expect((await h.ledger.verify()).ok).toBe(true);
  });

  it('a reversal of a void whose advice the switch may have seen is acknowledged; the void stands and staff get the case', async () => {
    const before = await clearing();
    const a = await sale(2_200);
    const v = await E.voidSale(h.payments.deps, req(), { clientId: cid('v'), originalId: a.id });
    sw.send(v.id);
    const rev = await E.reversal(h.payments.deps, req(), { clientId: cid('rv'), originalClientId: v.clientId });
    expect(rev).toMatchObject({ responseCode: '00', approved: true, amount: 0 });
    expect(await clearing()).toBe(before);
    expect((await E.transactionByClient(h.payments.deps, w.terminalId, a.clientId))?.status).toBe('voided');
    expect((await E.transactionByClient(h.payments.deps, w.terminalId, v.clientId))?.status).toBe('approved');
    const cases = (await h.db.selectFrom('pay_recon_exceptions' as never).selectAll().where('host_txn_id' as never, '=', v.id as never).execute()) as { kind: string }[];
    expect(cases.map((c) => c.kind)).toEqual(['void_reversal_offus']);
    // Without a switch link nothing can be recalled either.
    const b = await sale(1_000);
    const v2 = await E.voidSale(h.payments.deps, req(), { clientId: cid('v'), originalId: b.id });
    h.payments.deps.offUs = undefined;
    try {
      expect(await E.reversal(h.payments.deps, req(), { clientId: cid('rv'), originalClientId: v2.clientId })).toMatchObject({ responseCode: '00', amount: 0 });
    } finally {
      h.payments.deps.offUs = sw;
    }
    expect(sw.advices.get(v2.id)?.state).toBe('queued');
    expect(await clearing()).toBe(before);
    expect((await h.ledger.verify()).ok).toBe(true);
  });

  it('a reversal of a refund whose advice is still queued recalls it; one the switch may have seen is acknowledged and listed for staff', async () => {
    const a = await sale(8_000);
    const charged = { clearing: await clearing(), receivable: await w.balanceOf(w.merchant.receivable) };
    const f = await E.refund(h.payments.deps, req(), { clientId: cid('f'), originalId: a.id, amount: 3_000 });
    expect(f.responseCode).toBe('00');
    expect(sw.advices.get(f.id)).toMatchObject({ kind: 'refund', state: 'queued' });
    const body = { clientId: cid('rv'), originalClientId: f.clientId };
    const rev = await E.reversal(h.payments.deps, req(), body);
    expect(rev).toMatchObject({ responseCode: '00', amount: 3_000, fee: f.fee, originalId: f.id });
    // The switch never hears of the refund; no advice is made for the reversal itself.
    expect(sw.advices.get(f.id)?.state).toBe('dropped');
    expect(sw.advices.has(rev.id)).toBe(false);
    expect({ clearing: await clearing(), receivable: await w.balanceOf(w.merchant.receivable) }).toEqual(charged);
    expect(await E.reversal(h.payments.deps, req(), body)).toEqual(rev);
    // Nothing refunded any more: the sale can be reversed whole at the switch again.
    expect((await E.transactionByClient(h.payments.deps, w.terminalId, a.clientId))?.status).toBe('approved');

    // A second refund whose advice went out: acknowledged, nothing undone, the refund stands, staff get the case.
    const g = await E.refund(h.payments.deps, req(), { clientId: cid('f'), originalId: a.id, amount: 1_000 });
    sw.send(g.id);
    const refunded = await clearing();
    const late = await E.reversal(h.payments.deps, req(), { clientId: cid('rv'), originalClientId: g.clientId });
    expect(late).toMatchObject({ responseCode: '00', approved: true, amount: 0 });
    expect(await clearing()).toBe(refunded);
    expect((await E.transactionByClient(h.payments.deps, w.terminalId, g.clientId))?.status).toBe('approved');
    const cases = (await h.db.selectFrom('pay_recon_exceptions' as never).selectAll().where('host_txn_id' as never, '=', g.id as never).execute()) as { kind: string }[];
    expect(cases.map((c) => c.kind)).toEqual(['refund_reversal_offus']);
    expect((await h.ledger.verify()).ok).toBe(true);
  });

  it('a claimed sale whose process died is finished from what the switch link recorded, never sent again', async () => {
    // The authorisation happened and was recorded, but the engine never finished the row.
    const stuck = new FakeSwitch();
    stuck.authorize = async (r) => {
      stuck.requests.push(r);
      stuck.recorded.set(r.txnId, { outcome: 'answered', code: '00', authCode: 'SW0777' });
      throw new Error('process died');
    };
    h.payments.deps.offUs = stuck;
    const clientId = cid('crash');
    try {
      await expect(sale(900, clientId)).rejects.toThrow('process died');
      const retry = await sale(900, clientId);
      expect(retry).toMatchObject({ responseCode: '00', authCode: 'SW0777', amount: 900 });
      expect(stuck.requests.length).toBe(1);
      expect(stuck.recovers).toBe(1);
      // A second crash, nothing recorded: the sweep declines it once the claim is stale.
      stuck.recorded.clear();
      stuck.authorize = async () => {
        throw new Error('process died');
      };
      await expect(sale(901, cid('crash2'))).rejects.toThrow('process died');
      const realNow = h.payments.deps.now;
      h.payments.deps.now = () => realNow() + 60_000_000;
      try {
        expect((await sweepEngine(h.payments.deps)).settled).toBeGreaterThanOrEqual(1);
      } finally {
        h.payments.deps.now = realNow;
      }
    } finally {
      h.payments.deps.offUs = sw;
    }
  });

  it('a staff reversal declined for want of a switch can be done again once the switch is back', async () => {
    const s = await sale(2_500);
    h.payments.deps.offUs = undefined;
    try {
      const refused = await E.reverseHostTransaction(h.payments.deps, s.id, 'staff');
      expect(refused.responseCode).toBe('91');
    } finally {
      h.payments.deps.offUs = sw;
    }
    const again = await E.reverseHostTransaction(h.payments.deps, s.id, 'staff');
    expect(again.responseCode).toBe('00');
    expect(sw.advices.get(again.id)).toMatchObject({ kind: 'reversal', originalTxnId: s.id, state: 'queued' });
    // And once done, doing it again reverses nothing more.
    const third = await E.reverseHostTransaction(h.payments.deps, s.id, 'staff');
    expect(third.id).toBe(again.id);
  });

  it('sends the terminal’s own ISO 8583 numbers when it has them', async () => {
    await E.sale(h.payments.deps, { ...req(), refs: { terminal: 'P0000001', merchant: '123456789012345' } }, { clientId: cid('refs'), amount: 300, card });
    expect(sw.requests.at(-1)).toMatchObject({ terminalRef: 'P0000001', merchantRef: '123456789012345', pin: undefined });
  });

  it('asks the switch for an off-us balance; pre-authorisation of other banks’ cards is not offered (58)', async () => {
    sw.next = () => ({ outcome: 'answered', code: '00', authCode: null, balance: 123_456 });
    const b = await E.balance(h.payments.deps, req(), { clientId: cid('b'), card, pinBlock: await w.pinBlock('147258', OFF_US_PAN) });
    expect(b).toMatchObject({ responseCode: '00', balance: 123_456 });
    const p = await E.preauth(h.payments.deps, req(), { clientId: cid('p'), amount: 100, card, pinBlock: await w.pinBlock('147258', OFF_US_PAN) });
    expect(p.responseCode).toBe('58');
  });
});
