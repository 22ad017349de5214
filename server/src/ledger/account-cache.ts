import type BetterSqlite3 from 'better-sqlite3';
import type { Account } from './types.js';

/** Most accounts kept; past it the cache starts over (a rare full reload beats unbounded memory). */
const MAX_ACCOUNTS = 200_000;

export interface CachedAccount {
  account: Account;
  rowid: number;
}

/**
 * SQLite only: the accounts as this connection last committed them, so that a group commit reads
 * no account row it already knows. It is trusted only while `PRAGMA data_version` is unchanged,
 * i.e. no other connection (another process, the CLI) has committed since; it is checked inside
 * the commit's write transaction, so nobody can commit in between. A failed commit empties it,
 * because the decision mutates the cached objects before the write. One cache per connection:
 * two ledgers on one connection must not keep two views.
 */
export class AccountCache {
  private readonly accounts = new Map<string, CachedAccount>();
  private dataVersion: unknown;
  private readonly version: BetterSqlite3.Statement;

  private constructor(db: BetterSqlite3.Database) {
    this.version = db.prepare('pragma data_version').pluck();
  }

  private static readonly byConnection = new WeakMap<BetterSqlite3.Database, AccountCache>();

  static of(db: BetterSqlite3.Database): AccountCache {
    let cache = AccountCache.byConnection.get(db);
    if (!cache) AccountCache.byConnection.set(db, (cache = new AccountCache(db)));
    return cache;
  }

  /** Call inside the write transaction, before any `get`. */
  validate(): void {
    const version = this.version.get();
    if (version !== this.dataVersion || this.accounts.size > MAX_ACCOUNTS) this.accounts.clear();
    this.dataVersion = version;
  }

  get(id: string): CachedAccount | undefined {
    return this.accounts.get(id);
  }

  set(entry: CachedAccount): void {
    this.accounts.set(entry.account.id, entry);
  }

  clear(): void {
    this.accounts.clear();
  }
}
