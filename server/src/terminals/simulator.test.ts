/**
 * The simulator behind `xiaowei simulate terminals` and `bench:fleet`: terminals registered the
 * way staff would, then activated, signed on, heartbeating and following commands over the real
 * protocol against a listening server — on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { FleetSimulator, percentile, type SimulatorEvent } from './simulator.js';
import { provisionSimulatedTerminals } from './simulator-provision.js';
import type { TerminalSharedTables } from './contracts.js';

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(DIALECTS)('terminal simulator on %s', (dialect) => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    h = await createHarness(dialect);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('registers, activates and signs on terminals, which heartbeat and take pushed commands once', async () => {
    const merchant = await h.app.inject({
      method: 'POST',
      url: '/api/v1/parties',
      headers: auth(h.adminToken),
      payload: { kind: 'business', name: '模拟商户', roles: ['merchant'], org_id: h.bankId },
    });
    expect(merchant.statusCode).toBe(201);
    const { terminals } = await provisionSimulatedTerminals(h.tdb.database.kysely as never, h.secrets, {
      count: 3,
      prefix: 'SIMT',
      ownerPartyId: merchant.json<{ id: string }>().id,
      now: Date.now() * 1000,
    });
    expect(terminals).toHaveLength(3);

    const events: SimulatorEvent[] = [];
    const simulator = new FleetSimulator({ baseUrl: base, terminals, concurrency: 3, onEvent: (e) => events.push(e) });
    try {
      expect(await simulator.start()).toEqual({ activated: 3, failed: 0, skipped: 0 });
      const db = h.tdb.database.kysely as unknown as Kysely<TerminalSharedTables>;
      const rows = await db.selectFrom('terminals').select(['id', 'status', 'device_public_key']).where('serial', 'like', 'SIMT%').execute();
      expect(rows.map((r) => r.status)).toEqual(['active', 'active', 'active']);
      expect(rows.every((r) => r.device_public_key)).toBe(true);

      // A staff message to one terminal reaches it through push and is acknowledged once.
      const target = terminals[1]!;
      const sent = await h.app.inject({
        method: 'POST',
        url: `/api/v1/terminals/${target.id}/commands`,
        headers: auth(h.adminToken),
        payload: { kind: 'message', message: { zh: '今日盘点', en: 'Stock-take today' }, expires_in_s: 3600 },
      });
      expect(sent.statusCode, sent.body).toBeLessThan(300);
      await until(() => events.some((e) => e.type === 'command' && e.serial === target.serial && e.kind === 'message'), 'the message command');
      await until(
        async () => (await db.selectFrom('terminal_commands').select('status').where('terminal_id', '=', target.id).where('kind', '=', 'message').executeTakeFirst())?.status === 'acked',
        'the acknowledgement',
      );
      expect(events.filter((e) => e.type === 'command' && e.kind === 'message')).toHaveLength(1);
    } finally {
      await simulator.stop();
    }
  });

  it('percentile is the nearest rank', () => {
    expect(percentile([], 0.99)).toBe(0);
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99)).toBe(99);
  });
});
