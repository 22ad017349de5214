/**
 * Nothing is acknowledged before it is durable (DESIGN.md rule 3), with the SQLite commit's fsync
 * taken off the event loop (ADR 0011): a group is written with `synchronous = NORMAL`, and its
 * callers are answered only once a sync of the WAL that started after the write has finished.
 * The sync is replaced here by one the test releases by hand, to watch the order of events.
 * SQLite only: on PostgreSQL COMMIT itself is durable and does not block the event loop.
 */
import type { Kysely } from 'kysely';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { AuditLog } from '../identity/audit.js';
import type { IdentityTables } from '../identity/tables.js';
import { ManualSync, settled } from '../platform/db/test-support.js';
import { WalSync } from '../platform/db/wal-sync.js';
import { LEDGER_CNY, createLedger, type Ledger } from './index.js';

const options = { XIAOWEI_COMMIT_MAX_BATCH: 8190, XIAOWEI_COMMIT_MAX_WAIT_MS: 0, XIAOWEI_COMMIT_MAX_QUEUE: 100_000, XIAOWEI_PENDING_SWEEP_MS: 3_600_000 };

describe('durable before acknowledged, with the sync off the event loop (SQLite)', () => {
  let tdb: TestDatabase;
  let ledger: Ledger;
  const sync = new ManualSync();
  const t = (id: string, amount = 1) => ({ id, debit_account_id: 'bank', credit_account_id: 'shop', amount, ledger: LEDGER_CNY, code: 1 });
  const stored = (id: string): unknown =>
    tdb.database.sqlite!.prepare('select id from ledger_transfers where id = ?').get(id);

  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite');
    // The first WalSync made for a connection is the one every writer on it shares.
    expect(WalSync.of(tdb.database.sqlite!, sync.fn)).toBeDefined();
    ledger = createLedger(tdb.database, options);
    expect(await ledger.createAccounts([{ id: 'bank', ledger: LEDGER_CNY, code: 1 }, { id: 'shop', ledger: LEDGER_CNY, code: 2 }])).toEqual([]);
  });
  afterAll(async () => {
    for (const c of sync.calls) c.resolve();
    await ledger.drain();
    await tdb.drop();
  });

  it('answers a transfer only after the sync that followed its commit', async () => {
    const before = sync.calls.length;
    const p = ledger.createTransfers([t('d1')]);
    await sync.waitForCall(before + 1);
    // Written (the next group can build on it) but not acknowledged.
    expect(stored('d1')).toBeDefined();
    expect(await settled(p)).toBe(false);
    sync.calls[before]!.resolve();
    expect(await p).toEqual([]);
  });

  it('writes the next group while a sync runs, and answers it only after a sync that started later', async () => {
    const before = sync.calls.length;
    const first = ledger.createTransfers([t('d2')]);
    await sync.waitForCall(before + 1);
    const second = ledger.createTransfers([t('d3')]);
    for (let i = 0; i < 100 && !stored('d3'); i++) await new Promise((r) => setTimeout(r, 2));
    expect(stored('d3')).toBeDefined();
    // The running sync may have started before d3 was written: it answers d2 only.
    sync.calls[before]!.resolve();
    expect(await first).toEqual([]);
    expect(await settled(second)).toBe(false);
    await sync.waitForCall(before + 2);
    sync.calls[before + 1]!.resolve();
    expect(await second).toEqual([]);
  });

  it('acknowledges nothing when the sync fails; a retry answers from what the database holds', async () => {
    const before = sync.calls.length;
    const p = ledger.createTransfers([t('d4', 7)]);
    await sync.waitForCall(before + 1);
    sync.calls[before]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(p).rejects.toThrow(/EIO/);
    const retry = ledger.createTransfers([t('d4', 7)]);
    await sync.waitForCall(before + 2);
    sync.calls[before + 1]!.resolve();
    expect(await retry).toEqual([{ index: 0, result: 'exists' }]);
  });

  it('holds back an audit entry until the shared sync', async () => {
    const audit = new AuditLog(tdb.database.kysely as Kysely<IdentityTables>, tdb.database.sqlite);
    const before = sync.calls.length;
    const entry = audit.write({ actor_id: null, actor_name: 'test', action: 'transfer.create', target: 'd5', outcome: 'ok' });
    await sync.waitForCall(before + 1);
    const row = tdb.database.sqlite!.prepare("select outcome from audit_log where target = 'd5'").get() as { outcome: string } | undefined;
    expect(row?.outcome).toBe('ok');
    expect(await settled(entry)).toBe(false);
    sync.calls[before]!.resolve();
    await entry;
  });

  it('keeps the connection at its own synchronous level for every other commit', () => {
    expect(Number(tdb.database.sqlite!.pragma('synchronous', { simple: true }))).toBe(2);
  });
});

describe.skipIf(!fs.existsSync('/proc/self/fd'))('the real sync keeps the live WAL file open (SQLite, Linux)', () => {
  it('syncs the same file SQLite writes, across checkpoints that restart and truncate the log', async () => {
    const tdb = await createTestDatabase('sqlite');
    const ledger = createLedger(tdb.database, options);
    try {
      const db = tdb.database.sqlite!;
      const wal = `${db.name}-wal`;
      await ledger.createAccounts([{ id: 'a', ledger: LEDGER_CNY, code: 1 }, { id: 'b', ledger: LEDGER_CNY, code: 2 }]);
      const openOnWal = (): string[] =>
        fs.readdirSync('/proc/self/fd').flatMap((fd) => {
          try {
            const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
            return target.startsWith(wal) ? [target] : [];
          } catch {
            return [];
          }
        });
      for (let round = 0; round < 3; round++) {
        const batch = Array.from({ length: 200 }, (_, i) => ({ id: `w${round}-${i}`, debit_account_id: 'a', credit_account_id: 'b', amount: 1, ledger: LEDGER_CNY, code: 1 }));
        expect(await ledger.createTransfers(batch)).toEqual([]);
        db.pragma(round % 2 === 0 ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(RESTART)');
      }
      expect(await ledger.createTransfers([{ id: 'last', debit_account_id: 'a', credit_account_id: 'b', amount: 1, ledger: LEDGER_CNY, code: 1 }])).toEqual([]);
      // Every descriptor this process holds on the log is the live file, none on a deleted one.
      const targets = openOnWal();
      expect(targets.length).toBeGreaterThan(0);
      expect(targets.every((t) => t === wal)).toBe(true);
      expect(WalSync.of(db)!.syncs).toBeGreaterThan(0);
    } finally {
      await ledger.drain();
      await tdb.drop();
    }
  });
});
