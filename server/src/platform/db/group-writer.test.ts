/**
 * The group writer on every dialect: concurrent durable and ordered jobs each settle once their
 * group has committed (a second connection sees their rows), a job that throws is rolled back alone
 * and its caller gets the error, and on SQLite an ordered group leaves the connection's
 * `synchronous` level as it found it (FULL), also when a job fails. On SQLite with the log sync
 * replaced by one the test releases by hand: a durable job is answered only after the sync that
 * followed its commit, an ordered one right after its commit, and a failed sync fails the group.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../../test/dialects.js';
import { openDatabase, type Database } from './database.js';
import { groupWrite } from './group-writer.js';
import { WalSync } from './wal-sync.js';
import { ManualSync, settled } from './test-support.js';

interface Tables {
  gw_probe: { id: string; n: number };
}

describe.each(DIALECTS)('group writer on %s', (dialect) => {
  let tdb: TestDatabase;
  let other: Database;
  let db: Kysely<Tables>;
  const deps = () => ({ db: tdb.database.kysely, database: tdb.database });

  beforeAll(async () => {
    tdb = await createTestDatabase(dialect, { migrate: false });
    db = tdb.database.kysely as Kysely<Tables>;
    await sql`create table gw_probe (id text primary key, n integer not null)`.execute(db);
    other = openDatabase({ url: tdb.url });
  });
  afterAll(async () => {
    await other?.close();
    await tdb?.drop();
  });

  const seen = async (ids: string[]): Promise<string[]> =>
    (await (other.kysely as Kysely<Tables>).selectFrom('gw_probe').select('id').where('id', 'in', ids).orderBy('id').execute()).map((r) => r.id);

  it('settles each job after its group commits; a failing job is rolled back alone', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `j${String(i).padStart(2, '0')}`);
    const results = await Promise.allSettled(
      ids.map((id, i) =>
        groupWrite<string, Kysely<Tables>>(
          deps(),
          async (trx) => {
            await trx.insertInto('gw_probe').values({ id, n: i }).execute();
            if (i % 10 === 7) throw new Error(`job ${id} refused`);
            return id;
          },
          { durable: i % 2 === 0 },
        ),
      ),
    );
    const kept = ids.filter((_, i) => i % 10 !== 7);
    results.forEach((r, i) => {
      if (i % 10 === 7) expect(r).toMatchObject({ status: 'rejected', reason: { message: `job ${ids[i]} refused` } });
      else expect(r).toEqual({ status: 'fulfilled', value: ids[i] });
    });
    expect(await seen(ids)).toEqual(kept);
  });

  it.runIf(dialect === 'sqlite')('an ordered group leaves synchronous at FULL, also when its job fails', async () => {
    const raw = tdb.database.sqlite!;
    expect(raw.pragma('synchronous', { simple: true })).toBe(2);
    await groupWrite(deps(), (trx) => sql`insert into gw_probe (id, n) values ('o1', 1)`.execute(trx), { durable: false });
    expect(raw.pragma('synchronous', { simple: true })).toBe(2);
    await expect(
      groupWrite(
        deps(),
        async (trx) => {
          await sql`insert into gw_probe (id, n) values ('o2', 2)`.execute(trx);
          throw new Error('no');
        },
        { durable: false },
      ),
    ).rejects.toThrow('no');
    expect(raw.pragma('synchronous', { simple: true })).toBe(2);
    expect(raw.inTransaction).toBe(false);
    expect(await seen(['o1', 'o2'])).toEqual(['o1']);
  });
});

describe('group writer: acknowledged only after the log sync (SQLite)', () => {
  let tdb: TestDatabase;
  const sync = new ManualSync();
  const deps = () => ({ db: tdb.database.kysely, database: tdb.database });
  const stored = (id: string): unknown => tdb.database.sqlite!.prepare('select id from gw_probe where id = ?').get(id);
  const insert = (id: string, durable: boolean) =>
    groupWrite(deps(), (trx) => sql`insert into gw_probe (id, n) values (${id}, 0)`.execute(trx), { durable });

  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite', { migrate: false });
    // The first WalSync made for a connection is the one every writer on it shares.
    expect(WalSync.of(tdb.database.sqlite!, sync.fn)).toBeDefined();
    await sql`create table gw_probe (id text primary key, n integer not null)`.execute(tdb.database.kysely);
  });
  afterAll(async () => {
    for (const c of sync.calls) c.resolve();
    await tdb?.drop();
  });

  it('answers a durable job after the sync that followed its commit, an ordered one at its commit', async () => {
    const before = sync.calls.length;
    const durable = insert('d1', true);
    await sync.waitForCall(before + 1);
    expect(stored('d1')).toBeDefined();
    expect(await settled(durable)).toBe(false);
    const ordered = insert('o1', false);
    expect(await settled(ordered)).toBe(true);
    expect(stored('o1')).toBeDefined();
    sync.calls[before]!.resolve();
    await durable;
  });

  it('a failed sync fails the callers of its group', async () => {
    const before = sync.calls.length;
    const durable = insert('d2', true);
    await sync.waitForCall(before + 1);
    sync.calls[before]!.reject(new Error('EIO'));
    await expect(durable).rejects.toThrow('EIO');
  });
});
