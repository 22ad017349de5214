import type { SqliteWriter } from '../platform/db/sqlite-writer.js';
import type { AccountResult, BatchResult, TransferResult } from './result-codes.js';
import type { CommitRequest, LedgerStore } from './store.js';
import type { AccountInput, PendingState } from './types.js';

/**
 * The SQLite ledger store as the server uses it: the same `SqliteLedgerStore`, run on the SQLite
 * writer thread (ledger/sqlite-operations.ts), so a commit's disk flush never stops the event loop
 * and shares its flush with every other write of the same moment (e.g. audit entries).
 */
export class WorkerLedgerStore implements LedgerStore {
  constructor(private readonly writer: SqliteWriter) {}

  commit(requests: readonly CommitRequest[]): Promise<BatchResult<TransferResult>[][]> {
    return this.writer.run('ledger.commit', requests);
  }

  createAccounts(batch: readonly AccountInput[]): Promise<BatchResult<AccountResult>[]> {
    return this.writer.run('ledger.createAccounts', batch);
  }

  async idle(): Promise<void> {
    await this.writer.run('ledger.index', null);
  }

  expiredPendings(nowMicros: number, limit: number): Promise<PendingState[]> {
    return this.writer.run('ledger.expiredPendings', { nowMicros, limit });
  }

  close(): void {}
}
