/**
 * Prepared queries on every dialect: built once, each call runs with its own values (placeholders
 * filled, constants of the builder kept), on the database or inside a transaction (where it sees
 * the transaction's rows and is rolled back with it); one builder serves two databases; a missing
 * value is an error, not a NULL.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../../test/dialects.js';
import { prepared } from './prepared.js';

interface Tables {
  pq_probe: { id: string; kind: string; n: number; note: string | null };
}

let builds = 0;
const insert = prepared<{ id: string; n: number; note: string | null }, never>((db, p) => {
  builds++;
  return (db as Kysely<Tables>).insertInto('pq_probe').values({ id: p.id, kind: 'fixed', n: p.n, note: p.note });
});
const byKindAbove = prepared<{ min: number }, { id: string; n: number; note: string | null }>((db, p) =>
  (db as Kysely<Tables>).selectFrom('pq_probe').select(['id', 'n', 'note']).where('kind', '=', 'fixed').where('n', '>', p.min).orderBy('n'),
);
const bump = prepared<{ id: string; by: number }, never>((_db, p) => sql<never>`update pq_probe set n = n + ${p.by} where id = ${p.id}`);

describe.each(DIALECTS)('prepared queries on %s', (dialect) => {
  const dbs: TestDatabase[] = [];
  const db = (i: number) => dbs[i]!.database.kysely as Kysely<Tables>;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const t = await createTestDatabase(dialect, { migrate: false });
      dbs.push(t);
      await sql`create table pq_probe (id text primary key, kind text not null, n integer not null, note text)`.execute(t.database.kysely);
    }
  });
  afterAll(async () => {
    for (const t of dbs) await t.drop();
  });

  it('runs each call with its own values and keeps the builder’s constants', async () => {
    const before = builds;
    await insert.execute(db(0), { id: 'a', n: 1, note: null });
    await insert.execute(db(0), { id: 'b', n: 5, note: '乙 b' });
    await insert.execute(db(0), { id: 'c', n: 9, note: 'c' });
    expect(builds - before).toBeLessThanOrEqual(1);
    expect(await byKindAbove.all(db(0), { min: 2 })).toEqual([
      { id: 'b', n: 5, note: '乙 b' },
      { id: 'c', n: 9, note: 'c' },
    ]);
    expect(await byKindAbove.first(db(0), { min: 8 })).toEqual({ id: 'c', n: 9, note: 'c' });
    expect(await byKindAbove.first(db(0), { min: 9 })).toBeUndefined();
    const kinds = await db(0).selectFrom('pq_probe').select('kind').distinct().execute();
    expect(kinds).toEqual([{ kind: 'fixed' }]);
    expect(await bump.affected(db(0), { id: 'a', by: 10 })).toBe(1);
    expect(await bump.affected(db(0), { id: 'nobody', by: 10 })).toBe(0);
    expect((await byKindAbove.first(db(0), { min: 9 }))?.id).toBe('a');
  });

  it('inside a transaction sees its rows and is rolled back with it', async () => {
    await expect(
      db(0)
        .transaction()
        .execute(async (trx) => {
          await insert.execute(trx, { id: 't', n: 100, note: null });
          expect((await byKindAbove.first(trx, { min: 99 }))?.id).toBe('t');
          throw new Error('roll back');
        }),
    ).rejects.toThrow('roll back');
    expect(await byKindAbove.first(db(0), { min: 99 })).toBeUndefined();
  });

  it('serves a second database of the dialect, and refuses a missing value', async () => {
    await insert.execute(db(1), { id: 'x', n: 3, note: null });
    expect(await byKindAbove.all(db(1), { min: 0 })).toEqual([{ id: 'x', n: 3, note: null }]);
    await expect(insert.execute(db(1), { id: 'y', n: undefined as unknown as number, note: null })).rejects.toThrow(/no value for n/);
  });
});
