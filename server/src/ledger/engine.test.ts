/**
 * The group-commit engine's fast paths: what they must never change about the ledger's answers.
 * SQLite keeps an account cache (trusted only while no other connection has committed, emptied
 * by a failed commit); both stores look transfers up in bulk; PostgreSQL sends bulk columns as
 * joined strings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { openDatabase } from '../platform/db/database.js';
import type { BatchOutcome } from './apply-batch.js';
import { dailyTotals } from './batch-ids.js';
import { AccountFlags, LEDGER_CNY, createLedger, type Ledger, type TransferInput } from './index.js';
import { joined } from './pg-params.js';
import type { Transfer } from './types.js';

const options = {
  XIAOWEI_COMMIT_MAX_BATCH: 8190,
  XIAOWEI_COMMIT_MAX_WAIT_MS: 0,
  XIAOWEI_COMMIT_MAX_QUEUE: 100_000,
  XIAOWEI_PENDING_SWEEP_MS: 3_600_000,
};
const limited = AccountFlags.debits_must_not_exceed_credits;
let run = 0;

const move = (id: string, debit: string, credit: string, amount: number, code = 1): TransferInput => ({
  id,
  debit_account_id: debit,
  credit_account_id: credit,
  amount,
  ledger: LEDGER_CNY,
  code,
});

/** Fresh accounts for one test: `bank` (unlimited) and `n` accounts that may not overdraw. */
async function accounts(ledger: Ledger, n: number): Promise<{ bank: string; acct: (i: number) => string }> {
  const p = `e${++run}.`;
  const acct = (i: number): string => `${p}a${i}`;
  const inputs = [
    { id: `${p}bank`, ledger: LEDGER_CNY, code: 1 },
    ...Array.from({ length: n }, (_, i) => ({ id: acct(i), ledger: LEDGER_CNY, code: 2, flags: limited })),
  ];
  expect(await ledger.createAccounts(inputs)).toEqual([]);
  return { bank: `${p}bank`, acct };
}

describe.each(DIALECTS)('group-commit engine on %s', (dialect) => {
  let tdb: TestDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    ledger = createLedger(tdb.database, options);
  });
  afterAll(async () => {
    await ledger.drain();
    await tdb.drop();
  });

  it('sees what another connection committed (another process, the CLI)', async () => {
    const other = openDatabase({ url: tdb.url, poolSize: 2 });
    const second = createLedger(other, options);
    try {
      const { bank, acct } = await accounts(ledger, 1);
      expect(await ledger.createTransfers([move(`${acct(0)}.f1`, bank, acct(0), 100)])).toEqual([]);
      expect(await second.createTransfers([move(`${acct(0)}.f2`, bank, acct(0), 50)])).toEqual([]);
      // 150 is there only if this ledger does not trust what it last wrote itself.
      expect(await ledger.createTransfers([move(`${acct(0)}.s1`, acct(0), bank, 150)])).toEqual([]);
      expect(await second.createTransfers([move(`${acct(0)}.s2`, acct(0), bank, 1)])).toEqual([{ index: 0, result: 'exceeds_credits' }]);
      const [a] = await ledger.lookupAccounts([acct(0)]);
      expect(a).toMatchObject({ credits_posted: 150, debits_posted: 150 });
      expect(await ledger.verify()).toMatchObject({ ok: true });
    } finally {
      await second.drain();
      await other.close();
    }
  });

  it('keeps two ledgers on one connection consistent', async () => {
    const second = createLedger(tdb.database, options);
    try {
      const { bank, acct } = await accounts(ledger, 1);
      for (let i = 0; i < 4; i++) {
        const by = i % 2 === 0 ? ledger : second;
        expect(await by.createTransfers([move(`${acct(0)}.f${i}`, bank, acct(0), 10)])).toEqual([]);
      }
      expect(await second.createTransfers([move(`${acct(0)}.s`, acct(0), bank, 40)])).toEqual([]);
      expect(await ledger.createTransfers([move(`${acct(0)}.t`, acct(0), bank, 1)])).toEqual([{ index: 0, result: 'exceeds_credits' }]);
      expect(await ledger.verify()).toMatchObject({ ok: true });
    } finally {
      await second.drain();
    }
  });

  it('forgets what a failed commit decided', async () => {
    const { bank, acct } = await accounts(ledger, 2);
    expect(await ledger.createTransfers([move(`${acct(0)}.f`, bank, acct(0), 100)])).toEqual([]);
    const boom = `${acct(0)}.boom`;
    await failInsertsOf(tdb, boom);
    try {
      // The database refuses the whole transaction (not one transfer): the group rolls back.
      await expect(ledger.createTransfers([move(`${acct(0)}.x`, acct(0), acct(1), 100), move(boom, bank, acct(1), 1)])).rejects.toThrow();
    } finally {
      await allowInserts(tdb);
    }
    // The rolled-back debit must not linger in memory: all 100 are still there.
    expect(await ledger.createTransfers([move(`${acct(0)}.y`, acct(0), acct(1), 100)])).toEqual([]);
    const [a0, a1] = await ledger.lookupAccounts([acct(0), acct(1)]);
    expect(a0).toMatchObject({ debits_posted: 100, credits_posted: 100 });
    expect(a1).toMatchObject({ credits_posted: 100 });
    expect(await ledger.lookupTransfer(`${acct(0)}.x`)).toBeUndefined();
    expect(await ledger.verify()).toMatchObject({ ok: true });
  });

  it('refuses per transfer what the database cannot store, never failing the other callers of the group', async () => {
    const { bank, acct } = await accounts(ledger, 2);
    const settled = await Promise.all([
      ledger.createTransfers([move(`${acct(0)}.fine`, bank, acct(0), 1)]),
      ledger.createTransfers([{ ...move(`${acct(0)}.nul`, bank, acct(0), 1), reference: 'a\u0000b' }]),
      ledger.createTransfers([{ ...move(`${acct(0)}.half`, bank, acct(0), 1), reference: 'half \ud800' }]),
      ledger.createTransfers([move(`${acct(0)}.code`, bank, acct(0), 1, 2 ** 31)]),
      ledger.createTransfers([move(`${acct(0)}.acct`, bank, `${acct(1)}\u0000`, 1)]),
      ledger.createAccounts([{ id: `${acct(0)}.x`, ledger: LEDGER_CNY, code: 1, name: 'a\u0000' }]),
    ]);
    expect(settled).toEqual([
      [],
      [{ index: 0, result: 'reference_invalid' }],
      [{ index: 0, result: 'reference_invalid' }],
      [{ index: 0, result: 'code_must_not_be_zero' }],
      [{ index: 0, result: 'credit_account_not_found' }],
      [{ index: 0, result: 'field_invalid' }],
    ]);
  });

  it('verifies a journal longer than one read chunk, each transfer once', async () => {
    const { bank, acct } = await accounts(ledger, 3);
    const before = await ledger.verify();
    const batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 2_001 }, (_, i) => move(`${acct(0)}.v${b}.${i}`, bank, acct(i % 3), 1 + (i % 7))),
    );
    for (const results of await Promise.all(batches.map((batch) => ledger.createTransfers(batch)))) expect(results).toEqual([]);
    const after = await ledger.verify();
    expect(after, after.problem).toMatchObject({ ok: true, transfers: before.transfers + 6 * 2_001 });
  });

  it('answers replays of committed, rejected and same-group ids from the bulk look-up', async () => {
    const { bank, acct } = await accounts(ledger, 2);
    const ok = move(`${acct(0)}.ok`, bank, acct(0), 5);
    const refused = move(`${acct(1)}.no`, acct(1), bank, 5);
    expect(await ledger.createTransfers([ok, refused])).toEqual([{ index: 1, result: 'exceeds_credits' }]);
    const fresh = move(`${acct(1)}.fresh`, bank, acct(1), 7);
    // Four callers in one group commit; the last repeats the third's new id.
    const results = await Promise.all([
      ledger.createTransfers([ok]),
      ledger.createTransfers([{ ...refused }, { ...ok, amount: 6 }]),
      ledger.createTransfers([fresh]),
      ledger.createTransfers([fresh]),
    ]);
    expect(results).toEqual([
      [{ index: 0, result: 'exists' }],
      [
        { index: 0, result: 'exceeds_credits' },
        { index: 1, result: 'exists_with_different_fields' },
      ],
      [],
      [{ index: 0, result: 'exists' }],
    ]);
    const [a1] = await ledger.lookupAccounts([acct(1)]);
    expect(a1).toMatchObject({ credits_posted: 7, debits_posted: 0 });
  });
});

/** Makes the database refuse, as a whole transaction, any insert of the transfer `id`. */
async function failInsertsOf(tdb: TestDatabase, id: string): Promise<void> {
  if (tdb.database.dialect === 'sqlite') {
    tdb.database.sqlite!.exec(
      `create temp trigger boom before insert on ledger_transfers when new.id = '${id}' begin select raise(abort, 'boom'); end`,
    );
  } else {
    await tdb.database.pool!.query(`
      create function boom() returns trigger language plpgsql as $$
      begin if new.id = '${id}' then raise exception 'boom'; end if; return new; end $$;
      create trigger boom before insert on ledger_transfers for each row execute function boom();`);
  }
}

async function allowInserts(tdb: TestDatabase): Promise<void> {
  if (tdb.database.dialect === 'sqlite') tdb.database.sqlite!.exec('drop trigger boom');
  else await tdb.database.pool!.query('drop trigger boom on ledger_transfers; drop function boom();');
}

describe('bulk helpers', () => {
  it('adds up the daily rollup when day, ledger and code alternate', () => {
    const day1 = Date.UTC(2026, 0, 1, 4) * 1000;
    const day2 = Date.UTC(2026, 0, 2, 4) * 1000;
    const row = (ts: number, code: number, amount: number): Transfer => ({
      ...move('x', 'a', 'b', amount, code),
      pending_id: null,
      flags: 0,
      timeout_s: 0,
      reference: null,
      ts,
      dr_debits_after: 0,
      dr_credits_after: 0,
      cr_debits_after: 0,
      cr_credits_after: 0,
    });
    const outcome = (inserts: Transfer[]): BatchOutcome => ({
      results: [],
      inserts,
      touched: new Set(),
      pendingWrites: new Map(),
      rejections: [],
    });
    const totals = dailyTotals([
      outcome([row(day1, 1, 1), row(day1, 2, 10), row(day1, 1, 100)]),
      outcome([row(day2, 1, 1000), row(day1, 2, 10_000)]),
    ]);
    expect(totals.sort((a, b) => (a.day + a.code < b.day + b.code ? -1 : 1))).toEqual([
      { day: '2026-01-01', ledger: LEDGER_CNY, code: 1, count: 2, amount: 101 },
      { day: '2026-01-01', ledger: LEDGER_CNY, code: 2, count: 2, amount: 10_010 },
      { day: '2026-01-02', ledger: LEDGER_CNY, code: 1, count: 1, amount: 1000 },
    ]);
  });

  it('refuses to join an id with a comma (it would shift every later row)', () => {
    expect(joined(['a', 'b:1', 12, -3])).toBe('a,b:1,12,-3');
    expect(() => joined(['a', 'b,c'])).toThrow(/comma/);
  });
});
