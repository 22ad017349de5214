/**
 * Store and forward against a switch that refuses advices (the simulator's `answerNext`), over
 * real TCP on both databases: a reversal answered '25' is acknowledged; a permanent refusal stops
 * the retries and becomes an exception staff retry or close with a note (audited); transient
 * refusals are retried with back-off and, after XIAOWEI_SAF_ALERT_ATTEMPTS attempts, raised while
 * still retried; counts in the link status.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../../test/harness.js';
import type { OffUsRequest } from '../../payments/contracts.js';
import { newId } from '../../platform/ids.js';
import { classifyAdviceAnswer, safBackoffMs, type SwitchLink } from './link.js';
import type { SafRow, SwitchTables } from './tables.js';
import { connectLink, startTestSwitch, type TestSwitch, waitFor } from './test-support.js';

const STATUS = '/api/v1/gateway/switch';
const ALERT_ATTEMPTS = 3;

describe('advice answers and back-off (pure)', () => {
  it('classifies answers: 00 and a reversal 25 acknowledge, refund 13/25 reject, 91/96… are transient, the rest refused', () => {
    expect(classifyAdviceAnswer('reversal', '00')).toBe('acknowledged');
    expect(classifyAdviceAnswer('reversal', '25')).toBe('acknowledged');
    expect(classifyAdviceAnswer('refund', '25')).toBe('rejected');
    expect(classifyAdviceAnswer('refund', '13')).toBe('rejected');
    expect(classifyAdviceAnswer('reversal', '13')).toBe('refused');
    for (const code of ['91', '96', '90', '68', '19', '92']) expect(classifyAdviceAnswer('reversal', code)).toBe('transient');
    for (const code of ['12', '30', '14', '03', '05', '63', '94']) {
      expect(classifyAdviceAnswer('reversal', code)).toBe('refused');
      expect(classifyAdviceAnswer('refund', code)).toBe('refused');
    }
  });

  it('backs off from the base interval, doubling, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 100].map((n) => safBackoffMs(n, 5_000, 60_000))).toEqual([
      5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000,
    ]);
    // A cap below the base interval never shortens it.
    expect(safBackoffMs(3, 5_000, 1_000)).toBe(5_000);
  });
});

describe.each(DIALECTS)('store and forward against a refusing switch (%s)', (dialect) => {
  let sw: TestSwitch;
  let h: Harness;
  let link: SwitchLink;
  let db: Kysely<SwitchTables>;
  let auditor: string;
  let cardNo = 0;

  beforeAll(async () => {
    sw = await startTestSwitch({ cards: 20, balance: 1_000_000 });
    h = await createHarness(dialect, {
      XIAOWEI_SWITCH_URL: sw.url,
      XIAOWEI_SWITCH_TIMEOUT_MS: '2000',
      XIAOWEI_SAF_RETRY_MS: '60',
      XIAOWEI_SAF_MAX_RETRY_MS: '200',
      XIAOWEI_SAF_ALERT_ATTEMPTS: String(ALERT_ATTEMPTS),
    });
    db = h.gateway.deps.db as Kysely<SwitchTables>;
    link = await connectLink(h, sw.zmkComponents);
    auditor = await h.userToken('auditor', h.bankId);
  });
  afterAll(async () => {
    await h?.close();
    await sw?.close();
  });

  const get = (url: string, token = h.adminToken) => h.app.inject({ method: 'GET', url, headers: auth(token) });
  const post = (url: string, payload: Record<string, unknown>, token = h.adminToken) =>
    h.app.inject({ method: 'POST', url, payload, headers: auth(token) });
  const saf = (txnId: string): Promise<SafRow> => db.selectFrom('gw_saf').selectAll().where('txn_id', '=', txnId).executeTakeFirstOrThrow();
  const received = (): number => sw.sim.stats().received['0400'] ?? 0;

  /** An approved off-us sale on a fresh card, then its void's reversal queued and released. */
  async function voidedSale(amount: number): Promise<{ pan: string; before: number; voidId: string }> {
    const card = sw.sim.cards()[cardNo++]!;
    const before = sw.sim.cardBalance(card.pan)!;
    const req: OffUsRequest = {
      txnId: newId(),
      kind: 'sale',
      pan: card.pan,
      expiry: card.expiry,
      amount,
      terminalId: 't',
      merchantPartyId: 'm',
      mcc: '5999',
      at: h.gateway.deps.now(),
    };
    expect(await link.authorize(req)).toMatchObject({ outcome: 'answered', code: '00' });
    expect(sw.sim.cardBalance(card.pan)).toBe(before - amount);
    const voidId = newId();
    await db.transaction().execute(async (trx) => {
      await link.queue(trx, { txnId: voidId, kind: 'reversal', originalTxnId: req.txnId, amount });
      await link.release(trx, voidId, true);
    });
    return { pan: card.pan, before, voidId };
  }

  it("settles a reversal answered '25' (original not found) as acknowledged with that code: nothing to undo", async () => {
    sw.sim.answerNext(1, '25', 'reversal');
    const { voidId } = await voidedSale(700);
    const row = await waitFor(
      () => saf(voidId),
      (r) => r.state !== 'queued',
      'settled',
    );
    expect(row).toMatchObject({ state: 'acknowledged', response_code: '25', exception: null, settlement_date: sw.sim.settlementDate });
    expect(Number(row.attempts)).toBe(1);
  });

  it('stops at a permanent refusal, raises it for staff, and sends it again only when staff retry (audited)', async () => {
    sw.sim.answerNext(1, '12', 'reversal');
    const { pan, before, voidId } = await voidedSale(800);
    const row = await waitFor(
      () => saf(voidId),
      (r) => r.state !== 'queued',
      'refused',
    );
    expect(row).toMatchObject({ state: 'failed', exception: 'refused', response_code: '12', last_error: 'code_12' });
    expect(Number(row.attempts)).toBe(1);
    expect(Number(row.exception_at)).toBeGreaterThan(0);

    // No more attempts, whatever the retry interval: several forwarder passes send nothing.
    const sent = received();
    for (let i = 0; i < 3; i++) await link.forward();
    await new Promise((r) => setTimeout(r, 300));
    expect(received()).toBe(sent);
    expect(Number((await saf(voidId)).attempts)).toBe(1);

    const status = (await get(STATUS, auditor)).json<{
      saf_counts: Record<string, number>;
      saf_exceptions: { refused: number; retries: number };
    }>();
    expect(status.saf_counts.failed).toBe(1);
    expect(status.saf_exceptions).toEqual({ refused: 1, retries: 0 });
    const listed = (await get(`${STATUS}/saf?exception=true`, auditor)).json<{
      items: { id: string; txn_id: string; exception: string }[];
    }>();
    expect(listed.items.map((i) => [i.txn_id, i.exception])).toEqual([[voidId, 'refused']]);

    // Staff retry: queued again, sent at once; the switch (no longer refusing) reverses it.
    expect((await post(`${STATUS}/saf/${row.id}/retry`, {}, auditor)).statusCode).toBe(403);
    const retried = await post(`${STATUS}/saf/${row.id}/retry`, {});
    expect(retried.statusCode).toBe(200);
    const done = await waitFor(
      () => saf(voidId),
      (r) => r.state === 'acknowledged',
      'acknowledged after retry',
    );
    expect(done).toMatchObject({ response_code: '00', exception: null });
    expect(Number(done.attempts)).toBe(2);
    expect(sw.sim.cardBalance(pan)).toBe(before);
    const audit = await h.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'gateway.switch_saf_retry')
      .where('outcome', '=', 'ok')
      .execute();
    expect(audit.length).toBeGreaterThan(0);
    expect((await link.status()).safExceptions).toEqual({ refused: 0, retries: 0 });
  });

  it('closes a refused entry with a note (gateway:write, audited); it is never sent; other entries cannot be closed', async () => {
    sw.sim.answerNext(1, '30', 'reversal');
    const { pan, before, voidId } = await voidedSale(900);
    const row = await waitFor(
      () => saf(voidId),
      (r) => r.state === 'failed',
      'refused',
    );
    expect((await post(`${STATUS}/saf/${row.id}/close`, { note: '已电话联系银联' }, auditor)).statusCode).toBe(403);
    expect((await post(`${STATUS}/saf/${row.id}/close`, {})).statusCode).toBe(400);
    expect((await post(`${STATUS}/saf/${row.id}/close`, { note: '   ' })).statusCode).toBe(400);
    const closed = await post(`${STATUS}/saf/${row.id}/close`, { note: '已电话联系银联 / agreed with the switch by phone' });
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toMatchObject({
      state: 'closed',
      note: '已电话联系银联 / agreed with the switch by phone',
      exception: 'refused',
    });
    expect(closed.json<{ closed_by: string | null }>().closed_by).toBeTruthy();
    const audit = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'gateway.switch_saf_close').execute();
    expect(audit.map((a) => a.outcome)).toEqual(expect.arrayContaining(['failed:403', 'ok']));
    expect(audit.find((a) => a.outcome === 'ok')).toMatchObject({ target: `saf:${row.id}`, actor_name: 'admin' });

    const again = await post(`${STATUS}/saf/${row.id}/close`, { note: 'again' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'switch_saf_not_closable' } });
    expect((await post(`${STATUS}/saf/${row.id}/retry`, {})).statusCode).toBe(409);
    expect((await post(`${STATUS}/saf/${newId()}/close`, { note: 'x' })).statusCode).toBe(404);

    const sent = received();
    await link.forward();
    expect(received()).toBe(sent);
    expect(sw.sim.cardBalance(pan)).toBe(before - 900);
    expect((await link.status()).safCounts.closed).toBe(1);

    // An entry that was acknowledged is not an exception.
    const ok = await voidedSale(100);
    const acked = await waitFor(
      () => saf(ok.voidId),
      (r) => r.state === 'acknowledged',
      'acknowledged',
    );
    expect((await post(`${STATUS}/saf/${acked.id}/close`, { note: 'x' })).statusCode).toBe(409);
  });

  it('retries transient refusals with back-off, raises the entry after the alert count while still retrying, and clears it when acknowledged', async () => {
    const refusals = ALERT_ATTEMPTS + 2;
    sw.sim.answerNext(refusals, '91', 'reversal');
    const { pan, before, voidId } = await voidedSale(1_000);
    const raised = await waitFor(
      () => saf(voidId),
      (r) => r.exception !== null || r.state !== 'queued',
      'raised',
    );
    expect(raised).toMatchObject({ state: 'queued', exception: 'retries', response_code: '91', last_error: 'code_91' });
    expect(Number(raised.attempts)).toBeGreaterThanOrEqual(ALERT_ATTEMPTS);
    expect(Number(raised.attempts)).toBeLessThanOrEqual(refusals);
    // Next attempt no sooner than the back-off for that many failures (the cap here).
    expect((await link.status()).safExceptions.retries).toBe(1);
    expect((await get(`${STATUS}/saf?exception=true`)).json<{ items: { txn_id: string }[] }>().items.map((i) => i.txn_id)).toEqual([
      voidId,
    ]);

    const done = await waitFor(
      () => saf(voidId),
      (r) => r.state === 'acknowledged',
      'acknowledged',
    );
    expect(done).toMatchObject({ response_code: '00', exception: null });
    expect(Number(done.attempts)).toBe(refusals + 1);
    expect(sw.sim.cardBalance(pan)).toBe(before);
    expect((await link.status()).safExceptions).toEqual({ refused: 0, retries: 0 });
  });

  it('lets staff close an entry raised for too many attempts; it is no longer sent', async () => {
    sw.sim.answerNext(1_000, '96', 'reversal');
    try {
      const { voidId } = await voidedSale(1_100);
      const raised = await waitFor(
        () => saf(voidId),
        (r) => r.exception === 'retries',
        'raised',
      );
      const closed = await post(`${STATUS}/saf/${raised.id}/close`, { note: 'switch down for maintenance; handled offline' });
      expect(closed.statusCode).toBe(200);
      expect(closed.json()).toMatchObject({ state: 'closed' });
      // An attempt already under way may still settle; after that, nothing more is sent.
      await new Promise((r) => setTimeout(r, 300));
      const sent = received();
      await new Promise((r) => setTimeout(r, 500));
      expect(received()).toBe(sent);
      expect((await saf(voidId)).state).toBe('closed');
    } finally {
      sw.sim.answerNext(0, '00');
    }
  });
});
