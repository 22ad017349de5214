import type BetterSqlite3 from 'better-sqlite3';
import { LedgerClock } from './ledger-clock.js';
import { SqliteLedgerStore } from './sqlite-store.js';
import type { CommitRequest } from './store.js';
import type { AccountInput } from './types.js';

/** The ledger's operations for the SQLite writer thread; see ledger/worker-store.ts. */
export function sqliteOperations(db: BetterSqlite3.Database) {
  let store: SqliteLedgerStore | undefined;
  // Prepared on first use: the writer starts after migrations, but be lazy all the same.
  const s = (): SqliteLedgerStore => (store ??= new SqliteLedgerStore(db, new LedgerClock()));
  return {
    'ledger.commit': (requests: CommitRequest[]) => s().commitSync(requests),
    'ledger.createAccounts': (batch: AccountInput[]) => s().createAccountsSync(batch),
    'ledger.index': () => s().indexSome(),
    'ledger.expiredPendings': ({ nowMicros, limit }: { nowMicros: number; limit: number }) => s().expiredPendingsSync(nowMicros, limit),
  };
}
