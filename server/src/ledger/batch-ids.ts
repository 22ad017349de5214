import { isClientId } from '../platform/ids.js';
import { TransferFlags } from './types.js';
import type { CommitRequest } from './store.js';
import type { BatchOutcome } from './apply-batch.js';
import { businessDay } from './rows.js';

/**
 * The ids a group of requests needs loaded before it can be decided. Only well-formed ids go to
 * the database: no stored row has another kind, and a stray one (a NUL byte on PostgreSQL) would
 * fail the whole group's statement.
 */
export function idsOf(requests: readonly CommitRequest[]): { transfers: string[]; accounts: Set<string>; pendings: string[] } {
  const transfers = new Set<string>();
  const accounts = new Set<string>();
  const pendings = new Set<string>();
  for (const r of requests) {
    for (const t of r.transfers) {
      if (isClientId(t.id)) transfers.add(t.id);
      if (isClientId(t.debit_account_id)) accounts.add(t.debit_account_id);
      if (isClientId(t.credit_account_id)) accounts.add(t.credit_account_id);
      if (isClientId(t.pending_id) && (t.flags ?? 0) & (TransferFlags.post_pending | TransferFlags.void_pending)) {
        pendings.add(t.pending_id);
      }
    }
  }
  return { transfers: [...transfers], accounts, pendings: [...pendings] };
}

/** One row of the daily rollup to add to. */
export interface RollupDelta {
  day: string;
  ledger: number;
  code: number;
  count: number;
  amount: number;
}

/** Per-day totals of money actually moved (plain and posted transfers), for the rollup table. */
export function dailyTotals(outcomes: readonly BatchOutcome[]): RollupDelta[] {
  const totals = new Map<string, RollupDelta>();
  let last: RollupDelta | undefined;
  for (const o of outcomes) {
    for (const t of o.inserts) {
      if (t.flags & (TransferFlags.pending | TransferFlags.void_pending)) continue;
      const day = businessDay(t.ts);
      // Consecutive transfers nearly always share day, ledger and code: skip the keyed look-up.
      if (!last || last.day !== day || last.ledger !== t.ledger || last.code !== t.code) {
        const key = `${day}|${t.ledger}|${t.code}`;
        last = totals.get(key);
        if (!last) totals.set(key, (last = { day, ledger: t.ledger, code: t.code, count: 0, amount: 0 }));
      }
      last.count += 1;
      last.amount += t.amount;
    }
  }
  return [...totals.values()];
}
