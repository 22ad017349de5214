import { createHash } from 'node:crypto';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/db/database.js';
import { GroupCommitter } from './group-commit.js';
import { LedgerClock } from './ledger-clock.js';
import { PgLedgerStore } from './pg-store.js';
import * as read from './read.js';
import type { AccountResult, BatchResult, TransferResult } from './result-codes.js';
import { SqliteLedgerStore } from './sqlite-store.js';
import type { CommitRequest, LedgerStore } from './store.js';
import { TransferFlags, type Account, type AccountInput, type Transfer, type TransferInput } from './types.js';
import { verifyLedger, type VerifyReport } from './verify.js';

export * from './types.js';
export { TRANSFER_RESULTS, ACCOUNT_RESULTS, TRANSFER_RESULT_TEXT } from './result-codes.js';
export type { TransferResult, AccountResult, BatchResult } from './result-codes.js';
export type { StatementLine, Page, TransferQuery, DailyTotal, BalanceByCode } from './read.js';
export type { VerifyReport } from './verify.js';
export type { RowNote } from '../platform/db/row-note.js';
export { LedgerClock } from './ledger-clock.js';
export { ACCOUNT_TYPES, TRANSFER_CODES, accountType, displayBalance } from './chart.js';

const MAX_OWNERS = 200_000;

/** Ledger code for Chinese yuan (ISO 4217 numeric 156). */
export const LEDGER_CNY = 156;

export interface LedgerHooks {
  onCommit?: (transfers: number, requests: number, latencyMs: number) => void;
  onResults?: (committed: number, rejected: number) => void;
}

export type LedgerOptions = Pick<Config, 'XIAOWEI_COMMIT_MAX_BATCH' | 'XIAOWEI_COMMIT_MAX_WAIT_MS' | 'XIAOWEI_COMMIT_MAX_QUEUE' | 'XIAOWEI_PENDING_SWEEP_MS'>;

/**
 * The ledger: the only code that changes a balance. Transfers go through the group-commit engine;
 * reads go straight to the database.
 */
export interface Ledger {
  createAccounts(batch: readonly AccountInput[]): Promise<BatchResult<AccountResult>[]>;
  /** Commits transfers (group commit); returns only the failures (and `exists` for replays). */
  createTransfers(batch: readonly TransferInput[]): Promise<BatchResult<TransferResult>[]>;
  /**
   * createTransfers that also answers each transfer as stored — the new one, or for `exists` the
   * first — and undefined for a refused one, from the commit itself (no read afterwards).
   */
  createTransfersReturning(
    batch: readonly TransferInput[],
    options?: { note?: CommitRequest['note'] },
  ): Promise<{ failures: BatchResult<TransferResult>[]; transfers: (Transfer | undefined)[] }>;
  lookupAccounts(ids: readonly string[]): Promise<Account[]>;
  /**
   * The owner of each existing account among `ids` (absent ones are left out). An account's owner
   * never changes and accounts are never deleted, so the answer is kept in memory once read.
   */
  accountOwners(ids: readonly string[]): Promise<Map<string, string | null>>;
  lookupTransfer(id: string): Promise<Transfer | undefined>;
  /** Accounts, newest first; `owners` null = every owner. */
  listAccounts(q: { owners: readonly string[] | null; code?: number | undefined; limit: number; offset: number }): Promise<{ items: Account[]; total: number }>;
  statement(accountId: string, options?: { before?: number; limit?: number }): Promise<read.Page<read.StatementLine>>;
  balanceAt(accountId: string, at: number): Promise<{ debits_posted: number; credits_posted: number; ts: number | null }>;
  searchTransfers(q: read.TransferQuery): Promise<read.Page<Transfer>>;
  dailyTotals(fromDay: string, toDay: string): Promise<read.DailyTotal[]>;
  balancesByCode(): Promise<read.BalanceByCode[]>;
  /** Voids pending transfers whose timeout has passed; returns how many. */
  expirePendings(limit?: number): Promise<number>;
  verify(): Promise<VerifyReport>;
  /** Stops the sweep, refuses new transfers and waits for the queue to commit. */
  drain(): Promise<void>;
}

/**
 * Opens the ledger on a database. `clock` is for the demo seeder only, which writes a history
 * into an empty ledger with past timestamps; everything else uses the real clock.
 */
export function createLedger(database: Database, options: LedgerOptions, hooks: LedgerHooks = {}, clock = new LedgerClock()): Ledger {
  const store: LedgerStore =
    database.dialect === 'sqlite' ? new SqliteLedgerStore(database.sqlite!, clock) : new PgLedgerStore(database.pool!, clock);
  const sqlite = database.sqlite;
  const committer = new GroupCommitter(store, {
    maxBatch: options.XIAOWEI_COMMIT_MAX_BATCH,
    maxWaitMs: options.XIAOWEI_COMMIT_MAX_WAIT_MS,
    maxQueue: options.XIAOWEI_COMMIT_MAX_QUEUE,
    idleMs: database.dialect === 'sqlite' ? 200 : 0,
    ...(hooks.onCommit ? { onCommit: hooks.onCommit } : {}),
    // On SQLite a Kysely transaction may be open on the shared connection between awaits.
    ...(sqlite ? { busy: () => sqlite.inTransaction } : {}),
  });
  const db = database.kysely;
  const dialect = database.dialect;

  const submit = async (
    batch: readonly TransferInput[],
    internal: boolean,
    extra?: Pick<CommitRequest, 'stored' | 'note'>,
  ): Promise<BatchResult<TransferResult>[]> => {
    const results = await committer.submit(batch, internal, extra);
    const rejected = results.filter((r) => r.result !== 'exists').length;
    hooks.onResults?.(batch.length - rejected, rejected);
    return results;
  };

  const expirePendings = async (limit = 1000): Promise<number> => {
    const expired = await store.expiredPendings(clock.nowMicros(), limit);
    if (expired.length === 0) return 0;
    const voids: TransferInput[] = expired.map((p) => ({
      id: `expire:${createHash('sha256').update(p.id).digest('base64url').slice(0, 32)}`,
      debit_account_id: p.debit_account_id,
      credit_account_id: p.credit_account_id,
      amount: p.amount,
      pending_id: p.id,
      ledger: p.ledger,
      code: p.code,
      flags: TransferFlags.void_pending | TransferFlags.expired,
    }));
    const results = await submit(voids, true);
    return voids.length - results.length;
  };

  // Owners of accounts seen (immutable facts); starts over past MAX_OWNERS rather than grow without bound.
  const owners = new Map<string, string | null>();
  const accountOwners = async (ids: readonly string[]): Promise<Map<string, string | null>> => {
    const missing = ids.filter((id) => !owners.has(id));
    if (missing.length > 0) {
      const found = await read.getAccounts(db, missing);
      if (owners.size + found.length > MAX_OWNERS) owners.clear();
      for (const a of found) owners.set(a.id, a.owner_id);
    }
    const answer = new Map<string, string | null>();
    for (const id of ids) if (owners.has(id)) answer.set(id, owners.get(id)!);
    return answer;
  };

  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    expirePendings()
      .catch(() => undefined)
      .finally(() => (sweeping = false));
  }, options.XIAOWEI_PENDING_SWEEP_MS);
  sweep.unref();

  return {
    createAccounts: (batch) => store.createAccounts(batch),
    createTransfers: (batch) => submit(batch, false),
    async createTransfersReturning(batch, options = {}) {
      const transfers: (Transfer | undefined)[] = new Array<Transfer | undefined>(batch.length).fill(undefined);
      const failures = await submit(batch, false, { stored: transfers, note: options.note });
      return { failures, transfers };
    },
    accountOwners,
    lookupAccounts: (ids) => read.getAccounts(db, ids),
    lookupTransfer: (id) => read.getTransfer(db, id),
    listAccounts: (q) => read.listAccounts(db, q),
    statement: (accountId, o) => read.statement(db, dialect, accountId, o),
    balanceAt: (accountId, at) => read.balanceAt(db, dialect, accountId, at),
    searchTransfers: (q) => read.searchTransfers(db, dialect, q),
    dailyTotals: (from, to) => read.dailyTotals(db, from, to),
    balancesByCode: () => read.balancesByCode(db),
    expirePendings,
    verify: () => verifyLedger(db),
    async drain() {
      clearInterval(sweep);
      await committer.drain();
      store.close();
    },
  };
}
