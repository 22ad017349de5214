import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../../test/harness.js';
import { keyCheckValue } from '../../crypto/kcv.js';
import { xor } from '../../crypto/primitives.js';
import { setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { getBytes, type FieldValue, type Message } from '../iso8583/index.js';
import type { Kysely } from 'kysely';
import type { DukptTables } from './dukpt-migration.js';
import { padOfKsn, pruneKsns } from './dukpt.js';
import { amountField } from './messages.js';
import { PosClient } from './pos-client.js';
import {
  createPosPlatformTerminal,
  importTestBdk,
  injectPad,
  newTid,
  registerPos,
  type RegisteredPos,
  type TestBdk,
} from './test-support.js';

/**
 * DUKPT PIN pads at the acquirer host, over real TCP on both dialects: the BDK key ceremony, PIN
 * modes, on-us sales from a TDES DUKPT and an AES DUKPT terminal (right and wrong PIN), KSN
 * replays, malformed KSNs, a PIN-mode change, and a TPK terminal beside them unchanged.
 */
describe.each(DIALECTS)('DUKPT PIN pads at the acquirer host (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let port: number;
  let tdesBdk: TestBdk;
  let aesBdk: TestBdk;
  const clients: PosClient[] = [];

  const req = async (method: 'GET' | 'POST', url: string, payload?: object, token = h.adminToken) => {
    const res = await h.app.inject({ method, url: `/api/v1${url}`, headers: auth(token), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json<Record<string, unknown> & { error?: { code: string } }>() };
  };
  const available = async (id: string): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([id]);
    return a!.credits_posted - a!.debits_posted - a!.debits_pending;
  };
  const card = (pin?: string) => ({ pan: w.card.pan, expiry: w.card.expiry, pin: pin ?? w.card.pin });
  const wrongPin = () => (w.card.pin === '111111' ? '222222' : '111111');
  const rows = async (terminalId: string): Promise<number> => {
    const r = await h.payments.deps.db
      .selectFrom('pay_transactions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('terminal_id', '=', terminalId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  };
  /** A registered, signed-on terminal with the PIN pad the key-injection facility loaded for the BDK (or none: TPK). */
  const terminal = async (bdk: TestBdk | null): Promise<{ reg: RegisteredPos; pos: PosClient }> => {
    const reg = await registerPos(
      h.app,
      h.adminToken,
      w.merchant.partyId,
      bdk ? { pin_mode: bdk.scheme === 'tdes' ? 'dukpt-tdes' : 'dukpt-aes', bdk: bdk.name } : undefined,
    );
    const pos = await PosClient.connect('127.0.0.1', port, {
      tid: reg.tid,
      mid: reg.mid,
      timeoutMs: 20_000,
      ...(bdk ? { dukpt: injectPad(bdk) } : {}),
    });
    clients.push(pos);
    expect((await pos.signOn(reg.tmkHex)).keysValid).toBe(true);
    return { reg, pos };
  };
  /** A new sale (new STAN) carrying exactly these PIN fields. */
  const saleWith = (pos: PosClient, pinFields: [number, FieldValue][], amount = 100): Message =>
    pos.financial('sale', [[4, amountField(amount)], [2, w.card.pan], [14, w.card.expiry], [22, '021'], ...pinFields]);
  const pinFieldsOf = (m: Message): [number, FieldValue][] =>
    [52, 62].flatMap((f): [number, FieldValue][] => (m.fields.has(f) ? [[f, m.fields.get(f)!]] : []));

  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h, { cardLimits: { per_txn_limit: 500_000, daily_limit: 5_000_000 } });
    port = await h.gateway.acquirer.listen(0, '127.0.0.1');
    tdesBdk = await importTestBdk(h.app, h.adminToken, 'TDES2');
    aesBdk = await importTestBdk(h.app, h.adminToken, 'AES128');
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  it('BDK ceremony: the key is the XOR of the components, check values of key and components are answered, nothing clear is kept or audited', async () => {
    for (const bdk of [tdesBdk, aesBdk]) {
      const parts = bdk.components.map((c) => Buffer.from(c, 'hex'));
      expect(bdk.kcv).toBe(keyCheckValue(bdk.algorithm, xor(parts[0]!, parts[1]!)));
      expect(bdk.componentKcvs).toEqual(parts.map((p) => keyCheckValue(bdk.algorithm, p)));
    }
    const aes256 = await importTestBdk(h.app, h.adminToken, 'AES256');
    expect(aes256.components[0]).toHaveLength(64);
    expect(aes256.kcv).toBe(keyCheckValue('AES256', aes256.key));

    const one = await req('GET', `/gateway/bdks/${tdesBdk.name}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: tdesBdk.name, algorithm: 'TDES2', scheme: 'tdes', kcv: tdesBdk.kcv });
    const list = await req('GET', '/gateway/bdks');
    expect((list.body.items as { name: string }[]).map((b) => b.name)).toEqual(
      expect.arrayContaining([tdesBdk.name, aesBdk.name, aes256.name]),
    );
    expect(JSON.stringify(list.body)).not.toContain(tdesBdk.components[0]);

    const stored = await h.gateway.deps.db.selectFrom('pos_bdks').selectAll().where('name', '=', tdesBdk.name).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(tdesBdk.components[0]);
    expect(JSON.stringify(stored).toUpperCase()).not.toContain(tdesBdk.key.toString('hex').toUpperCase());

    const audit = await req('GET', '/audit?limit=100');
    const entries = audit.body.items as { action: string; target: string | null }[];
    expect(entries.some((e) => e.action === 'pos_bdk.import' && e.target === tdesBdk.name)).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(tdesBdk.components[1]);
  });

  it('BDK ceremony refusals: a name used before, a component of the wrong length, TDES3, one component; an auditor reads but cannot import', async () => {
    const comps = ['0123456789ABCDEFFEDCBA9876543210', '1111111111111111AAAAAAAAAAAAAAAA'];
    const dup = await req('POST', '/gateway/bdks', { name: tdesBdk.name, algorithm: 'TDES2', components: comps });
    expect([dup.status, dup.body.error?.code]).toEqual([409, 'pos_bdk_exists']);
    const short = await req('POST', '/gateway/bdks', { name: 'short-aes256', algorithm: 'AES256', components: comps });
    expect([short.status, short.body.error?.code]).toEqual([400, 'pos_bdk_invalid']);
    expect(JSON.stringify(short.body)).not.toContain(comps[0]);
    expect((await req('POST', '/gateway/bdks', { name: 'tdes3', algorithm: 'TDES3', components: comps })).status).toBe(400);
    expect((await req('POST', '/gateway/bdks', { name: 'single', algorithm: 'TDES2', components: [comps[0]] })).status).toBe(400);
    expect((await req('GET', '/gateway/bdks/no-such-bdk')).status).toBe(404);
    const auditor = await h.userToken('auditor', h.bankId);
    expect((await req('GET', '/gateway/bdks', undefined, auditor)).status).toBe(200);
    expect((await req('POST', '/gateway/bdks', { name: 'by-auditor', algorithm: 'TDES2', components: comps }, auditor)).status).toBe(403);
  });

  it('a DUKPT-TDES terminal: the right PIN sells (00), a wrong PIN is 55, each PIN under a new KSN', async () => {
    const { reg, pos } = await terminal(tdesBdk);
    const view = await req('GET', `/gateway/pos-terminals/${reg.terminalId}`);
    expect(view.body).toMatchObject({ pin_mode: 'dukpt-tdes', bdk: tdesBdk.name });
    const before = { customer: await available(w.customerAccount), receivable: await w.balanceOf(w.merchant.receivable) };
    const ok = await pos.sale({ ...card(), amount: 2_345 });
    expect(ok.code).toBe('00');
    expect(ok.macValid).toBe(true);
    expect(getBytes(ok.request, 62)).toHaveLength(10);
    expect(getBytes(ok.request, 52)).toHaveLength(8);
    const firstKsn = pos.pad!.ksn;
    expect(await available(w.customerAccount)).toBe(before.customer - 2_345);
    expect(await w.balanceOf(w.merchant.receivable)).toBeGreaterThan(before.receivable);

    const wrong = await pos.sale({ ...card(wrongPin()), amount: 500 });
    expect(wrong.code).toBe('55');
    expect(pos.pad!.ksn).not.toBe(firstKsn);
    expect(await available(w.customerAccount)).toBe(before.customer - 2_345);
    // The wrong try is cleared by the next right PIN, so the card stays usable for the other tests.
    expect((await pos.sale({ ...card(), amount: 100 })).code).toBe('00');
  });

  it('a DUKPT-AES terminal: 62 carries KSN and format 4 block; the right PIN sells, a wrong PIN is 55, a balance inquiry answers 54', async () => {
    const { pos } = await terminal(aesBdk);
    const before = await available(w.customerAccount);
    const ok = await pos.sale({ ...card(), amount: 1_111 });
    expect(ok.code).toBe('00');
    expect(ok.macValid).toBe(true);
    expect(getBytes(ok.request, 62)).toHaveLength(28);
    expect(getBytes(ok.request, 52)).toBeUndefined();
    expect(await available(w.customerAccount)).toBe(before - 1_111);
    expect((await pos.sale({ ...card(wrongPin()), amount: 700 })).code).toBe('55');
    expect(await available(w.customerAccount)).toBe(before - 1_111);
    const bal = await pos.balance(card());
    expect(bal.code).toBe('00');
    expect(bal.balance).toBe(await available(w.customerAccount));
  });

  it('a KSN is used once: a replayed PIN block under a new STAN is 63 (also from another terminal), a retry of the same request gets its stored answer', async () => {
    const { reg, pos } = await terminal(tdesBdk);
    const first = await pos.sale({ ...card(), amount: 300 });
    expect(first.code).toBe('00');
    const after = await available(w.customerAccount);
    const count = await rows(reg.terminalId);

    // The same frame again (same batch and STAN, same KSN): the engine's stored answer, nothing moves.
    const retry = await pos.send(first.request);
    expect([retry.code, retry.rrn, retry.authCode]).toEqual(['00', first.rrn, first.authCode]);

    const replay = await pos.send(saleWith(pos, pinFieldsOf(first.request), 300));
    expect(replay.code).toBe('63');
    expect(replay.macValid).toBe(true);

    const other = await terminal(tdesBdk);
    const elsewhere = await other.pos.send(saleWith(other.pos, pinFieldsOf(first.request), 300));
    expect(elsewhere.code).toBe('63');
    expect(await rows(reg.terminalId)).toBe(count);
    expect(await rows(other.reg.terminalId)).toBe(0);
    expect(await available(w.customerAccount)).toBe(after);

    // The same for AES: the whole 62 (KSN ‖ block) replayed.
    const aes = await terminal(aesBdk);
    const a = await aes.pos.sale({ ...card(), amount: 200 });
    expect(a.code).toBe('00');
    expect((await aes.pos.send(saleWith(aes.pos, pinFieldsOf(a.request), 200))).code).toBe('63');
    const stored = await h.gateway.deps.db.selectFrom('pos_dukpt_ksns').selectAll().where('terminal_id', '=', reg.terminalId).execute();
    expect(stored.map((r) => r.ksn)).toContain(getBytes(first.request, 62)!.toString('hex').toUpperCase());
  });

  it('pruning the KSN table keeps replays refused: old KSNs fold into a per-pad floor; new KSNs above it pass, other pads are untouched', async () => {
    const db = h.gateway.deps.db as Kysely<DukptTables>;
    for (const bdk of [tdesBdk, aesBdk]) {
      const { reg, pos } = await terminal(bdk);
      // A PIN entered but never sent (KSN c0), then two sales (c1, c2), then one prepared before the prune (c3).
      const unsent = pos.financial('sale', [[4, amountField(100)], ...pos.cardFields(card())]);
      const s1 = await pos.sale({ ...card(), amount: 100 });
      const s2 = await pos.sale({ ...card(), amount: 100 });
      expect([s1.code, s2.code]).toEqual(['00', '00']);
      const later = pos.financial('sale', [[4, amountField(100)], ...pos.cardFields(card())]);
      const ksnOf = (m: Message): string => {
        const f62 = getBytes(m, 62)!;
        return f62.subarray(0, bdk.scheme === 'tdes' ? 10 : 12).toString('hex').toUpperCase();
      };
      const pad = padOfKsn(ksnOf(s2.request))!;
      const other = await terminal(bdk);
      const o1 = await other.pos.sale({ ...card(), amount: 100 });
      expect(o1.code).toBe('00');

      // Everything recorded so far is older than the cut: folded into floors and deleted.
      const pruned = await pruneKsns(h.gateway.deps, h.gateway.deps.now() + 1);
      expect(pruned).toBeGreaterThanOrEqual(3);
      const left = await db.selectFrom('pos_dukpt_ksns').select('ksn').where('terminal_id', 'in', [reg.terminalId, other.reg.terminalId]).execute();
      expect(left).toEqual([]);
      const floor = await db.selectFrom('pos_dukpt_floors').selectAll().where('bdk_name', '=', bdk.name).where('device', '=', pad.device).executeTakeFirstOrThrow();
      expect(Number(floor.counter)).toBe(pad.counter);
      const count = await rows(reg.terminalId);
      const balance = await available(w.customerAccount);

      // Replays of pruned KSNs (new STAN): still 63, from this terminal or another one.
      expect((await pos.send(saleWith(pos, pinFieldsOf(s1.request)))).code).toBe('63');
      expect((await pos.send(saleWith(pos, pinFieldsOf(s2.request)))).code).toBe('63');
      expect((await other.pos.send(saleWith(other.pos, pinFieldsOf(s2.request)))).code).toBe('63');
      // A KSN below the floor that was never used is refused too (a pad never sends it this late).
      expect((await pos.send(unsent)).code).toBe('63');
      expect(await rows(reg.terminalId)).toBe(count);
      expect(await available(w.customerAccount)).toBe(balance);
      // A refused replay records nothing.
      expect(await db.selectFrom('pos_dukpt_ksns').select('ksn').where('terminal_id', '=', reg.terminalId).execute()).toEqual([]);

      // A KSN above the floor passes, once; the other pad's next KSN passes.
      expect((await pos.send(later)).code).toBe('00');
      expect((await pos.send(later)).code).toBe('00'); // a retry of the same request: its stored answer
      expect((await pos.send(saleWith(pos, pinFieldsOf(later)))).code).toBe('63');
      expect((await other.pos.sale({ ...card(), amount: 100 })).code).toBe('00');

      // Pruning again raises floors, never lowers them; with the retention cut nothing recent goes.
      expect(await pruneKsns(h.gateway.deps, h.gateway.deps.now() - 86_400_000_000)).toBe(0);
      await pruneKsns(h.gateway.deps, h.gateway.deps.now() + 1);
      const raised = await db.selectFrom('pos_dukpt_floors').selectAll().where('bdk_name', '=', bdk.name).where('device', '=', pad.device).executeTakeFirstOrThrow();
      expect(Number(raised.counter)).toBe(padOfKsn(ksnOf(later))!.counter);
      expect((await pos.send(saleWith(pos, pinFieldsOf(later)))).code).toBe('63');
    }
  });

  it('a DUKPT PIN without a usable KSN is a format error (30), never reaching the engine', async () => {
    const { reg, pos } = await terminal(tdesBdk);
    const good = pos.pad!.encipher(w.card.pin, w.card.pan);
    expect((await pos.send(saleWith(pos, [[52, good.block]]))).code).toBe('30');
    expect(
      (
        await pos.send(
          saleWith(pos, [
            [52, good.block],
            [62, good.ksn.subarray(0, 8)],
          ]),
        )
      ).code,
    ).toBe('30');
    const zero = Buffer.from(good.ksn);
    zero.writeUIntBE(zero.readUIntBE(7, 3) & ~0x1fffff & 0xffffff, 7, 3);
    expect(
      (
        await pos.send(
          saleWith(pos, [
            [52, good.block],
            [62, zero],
          ]),
        )
      ).code,
    ).toBe('30');
    expect(await rows(reg.terminalId)).toBe(0);
    // The untouched KSN still works: a refused request did not use it up.
    expect(
      (
        await pos.send(
          saleWith(pos, [
            [52, good.block],
            [62, good.ksn],
          ]),
        )
      ).code,
    ).toBe('00');

    const aes = await terminal(aesBdk);
    const p = aes.pos.pad!.encipher(w.card.pin, w.card.pan);
    expect((await aes.pos.send(saleWith(aes.pos, [[62, p.ksn]]))).code).toBe('30');
    expect(
      (
        await aes.pos.send(
          saleWith(aes.pos, [
            [52, p.block.subarray(0, 8)],
            [62, Buffer.concat([p.ksn, p.block])],
          ]),
        )
      ).code,
    ).toBe('30');
    expect(await rows(aes.reg.terminalId)).toBe(0);
  });

  it('PIN modes: refusals at registration; a change ends the session and the terminal signs on again with its new PIN pad', async () => {
    const { reg, pos } = await terminal(null);
    expect((await pos.sale({ ...card(), amount: 150 })).code).toBe('00');

    const bad = async (body: object) => (await req('POST', `/gateway/pos-terminals/${reg.terminalId}/pin-mode`, body)).body.error?.code;
    expect(await bad({ pin_mode: 'dukpt-aes', bdk: tdesBdk.name })).toBe('pos_pin_mode_invalid');
    expect(await bad({ pin_mode: 'dukpt-tdes' })).toBe('pos_pin_mode_invalid');
    expect(await bad({ pin_mode: 'tpk', bdk: tdesBdk.name })).toBe('pos_pin_mode_invalid');
    expect(await bad({ pin_mode: 'dukpt-tdes', bdk: 'no-such-bdk' })).toBe('pos_pin_mode_invalid');
    const unregistered = await createPosPlatformTerminal(h.app, h.adminToken, w.merchant.partyId);
    const noBdk = await req('POST', '/gateway/pos-terminals', { terminal_id: unregistered, tid: newTid(), pin_mode: 'dukpt-aes' });
    expect([noBdk.status, noBdk.body.error?.code]).toEqual([422, 'pos_pin_mode_invalid']);

    const changed = await req('POST', `/gateway/pos-terminals/${reg.terminalId}/pin-mode`, { pin_mode: 'dukpt-aes', bdk: aesBdk.name });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ pin_mode: 'dukpt-aes', bdk: aesBdk.name, session: null });
    // The old session is over: the TPK terminal's next request is refused until it signs on.
    expect((await pos.sale({ ...card(), amount: 150 })).code).toBe('97');

    const padded = await PosClient.connect('127.0.0.1', port, {
      tid: reg.tid,
      mid: reg.mid,
      timeoutMs: 20_000,
      stan: 500,
      dukpt: injectPad(aesBdk),
    });
    clients.push(padded);
    expect((await padded.signOn(reg.tmkHex)).keysValid).toBe(true);
    expect((await padded.sale({ ...card(), amount: 150 })).code).toBe('00');
    // Setting the same mode again changes nothing (the session stays).
    const same = await req('POST', `/gateway/pos-terminals/${reg.terminalId}/pin-mode`, { pin_mode: 'dukpt-aes', bdk: aesBdk.name });
    expect(same.body.session).not.toBeNull();
    const list = await req('GET', '/gateway/bdks');
    expect(
      (list.body.items as { name: string; terminals: number }[]).find((b) => b.name === aesBdk.name)!.terminals,
    ).toBeGreaterThanOrEqual(2);
    const audit = await req('GET', '/audit?limit=100');
    expect(
      (audit.body.items as { action: string; target: string | null }[]).some(
        (e) => e.action === 'pos_terminal.pin_mode' && e.target === reg.terminalId,
      ),
    ).toBe(true);
  });

  it('a TPK terminal is unchanged beside them: format 0 under the session TPK, 62 ignored', async () => {
    const { reg, pos } = await terminal(null);
    expect((await req('GET', `/gateway/pos-terminals/${reg.terminalId}`)).body).toMatchObject({ pin_mode: 'tpk', bdk: null });
    const ok = await pos.sale({ ...card(), amount: 120 });
    expect(ok.code).toBe('00');
    expect(getBytes(ok.request, 62)).toBeUndefined();
    expect((await pos.sale({ ...card(wrongPin()), amount: 120 })).code).toBe('55');
    // A TPK block with a stray 62 is read as before.
    const again = await pos.sale({ ...card(), amount: 121 });
    expect(
      (await pos.send(saleWith(pos, [...pinFieldsOf(again.request), [62, Buffer.from('FFFF9876543210E00001', 'hex')]], 122))).code,
    ).toBe('00');
  });
});
