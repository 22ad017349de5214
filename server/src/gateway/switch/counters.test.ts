/**
 * STANs and RRNs from counter blocks: the STAN wraps 999999 → 000001, RRNs are 12 characters, and
 * two processes' counters (two `Counters` on one database) never hand out the same value.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../../test/dialects.js';
import { Counters, rrnOf, stanOf } from './counters.js';
import { mapResponseCode } from './link.js';
import type { SwitchTables } from './tables.js';

describe('counter formats and response codes', () => {
  it('wraps the STAN from 999999 to 000001 and never yields 000000', () => {
    expect(stanOf(1)).toBe('000001');
    expect(stanOf(999_999)).toBe('999999');
    expect(stanOf(1_000_000)).toBe('000001');
    expect(stanOf(2 * 999_999)).toBe('999999');
  });

  it('renders RRNs as prefix + base-36 counter, 12 characters', () => {
    expect(rrnOf(0, 1)).toBe('000000000001');
    expect(rrnOf(36 ** 4 - 1, 36 ** 8 - 1)).toBe('ZZZZZZZZZZZZ');
    expect(() => rrnOf(0, 36 ** 8)).toThrow(RangeError);
  });

  it('maps answer codes to the engine’s: known pass, 54 → 33, anything else → 05', () => {
    expect(mapResponseCode('00')).toBe('00');
    expect(mapResponseCode('51')).toBe('51');
    expect(mapResponseCode('54')).toBe('33');
    expect(mapResponseCode('63')).toBe('05');
    expect(mapResponseCode('Q1')).toBe('05');
    expect(mapResponseCode(undefined)).toBe('05');
    expect(mapResponseCode('toString')).toBe('05');
  });
});

describe.each(DIALECTS)('counters on one database (%s)', (dialect) => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('hands out disjoint STANs and RRNs to two processes, also inside a caller’s transaction', async () => {
    const db = tdb.database.kysely as Kysely<SwitchTables>;
    const a = new Counters(db, 7);
    const b = new Counters(db, 7);
    const stans = await Promise.all([...Array(40).keys()].map((i) => (i % 2 ? a : b).stan()));
    const rrns = await Promise.all([...Array(40).keys()].map((i) => (i % 2 ? a : b).rrn()));
    const inTrx = await db.transaction().execute(async (trx) => [await new Counters(db, 7).rrnIn(trx), await a.rrnIn(trx)]);
    expect(new Set(stans).size).toBe(40);
    expect(new Set([...rrns, ...inTrx]).size).toBe(42);
    for (const s of stans) expect(s).toMatch(/^\d{6}$/);
    for (const r of [...rrns, ...inTrx]) expect(r).toMatch(/^[0-9A-Z]{12}$/);
    // One installation, one prefix.
    expect(new Set([...rrns, ...inTrx].map((r) => r.slice(0, 4))).size).toBe(1);
  });
});
