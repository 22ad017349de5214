/**
 * Store and forward shared by several links on one database (several server processes on one
 * PostgreSQL; on SQLite two links in one process): every queued row is sent once, in creation
 * order per link, and acknowledged once.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { createHarness, type Harness } from '../../../test/harness.js';
import { newId } from '../../platform/ids.js';
import { createSwitchLink, type SwitchLink } from './link.js';
import type { SwitchTables } from './tables.js';
import { connectLink, startTestSwitch, type TestSwitch } from './test-support.js';

const ROWS = 30;

describe.each(DIALECTS)('store and forward across links (%s)', (dialect) => {
  let sw: TestSwitch;
  let h: Harness;
  let db: Kysely<SwitchTables>;

  beforeAll(async () => {
    sw = await startTestSwitch({ cards: 5, latencyMs: 5 });
    h = await createHarness(dialect, { XIAOWEI_SWITCH_URL: sw.url, XIAOWEI_SWITCH_TIMEOUT_MS: '5000', XIAOWEI_SAF_RETRY_MS: '100' });
    db = h.gateway.deps.db as Kysely<SwitchTables>;
  });
  afterAll(async () => {
    await h?.close();
    await sw?.close();
  });

  it('sends each queued row exactly once when two links drain the queue together', async () => {
    const link = await connectLink(h, sw.zmkComponents);
    const card = sw.sim.cards()[0]!;
    const start = sw.sim.cardBalance(card.pan)!;
    const sales: string[] = [];
    for (let i = 0; i < ROWS; i++) {
      const txnId = newId();
      const answer = await link.authorize({ txnId, kind: 'sale', pan: card.pan, expiry: card.expiry, amount: 100 + i, terminalId: 't', merchantPartyId: 'm', mcc: '5999', at: h.gateway.deps.now() });
      expect(answer).toMatchObject({ outcome: 'answered', code: '00' });
      sales.push(txnId);
    }
    // The harness's link stops; the voids pile up queued with nobody to send them.
    await link.close();
    const voids = sales.map(() => newId());
    for (const [i, sale] of sales.entries()) {
      await db.transaction().execute(async (trx) => {
        await link.queue(trx, { txnId: voids[i]!, kind: 'reversal', originalTxnId: sale, amount: 100 + i });
        await link.release(trx, voids[i]!, true);
      });
    }
    const before = sw.sim.stats().received['0400'] ?? 0;

    const links: SwitchLink[] = [createSwitchLink(h.gateway.deps, { url: sw.url }), createSwitchLink(h.gateway.deps, { url: sw.url })];
    try {
      await Promise.all(links.map(async (l) => l.start()));
      await Promise.all(links.map((l) => l.whenReady(10_000)));
      await Promise.all(links.map((l) => l.forward()));
      const until = Date.now() + 15_000;
      let rows = await db.selectFrom('gw_saf').select(['state', 'attempts']).where('txn_id', 'in', voids).execute();
      while (rows.some((r) => r.state !== 'acknowledged') && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        rows = await db.selectFrom('gw_saf').select(['state', 'attempts']).where('txn_id', 'in', voids).execute();
      }
      expect(rows).toHaveLength(ROWS);
      expect(rows.every((r) => r.state === 'acknowledged' && Number(r.attempts) === 1)).toBe(true);
      expect((sw.sim.stats().received['0400'] ?? 0) - before).toBe(ROWS);
      expect(sw.sim.cardBalance(card.pan)).toBe(start);
    } finally {
      await Promise.all(links.map((l) => l.close()));
    }
  });
});
