/**
 * The switch link against the real simulator over TCP, on both databases: authorisation
 * (approved, declined, PIN translated), timeouts and late answers reversed through store and
 * forward, refund advices, recover(), queue/release in the caller's transaction, cut-over.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { createHarness, type Harness } from '../../../test/harness.js';
import type { KeyHandle } from '../../crypto/index.js';
import { makePinBlock } from '../../payments/card-access.js';
import type { OffUsRequest } from '../../payments/contracts.js';
import { newId } from '../../platform/ids.js';
import type { SimCard } from '../switch-sim/index.js';
import type { SwitchLink } from './link.js';
import { PAN_PURPOSE, type SafRow, type SwitchTables, type SwitchTxnRow } from './tables.js';
import { connectLink, startTestSwitch, type TestSwitch, waitFor } from './test-support.js';

const TIMEOUT_MS = 1_500;
const SAF_RETRY_MS = 200;
const TPK_HEX = '00112233445566778899AABBCCDDEEFF';

describe.each(DIALECTS)('switch link against the simulator (%s)', (dialect) => {
  let sw: TestSwitch;
  let h: Harness;
  let link: SwitchLink;
  let db: Kysely<SwitchTables>;
  let tpk: KeyHandle;
  let cardNo = 0;

  beforeAll(async () => {
    sw = await startTestSwitch({ cards: 50, balance: 1_000_000, lateMs: TIMEOUT_MS + 700 });
    h = await createHarness(dialect, {
      XIAOWEI_SWITCH_URL: sw.url,
      XIAOWEI_SWITCH_TIMEOUT_MS: String(TIMEOUT_MS),
      XIAOWEI_SAF_RETRY_MS: String(SAF_RETRY_MS),
    });
    db = h.gateway.deps.db as Kysely<SwitchTables>;
    link = await connectLink(h, sw.zmkComponents);
    tpk = await h.crypto.importComponents('TPK', 'AES128', [TPK_HEX]);
  });
  afterAll(async () => {
    await h?.close();
    await sw?.close();
  });

  /** A card of the simulator no other test touched. */
  const freshCard = (): SimCard => sw.sim.cards()[cardNo++]!;
  const request = (card: SimCard, extra: Partial<OffUsRequest> = {}): OffUsRequest => ({
    txnId: newId(),
    kind: 'sale',
    pan: card.pan,
    expiry: card.expiry,
    amount: 1_000,
    pin: { block: Buffer.from(makePinBlock(card.pin, card.pan, TPK_HEX), 'hex'), key: tpk, format: 4 },
    terminalId: 'terminal-1',
    merchantPartyId: 'merchant-1',
    mcc: '5411',
    at: h.gateway.deps.now(),
    ...extra,
  });
  const journal = async (txnId: string): Promise<SwitchTxnRow | undefined> =>
    db.selectFrom('gw_switch_txns').selectAll().where('txn_id', '=', txnId).executeTakeFirst();
  const saf = async (txnId: string): Promise<SafRow | undefined> => db.selectFrom('gw_saf').selectAll().where('txn_id', '=', txnId).executeTakeFirst();
  const acknowledged = (txnId: string): Promise<SafRow | undefined> => waitFor(() => saf(txnId), (r) => r?.state === 'acknowledged', `${txnId} acknowledged`);

  it('approves a sale: journal approved with the auth code and settlement date, the card debited at the switch', async () => {
    const card = freshCard();
    const before = sw.sim.cardBalance(card.pan)!;
    const req = request(card, { amount: 12_345 });
    const answer = await link.authorize(req);
    expect(answer).toMatchObject({ outcome: 'answered', code: '00' });
    expect(answer.outcome === 'answered' && answer.authCode).toMatch(/^\d{6}$/);
    expect(sw.sim.cardBalance(card.pan)).toBe(before - 12_345);
    const row = (await journal(req.txnId))!;
    expect(row).toMatchObject({ state: 'approved', kind: 'sale', response_code: '00', settlement_date: sw.sim.settlementDate, acquirer_id: '04581000' });
    expect(Number(row.amount)).toBe(12_345);
    expect(row.rrn).toMatch(/^[0-9A-Z]{12}$/);
    expect(row.stan).toMatch(/^\d{6}$/);
    expect(row.transmitted_at).toMatch(/^\d{10}$/);
    expect(row.terminal_ref).toHaveLength(8);
    expect(row.merchant_ref).toHaveLength(15);
    // The PAN is only sealed and masked in the journal.
    expect(row.pan_masked).toBe(`${card.pan.slice(0, 6)}${'*'.repeat(card.pan.length - 10)}${card.pan.slice(-4)}`);
    expect(row.pan_sealed).not.toContain(card.pan.slice(6, -4));
    expect(h.secrets.decrypt(PAN_PURPOSE, row.pan_sealed!)).toBe(card.pan);
  });

  it('answers the issuer’s declines with our codes: 51 insufficient, 33 for a wrong expiry (54), 14 unknown card, 55 wrong PIN', async () => {
    const poor = freshCard();
    sw.sim.setCardBalance(poor.pan, 500);
    expect(await link.authorize(request(poor, { amount: 501 }))).toEqual({ outcome: 'answered', code: '51', authCode: null });
    expect(sw.sim.cardBalance(poor.pan)).toBe(500);

    const card = freshCard();
    expect(await link.authorize(request(card, { expiry: '2901' }))).toEqual({ outcome: 'answered', code: '33', authCode: null });
    const unknownPan = `${card.pan.slice(0, -1)}${(Number(card.pan.slice(-1)) + 5) % 10}`;
    expect(await link.authorize(request(card, { pan: unknownPan, pin: undefined }))).toMatchObject({ outcome: 'answered', code: '14' });

    // The PIN is translated from the terminal's key to the ZPK; the simulator checks it.
    const wrong = request(card, { pin: { block: Buffer.from(makePinBlock(card.pin === '123456' ? '654321' : '123456', card.pan, TPK_HEX), 'hex'), key: tpk, format: 4 } });
    expect(await link.authorize(wrong)).toMatchObject({ outcome: 'answered', code: '55' });
    expect(await journal(wrong.txnId)).toMatchObject({ state: 'declined', response_code: '55', auth_code: null });
    expect(await link.authorize(request(card))).toMatchObject({ outcome: 'answered', code: '00' });
  });

  it('answers a balance inquiry with the balance and no reversal when it times out', async () => {
    const card = freshCard();
    sw.sim.setCardBalance(card.pan, 777_777);
    expect(await link.authorize(request(card, { kind: 'balance', amount: 0 }))).toEqual({ outcome: 'answered', code: '00', authCode: null, balance: 777_777 });
    sw.sim.failNext(1, 'drop');
    const lost = request(card, { kind: 'balance', amount: 0 });
    expect(await link.authorize(lost)).toEqual({ outcome: 'unknown' });
    expect(await journal(lost.txnId)).toMatchObject({ state: 'unknown' });
    expect(await saf(`${lost.txnId}:rev`)).toBeUndefined();
  });

  it('reverses a sale whose answer did not come: journal unknown, reversal 98 queued and acknowledged, the card restored', async () => {
    const card = freshCard();
    const before = sw.sim.cardBalance(card.pan)!;
    sw.sim.failNext(1, 'drop');
    const req = request(card, { amount: 4_321 });
    expect(await link.authorize(req)).toEqual({ outcome: 'unknown' });
    expect(await journal(req.txnId)).toMatchObject({ state: 'unknown' });
    const rev = await acknowledged(`${req.txnId}:rev`);
    const row = (await journal(req.txnId))!;
    expect(rev).toMatchObject({ kind: 'reversal', reason: '98', original_txn_id: req.txnId, rrn: row.rrn, response_code: '00', settlement_date: sw.sim.settlementDate });
    expect(Number(rev!.amount)).toBe(4_321);
    expect(sw.sim.cardBalance(card.pan)).toBe(before);
    // Asked again, the link answers what it recorded and sends nothing.
    expect(await link.recover(req.txnId, req.at)).toEqual({ outcome: 'unknown' });
  });

  it('reverses a sale answered too late and notes the late answer', async () => {
    const card = freshCard();
    const before = sw.sim.cardBalance(card.pan)!;
    sw.sim.failNext(1, 'late');
    const req = request(card, { amount: 2_000 });
    expect(await link.authorize(req)).toEqual({ outcome: 'unknown' });
    await acknowledged(`${req.txnId}:rev`);
    const row = await waitFor(() => journal(req.txnId), (r) => r?.late_response_code === '00', 'the late answer');
    expect(row).toMatchObject({ state: 'unknown' });
    expect(sw.sim.cardBalance(card.pan)).toBe(before);
  });

  it('sends a reversal again, with a new STAN each time, until the switch acknowledges it', async () => {
    const card = freshCard();
    const before = sw.sim.cardBalance(card.pan)!;
    const reversalsBefore = sw.sim.stats().received['0400'] ?? 0;
    sw.sim.failNext(3, 'drop'); // the sale and the first two reversals
    const req = request(card, { amount: 3_000 });
    expect(await link.authorize(req)).toEqual({ outcome: 'unknown' });
    const rev = (await acknowledged(`${req.txnId}:rev`))!;
    expect(Number(rev.attempts)).toBe(3);
    expect(sw.sim.stats().received['0400']).toBe(reversalsBefore + 3);
    expect(sw.sim.cardBalance(card.pan)).toBe(before);
  });

  it('marks the sale unknown and queues its reversal when the link falls after the request was written', async () => {
    const other = await startTestSwitch({ cards: 5 });
    const h2 = await createHarness(dialect, { XIAOWEI_SWITCH_URL: other.url, XIAOWEI_SWITCH_TIMEOUT_MS: '10000', XIAOWEI_SAF_RETRY_MS: '200' });
    try {
      const link2 = await connectLink(h2, other.zmkComponents);
      const card = other.sim.cards()[0]!;
      const tpk2 = await h2.crypto.importComponents('TPK', 'AES128', [TPK_HEX]);
      other.sim.failNext(1, 'drop');
      const req = { ...request(card), pin: { block: Buffer.from(makePinBlock(card.pin, card.pan, TPK_HEX), 'hex'), key: tpk2, format: 4 as const }, at: h2.gateway.deps.now() };
      const pending = link2.authorize(req);
      await waitFor(async () => other.sim.stats().received['0200'] ?? 0, (n) => n === 1, 'the sale at the switch');
      await other.close();
      expect(await pending).toEqual({ outcome: 'unknown' });
      const db2 = h2.gateway.deps.db as Kysely<SwitchTables>;
      expect(await db2.selectFrom('gw_switch_txns').select('state').where('txn_id', '=', req.txnId).executeTakeFirst()).toEqual({ state: 'unknown' });
      expect(await db2.selectFrom('gw_saf').select(['state', 'reason']).where('txn_id', '=', `${req.txnId}:rev`).executeTakeFirst()).toEqual({ state: 'queued', reason: '98' });
      // Down: nothing more is sent, and new requests are refused at once.
      expect(await link2.authorize({ ...req, txnId: newId() })).toEqual({ outcome: 'unavailable' });
    } finally {
      await h2.close();
      await other.close().catch(() => undefined);
    }
  });

  it('sends refund advices: applied, more than the unrefunded amount rejected 13, unknown original rejected 25', async () => {
    const card = freshCard();
    const sale = request(card, { amount: 1_000 });
    expect(await link.authorize(sale)).toMatchObject({ outcome: 'answered', code: '00' });
    const afterSale = sw.sim.cardBalance(card.pan)!;

    const refund1 = newId();
    await db.transaction().execute(async (trx) => {
      await link.queue(trx, { txnId: refund1, kind: 'refund', originalTxnId: sale.txnId, amount: 400 });
      await link.release(trx, refund1, true);
    });
    const first = (await acknowledged(refund1))!;
    const saleRow = (await journal(sale.txnId))!;
    expect(first).toMatchObject({ kind: 'refund', reason: null, original_txn_id: sale.txnId, response_code: '00' });
    expect(first.rrn).toMatch(/^[0-9A-Z]{12}$/);
    expect(first.rrn).not.toBe(saleRow.rrn);
    expect(sw.sim.cardBalance(card.pan)).toBe(afterSale + 400);

    const refund2 = newId();
    await db.transaction().execute(async (trx) => {
      await link.queue(trx, { txnId: refund2, kind: 'refund', originalTxnId: sale.txnId, amount: 700 });
      await link.release(trx, refund2, true);
    });
    const second = await waitFor(() => saf(refund2), (r) => r?.state === 'rejected', 'refund rejected');
    expect(second).toMatchObject({ response_code: '13' });
    expect(sw.sim.cardBalance(card.pan)).toBe(afterSale + 400);

    // A journaled sale the switch never saw (as if its records were lost).
    const ghost = newId();
    await db
      .insertInto('gw_switch_txns')
      .values({ ...saleRow, id: newId(), txn_id: ghost, stan: '999998', rrn: 'GHOST0000001', transmitted_at: '0101000000' })
      .execute();
    const refund3 = newId();
    await db.transaction().execute(async (trx) => {
      await link.queue(trx, { txnId: refund3, kind: 'refund', originalTxnId: ghost, amount: 100 });
      await link.release(trx, refund3, true);
    });
    expect(await waitFor(() => saf(refund3), (r) => r?.state === 'rejected', 'refund rejected')).toMatchObject({ response_code: '25' });
  });

  it('holds an advice in the caller’s transaction: rolled back leaves nothing, released drop is never sent, released send is', async () => {
    const card = freshCard();
    const sale = request(card, { amount: 900 });
    expect(await link.authorize(sale)).toMatchObject({ outcome: 'answered', code: '00' });
    const afterSale = sw.sim.cardBalance(card.pan)!;

    const rolledBack = newId();
    await expect(
      db.transaction().execute(async (trx) => {
        await link.queue(trx, { txnId: rolledBack, kind: 'reversal', originalTxnId: sale.txnId, amount: 900 });
        await link.release(trx, rolledBack, true);
        throw new Error('the engine’s transaction failed');
      }),
    ).rejects.toThrow('failed');
    expect(await saf(rolledBack)).toBeUndefined();

    const dropped = newId();
    await db.transaction().execute((trx) => link.queue(trx, { txnId: dropped, kind: 'reversal', originalTxnId: sale.txnId, amount: 900 }));
    // Queued twice (a retried claim): still one row.
    await db.transaction().execute((trx) => link.queue(trx, { txnId: dropped, kind: 'reversal', originalTxnId: sale.txnId, amount: 900 }));
    expect(await saf(dropped)).toMatchObject({ state: 'held', reason: '17' });
    await link.forward();
    expect(await saf(dropped)).toMatchObject({ state: 'held', attempts: 0 });
    await db.transaction().execute((trx) => link.release(trx, dropped, false));
    expect(await saf(dropped)).toMatchObject({ state: 'dropped', attempts: 0 });
    await link.forward();
    expect(sw.sim.cardBalance(card.pan)).toBe(afterSale);

    const voided = newId();
    await db.transaction().execute((trx) => link.queue(trx, { txnId: voided, kind: 'reversal', originalTxnId: sale.txnId, amount: 900 }));
    await db.transaction().execute((trx) => link.release(trx, voided, true));
    const rev = (await acknowledged(voided))!;
    expect(rev).toMatchObject({ reason: '17', rrn: (await journal(sale.txnId))!.rrn });
    expect(sw.sim.cardBalance(card.pan)).toBe(afterSale + 900);
  });

  it('recover(): the recorded answer; an open call of this process awaited; an abandoned open row reversed; never-sent rows unavailable for good', async () => {
    const card = freshCard();
    const answered = request(card);
    const first = await link.authorize(answered);
    expect(await link.recover(answered.txnId, answered.at)).toEqual(first);

    // A call still open in this process: recover waits for it and gets the same outcome.
    sw.sim.failNext(1, 'drop');
    const slow = request(card);
    const call = link.authorize(slow);
    await waitFor(() => journal(slow.txnId), (r) => r?.state === 'open', 'the open row');
    expect(await link.recover(slow.txnId, slow.at)).toEqual({ outcome: 'unknown' });
    expect(await call).toEqual({ outcome: 'unknown' });
    await acknowledged(`${slow.txnId}:rev`);

    // An open row left by a process that died after sending: reversed once its claim is old enough.
    const sold = request(card, { amount: 600 });
    const before = sw.sim.cardBalance(card.pan)!;
    expect(await link.authorize(sold)).toMatchObject({ outcome: 'answered', code: '00' });
    await db.updateTable('gw_switch_txns').set({ state: 'open', response_code: null, auth_code: null }).where('txn_id', '=', sold.txnId).execute();
    const old = h.gateway.deps.now() - (TIMEOUT_MS + 2_000) * 1000;
    expect(await link.recover(sold.txnId, old)).toEqual({ outcome: 'unknown' });
    await acknowledged(`${sold.txnId}:rev`);
    expect(sw.sim.cardBalance(card.pan)).toBe(before);

    // The same while young: recover waits out the timeout, then gives up the same way.
    const young = request(card, { amount: 50 });
    expect(await link.authorize(young)).toMatchObject({ outcome: 'answered' });
    await db.updateTable('gw_switch_txns').set({ state: 'open' }).where('txn_id', '=', young.txnId).execute();
    expect(await link.recover(young.txnId, h.gateway.deps.now())).toEqual({ outcome: 'unknown' });
    expect(await saf(`${young.txnId}:rev`)).toBeDefined();

    // 'unknown' without its reversal (cannot happen through the link; recover repairs it anyway).
    const bare = request(card, { amount: 70 });
    expect(await link.authorize(bare)).toMatchObject({ outcome: 'answered' });
    await db.updateTable('gw_switch_txns').set({ state: 'unknown' }).where('txn_id', '=', bare.txnId).execute();
    expect(await link.recover(bare.txnId, bare.at)).toEqual({ outcome: 'unknown' });
    expect(await saf(`${bare.txnId}:rev`)).toMatchObject({ reason: '98' });

    // Never journaled and older than the timeout: unavailable, and an authorize arriving later
    // for it does not send.
    const ghost = request(card);
    const sent = sw.sim.stats().received['0200'] ?? 0;
    expect(await link.recover(ghost.txnId, old)).toEqual({ outcome: 'unavailable' });
    expect(await link.authorize(ghost)).toEqual({ outcome: 'unavailable' });
    expect(sw.sim.stats().received['0200'] ?? 0).toBe(sent);
  });

  it('does not send a request whose claim is older than the switch timeout', async () => {
    const card = freshCard();
    const sent = sw.sim.stats().received['0200'] ?? 0;
    const stale = request(card, { at: h.gateway.deps.now() - (TIMEOUT_MS + 1) * 1000 });
    expect(await link.authorize(stale)).toEqual({ outcome: 'unavailable' });
    expect(await journal(stale.txnId)).toMatchObject({ state: 'unavailable' });
    expect(sw.sim.stats().received['0200'] ?? 0).toBe(sent);
  });

  it('takes the new settlement date at cut-over', async () => {
    const { next } = await sw.sim.cutover();
    await waitFor(() => link.status(), (s) => s.settlementDate === next, 'the new settlement date');
    const card = freshCard();
    const req = request(card);
    expect(await link.authorize(req)).toMatchObject({ outcome: 'answered', code: '00' });
    expect(await journal(req.txnId)).toMatchObject({ settlement_date: next });
  });
});
