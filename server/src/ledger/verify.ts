import type { Kysely } from 'kysely';
import { toSafeInt } from '../platform/int.js';
import { accountFromRow, businessDay, transferFromRow } from './rows.js';
import { TransferFlags, type Account } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;
type Row = Record<string, unknown>;

export interface VerifyReport {
  ok: boolean;
  ledgers: number;
  accounts: number;
  transfers: number;
  /** The first inconsistency found, in words; undefined when ok. */
  problem?: string;
}

interface Replay {
  debits_pending: number;
  debits_posted: number;
  credits_pending: number;
  credits_posted: number;
}

const CHUNK = 5000;

/**
 * Checks the ledger's invariants from scratch: per ledger, total debits equal total credits
 * (pending and posted); every account's balances equal the replay of its transfers; every
 * transfer's recorded after-balances match the replay; the daily rollups match the journal.
 */
export async function verifyLedger(db: Db): Promise<VerifyReport> {
  const accounts = new Map<string, Account>();
  for (const r of (await db.selectFrom('ledger_accounts').selectAll().execute()) as Row[]) {
    const a = accountFromRow(r);
    accounts.set(a.id, a);
  }
  const report: VerifyReport = { ok: true, ledgers: 0, accounts: accounts.size, transfers: 0 };
  const fail = (problem: string): VerifyReport => ({ ...report, ok: false, problem });

  const totals = new Map<number, Replay>();
  for (const a of accounts.values()) {
    const t = totals.get(a.ledger) ?? { debits_pending: 0, debits_posted: 0, credits_pending: 0, credits_posted: 0 };
    t.debits_pending += a.debits_pending;
    t.debits_posted += a.debits_posted;
    t.credits_pending += a.credits_pending;
    t.credits_posted += a.credits_posted;
    totals.set(a.ledger, t);
  }
  report.ledgers = totals.size;
  for (const [ledger, t] of totals) {
    if (t.debits_posted !== t.credits_posted) return fail(`ledger ${ledger}: posted debits ${t.debits_posted} ≠ posted credits ${t.credits_posted}`);
    if (t.debits_pending !== t.credits_pending) return fail(`ledger ${ledger}: pending debits ${t.debits_pending} ≠ pending credits ${t.credits_pending}`);
  }

  const replay = new Map<string, Replay>();
  const get = (id: string): Replay => {
    let r = replay.get(id);
    if (!r) replay.set(id, (r = { debits_pending: 0, debits_posted: 0, credits_pending: 0, credits_posted: 0 }));
    return r;
  };
  const pendingAmount = new Map<string, number>();
  const daily = new Map<string, { count: number; amount: number }>();
  let after: { ts: number; id: string } | undefined;
  for (;;) {
    let q = db.selectFrom('ledger_transfers').selectAll().orderBy('ts').orderBy('id').limit(CHUNK);
    if (after) {
      const { ts, id } = after;
      // A row-value comparison: both dialects seek to it (rowid on SQLite, (ts, id) on PostgreSQL);
      // the equivalent OR made SQLite scan from the first transfer for every chunk.
      q = q.where((eb) => eb(eb.refTuple('ts', 'id'), '>', eb.tuple(ts, id)));
    }
    const rows = (await q.execute()) as Row[];
    for (const row of rows) {
      const t = transferFromRow(row);
      report.transfers++;
      if (!accounts.has(t.debit_account_id)) return fail(`transfer ${t.id}: unknown debit account ${t.debit_account_id}`);
      if (!accounts.has(t.credit_account_id)) return fail(`transfer ${t.id}: unknown credit account ${t.credit_account_id}`);
      const dr = get(t.debit_account_id);
      const cr = get(t.credit_account_id);
      if (t.flags & TransferFlags.pending) {
        dr.debits_pending += t.amount;
        cr.credits_pending += t.amount;
        pendingAmount.set(t.id, t.amount);
      } else if (t.flags & (TransferFlags.post_pending | TransferFlags.void_pending)) {
        const held = pendingAmount.get(t.pending_id ?? '');
        if (held === undefined) return fail(`transfer ${t.id}: resolves unknown or already resolved pending ${t.pending_id}`);
        pendingAmount.delete(t.pending_id!);
        dr.debits_pending -= held;
        cr.credits_pending -= held;
        if (t.flags & TransferFlags.post_pending) {
          dr.debits_posted += t.amount;
          cr.credits_posted += t.amount;
        }
      } else {
        dr.debits_posted += t.amount;
        cr.credits_posted += t.amount;
      }
      if (dr.debits_posted !== t.dr_debits_after || dr.credits_posted !== t.dr_credits_after || cr.debits_posted !== t.cr_debits_after || cr.credits_posted !== t.cr_credits_after) {
        return fail(`transfer ${t.id}: recorded balances after it differ from the replay`);
      }
      if (!(t.flags & (TransferFlags.pending | TransferFlags.void_pending))) {
        const key = `${businessDay(t.ts)}|${t.ledger}|${t.code}`;
        const d = daily.get(key) ?? { count: 0, amount: 0 };
        d.count += 1;
        d.amount += t.amount;
        daily.set(key, d);
      }
      after = { ts: t.ts, id: t.id };
    }
    if (rows.length < CHUNK) break;
  }

  for (const a of accounts.values()) {
    const r = replay.get(a.id) ?? { debits_pending: 0, debits_posted: 0, credits_pending: 0, credits_posted: 0 };
    for (const k of ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted'] as const) {
      if (a[k] !== r[k]) return fail(`account ${a.id}: ${k} is ${a[k]} but the replay of its transfers gives ${r[k]}`);
    }
  }

  const rollups = (await db.selectFrom('ledger_daily').selectAll().execute()) as Row[];
  for (const r of rollups) {
    const key = `${String(r.day)}|${toSafeInt(r.ledger)}|${toSafeInt(r.code)}`;
    const d = daily.get(key);
    if (!d || d.count !== toSafeInt(r.count) || d.amount !== toSafeInt(r.amount)) return fail(`daily rollup ${key} differs from the journal`);
    daily.delete(key);
  }
  if (daily.size > 0) return fail(`daily rollup missing for ${[...daily.keys()][0]}`);
  return report;
}
