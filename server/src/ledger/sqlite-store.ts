import type BetterSqlite3 from 'better-sqlite3';
import { applyBatch, type BatchOutcome, type BatchState } from './apply-batch.js';
import { checkAccount, newAccountRow, sameAccount } from './account-rules.js';
import { dailyTotals, idsOf } from './batch-ids.js';
import type { LedgerClock } from './ledger-clock.js';
import type { AccountResult, BatchResult, TransferResult } from './result-codes.js';
import { accountFromRow, pendingFromRow, transferFromRow } from './rows.js';
import type { CommitRequest, LedgerStore } from './store.js';
import { PendingStatus, type AccountInput, type PendingState } from './types.js';
import { toSafeInt } from '../platform/int.js';

type Row = Record<string, unknown>;

/** Rows per run of the deferred per-account indexer. */
const INDEX_CHUNK = 50_000;

/**
 * SQLite ledger store: prepared statements, one synchronous transaction per group commit. The
 * per-account index (ledger_account_entries) is built after the fact in large sorted chunks,
 * because indexing every commit rewrites most index pages into the WAL (ADR 0003).
 */
export class SqliteLedgerStore implements LedgerStore {
  private readonly s;
  private readonly commitTx;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly clock: LedgerClock,
  ) {
    this.s = {
      account: db.prepare('select * from ledger_accounts where id = ?'),
      transfer: db.prepare('select * from ledger_transfers where id = ?'),
      rejection: db.prepare('select result, fingerprint from ledger_rejections where id = ?'),
      pending: db.prepare('select * from ledger_pending where id = ?'),
      insertTransfer: db.prepare(
        `insert into ledger_transfers (ts, id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags,
          timeout_s, reference, dr_debits_after, dr_credits_after, cr_debits_after, cr_credits_after)
         values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      ),
      updateAccount: db.prepare(
        `update ledger_accounts set debits_pending = ?, debits_posted = ?, credits_pending = ?, credits_posted = ?, last_ts = ?
         where id = ?`,
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
      indexEntries: db.prepare(
        `insert or ignore into ledger_account_entries (account_id, ts)
         select account_id, ts from (
           select debit_account_id as account_id, ts from ledger_transfers where ts > @from and ts <= @to
           union all
           select credit_account_id, ts from ledger_transfers where ts > @from and ts <= @to)
         order by account_id, ts`,
      ),
      chunkEnd: db.prepare('select ts from ledger_transfers where ts > ? order by ts limit 1 offset ?'),
      expired: db.prepare('select * from ledger_pending where status = ? and expires_at > 0 and expires_at <= ? order by expires_at limit ?'),
    };
    const maxTs = (this.s.maxTs.get() as Row | undefined)?.ts;
    if (maxTs != null) clock.observe(toSafeInt(maxTs));
    this.commitTx = db.transaction((requests: readonly CommitRequest[]) => this.decideAndWrite(requests));
  }

  async commit(requests: readonly CommitRequest[]): Promise<BatchResult<TransferResult>[][]> {
    return this.commitTx(requests);
  }

  private load(requests: readonly CommitRequest[]): BatchState {
    const ids = idsOf(requests);
    const state: BatchState = { accounts: new Map(), existing: new Map(), rejections: new Map(), pendings: new Map() };
    for (const id of ids.transfers) {
      const t = this.s.transfer.get(id) as Row | undefined;
      if (t) state.existing.set(id, transferFromRow(t));
      else {
        const r = this.s.rejection.get(id) as { result: string; fingerprint: string } | undefined;
        if (r) state.rejections.set(id, r);
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
    for (const id of ids.accounts) {
      const a = this.s.account.get(id) as Row | undefined;
      if (a) state.accounts.set(id, accountFromRow(a));
    }
    return state;
  }

  private decideAndWrite(requests: readonly CommitRequest[]): BatchResult<TransferResult>[][] {
    const state = this.load(requests);
    const outcomes: BatchOutcome[] = requests.map((r) => applyBatch(r.transfers, state, this.clock, { internal: r.internal }));
    const s = this.s;
    const touched = new Set<string>();
    const pendings = new Map<string, PendingState>();
    for (const o of outcomes) {
      for (const t of o.inserts) {
        s.insertTransfer.run(t.ts, t.id, t.debit_account_id, t.credit_account_id, t.amount, t.pending_id, t.ledger, t.code,
          t.flags, t.timeout_s, t.reference, t.dr_debits_after, t.dr_credits_after, t.cr_debits_after, t.cr_credits_after);
      }
      for (const id of o.touched) touched.add(id);
      for (const [id, p] of o.pendingWrites) pendings.set(id, p);
      for (const r of o.rejections) s.insertRejection.run(r.id, r.result, r.fingerprint, r.ts);
    }
    for (const id of touched) {
      const a = state.accounts.get(id)!;
      s.updateAccount.run(a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.last_ts, id);
    }
    for (const p of pendings.values()) {
      s.upsertPending.run(p.id, p.status, p.expires_at, p.amount, p.debit_account_id, p.credit_account_id, p.ledger, p.code);
    }
    for (const d of dailyTotals(outcomes).values()) s.upsertDaily.run(d.day, d.ledger, d.code, d.count, d.amount);
    return outcomes.map((o) => o.results);
  }

  async createAccounts(batch: readonly AccountInput[]): Promise<BatchResult<AccountResult>[]> {
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

  /** Indexes up to INDEX_CHUNK new journal rows by account. Returns the rows left to index. */
  indexSome(): number {
    const from = toSafeInt((this.s.watermark.get() as Row).value);
    const end = this.s.chunkEnd.get(from, INDEX_CHUNK - 1) as Row | undefined;
    const max = (this.s.maxTs.get() as Row | undefined)?.ts;
    if (max == null || toSafeInt(max) <= from) return 0;
    const to = end ? toSafeInt(end.ts) : toSafeInt(max);
    this.db.transaction(() => {
      this.s.indexEntries.run({ from, to });
      this.s.setWatermark.run(to);
    })();
    return toSafeInt(max) > to ? 1 : 0;
  }

  async idle(): Promise<void> {
    this.indexSome();
  }

  async expiredPendings(nowMicros: number, limit: number): Promise<PendingState[]> {
    return (this.s.expired.all(PendingStatus.pending, nowMicros, limit) as Row[]).map(pendingFromRow);
  }

  close(): void {}
}
