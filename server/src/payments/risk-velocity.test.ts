/**
 * The in-memory bound of velocity counts (SQLite only: on PostgreSQL every count is exact, which
 * the risk tests check on both dialects): never below the number of the subject's rows in the
 * window, whoever inserted them and whenever — before the first question, after it (the temp
 * trigger), out of order, rolled back, moved to the subject by an update, or committed by another
 * connection.
 */
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { newId } from '../platform/ids.js';
import type { PaymentsSharedTables } from './contracts.js';
import { velocityBound } from './risk-velocity.js';

const NOW = Date.UTC(2026, 10, 27, 4, 0) * 1000;
const MIN = 60_000_000;

describe('velocity bound (sqlite)', () => {
  let tdb: TestDatabase;
  let db: Kysely<PaymentsSharedTables>;
  let raw: BetterSqlite3.Database;
  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite');
    db = tdb.database.kysely as Kysely<PaymentsSharedTables>;
    raw = tdb.database.sqlite!;
  });
  afterAll(async () => tdb?.drop());

  const row = (at: number, s: { card?: string; terminal?: string; account?: string }) => {
    const id = newId();
    return {
      id, type: 'sale' as const, status: 'approved' as const, response_code: '00', client_scope: 'vb', client_id: id, request_hash: 'x', reply: '{}',
      terminal_id: s.terminal ?? null, merchant_party_id: null, org_id: 'o', batch_id: null, operator_id: null, card_id: s.card ?? null, card_last4: null,
      account_id: s.account ?? null, counter_account_id: null, amount: 100, fee: 0, refunded_amount: 0, refunded_fee: 0, original_id: null, trace_no: null,
      auth_code: null, pending_transfer_id: null, hold_expires_at: null, risk: null, business_date: '2026-11-27', settlement_id: null, created_at: at, updated_at: at,
    };
  };
  const insert = async (at: number, s: { card?: string; terminal?: string; account?: string }, on: Kysely<PaymentsSharedTables> = db) => {
    const r = row(at, s);
    await on.insertInto('pay_transactions').values(r).execute();
    return r.id;
  };
  const exact = async (column: 'card_id' | 'terminal_id' | 'account_id', subject: string, since: number): Promise<number> => {
    const r = await db.selectFrom('pay_transactions').select(sql<number>`count(*)`.as('n')).where(column, '=', subject).where('created_at', '>', since).executeTakeFirstOrThrow();
    return Number(r.n);
  };

  it('counts rows from before the first question and every row inserted after it, out of order too', async () => {
    const bound = velocityBound(raw);
    expect(velocityBound(raw)).toBe(bound);
    await insert(NOW - 11 * MIN, { card: 'c1' });
    await insert(NOW - 9 * MIN, { card: 'c1' });
    await insert(NOW - 10 * MIN, { card: 'c1' }); // exactly at the window's start: outside
    expect(bound.atMost('card', 'c1', NOW - 10 * MIN, NOW)).toBe(1);
    await insert(NOW - MIN, { card: 'c1', terminal: 't1' });
    // Out of order: a claim whose moment is before the last one's; raised, so counted.
    await insert(NOW - 5 * MIN, { card: 'c1' });
    expect(bound.atMost('card', 'c1', NOW - 10 * MIN, NOW)).toBeGreaterThanOrEqual(await exact('card_id', 'c1', NOW - 10 * MIN));
    expect(bound.atMost('card', 'c1', NOW - 10 * MIN, NOW)).toBe(3);
    // A longer window than the first question's: read again.
    expect(bound.atMost('card', 'c1', NOW - 20 * MIN, NOW)).toBe(await exact('card_id', 'c1', NOW - 20 * MIN));
    expect(bound.atMost('terminal', 't1', NOW - 10 * MIN, NOW)).toBe(1);
    expect(bound.atMost('merchant', 'm1', NOW - 10 * MIN, NOW)).toBeNull();
  });

  it('keeps counting a row rolled back, counts a row moved to the subject, and rereads after another connection commits', async () => {
    const bound = velocityBound(raw);
    const since = NOW - 10 * MIN;
    expect(bound.atMost('account', 'a1', since, NOW)).toBe(0);
    await db
      .transaction()
      .execute(async (trx) => {
        await insert(NOW - MIN, { account: 'a1' }, trx);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    expect(await exact('account_id', 'a1', since)).toBe(0);
    expect(bound.atMost('account', 'a1', since, NOW)).toBe(1);
    const id = await insert(NOW - MIN, { account: 'a0' });
    await db.updateTable('pay_transactions').set({ account_id: 'a1' }).where('id', '=', id).execute();
    expect(bound.atMost('account', 'a1', since, NOW)).toBe(2);

    // Another connection (a tool on the same file): its rows are seen after its commit.
    expect(bound.atMost('card', 'c2', since, NOW)).toBe(0);
    const other = new BetterSqlite3(raw.name);
    try {
      const r = row(NOW - MIN, { card: 'c2' });
      const cols = Object.keys(r);
      other.prepare(`insert into pay_transactions (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`).run(...Object.values(r));
    } finally {
      other.close();
    }
    expect(bound.atMost('card', 'c2', since, NOW)).toBe(1);
    expect(bound.atMost('account', 'a1', since, NOW)).toBeGreaterThanOrEqual(await exact('account_id', 'a1', since));
  });

  it('is not set up inside a transaction (a rollback would drop its trigger), and sets itself up again when the trigger is gone', async () => {
    const fresh = await createTestDatabase('sqlite');
    try {
      const fdb = fresh.database.kysely as Kysely<PaymentsSharedTables>;
      const fraw = fresh.database.sqlite!;
      const bound = velocityBound(fraw);
      const since = NOW - 10 * MIN;
      await fdb
        .transaction()
        .execute(async (trx) => {
          await insert(NOW - MIN, { card: 'c9' }, trx);
          expect(bound.atMost('card', 'c9', since, NOW)).toBeNull();
          throw new Error('rolled back');
        })
        .catch(() => undefined);
      expect(bound.atMost('card', 'c9', since, NOW)).toBe(0);
      await insert(NOW - MIN, { card: 'c9' }, fdb);
      expect(bound.atMost('card', 'c9', since, NOW)).toBe(1);
      // The table made again by a migration takes the trigger with it: noticed, read again.
      fraw.exec('drop trigger temp.xw_risk_txn_insert');
      await insert(NOW - MIN, { card: 'c9' }, fdb);
      expect(bound.atMost('card', 'c9', since, NOW)).toBe(2);
      await insert(NOW - MIN, { card: 'c9' }, fdb);
      expect(bound.atMost('card', 'c9', since, NOW)).toBe(3);
    } finally {
      await fresh.drop();
    }
  });

  it('drops what falls out of the longest window, without losing what is inside', async () => {
    const bound = velocityBound(raw);
    for (let i = 0; i < 50; i++) await insert(NOW + i * MIN, { card: 'c3' });
    for (let i = 0; i < 50; i++) {
      const at = NOW + i * MIN;
      const since = at - 5 * MIN;
      const n = bound.atMost('card', 'c3', since, at)!;
      expect(n).toBeGreaterThanOrEqual(await exact('card_id', 'c3', since));
      expect(n).toBe(await exact('card_id', 'c3', since));
    }
  });
});
