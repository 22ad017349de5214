import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../../test/harness.js';
import { keyCheckValue } from '../../crypto/kcv.js';
import { xor } from '../../crypto/primitives.js';
import { setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { createPosPlatformTerminal, newTid } from './test-support.js';

interface View {
  terminal_id: string;
  tid: string;
  mid: string;
  tmk_kcv: string;
  status: string;
  session: unknown;
  issued_components?: { component: string; kcv: string }[];
}

describe.each(DIALECTS)('POS terminal registration and master keys (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;

  const req = async (method: 'GET' | 'POST', url: string, payload?: object, token = h.adminToken) => {
    const res = await h.app.inject({ method, url: `/api/v1${url}`, headers: auth(token), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json<View & { error?: { code: string }; items?: View[]; total?: number }>() };
  };
  const newPos = () => createPosPlatformTerminal(h.app, h.adminToken, w.merchant.partyId);

  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h);
  });
  afterAll(async () => h?.close());

  it('generates a TMK and answers its two clear components once, with check values; the key is their XOR', async () => {
    const terminalId = await newPos();
    const tid = newTid();
    const r = await req('POST', '/gateway/pos-terminals', { terminal_id: terminalId, tid });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ terminal_id: terminalId, tid, status: 'active', session: null });
    expect(r.body.mid).toMatch(/^898\d{12}$/);
    const issued = r.body.issued_components!;
    expect(issued).toHaveLength(2);
    const parts = issued.map((c) => Buffer.from(c.component, 'hex'));
    issued.forEach((c, i) => expect(c.kcv).toBe(keyCheckValue('TDES2', parts[i]!)));
    expect(r.body.tmk_kcv).toBe(keyCheckValue('TDES2', xor(parts[0]!, parts[1]!)));
    // Read back: the components are not there.
    const one = await req('GET', `/gateway/pos-terminals/${terminalId}`);
    expect(one.status).toBe(200);
    expect(one.body.tmk_kcv).toBe(r.body.tmk_kcv);
    expect(one.body.issued_components).toBeUndefined();
    expect(JSON.stringify(one.body)).not.toContain(issued[0]!.component);
  });

  it('imports a TMK from the custodians’ components (XOR) with the given merchant number', async () => {
    const comps = ['0123456789ABCDEFFEDCBA9876543210', '1111111111111111AAAAAAAAAAAAAAAA', '2222222222222222CCCCCCCCCCCCCCCC'];
    const r = await req('POST', '/gateway/pos-terminals', { terminal_id: await newPos(), tid: newTid(), mid: '123456789012345', tmk_components: comps });
    expect(r.status).toBe(201);
    expect(r.body.issued_components).toBeUndefined();
    expect(r.body.mid).toBe('123456789012345');
    let key: Buffer = Buffer.alloc(16);
    for (const c of comps) key = xor(key, Buffer.from(c, 'hex'));
    expect(r.body.tmk_kcv).toBe(keyCheckValue('TDES2', key));
  });

  it('refuses components that make a single-DES key, a second registration, a taken tid, a terminal that is not a POS, an owner that is not a merchant', async () => {
    const degenerate = await req('POST', '/gateway/pos-terminals', {
      terminal_id: await newPos(),
      tid: newTid(),
      tmk_components: ['00000000000000000000000000000000', '01010101010101010101010101010101'],
    });
    expect([degenerate.status, degenerate.body.error?.code]).toEqual([400, 'pos_tmk_invalid']);

    const terminalId = await newPos();
    const tid = newTid();
    expect((await req('POST', '/gateway/pos-terminals', { terminal_id: terminalId, tid })).status).toBe(201);
    const again = await req('POST', '/gateway/pos-terminals', { terminal_id: terminalId, tid: newTid() });
    expect([again.status, again.body.error?.code]).toEqual([409, 'pos_terminal_exists']);
    const taken = await req('POST', '/gateway/pos-terminals', { terminal_id: await newPos(), tid });
    expect([taken.status, taken.body.error?.code]).toEqual([409, 'pos_tid_exists']);

    const smart = await req('POST', '/gateway/pos-terminals', { terminal_id: w.terminalId, tid: newTid() });
    expect([smart.status, smart.body.error?.code]).toEqual([422, 'pos_terminal_invalid']);
    const nobody = await req('POST', '/gateway/pos-terminals', { terminal_id: 'no-such-terminal', tid: newTid() });
    expect([nobody.status, nobody.body.error?.code]).toEqual([422, 'pos_terminal_invalid']);

    const party = await h.app.inject({ method: 'POST', url: '/api/v1/parties', headers: auth(h.adminToken), payload: { kind: 'business', name: '未签约小店', roles: ['merchant'], org_id: h.bankId } });
    const stranger = await createPosPlatformTerminal(h.app, h.adminToken, party.json<{ id: string }>().id);
    const notMerchant = await req('POST', '/gateway/pos-terminals', { terminal_id: stranger, tid: newTid() });
    expect([notMerchant.status, notMerchant.body.error?.code]).toEqual([422, 'pos_owner_not_merchant']);

    const badBody = await req('POST', '/gateway/pos-terminals', { terminal_id: await newPos(), tid: 'short', tmk_components: ['00'] });
    expect(badBody.status).toBe(400);
  });

  it('lists page by page, re-keys, and audits the writes', async () => {
    const page = await req('GET', '/gateway/pos-terminals?limit=2');
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.total).toBeGreaterThanOrEqual(3);
    const rest = await req('GET', `/gateway/pos-terminals?limit=200&offset=2`);
    expect(rest.body.items!.length).toBe(page.body.total! - 2);
    const target = page.body.items![0]!;
    const byTid = await req('GET', `/gateway/pos-terminals?tid=${target.tid}`);
    expect(byTid.body.items!.map((i) => i.terminal_id)).toEqual([target.terminal_id]);

    const rekeyed = await req('POST', `/gateway/pos-terminals/${target.terminal_id}/tmk`, {});
    expect(rekeyed.status).toBe(200);
    expect(rekeyed.body.issued_components).toHaveLength(2);
    expect(rekeyed.body.tmk_kcv).not.toBe(target.tmk_kcv);
    expect((await req('POST', '/gateway/pos-terminals/no-such/tmk', {})).body.error?.code).toBe('pos_terminal_not_found');
    expect((await req('GET', '/gateway/pos-terminals/no-such')).status).toBe(404);

    const audit = await h.app.inject({ method: 'GET', url: '/api/v1/audit?limit=100', headers: auth(h.adminToken) });
    const actions = audit.json<{ items: { action: string; target: string | null }[] }>().items;
    expect(actions).toContainEqual(expect.objectContaining({ action: 'pos_terminal.rekey', target: target.terminal_id }));
    expect(actions.some((a) => a.action === 'pos_terminal.register')).toBe(true);
  });

  it('refuses without gateway:write; merchant-side users without gateway:read see nothing', async () => {
    const auditor = await h.userToken('auditor', h.bankId);
    expect((await req('GET', '/gateway/pos-terminals', undefined, auditor)).status).toBe(200);
    const denied = await req('POST', '/gateway/pos-terminals', { terminal_id: await newPos(), tid: newTid() }, auditor);
    expect([denied.status, denied.body.error?.code]).toEqual([403, 'forbidden']);
    const list = await req('GET', '/gateway/pos-terminals?limit=1', undefined, auditor);
    const rekey = await req('POST', `/gateway/pos-terminals/${list.body.items![0]!.terminal_id}/tmk`, {}, auditor);
    expect(rekey.status).toBe(403);
    const owner = await h.userToken('merchant_owner', h.bankId, w.merchant.partyId);
    expect((await req('GET', '/gateway/pos-terminals', undefined, owner)).status).toBe(403);
    const anonymous = await h.app.inject({ method: 'GET', url: '/api/v1/gateway/pos-terminals' });
    expect(anonymous.statusCode).toBe(401);
  });
});
