/**
 * Statements and balance history while the per-account index is being built. On SQLite the index
 * (ledger_account_entries) is written after the fact by a deferred indexer, in passes of several
 * short slices, one account range each, with commits and reads in between (ADR 0003); the
 * watermark moves only when a pass ends. Every state a read can see — nothing indexed, a pass half
 * done, everything indexed — must give the same statements. On PostgreSQL the index is written
 * with each commit, and the same reads must hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { LEDGER_CNY, createLedger, type Ledger, type TransferInput } from './index.js';

const options = { XIAOWEI_COMMIT_MAX_BATCH: 8190, XIAOWEI_COMMIT_MAX_WAIT_MS: 0, XIAOWEI_COMMIT_MAX_QUEUE: 100_000, XIAOWEI_PENDING_SWEEP_MS: 3_600_000 };
const ACCOUNTS = 40;
const accountId = (i: number): string => `acct-${String(i).padStart(2, '0')}`;

/** Deterministic transfers between random pairs of accounts (several index slices' worth). */
function transfers(prefix: string, count: number, seed: number): TransferInput[] {
  let x = seed;
  const next = (n: number): number => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return Math.floor(x / 65_536) % n;
  };
  const out: TransferInput[] = [];
  for (let i = 0; i < count; i++) {
    const debit = next(ACCOUNTS);
    const credit = (debit + 1 + next(ACCOUNTS - 1)) % ACCOUNTS;
    out.push({ id: `${prefix}-${i}`, debit_account_id: accountId(debit), credit_account_id: accountId(credit), amount: 1 + next(100), ledger: LEDGER_CNY, code: 1 });
  }
  return out;
}

describe.each(DIALECTS)('statements while the per-account index is built (%s)', (dialect) => {
  let tdb: TestDatabase;
  let ledger: Ledger;
  const done: TransferInput[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    ledger = createLedger(tdb.database, options);
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({ id: accountId(i), ledger: LEDGER_CNY, code: 2 }));
    expect(await ledger.createAccounts(accounts)).toEqual([]);
  });
  afterAll(async () => {
    await ledger.drain();
    await tdb.drop();
  });

  /** What every account's statement must be: its transfers newest first, with running balances. */
  async function expectStatements(): Promise<void> {
    for (let i = 0; i < ACCOUNTS; i++) {
      const id = accountId(i);
      let debits = 0;
      let credits = 0;
      const lines: { id: string; side: string; debits: number; credits: number }[] = [];
      for (const t of done) {
        if (t.debit_account_id === id) debits += t.amount;
        else if (t.credit_account_id === id) credits += t.amount;
        else continue;
        lines.push({ id: t.id, side: t.debit_account_id === id ? 'debit' : 'credit', debits, credits });
      }
      lines.reverse();
      lines.splice(500);
      const page = await ledger.statement(id, { limit: 500 });
      expect(page.items.map((l) => ({ id: l.transfer.id, side: l.side, debits: l.debits_posted_after, credits: l.credits_posted_after }))).toEqual(lines);
      // Balance history: as of the transfer in the middle of the statement.
      const middle = page.items[Math.floor(page.items.length / 2)];
      if (middle) {
        const at = await ledger.balanceAt(id, middle.transfer.ts);
        expect(at).toEqual({ debits_posted: middle.debits_posted_after, credits_posted: middle.credits_posted_after, ts: middle.transfer.ts });
      }
    }
  }

  const raw = () => tdb.database.sqlite!;
  const watermark = (): number => Number((raw().prepare("select value from ledger_meta where key = 'entries_watermark'").get() as { value: number }).value);
  const maxTs = (): number => Number((raw().prepare('select max(ts) as ts from ledger_transfers').get() as { ts: number }).ts);
  const entries = (): number => Number((raw().prepare('select count(*) as n from ledger_account_entries').get() as { n: number }).n);

  /** Checks the statements at every state the indexer passes through until it has caught up. */
  async function checkUntilIndexed(): Promise<void> {
    if (dialect !== 'sqlite') return expectStatements();
    for (let i = 0; watermark() < maxTs(); i++) {
      if (i > 2_000) throw new Error('the indexer never caught up');
      await expectStatements();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Everything indexed, the tail above the watermark empty: statements come from the index alone.
    expect(entries()).toBe(2 * done.length);
    await expectStatements();
  }

  it('gives the same statements before, during and after a pass of several slices', async () => {
    const batch = transfers('a', 3_000, 7);
    expect(await ledger.createTransfers(batch)).toEqual([]);
    done.push(...batch);
    await checkUntilIndexed();
  });

  it('and for the next pass, which starts from the watermark', async () => {
    for (let round = 0; round < 3; round++) {
      const batch = transfers(`b${round}`, 700, 11 + round);
      expect(await ledger.createTransfers(batch)).toEqual([]);
      done.push(...batch);
    }
    await checkUntilIndexed();
  });

  it('catches up from more than one pass behind (a window is at most 50,000 rows)', async () => {
    for (let round = 0; round < 7; round++) {
      const batch = transfers(`c${round}`, 8_000, 23 + round);
      expect(await ledger.createTransfers(batch)).toEqual([]);
      done.push(...batch);
    }
    await checkUntilIndexed();
  });
});
