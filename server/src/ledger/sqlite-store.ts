import type BetterSqlite3 from 'better-sqlite3';
import { AccountCache } from './account-cache.js';
import { applyBatch, type BatchOutcome, type BatchState } from './apply-batch.js';
import { checkAccount, newAccountRow, sameAccount } from './account-rules.js';
import { checkNames, dailyTotals, fillStored, idsOf, notesOf } from './batch-ids.js';
import type { LedgerClock } from './ledger-clock.js';
import type { AccountResult, BatchResult, TransferResult } from './result-codes.js';
import { accountFromRow, pendingFromRow, transferFromRow } from './rows.js';
import type { CommitRequest, LedgerStore } from './store.js';
import { PendingStatus, type Account, type AccountInput, type PendingState, type Transfer } from './types.js';
import { toSafeInt } from '../platform/int.js';
import { WalSync } from '../platform/db/wal-sync.js';

type Row = Record<string, unknown>;

/** Most journal rows in one pass of the deferred per-account indexer. */
const INDEX_CHUNK = 50_000;
/** Index entries written per slice of a pass: each slice is one short transaction (a few ms). */
const INDEX_SLICE = 1_000;
/** Most slices in one pass: a window far behind (up to INDEX_CHUNK rows) gets larger slices, not more scans of it. */
const INDEX_SLICES = 16;
/**
 * A new pass starts at most this often, unless the indexer is more than a chunk behind: each pass
 * rewrites about one index page per account it touches, so passes less often write less (ADR 0003).
 */
const INDEX_PASS_MS = 1_000;

/**
 * SQLite ledger store: prepared statements, one synchronous transaction per group commit. The
 * per-account index (ledger_account_entries) is built after the fact in large sorted chunks,
 * because indexing every commit rewrites most index pages into the WAL (ADR 0003).
 *
 * A group is written with `synchronous = NORMAL` and made durable by `durable()`, an fsync of the
 * WAL in the thread pool (ADR 0011): the event loop decides the next group while the disk works.
 */
export class SqliteLedgerStore implements LedgerStore {
  private readonly s;
  private readonly commitTx;
  private readonly cache: AccountCache;
  private readonly wal: WalSync | undefined;
  /** Prepared inserts of other domains' rows (RowNote), by table and columns. */
  private readonly noteInserts = new Map<string, BetterSqlite3.Statement>();
  /** The indexer's pass under way: its window (from, to] and the last account indexed. */
  private pass: { from: number; to: number; lo: string; ends: string[] } | undefined;
  private passStarted = -Infinity;
  /** The last pass's window stopped at INDEX_CHUNK rows, short of the newest: start the next at once. */
  private behind = false;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly clock: LedgerClock,
    /** Index entries per slice (tests: small, to see passes half done). */
    private readonly sliceEntries = INDEX_SLICE,
  ) {
    this.s = {
      account: db.prepare('select * from ledger_accounts where id = ?'),
      // Bulk look-ups take the ids as one JSON array: one statement per group, not one per id.
      accounts: db.prepare('select a.rowid as rowid_, a.* from json_each(?) j join ledger_accounts a on a.id = j.value'),
      committed: db.prepare('select t.* from json_each(?) j join ledger_transfers t on t.id = j.value'),
      rejected: db.prepare('select r.id, r.result, r.fingerprint from json_each(?) j join ledger_rejections r on r.id = j.value'),
      pending: db.prepare('select * from ledger_pending where id = ?'),
      insertTransfer: db.prepare(
        `insert into ledger_transfers (ts, id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags,
          timeout_s, reference, dr_debits_after, dr_credits_after, cr_debits_after, cr_credits_after)
         values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      ),
      // Most transfers have no pending id, timeout or reference; binding fewer values is measurably cheaper.
      insertPlainTransfer: db.prepare(
        `insert into ledger_transfers (ts, id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags,
          timeout_s, reference, dr_debits_after, dr_credits_after, cr_debits_after, cr_credits_after)
         values (?,?,?,?,?,null,?,?,?,0,null,?,?,?,?)`,
      ),
      updateAccount: db.prepare(
        `update ledger_accounts set debits_pending = ?, debits_posted = ?, credits_pending = ?, credits_posted = ?, last_ts = ?
         where rowid = ?`,
      ),
      upsertPending: db.prepare(
        `insert into ledger_pending (id, status, expires_at, amount, debit_account_id, credit_account_id, ledger, code)
         values (?,?,?,?,?,?,?,?) on conflict (id) do update set status = excluded.status`,
      ),
      insertRejection: db.prepare('insert or ignore into ledger_rejections (id, result, fingerprint, ts) values (?,?,?,?)'),
      upsertDaily: db.prepare(
        `insert into ledger_daily (day, ledger, code, count, amount) values (?,?,?,?,?)
         on conflict (day, ledger, code) do update set count = count + excluded.count, amount = amount + excluded.amount`,
      ),
      insertAccount: db.prepare(
        `insert into ledger_accounts (id, ledger, code, flags, owner_id, name, reference, debits_pending, debits_posted,
          credits_pending, credits_posted, timestamp, last_ts) values (?,?,?,?,?,?,?,0,0,0,0,?,0)`,
      ),
      maxTs: db.prepare('select max(ts) as ts from ledger_transfers'),
      watermark: db.prepare("select value from ledger_meta where key = 'entries_watermark'"),
      setWatermark: db.prepare("update ledger_meta set value = ? where key = 'entries_watermark'"),
      // One slice of a pass: the window's entries of accounts after @lo up to @hi (null: to the end).
      indexEntries: db.prepare(
        `insert or ignore into ledger_account_entries (account_id, ts)
         select account_id, ts from (
           select debit_account_id as account_id, ts from ledger_transfers where ts > @from and ts <= @to
           union all
           select credit_account_id, ts from ledger_transfers where ts > @from and ts <= @to)
         where account_id > @lo and (@hi is null or account_id <= @hi)
         order by account_id, ts`,
      ),
      // Where a pass's slices end: every @n-th entry of the window in account order.
      sliceEnds: db.prepare(
        `select account_id from (
           select account_id, row_number() over (order by account_id) as n from (
             select debit_account_id as account_id from ledger_transfers where ts > @from and ts <= @to
             union all
             select credit_account_id from ledger_transfers where ts > @from and ts <= @to))
         where n % @n = 0`,
      ).pluck(),
      windowRows: db.prepare('select count(*) as n from ledger_transfers where ts > ? and ts <= ?'),
      chunkEnd: db.prepare('select ts from ledger_transfers where ts > ? order by ts limit 1 offset ?'),
      expired: db.prepare('select * from ledger_pending where status = ? and expires_at > 0 and expires_at <= ? order by expires_at limit ?'),
    };
    const maxTs = (this.s.maxTs.get() as Row | undefined)?.ts;
    if (maxTs != null) clock.observe(toSafeInt(maxTs));
    this.cache = AccountCache.of(db);
    this.wal = WalSync.of(db);
    this.commitTx = db.transaction((requests: readonly CommitRequest[]) => this.decideAndWrite(requests));
  }

  async commit(requests: readonly CommitRequest[]): Promise<BatchResult<TransferResult>[][]> {
    return this.commitSync(requests);
  }

  /** The commit itself, synchronous (better-sqlite3); durable only once `durable()` resolves. */
  commitSync(requests: readonly CommitRequest[]): BatchResult<TransferResult>[][] {
    try {
      // IMMEDIATE: take the write lock first, so the cache check below sees every other commit.
      const wal = this.wal;
      return wal ? wal.unsynced(() => this.commitTx.immediate(requests)) : this.commitTx.immediate(requests);
    } catch (error) {
      this.cache.clear();
      throw error;
    }
  }

  durable(): Promise<void> {
    return this.wal ? this.wal.durable() : Promise.resolve();
  }

  private load(requests: readonly CommitRequest[]): BatchState {
    const ids = idsOf(requests);
    const state: BatchState = { accounts: new Map(), existing: new Map(), rejections: new Map(), pendings: new Map() };
    if (ids.transfers.length > 0) {
      const json = JSON.stringify(ids.transfers);
      for (const t of this.s.committed.all(json) as Row[]) state.existing.set(t.id as string, transferFromRow(t));
      for (const r of this.s.rejected.all(json) as Row[]) {
        state.rejections.set(r.id as string, { result: r.result as string, fingerprint: r.fingerprint as string });
      }
    }
    for (const id of ids.pendings) {
      const p = this.s.pending.get(id) as Row | undefined;
      if (!p) continue;
      const pending = pendingFromRow(p);
      state.pendings.set(id, pending);
      ids.accounts.add(pending.debit_account_id);
      ids.accounts.add(pending.credit_account_id);
    }
    this.loadAccounts(ids.accounts, state.accounts);
    return state;
  }

  /** Accounts from the cache, the rest from the database (and into the cache). */
  private loadAccounts(ids: Iterable<string>, into: Map<string, Account>): void {
    this.cache.validate();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.cache.get(id);
      if (hit) into.set(id, hit.account);
      else missing.push(id);
    }
    if (missing.length === 0) return;
    for (const r of this.s.accounts.all(JSON.stringify(missing)) as Row[]) {
      const entry = { account: accountFromRow(r), rowid: toSafeInt(r.rowid_) };
      this.cache.set(entry);
      into.set(entry.account.id, entry.account);
    }
  }

  private decideAndWrite(requests: readonly CommitRequest[]): BatchResult<TransferResult>[][] {
    const state = this.load(requests);
    const outcomes: BatchOutcome[] = requests.map((r) => applyBatch(r.transfers, state, this.clock, { internal: r.internal }));
    fillStored(requests, outcomes, state);
    const s = this.s;
    const touched = new Set<string>();
    const pendings = new Map<string, PendingState>();
    for (const o of outcomes) {
      for (const t of o.inserts) this.insertTransfer(t);
      for (const id of o.touched) touched.add(id);
      for (const [id, p] of o.pendingWrites) pendings.set(id, p);
      for (const r of o.rejections) s.insertRejection.run(r.id, r.result, r.fingerprint, r.ts);
    }
    for (const id of touched) {
      const { account: a, rowid } = this.cache.get(id)!;
      s.updateAccount.run(a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.last_ts, rowid);
    }
    for (const p of pendings.values()) {
      s.upsertPending.run(p.id, p.status, p.expires_at, p.amount, p.debit_account_id, p.credit_account_id, p.ledger, p.code);
    }
    for (const d of dailyTotals(outcomes)) s.upsertDaily.run(d.day, d.ledger, d.code, d.count, d.amount);
    for (const [key, note] of notesOf(requests, outcomes)) {
      let insert = this.noteInserts.get(key);
      if (!insert) {
        checkNames(note.table, note.columns);
        insert = this.db.prepare(`insert into ${note.table} (${note.columns.join(', ')}) values (${note.columns.map(() => '?').join(', ')})`);
        this.noteInserts.set(key, insert);
      }
      for (const row of note.rows) insert.run(...note.columns.map((c) => row[c] ?? null));
    }
    return outcomes.map((o) => o.results);
  }

  private insertTransfer(t: Transfer): void {
    if (t.pending_id === null && t.timeout_s === 0 && t.reference === null) {
      this.s.insertPlainTransfer.run(t.ts, t.id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.code, t.flags,
        t.dr_debits_after, t.dr_credits_after, t.cr_debits_after, t.cr_credits_after);
    } else {
      this.s.insertTransfer.run(t.ts, t.id, t.debit_account_id, t.credit_account_id, t.amount, t.pending_id, t.ledger, t.code,
        t.flags, t.timeout_s, t.reference, t.dr_debits_after, t.dr_credits_after, t.cr_debits_after, t.cr_credits_after);
    }
  }

  async createAccounts(batch: readonly AccountInput[]): Promise<BatchResult<AccountResult>[]> {
    return this.createAccountsSync(batch);
  }

  createAccountsSync(batch: readonly AccountInput[]): BatchResult<AccountResult>[] {
    const run = this.db.transaction(() => {
      const results: BatchResult<AccountResult>[] = [];
      const seen = new Set<string>();
      batch.forEach((a, index) => {
        const invalid = checkAccount(a);
        if (invalid) return results.push({ index, result: invalid });
        const existing = this.s.account.get(a.id) as Row | undefined;
        if (existing) {
          return results.push({ index, result: sameAccount(a, accountFromRow(existing)) ? 'exists' : 'exists_with_different_fields' });
        }
        if (seen.has(a.id)) return results.push({ index, result: 'exists' });
        seen.add(a.id);
        const row = newAccountRow(a, this.clock.next());
        this.s.insertAccount.run(row.id, row.ledger, row.code, row.flags, row.owner_id, row.name, row.reference, row.timestamp);
        return undefined;
      });
      return results;
    });
    return run();
  }

  /**
   * One slice of the deferred per-account indexer; true while more is ready at once. A pass fixes a
   * window of journal rows above the watermark (at most INDEX_CHUNK; a new pass at most every
   * INDEX_PASS_MS unless the last one stopped at INDEX_CHUNK) and indexes it in account order,
   * about INDEX_SLICE entries per transaction (at most about INDEX_SLICES slices), so the event loop
   * is held only a few ms at a time; the watermark moves in the slice that ends the pass. Reads
   * merge the index with the rows above the watermark and drop duplicates, so a half-done pass
   * shows nothing twice, and a pass lost in a crash is simply done again (insert or ignore).
   */
  indexSome(now = performance.now()): boolean {
    let pass = this.pass;
    if (!pass) {
      if (!this.behind && now - this.passStarted < INDEX_PASS_MS) return false;
      const from = toSafeInt((this.s.watermark.get() as Row).value);
      const max = (this.s.maxTs.get() as Row | undefined)?.ts;
      if (max == null || toSafeInt(max) <= from) return false;
      const end = this.s.chunkEnd.get(from, INDEX_CHUNK - 1) as Row | undefined;
      const to = end ? toSafeInt(end.ts) : toSafeInt(max);
      this.behind = to < toSafeInt(max);
      const rows = toSafeInt((this.s.windowRows.get(from, to) as Row).n);
      const n = Math.max(this.sliceEntries, Math.ceil((2 * rows) / INDEX_SLICES));
      // More than a window behind (commits leave the queue too seldom empty for slices to keep up):
      // the whole window in one transaction, as before slices, so the lag stays bounded.
      const ends: string[] = [];
      if (!this.behind) for (const id of this.s.sliceEnds.all({ from, to, n }) as string[]) if (id !== ends.at(-1)) ends.push(id);
      pass = { from, to, lo: '', ends };
      this.pass = pass;
      this.passStarted = now;
    }
    const hi = pass.ends[0] ?? null;
    const window = { from: pass.from, to: pass.to, lo: pass.lo, hi };
    const write = this.db.transaction(() => {
      this.s.indexEntries.run(window);
      if (hi === null) this.s.setWatermark.run(window.to);
    });
    // Derived data with its watermark in the same transaction: a crash that loses it only means
    // indexing those rows again, so it needs no sync of its own (the next one covers it).
    if (this.wal) this.wal.unsynced(() => write());
    else write();
    // Only once the slice is written: a slice that failed is tried again, the watermark never passes it.
    if (hi === null) this.pass = undefined;
    else pass.lo = pass.ends.shift()!;
    return hi !== null || this.behind;
  }

  async idle(): Promise<boolean> {
    return this.indexSome();
  }

  async expiredPendings(nowMicros: number, limit: number): Promise<PendingState[]> {
    return this.expiredPendingsSync(nowMicros, limit);
  }

  expiredPendingsSync(nowMicros: number, limit: number): PendingState[] {
    return (this.s.expired.all(PendingStatus.pending, nowMicros, limit) as Row[]).map(pendingFromRow);
  }

  close(): void {}
}
