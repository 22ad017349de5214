/**
 * The link's staff API and life cycle on both databases: no ZMK → no sign-on → unavailable; the
 * key ceremony over HTTP (KCV, audit, 403); status; the SAF list and retry; a new link instance
 * sending what a closed one left queued; a harness without a switch.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../../test/harness.js';
import type { OffUsRequest } from '../../payments/contracts.js';
import { newId } from '../../platform/ids.js';
import { createSwitchLink, type SwitchLink } from './link.js';
import type { SwitchTables } from './tables.js';
import { startTestSwitch, type TestSwitch, waitFor } from './test-support.js';

const STATUS = '/api/v1/gateway/switch';

describe.each(DIALECTS)('switch link routes and life cycle (%s)', (dialect) => {
  let sw: TestSwitch;
  let h: Harness;
  let link: SwitchLink;
  let db: Kysely<SwitchTables>;
  let auditor: string;

  beforeAll(async () => {
    sw = await startTestSwitch({ cards: 10 });
    h = await createHarness(dialect, { XIAOWEI_SWITCH_URL: sw.url, XIAOWEI_SWITCH_TIMEOUT_MS: '2000', XIAOWEI_SAF_RETRY_MS: '200' });
    db = h.gateway.deps.db as Kysely<SwitchTables>;
    link = h.gateway.link!;
    auditor = await h.userToken('auditor', h.bankId);
  });
  afterAll(async () => {
    await h?.close();
    await sw?.close();
  });

  const get = (url: string, token = h.adminToken) => h.app.inject({ method: 'GET', url, headers: auth(token) });
  const post = (url: string, payload: Record<string, unknown>, token = h.adminToken) => h.app.inject({ method: 'POST', url, payload, headers: auth(token) });
  const sale = (amount = 1_000): OffUsRequest => {
    const card = sw.sim.cards()[0]!;
    return { txnId: newId(), kind: 'sale', pan: card.pan, expiry: card.expiry, amount, terminalId: 't', merchantPartyId: 'm', mcc: '5999', at: h.gateway.deps.now() };
  };

  it('does not sign on without a zone master key, and answers unavailable meanwhile', async () => {
    await h.gateway.start();
    const status = await waitFor(async () => (await get(STATUS)).json<{ state: string }>(), (s) => s.state === 'no_zmk', 'no_zmk');
    expect(status).toMatchObject({ zmk_kcv: null, settlement_date: null, acquirer_id: '04581000' });
    const sent = sw.sim.stats().received['0200'] ?? 0;
    expect(await link.authorize(sale())).toEqual({ outcome: 'unavailable' });
    expect(sw.sim.stats().received['0200'] ?? 0).toBe(sent);
  });

  it('imports the ZMK from components (gateway:write, audited, components nowhere), then signs on', async () => {
    const [c1, c2] = sw.zmkComponents;
    expect((await post(`${STATUS}/zmk`, { components: [c1, c2] }, auditor)).statusCode).toBe(403);
    const bad = await post(`${STATUS}/zmk`, { components: [c1] });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).not.toContain(c1);
    expect((await post(`${STATUS}/zmk`, { components: [c1, 'XYZ'.padEnd(32, '0')] })).statusCode).toBe(400);

    const res = await post(`${STATUS}/zmk`, { components: [c1, c2] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ kcv: sw.sim.zmkKcv });
    await link.whenReady(10_000);

    const audit = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'gateway.switch_zmk_import').execute();
    expect(audit.map((a) => a.outcome)).toEqual(expect.arrayContaining(['failed:403', 'ok']));
    expect(audit.find((a) => a.outcome === 'ok')).toMatchObject({ target: `zmk:${sw.sim.zmkKcv}`, actor_name: 'admin' });
    expect(JSON.stringify(audit)).not.toContain(c1);
    const keys = await db.selectFrom('gw_switch_keys').selectAll().execute();
    expect(JSON.stringify(keys)).not.toContain(c1);
    expect(JSON.stringify(keys)).not.toContain(c2);

    const status = (await get(STATUS, auditor)).json<Record<string, unknown>>();
    expect(status).toMatchObject({ state: 'signed_on', zmk_kcv: sw.sim.zmkKcv, settlement_date: sw.sim.settlementDate, saf_depth: 0, peer: sw.url.slice('tcp://'.length) });
    expect(status.zpk_kcv).toMatch(/^[0-9A-F]{6}$/);
    expect(status.zak_kcv).toMatch(/^[0-9A-F]{6}$/);
    expect(await link.authorize(sale())).toMatchObject({ outcome: 'answered', code: '00' });
  });

  it('lists the SAF queue newest first with masked PANs; retry needs gateway:write and a queued entry; a new link sends what a closed one left', async () => {
    const card = sw.sim.cards()[1]!;
    const before = sw.sim.cardBalance(card.pan)!;
    const originals: string[] = [];
    for (const amount of [100, 200]) {
      const req = { ...sale(amount), pan: card.pan };
      expect(await link.authorize(req)).toMatchObject({ outcome: 'answered', code: '00' });
      originals.push(req.txnId);
    }
    // The link goes away (a process stopping); the engine still voids both sales.
    await link.close();
    const voids = [newId(), newId()];
    for (const [i, original] of originals.entries()) {
      await db.transaction().execute(async (trx) => {
        await link.queue(trx, { txnId: voids[i]!, kind: 'reversal', originalTxnId: original, amount: i === 0 ? 100 : 200 });
        await link.release(trx, voids[i]!, true);
      });
    }
    const list = (await get(`${STATUS}/saf?state=queued&limit=1`, auditor)).json<{ items: Record<string, unknown>[]; next_before: string | null }>();
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ txn_id: voids[1], kind: 'reversal', reason: '17', amount: 200, state: 'queued', attempts: 0 });
    expect(list.items[0]!.pan_masked).toBe(`${card.pan.slice(0, 6)}${'*'.repeat(card.pan.length - 10)}${card.pan.slice(-4)}`);
    expect(JSON.stringify(list)).not.toContain(card.pan);
    const page2 = (await get(`${STATUS}/saf?state=queued&limit=1&before=${list.next_before!}`)).json<{ items: { txn_id: string }[]; next_before: string | null }>();
    expect(page2.items.map((i) => i.txn_id)).toEqual([voids[0]]);
    expect(page2.next_before).toBeNull();
    expect((await get(STATUS)).json()).toMatchObject({ state: 'closed', saf_depth: 2 });

    const id = (list.items[0] as { id: string }).id;
    expect((await post(`${STATUS}/saf/${id}/retry`, {}, auditor)).statusCode).toBe(403);
    // With no link up, retry makes it due and answers it still queued.
    expect((await post(`${STATUS}/saf/${id}/retry`, {})).json()).toMatchObject({ state: 'queued' });
    expect(sw.sim.cardBalance(card.pan)).toBe(before - 300);

    // A new link on the same database (this process restarted, or another one) sends them.
    const next = createSwitchLink(h.gateway.deps, { url: sw.url });
    try {
      await next.start();
      await next.whenReady(10_000);
      await waitFor(() => db.selectFrom('gw_saf').select('state').where('txn_id', 'in', voids).execute(), (rows) => rows.every((r) => r.state === 'acknowledged'), 'both acknowledged');
      expect(sw.sim.cardBalance(card.pan)).toBe(before);
      const retried = await post(`${STATUS}/saf/${id}/retry`, {});
      expect(retried.statusCode).toBe(409);
      expect(retried.json()).toMatchObject({ error: { code: 'switch_saf_not_queued' } });
      expect((await post(`${STATUS}/saf/${newId()}/retry`, {})).statusCode).toBe(404);
      expect((await next.status()).safCounts).toMatchObject({ queued: 0, acknowledged: 2 });
    } finally {
      await next.close();
    }
  });

  it('sends a queued entry at once on retry', async () => {
    const next = createSwitchLink(h.gateway.deps, { url: sw.url, safRetryMs: 3_600_000 });
    try {
      await next.start();
      await next.whenReady(10_000);
      const req = sale(300);
      expect(await next.authorize(req)).toMatchObject({ outcome: 'answered', code: '00' });
      const voidId = newId();
      // Queued through the closed link (nothing kicks a send), then pushed an hour away as a failed attempt would.
      await db.transaction().execute(async (trx) => {
        await link.queue(trx, { txnId: voidId, kind: 'reversal', originalTxnId: req.txnId, amount: 300 });
        await link.release(trx, voidId, true);
      });
      await db.updateTable('gw_saf').set({ next_attempt_at: h.gateway.deps.now() + 3_600_000_000 }).where('txn_id', '=', voidId).execute();
      await next.forward();
      const row = await db.selectFrom('gw_saf').select(['id', 'state']).where('txn_id', '=', voidId).executeTakeFirstOrThrow();
      expect(row.state).toBe('queued');
      // The route's link is closed (previous test): retry through the new one.
      await next.retry(row.id);
      expect(await db.selectFrom('gw_saf').select('state').where('id', '=', row.id).executeTakeFirst()).toEqual({ state: 'acknowledged' });
    } finally {
      await next.close();
    }
  });

  it('without a switch URL: no link, status not_configured, the ZMK can still be imported', async () => {
    const bare = await createHarness(dialect);
    try {
      expect(bare.gateway.link).toBeNull();
      const status = await bare.app.inject({ method: 'GET', url: STATUS, headers: auth(bare.adminToken) });
      expect(status.json()).toMatchObject({ state: 'not_configured', zmk_kcv: null, saf_depth: 0 });
      const res = await bare.app.inject({ method: 'POST', url: `${STATUS}/zmk`, payload: { components: sw.zmkComponents }, headers: auth(bare.adminToken) });
      expect(res.json()).toEqual({ kcv: sw.sim.zmkKcv });
      expect((await bare.app.inject({ method: 'GET', url: STATUS, headers: auth(bare.adminToken) })).json()).toMatchObject({ zmk_kcv: sw.sim.zmkKcv });
    } finally {
      await bare.close();
    }
  });
});
