import type { AccountResult, BatchResult, TransferResult } from './result-codes.js';
import type { Account, AccountInput, PendingState, Transfer, TransferInput } from './types.js';

/** One caller's batch inside a group commit. */
export interface CommitRequest {
  transfers: readonly TransferInput[];
  /** Set only by the ledger's own jobs (the expiry sweep may use the `expired` flag). */
  internal: boolean;
}

/**
 * The ledger's persistence, one implementation per dialect. `commit` decides and writes many
 * callers' batches in one database transaction and returns each caller's failures.
 */
export interface LedgerStore {
  commit(requests: readonly CommitRequest[]): Promise<BatchResult<TransferResult>[][]>;
  createAccounts(batch: readonly AccountInput[]): Promise<BatchResult<AccountResult>[]>;
  /** Work to do when the commit queue is idle (SQLite: build the per-account index). */
  idle(): Promise<void>;
  /** Pending transfers whose timeout has passed, oldest first. */
  expiredPendings(nowMicros: number, limit: number): Promise<PendingState[]>;
  close(): void;
}

export type { Account, Transfer };
