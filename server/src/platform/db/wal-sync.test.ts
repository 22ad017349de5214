/**
 * WalSync's overlapping syncs (ADR 0011), with the sync replaced by one the test releases by hand:
 * a caller waits for the first sync that started after its write — a running one if it began
 * after the write, else a new one started at once, even while an older one runs — so no caller
 * waits for a sync that began before its write and then a whole one of its own; syncs answer in
 * the order they started; a sync that ran alongside a failed one fails too; at most
 * `maxInFlight` run at once. SQLite only (PostgreSQL commits are durable in COMMIT).
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/dialects.js';
import { ManualSync, settled } from './test-support.js';
import { WalSync } from './wal-sync.js';

describe('WalSync: overlapping syncs (SQLite)', () => {
  let tdb: TestDatabase;
  let sync: ManualSync;
  let wal: WalSync;
  let n = 0;
  const write = (): void => {
    const raw = tdb.database.sqlite!;
    wal.unsynced(() => raw.prepare('insert into ws_probe (id) values (?)').run(`r${++n}`));
  };

  beforeEach(async () => {
    tdb = await createTestDatabase('sqlite', { migrate: false });
    await sql`create table ws_probe (id text primary key)`.execute(tdb.database.kysely);
    sync = new ManualSync();
    wal = WalSync.of(tdb.database.sqlite!, sync.fn, 2)!;
    expect(wal).toBeDefined();
  });
  afterEach(async () => {
    for (const c of sync.calls) c.resolve();
    await tdb.drop();
  });

  it('starts a second sync at once for a write made after the running one began, and answers each after its own', async () => {
    write();
    const first = wal.durable();
    expect(sync.calls.length).toBe(1);
    write();
    const second = wal.durable();
    // Not queued behind the first: it runs alongside.
    expect(sync.calls.length).toBe(2);
    expect(await settled(first)).toBe(false);
    sync.calls[0]!.resolve();
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(false);
    sync.calls[1]!.resolve();
    await second;
  });

  it('joins a running sync that began after the write instead of starting another', async () => {
    write();
    const a = wal.durable();
    const b = wal.durable();
    expect(sync.calls.length).toBe(1);
    // A mark taken before the sync began is covered by it, whenever the wait is asked for.
    const mark = wal.mark();
    write();
    const c = wal.durableUpTo(mark);
    expect(sync.calls.length).toBe(1);
    sync.calls[0]!.resolve();
    await Promise.all([a, b, c]);
    // Covered by a finished sync: answered without one.
    await wal.durableUpTo(mark);
    expect(sync.calls.length).toBe(1);
    // The write after the sync began still needs one.
    const d = wal.durable();
    expect(sync.calls.length).toBe(2);
    sync.calls[1]!.resolve();
    await d;
  });

  it('answers in start order: a later sync finishing first waits for the earlier one', async () => {
    write();
    const first = wal.durable();
    write();
    const second = wal.durable();
    sync.calls[1]!.resolve();
    expect(await settled(second)).toBe(false);
    sync.calls[0]!.resolve();
    await first;
    await second;
  });

  it('fails a sync that ran alongside one that failed, and acknowledges nothing of either', async () => {
    write();
    const first = wal.durable();
    write();
    const second = wal.durable();
    sync.calls[1]!.resolve();
    sync.calls[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(first).rejects.toThrow(/EIO/);
    await expect(second).rejects.toThrow(/EIO/);
    // Nothing was counted durable: the next wait starts a sync of its own.
    const again = wal.durable();
    expect(sync.calls.length).toBe(3);
    sync.calls[2]!.resolve();
    await again;
  });

  it('runs at most maxInFlight syncs; one more starts when the oldest ends and covers every write by then', async () => {
    write();
    const first = wal.durable();
    write();
    const second = wal.durable();
    write();
    const third = wal.durable();
    write();
    const fourth = wal.durable();
    expect(sync.calls.length).toBe(2);
    expect(await settled(third)).toBe(false);
    sync.calls[0]!.resolve();
    await first;
    await sync.waitForCall(3);
    expect(sync.calls.length).toBe(3);
    sync.calls[1]!.resolve();
    await second;
    expect(await settled(third)).toBe(false);
    sync.calls[2]!.resolve();
    await Promise.all([third, fourth]);
  });
});
