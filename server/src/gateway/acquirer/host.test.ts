import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../../test/harness.js';
import { keyCheckValue } from '../../crypto/kcv.js';
import { xor } from '../../crypto/primitives.js';
import { setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { FrameDecoder, encodeFrame, resolveFraming } from '../channel/index.js';
import { CUP_POS, getBytes, getString, pack, unpack } from '../iso8583/index.js';
import { PosClient } from './pos-client.js';
import { registerPos, type RegisteredPos } from './test-support.js';

describe.each(DIALECTS)('acquirer host for conventional POS (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let port: number;
  let reg: RegisteredPos;
  let pos: PosClient;
  const clients: PosClient[] = [];

  const connect = async (tid: string, mid: string): Promise<PosClient> => {
    const c = await PosClient.connect('127.0.0.1', port, { tid, mid, timeoutMs: 20_000 });
    clients.push(c);
    return c;
  };
  const available = async (id: string): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([id]);
    return a!.credits_posted - a!.debits_posted - a!.debits_pending;
  };
  const card = (pin: string | undefined = undefined) => ({ pan: w.card.pan, expiry: w.card.expiry, pin: pin ?? w.card.pin });
  const pdb = () => h.payments.deps.db;
  const rowOf = async (terminalId: string, clientId: string) =>
    pdb().selectFrom('pay_transactions').selectAll().where('client_scope', '=', terminalId).where('client_id', '=', clientId).executeTakeFirst() as Promise<
      { id: string; status: string; response_code: string; amount: number | string; type: string } | undefined
    >;

  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h, { customers: 2, cardLimits: { per_txn_limit: 500_000, daily_limit: 5_000_000 } });
    port = await h.gateway.acquirer.listen(0, '127.0.0.1');
    reg = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    pos = await connect(reg.tid, reg.mid);
    const signedOn = await pos.signOn(reg.tmkHex);
    expect(signedOn.code).toBe('00');
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  it('sign-on sends TPK and TAK under the TMK: the terminal decrypts them and their check values match; 60.2 is the open batch', async () => {
    const c = await connect(reg.tid, reg.mid);
    const r = await c.signOn(reg.tmkHex);
    expect(r.code).toBe('00');
    expect(r.keysValid).toBe(true);
    expect(r.tpkKcv).toMatch(/^[0-9A-F]{6}$/);
    expect(getBytes(r.answer, 62)).toHaveLength(38);
    expect(getBytes(r.answer, 64)).toBeUndefined();
    // A wrong TMK cannot read the keys.
    const wrong = await c.signOn('0123456789ABCDEFFEDCBA9876543210');
    expect(wrong.keysValid).toBe(false);
    // The last sign-on wins: the first client's keys are stale now, so it signs on again.
    const view = await h.app.inject({ method: 'GET', url: `/api/v1/gateway/pos-terminals/${reg.terminalId}`, headers: auth(h.adminToken) });
    expect(view.json<{ session: { batch_no: number } | null }>().session?.batch_no).toBe(c.batchNo);
    expect((await pos.signOn(reg.tmkHex)).keysValid).toBe(true);
  });

  it('approves an on-us sale: the ledger moves, the answer is MAC-signed with RRN and auth code, the row shows in the staff API', async () => {
    const before = { customer: await available(w.customerAccount), receivable: await w.balanceOf(w.merchant.receivable) };
    const r = await pos.sale({ ...card(), amount: 12_345 });
    expect(r.code).toBe('00');
    expect(r.macValid).toBe(true);
    expect(r.rrn).toMatch(/^[0-9A-Z]{12}$/);
    expect(r.authCode).toMatch(/^\d{6}$/);
    expect(r.answer.mti).toBe('0210');
    expect(r.answer.tpdu).toEqual({ destination: '0000', source: '0006' });
    expect(r.answer.header).toBe('603100311003');
    expect(getString(r.answer, 32)).toBe(h.gateway.deps.config.XIAOWEI_ACQUIRER_ID);
    expect(await available(w.customerAccount)).toBe(before.customer - 12_345);
    expect(await w.balanceOf(w.merchant.receivable)).toBe(before.receivable + 12_345 - 47);
    const list = await h.app.inject({ method: 'GET', url: `/api/v1/payments/transactions?terminal_id=${reg.terminalId}`, headers: auth(h.adminToken) });
    const items = list.json<{ items: { client_id: string; amount: number; status: string; trace_no: number }[] }>().items;
    expect(items.find((t) => t.client_id === `iso:${r.batch}:${r.stan}`)).toMatchObject({ amount: 12_345, status: 'approved', trace_no: Number(r.stan) });
  });

  it('a retried request (same batch and STAN) gets the stored answer and moves money once; other fields under them answer 94', async () => {
    const first = await pos.sale({ ...card(), amount: 2_000 });
    const before = await available(w.customerAccount);
    const again = await pos.send(first.request);
    expect(again.code).toBe('00');
    expect([again.rrn, again.authCode]).toEqual([first.rrn, first.authCode]);
    expect(await available(w.customerAccount)).toBe(before);
    const other = pos.financial('sale', [[4, '000000002001'], [2, w.card.pan], [14, w.card.expiry], [22, '022']], first.stan);
    const dup = await pos.send(other);
    expect(dup.code).toBe('94');
    expect(await available(w.customerAccount)).toBe(before);
  });

  it('accepts the card as track 2', async () => {
    const r = await pos.sale({ ...card(), amount: 300, track2: true });
    expect(r.code).toBe('00');
  });

  it('declines a wrong PIN with 55 and moves nothing', async () => {
    const before = await available(w.customerAccount);
    const r = await pos.sale({ ...card('999999'), amount: 500 });
    expect(r.code).toBe('55');
    expect(r.macValid).toBe(true);
    expect(r.authCode).toBeUndefined();
    expect(await available(w.customerAccount)).toBe(before);
    // Reset the tries the wrong PIN cost, so later tests are not near the limit.
    await pdb().updateTable('pay_cards').set({ pin_tries: 0 }).where('id', '=', w.card.id).execute();
  });

  it('answers a bad or missing MAC with A0, unsigned, and does nothing', async () => {
    const before = await available(w.customerAccount);
    const corrupt = await pos.send(pos.financial('sale', [[4, '000000000700'], [2, w.card.pan], [14, w.card.expiry], [22, '022']]), 'corrupt');
    expect(corrupt.code).toBe('A0');
    expect(getBytes(corrupt.answer, 64)).toBeUndefined();
    expect(await rowOf(reg.terminalId, `iso:${corrupt.batch}:${corrupt.stan}`)).toBeUndefined();
    const unsigned = pos.financial('sale', [[4, '000000000700'], [2, w.card.pan], [14, w.card.expiry], [22, '022']]);
    unsigned.fields.delete(64);
    const missing = await pos.send(unsigned);
    expect(missing.code).toBe('A0');
    expect(await available(w.customerAccount)).toBe(before);
  });

  it('refuses an unregistered terminal id with 97 without touching the engine', async () => {
    const stranger = await connect('NOSUCH01', reg.mid);
    const r = await stranger.signOn(reg.tmkHex);
    expect(r.code).toBe('97');
    const sale = await stranger.send(stranger.financial('sale', [[4, '000000000100'], [2, w.card.pan], [14, w.card.expiry], [22, '022']]), 'none');
    expect(sale.code).toBe('97');
    expect(await rowOf('NOSUCH01', `iso:${sale.batch}:${sale.stan}`)).toBeUndefined();
  });

  it('refuses a merchant number that is not the terminal’s with 03', async () => {
    const c = await connect(reg.tid, '999999999999999');
    expect((await c.signOn(reg.tmkHex)).code).toBe('03');
  });

  it('voids a sale in full (61 = its batch and STAN): the money goes back; a wrong amount is 64, an unknown original 25', async () => {
    const before = await available(w.customerAccount);
    const sale = await pos.sale({ ...card(), amount: 8_800 });
    expect(sale.code).toBe('00');
    expect((await pos.void({ original: sale, amount: 8_000 })).code).toBe('64');
    expect((await pos.void({ original: { batch: sale.batch, stan: '999998' }, amount: 8_800 })).code).toBe('25');
    const v = await pos.void({ original: sale, amount: 8_800 });
    expect(v.code).toBe('00');
    expect(v.macValid).toBe(true);
    expect(await available(w.customerAccount)).toBe(before);
    expect((await rowOf(reg.terminalId, `iso:${sale.batch}:${sale.stan}`))?.status).toBe('voided');
  });

  it('refunds part of a sale (0220), and refuses more than is left', async () => {
    const sale = await pos.sale({ ...card(), amount: 10_000 });
    const before = await available(w.customerAccount);
    const r = await pos.refund({ original: sale, amount: 4_000 });
    expect(r.code).toBe('00');
    expect(r.answer.mti).toBe('0230');
    expect(await available(w.customerAccount)).toBe(before + 4_000);
    expect((await pos.refund({ original: sale, amount: 6_001 })).code).toBe('64');
  });

  it('answers a balance inquiry with the available balance in 54', async () => {
    const r = await pos.balance(card());
    expect(r.code).toBe('00');
    expect(r.balance).toBe(await available(w.customerAccount));
    const noPin = await pos.balance({ pan: w.card.pan, expiry: w.card.expiry });
    expect(noPin.code).toBe('55');
  });

  it('pre-authorises, completes within 115 % and voids the completion', async () => {
    const start = await available(w.customerAccount);
    const pre = await pos.preauth({ ...card(), amount: 10_000 });
    expect(pre.code).toBe('00');
    expect(pre.answer.mti).toBe('0110');
    expect(await available(w.customerAccount)).toBe(start - 10_000);
    expect((await pos.completion({ original: pre, amount: 11_501 })).code).toBe('61');
    const done = await pos.completion({ original: pre, amount: 11_000 });
    expect(done.code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start - 11_000);
    const undone = await pos.completionVoid({ original: done, amount: 11_000 });
    expect(undone.code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start);
    // A pre-auth void releases a hold.
    const pre2 = await pos.preauth({ ...card(), amount: 3_000 });
    expect((await pos.preauthVoid({ original: pre2, amount: 3_000 })).code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start);
  });

  it('reverses a sale (0400 with its STAN and batch); a reversal that arrives first makes the late original decline', async () => {
    const before = await available(w.customerAccount);
    const sale = await pos.sale({ ...card(), amount: 6_600 });
    const rev = await pos.reversal(sale.request);
    expect(rev.code).toBe('00');
    expect(rev.answer.mti).toBe('0410');
    expect(rev.stan).toBe(sale.stan);
    expect(await available(w.customerAccount)).toBe(before);
    expect((await pos.reversal(sale.request)).code).toBe('00');

    const lost = pos.financial('sale', [[4, '000000007700'], [2, w.card.pan], [14, w.card.expiry], [22, '022']]);
    expect((await pos.reversal(lost)).code).toBe('00');
    const late = await pos.send(lost);
    expect(late.code).not.toBe('00');
    expect(await available(w.customerAccount)).toBe(before);
  });

  it('reverses a sale void, a pre-auth void and a completion void (0400 naming the void): what it voided stands again', async () => {
    const start = await available(w.customerAccount);
    const sale = await pos.sale({ ...card(), amount: 5_500 });
    const v = await pos.void({ original: sale, amount: 5_500 });
    expect(v.code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start);
    expect((await pos.reversal(v.request)).code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start - 5_500);
    expect((await rowOf(reg.terminalId, `iso:${sale.batch}:${sale.stan}`))?.status).toBe('approved');
    expect((await rowOf(reg.terminalId, `iso:${v.batch}:${v.stan}`))?.status).toBe('reversed');
    expect((await pos.reversal(v.request)).code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start - 5_500);

    const pre = await pos.preauth({ ...card(), amount: 2_000 });
    const pv = await pos.preauthVoid({ original: pre, amount: 2_000 });
    expect(pv.code).toBe('00');
    expect((await pos.reversal(pv.request)).code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start - 7_500);
    const done = await pos.completion({ original: pre, amount: 2_000 });
    expect(done.code).toBe('00');
    const cv = await pos.completionVoid({ original: done, amount: 2_000 });
    expect(cv.code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start - 5_500);
    expect((await pos.reversal(cv.request)).code).toBe('00');
    expect(await available(w.customerAccount)).toBe(start - 7_500);
  });

  it('reverses a refund (0400 naming the 0220): the customer is charged again, once; the sale can be refunded in full again', async () => {
    const sale = await pos.sale({ ...card(), amount: 9_000 });
    const charged = await available(w.customerAccount);
    const r = await pos.refund({ original: sale, amount: 3_000 });
    expect(r.code).toBe('00');
    expect(await available(w.customerAccount)).toBe(charged + 3_000);
    const rev = await pos.reversal(r.request);
    expect(rev.code).toBe('00');
    expect(rev.answer.mti).toBe('0410');
    expect(await available(w.customerAccount)).toBe(charged);
    expect((await rowOf(reg.terminalId, `iso:${r.batch}:${r.stan}`))?.status).toBe('reversed');
    expect((await rowOf(reg.terminalId, `iso:${sale.batch}:${sale.stan}`))?.status).toBe('approved');
    // The repeat (0401) of the same reversal changes nothing more.
    expect((await pos.reversal(r.request)).code).toBe('00');
    expect(await available(w.customerAccount)).toBe(charged);
    expect((await pos.refund({ original: sale, amount: 9_000 })).code).toBe('00');
    expect(await available(w.customerAccount)).toBe(charged + 9_000);
  });

  it('handles many requests in flight on one connection', async () => {
    const before = await available(w.customers[1]!.accountId);
    const c1 = w.customers[1]!.card;
    const results = await Promise.all(Array.from({ length: 30 }, () => pos.sale({ pan: c1.pan, expiry: c1.expiry, pin: c1.pin, amount: 100 })));
    expect(results.map((r) => r.code)).toEqual(results.map(() => '00'));
    expect(new Set(results.map((r) => r.rrn)).size).toBe(30);
    expect(await available(w.customers[1]!.accountId)).toBe(before - 3_000);
  });

  it('answers format errors with 30 and unknown processing codes with 12, signed', async () => {
    const noCard = await pos.send(pos.financial('sale', [[4, '000000000100']]));
    expect(noCard.code).toBe('30');
    expect(noCard.macValid).toBe(true);
    const zero = await pos.send(pos.financial('sale', [[4, '000000000000'], [2, w.card.pan], [14, w.card.expiry], [22, '022']]));
    expect(zero.code).toBe('13');
    const odd = pos.financial('sale', [[4, '000000000100']]);
    odd.fields.set(3, '400000');
    expect((await pos.send(odd)).code).toBe('12');
    const luhn = await pos.send(pos.financial('sale', [[4, '000000000100'], [2, `${w.card.pan.slice(0, -1)}${(Number(w.card.pan.slice(-1)) + 1) % 10}`], [14, w.card.expiry], [22, '022']]));
    expect(luhn.code).toBe('14');
  });

  it('settles a batch that balances, repeats the answer for a repeated 0500, and refuses a batch that is not open (77)', async () => {
    const other = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    const c = await connect(other.tid, other.mid);
    expect((await c.signOn(other.tmkHex)).keysValid).toBe(true);
    const batch = c.batch;
    const s1 = await c.sale({ ...card(), amount: 1_000 });
    const s2 = await c.sale({ ...card(), amount: 2_000 });
    await c.refund({ original: s1, amount: 500 });
    const voided = await c.sale({ ...card(), amount: 900 });
    await c.void({ original: voided, amount: 900 });
    expect(c.totals()).toEqual({ saleCount: 2, saleAmount: 3_000, refundCount: 1, refundAmount: 500 });
    const settled = await c.settle();
    expect(settled.code).toBe('00');
    expect(settled.balanced).toBe(true);
    expect(c.batch).not.toBe(batch);
    expect(s2.code).toBe('00');
    // The same 0500 again: the same answer, and the next batch stays open.
    const again = await c.send(settled.request);
    expect([again.code, getString(again.answer, 48)]).toEqual(['00', getString(settled.answer, 48)]);
    const next = await c.sale({ ...card(), amount: 100 });
    expect(next.code).toBe('00');
    expect(next.batch).toBe(c.batch);
    expect((await rowOf(other.terminalId, `iso:${next.batch}:${next.stan}`))?.status).toBe('approved');
    // A 0500 naming a batch the host does not have open.
    const stale = c.message('0500', [
      [11, c.nextStan()],
      [48, '0'.repeat(62)],
      [60, new Map([[1, '00'], [2, '000777'], [3, '201']])],
    ]);
    expect((await c.send(stale)).code).toBe('77');
  });

  it('settles a batch that does not balance, then takes its upload', async () => {
    const other = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    const c = await connect(other.tid, other.mid);
    expect((await c.signOn(other.tmkHex)).keysValid).toBe(true);
    for (let i = 0; i < 9; i++) expect((await c.sale({ ...card(), amount: 100 + i })).code).toBe('00');
    const batch = c.batch;
    const totals = c.totals();
    const settled = await c.settle({ ...totals, saleAmount: totals.saleAmount + 1 });
    expect(settled.code).toBe('00');
    expect(settled.balanced).toBe(false);
    expect(c.batch).toBe(batch);
    const up = await c.upload();
    expect(up.code).toBe('00');
    expect(c.batch).not.toBe(batch);
    const row = await pdb().selectFrom('pay_batches').select(['result']).where('terminal_id', '=', other.terminalId).where('batch_no', '=', Number(batch)).executeTakeFirst();
    expect(row?.result).toBe('uploaded');
    const lines = await pdb().selectFrom('pay_batch_lines').select(['client_id', 'txn_id']).where('terminal_id', '=', other.terminalId).execute();
    expect(lines).toHaveLength(9);
    expect(lines.every((l: { txn_id: string | null }) => l.txn_id !== null)).toBe(true);
    // The closing 0320 again answers 00 and uploads nothing twice.
    expect((await c.send(up.request)).code).toBe('00');
  });

  it('survives garbage: frames that do not decode get no answer, the connection keeps serving, an oversized frame closes only its connection', async () => {
    const framing = resolveFraming();
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const answers: Buffer[] = [];
    const decoder = new FrameDecoder(framing);
    socket.on('data', (chunk) => {
      decoder.push(chunk, (f) => answers.push(f));
    });
    const junk: Buffer[] = [Buffer.from('not iso 8583 at all'), Buffer.alloc(40, 0xff), Buffer.from([0x60, 0, 6, 0, 0])];
    for (let i = 0; i < 200; i++) junk.push(Buffer.from(Array.from({ length: 20 + (i % 60) }, (_, k) => (i * 31 + k * 17) & 0xff)));
    // A real request cut short, and one with a byte too many.
    const real = pack(CUP_POS, pos.financial('sale', [[4, '000000000100'], [2, w.card.pan], [14, w.card.expiry], [22, '022']]));
    junk.push(real.subarray(0, real.length - 5), Buffer.concat([real, Buffer.from([0])]));
    for (const j of junk) socket.write(encodeFrame(j, framing));
    const echo = pos.message('0820', [[11, '000999'], [60, new Map([[1, '00'], [2, pos.batch], [3, '301']])]]);
    socket.write(encodeFrame(pack(CUP_POS, echo), framing));
    await vi.waitFor(() => expect(answers).toHaveLength(1), { timeout: 10_000 });
    const answer = unpack(CUP_POS, answers[0]!);
    expect([answer.mti, getString(answer, 39), getString(answer, 11)]).toEqual(['0830', '00', '000999']);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await closed;
    expect((await pos.echo()).code).toBe('00');
    expect((await pos.sale({ ...card(), amount: 100 })).code).toBe('00');
  });

  it('a sign-off ends the session: financial requests get 97 until the next sign-on', async () => {
    const other = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    const c = await connect(other.tid, other.mid);
    expect((await c.signOn(other.tmkHex)).keysValid).toBe(true);
    expect((await c.signOff()).code).toBe('00');
    expect((await c.sale({ ...card(), amount: 100 })).code).toBe('97');
    expect((await c.signOn(other.tmkHex)).keysValid).toBe(true);
    expect((await c.sale({ ...card(), amount: 100 })).code).toBe('00');
  });

  it('after a re-key the old TMK cannot read the sign-on keys and the new one can', async () => {
    const other = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    const c = await connect(other.tid, other.mid);
    expect((await c.signOn(other.tmkHex)).keysValid).toBe(true);
    const comps = ['11111111111111112222222222222222', '0123456789ABCDEF0123456789ABCDEF'];
    const res = await h.app.inject({ method: 'POST', url: `/api/v1/gateway/pos-terminals/${other.terminalId}/tmk`, headers: auth(h.adminToken), payload: { tmk_components: comps } });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ tmk_kcv: string; session: unknown; issued_components?: unknown }>();
    expect(body.issued_components).toBeUndefined();
    expect(body.session).toBeNull();
    const newTmk = xor(Buffer.from(comps[0]!, 'hex'), Buffer.from(comps[1]!, 'hex'));
    expect(body.tmk_kcv).toBe(keyCheckValue('TDES2', newTmk));
    expect((await c.signOn(other.tmkHex)).keysValid).toBe(false);
    expect((await c.signOn(newTmk.toString('hex'))).keysValid).toBe(true);
    expect((await c.sale({ ...card(), amount: 100 })).code).toBe('00');
  });
});
