import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { AccountFlags, LEDGER_CNY, TransferFlags, createLedger, type Ledger } from './index.js';

const options = { XIAOWEI_COMMIT_MAX_BATCH: 8190, XIAOWEI_COMMIT_MAX_WAIT_MS: 0, XIAOWEI_COMMIT_MAX_QUEUE: 100_000, XIAOWEI_PENDING_SWEEP_MS: 3_600_000 };

describe.each(DIALECTS)('ledger on %s', (dialect) => {
  let tdb: TestDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    ledger = createLedger(tdb.database, options);
    const results = await ledger.createAccounts([
      { id: 'bank', ledger: LEDGER_CNY, code: 1 },
      { id: 'alice', ledger: LEDGER_CNY, code: 2, flags: AccountFlags.debits_must_not_exceed_credits },
      { id: 'bob', ledger: LEDGER_CNY, code: 2, flags: AccountFlags.debits_must_not_exceed_credits },
      { id: 'usd', ledger: 840, code: 2 },
    ]);
    expect(results).toEqual([]);
  });
  afterAll(async () => {
    await ledger.drain();
    await tdb.drop();
  });

  it('moves money, refuses overdraft and replays idempotently', async () => {
    expect(await ledger.createTransfers([{ id: 't1', debit_account_id: 'bank', credit_account_id: 'alice', amount: 10_000, ledger: LEDGER_CNY, code: 1 }])).toEqual([]);
    expect(await ledger.createTransfers([{ id: 't2', debit_account_id: 'alice', credit_account_id: 'bob', amount: 10_001, ledger: LEDGER_CNY, code: 1 }])).toEqual([{ index: 0, result: 'exceeds_credits' }]);
    // The retry returns the first outcome, even though it would now succeed.
    await ledger.createTransfers([{ id: 't3', debit_account_id: 'bank', credit_account_id: 'alice', amount: 5, ledger: LEDGER_CNY, code: 1 }]);
    expect(await ledger.createTransfers([{ id: 't2', debit_account_id: 'alice', credit_account_id: 'bob', amount: 10_001, ledger: LEDGER_CNY, code: 1 }])).toEqual([{ index: 0, result: 'exceeds_credits' }]);
    expect(await ledger.createTransfers([{ id: 't1', debit_account_id: 'bank', credit_account_id: 'alice', amount: 10_000, ledger: LEDGER_CNY, code: 1 }])).toEqual([{ index: 0, result: 'exists' }]);
    expect(await ledger.createTransfers([{ id: 't1', debit_account_id: 'bank', credit_account_id: 'alice', amount: 9, ledger: LEDGER_CNY, code: 1 }])).toEqual([{ index: 0, result: 'exists_with_different_fields' }]);
    const [alice] = await ledger.lookupAccounts(['alice']);
    expect(alice).toMatchObject({ credits_posted: 10_005, debits_posted: 0 });
  });

  it('commits a linked chain all or nothing', async () => {
    const results = await ledger.createTransfers([
      { id: 'c1', debit_account_id: 'bank', credit_account_id: 'bob', amount: 100, ledger: LEDGER_CNY, code: 1, flags: TransferFlags.linked },
      { id: 'c2', debit_account_id: 'bob', credit_account_id: 'alice', amount: 101, ledger: LEDGER_CNY, code: 1 },
      { id: 'c3', debit_account_id: 'usd', credit_account_id: 'alice', amount: 1, ledger: LEDGER_CNY, code: 1 },
    ]);
    expect(results).toEqual([
      { index: 0, result: 'linked_event_failed' },
      { index: 1, result: 'exceeds_credits' },
      { index: 2, result: 'accounts_must_have_the_same_ledger' },
    ]);
    const [bob] = await ledger.lookupAccounts(['bob']);
    expect(bob!.credits_posted).toBe(0);
  });

  it('holds, posts part of and voids pending transfers', async () => {
    expect(await ledger.createTransfers([
      { id: 'p1', debit_account_id: 'alice', credit_account_id: 'bob', amount: 1000, ledger: LEDGER_CNY, code: 3, flags: TransferFlags.pending },
      { id: 'p2', debit_account_id: 'alice', credit_account_id: 'bob', amount: 500, ledger: LEDGER_CNY, code: 3, flags: TransferFlags.pending },
      { id: 'p1-post', debit_account_id: '', credit_account_id: '', amount: 700, pending_id: 'p1', ledger: 0, code: 0, flags: TransferFlags.post_pending },
      { id: 'p2-void', debit_account_id: '', credit_account_id: '', amount: 0, pending_id: 'p2', ledger: 0, code: 0, flags: TransferFlags.void_pending },
      { id: 'p1-again', debit_account_id: '', credit_account_id: '', amount: 0, pending_id: 'p1', ledger: 0, code: 0, flags: TransferFlags.void_pending },
    ])).toEqual([{ index: 4, result: 'pending_transfer_already_posted' }]);
    const [alice, bob] = await ledger.lookupAccounts(['alice', 'bob']);
    expect(alice).toMatchObject({ debits_pending: 0, debits_posted: 700 });
    expect(bob).toMatchObject({ credits_pending: 0, credits_posted: 700 });
  });

  it('keeps statements with running balances and verifies', async () => {
    const page = await ledger.statement('alice', { limit: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.items.map((l) => l.transfer.id)).toEqual(['p2-void', 'p1-post']);
    expect(page.items[1]).toMatchObject({ side: 'debit', debits_posted_after: 700, credits_posted_after: 10_005 });
    const next = await ledger.statement('alice', { before: Number(page.next_cursor), limit: 50 });
    expect(next.items.map((l) => l.transfer.id)).toEqual(['p2', 'p1', 't3', 't1']);
    expect(next.next_cursor).toBeNull();
    const report = await ledger.verify();
    expect(report).toMatchObject({ ok: true, accounts: 4 });
  });

  it('answers the stored transfer from the commit: the new one, the first one on a replay, none when refused', async () => {
    const input = { id: 'r1', debit_account_id: 'bank', credit_account_id: 'bob', amount: 3, ledger: LEDGER_CNY, code: 1, reference: 'ref-r1' };
    const first = await ledger.createTransfersReturning([input, { ...input, id: 'r2', debit_account_id: 'usd' }]);
    expect(first.failures).toEqual([{ index: 1, result: 'accounts_must_have_the_same_ledger' }]);
    expect(first.transfers[1]).toBeUndefined();
    expect(first.transfers[0]).toEqual(await ledger.lookupTransfer('r1'));
    const replay = await ledger.createTransfersReturning([input]);
    expect(replay.failures).toEqual([{ index: 0, result: 'exists' }]);
    expect(replay.transfers[0]).toEqual(first.transfers[0]);
    const clash = await ledger.createTransfersReturning([{ ...input, amount: 4 }]);
    expect(clash).toEqual({ failures: [{ index: 0, result: 'exists_with_different_fields' }], transfers: [undefined] });
    const chain = await ledger.createTransfersReturning([
      { id: 'r3', debit_account_id: 'bank', credit_account_id: 'bob', amount: 1, ledger: LEDGER_CNY, code: 1, flags: TransferFlags.linked },
      { id: 'r4', debit_account_id: 'bob', credit_account_id: 'alice', amount: 1_000_000, ledger: LEDGER_CNY, code: 1 },
    ]);
    expect(chain.transfers).toEqual([undefined, undefined]);
    expect(await ledger.lookupTransfer('r3')).toBeUndefined();
  });

  it('knows the owners of accounts, leaving unknown accounts out', async () => {
    await ledger.createAccounts([{ id: 'owned', ledger: LEDGER_CNY, code: 2, owner_id: 'party-1' }]);
    const owners = await ledger.accountOwners(['owned', 'bank', 'nobody']);
    expect([...owners]).toEqual([['owned', 'party-1'], ['bank', null]]);
    expect([...(await ledger.accountOwners(['owned']))]).toEqual([['owned', 'party-1']]);
  });
});
