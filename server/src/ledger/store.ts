import type { AccountResult, BatchResult, TransferResult } from './result-codes.js';
import type { RowNote } from '../platform/db/row-note.js';
import type { Account, AccountInput, PendingState, Transfer, TransferInput } from './types.js';

/** One caller's batch inside a group commit. */
export interface CommitRequest {
  transfers: readonly TransferInput[];
  /** Set only by the ledger's own jobs (the expiry sweep may use the `expired` flag). */
  internal: boolean;
  /**
   * When given, the store puts here, at each transfer's index, the transfer as committed — the new
   * row, or for `exists` the first one — and undefined for a refused one; so the caller needs no
   * read after the commit.
   */
  stored?: (Transfer | undefined)[] | undefined;
  /** A row of another domain (its audit entry) made from this caller's failures, written in the same transaction. */
  note?: ((failures: readonly BatchResult<TransferResult>[]) => RowNote | undefined) | undefined;
}

/**
 * The ledger's persistence, one implementation per dialect. `commit` decides and writes many
 * callers' batches in one database transaction and returns each caller's failures.
 */
export interface LedgerStore {
  /**
   * Decides and writes a group. Durable on return unless the store has `durable`: then callers
   * must not be told of the outcome before `durable()` resolves.
   */
  commit(requests: readonly CommitRequest[]): Promise<BatchResult<TransferResult>[][]>;
  /** SQLite: resolves once everything committed before the call is on disk (the WAL synced off the event loop). */
  durable?(): Promise<void>;
  createAccounts(batch: readonly AccountInput[]): Promise<BatchResult<AccountResult>[]>;
  /**
   * A short piece of work to do when the commit queue is idle (SQLite: a slice of the per-account
   * indexer); true when more of it is ready at once, to be run at the next idle moment.
   */
  idle(): Promise<boolean>;
  /** Pending transfers whose timeout has passed, oldest first. */
  expiredPendings(nowMicros: number, limit: number): Promise<PendingState[]>;
  close(): void;
}

export type { Account, Transfer };
