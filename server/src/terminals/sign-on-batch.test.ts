/**
 * Sign-ons stored as one group (sign-on-batch.ts), on SQLite and PostgreSQL: several sign-ons of
 * a tick, some of one terminal, decided in arrival order; odd characters in a terminal id are data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import type { Kysely } from 'kysely';
import type { ProtocolTables } from './protocol-migration.js';
import { createSignOnBatch, type SessionItem, type SignOnBatch } from './sign-on-batch.js';
import { SqliteWriter } from './terminal-auth-batch.js';
import { openDatabase } from '../platform/db/database.js';

const keys = { pin_key: 'p', pin_kcv: 'pk', mac_key: 'm', mac_kcv: 'mk', data_key: 'd', data_kcv: 'dk', lmk_version: 1 };

describe.each(DIALECTS)('sign-on groups on %s', (dialect) => {
  let h: Harness;
  let db: Kysely<ProtocolTables>;
  let batch: SignOnBatch;
  let writer: SqliteWriter | undefined;
  let merchant: string;
  let counter = 0;

  beforeAll(async () => {
    h = await createHarness(dialect);
    db = h.db as unknown as Kysely<ProtocolTables>;
    const database = h.tdb.database;
    writer = database.sqlite ? new SqliteWriter(database.sqlite, { minIntervalMs: 1, maxQueue: 1000 }) : undefined;
    batch = createSignOnBatch(database, writer);
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/parties', headers: auth(h.adminToken), payload: { kind: 'business', name: '张家杂货店', roles: ['merchant'], org_id: h.bankId } });
    merchant = res.json<{ id: string }>().id;
  });

  afterAll(async () => {
    await batch.drain();
    await writer?.drain();
    await h.close();
  });

  /** A terminal made active with device key `key` (its activation is not what is tested here). */
  const activeTerminal = async (key: string): Promise<string> => {
    const serial = `SB${dialect.slice(0, 2).toUpperCase()}${String(++counter).padStart(6, '0')}`;
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/terminals', headers: auth(h.adminToken), payload: { serial, model: 'P30', kind: 'smart_pos', owner_party_id: merchant } });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    await db.updateTable('terminals').set({ status: 'active', device_public_key: key } as never).where('id', '=', id).execute();
    return id;
  };

  const item = (terminalId: string, sessionId: string, signedAt: number, nowUs: number, devicePublicKey = 'K1'): SessionItem => ({
    terminalId,
    sessionId,
    devicePublicKey,
    signedAt,
    nowUs,
    expiresAt: nowUs + 3_600_000_000,
    keys,
  });

  it('decides a group in arrival order: batches follow acceptance, a replay and a stale key are refused, the earlier session is closed', async () => {
    const a = await activeTerminal('K1');
    const b = await activeTerminal('K1');
    const now = Date.now() * 1000;
    const outcomes = await Promise.all([
      batch.write(item(a, `${a}-1`, 1_000, now + 500)),
      batch.write(item(b, `${b}-1`, 1_000, now)),
      // Its clock reading is older than the first one's: it still opens after it.
      batch.write(item(a, `${a}-2`, 2_000, now)),
      batch.write(item(a, `${a}-3`, 2_000, now + 900)),
      batch.write(item(b, `${b}-2`, 3_000, now, 'K2')),
    ]);
    expect(outcomes).toEqual([
      { batchNo: 1, openedAt: now + 500 },
      { batchNo: 1, openedAt: now },
      { batchNo: 2, openedAt: now + 501 },
      { error: 'terminal_request_replayed' },
      { error: 'terminal_signature_invalid' },
    ]);
    const rows = await db.selectFrom('terminal_sessions').select(['id', 'batch_no', 'opened_at', 'closed_at']).where('terminal_id', 'in', [a, b]).orderBy('id').execute();
    expect(rows.map((r) => ({ ...r, opened_at: Number(r.opened_at), closed_at: r.closed_at === null ? null : Number(r.closed_at) }))).toEqual(
      [
        { id: `${a}-1`, batch_no: 1, opened_at: now + 500, closed_at: now + 501 },
        { id: `${a}-2`, batch_no: 2, opened_at: now + 501, closed_at: null },
        { id: `${b}-1`, batch_no: 1, opened_at: now, closed_at: null },
      ].sort((x, y) => (x.id < y.id ? -1 : 1)),
    );

    // The next group reads what this one stored.
    // The next group reads what this one stored; the session it replaces closes when it opens.
    expect(await batch.write(item(a, `${a}-4`, 4_000, now))).toEqual({ batchNo: 3, openedAt: now + 502 });
    const replaced = await db.selectFrom('terminal_sessions').select('closed_at').where('id', '=', `${a}-2`).executeTakeFirstOrThrow();
    expect(Number(replaced.closed_at)).toBe(now + 502);
  });

  it.runIf(dialect === 'postgres')('two processes signing one terminal on take turns: batches one after another, one session open', async () => {
    const a = await activeTerminal('K1');
    const other = openDatabase({ url: h.tdb.url, poolSize: 4 });
    try {
      const second = createSignOnBatch(other, undefined);
      const now = Date.now() * 1000;
      let signedAt = 0;
      const outcomes = [];
      for (let round = 0; round < 10; round++) {
        outcomes.push(
          ...(await Promise.all([
            batch.write(item(a, `${a}-p${round}`, ++signedAt, now)),
            second.write(item(a, `${a}-q${round}`, ++signedAt, now)),
            batch.write(item(a, `${a}-r${round}`, ++signedAt, now)),
          ])),
        );
      }
      await second.drain();
      const accepted = outcomes.flatMap((o) => ('error' in o ? [] : [o]));
      for (const o of outcomes) if ('error' in o) expect(o.error).toBe('terminal_request_replayed');
      expect(accepted.map((o) => o.batchNo).sort((x, y) => x - y)).toEqual(accepted.map((_, i) => i + 1));
      const rows = await db.selectFrom('terminal_sessions').select(['batch_no', 'opened_at', 'closed_at']).where('terminal_id', '=', a).orderBy('batch_no').execute();
      expect(rows).toHaveLength(accepted.length);
      expect(rows.filter((r) => r.closed_at === null)).toHaveLength(1);
      for (let i = 1; i < rows.length; i++) {
        expect(Number(rows[i]!.opened_at)).toBeGreaterThan(Number(rows[i - 1]!.opened_at));
        expect(Number(rows[i - 1]!.closed_at)).toBe(Number(rows[i]!.opened_at));
      }
    } finally {
      await other.close();
    }
  });

  it("takes quotes, backslashes and braces in a terminal id as data", async () => {
    const a = await activeTerminal('K1');
    const odd = `x'y"z\\{w},'); drop table terminals; --`;
    const now = Date.now() * 1000;
    const [unknown, fine] = await Promise.all([batch.write(item(odd, 'odd-1', 1_000, now)), batch.write(item(a, `${a}-1`, 1_000, now))]);
    expect(unknown).toEqual({ error: 'terminal_unknown' });
    expect(fine).toEqual({ batchNo: 1, openedAt: now });
    expect(await batch.read(odd)).toBeUndefined();
  });
});
