import { isClientId } from '../platform/ids.js';
import { TransferFlags } from './types.js';
import type { CommitRequest } from './store.js';
import type { BatchOutcome } from './apply-batch.js';
import { businessDay } from './rows.js';

/** The ids a group of requests needs loaded before it can be decided. */
export function idsOf(requests: readonly CommitRequest[]): { transfers: string[]; accounts: Set<string>; pendings: string[] } {
  const transfers = new Set<string>();
  const accounts = new Set<string>();
  const pendings = new Set<string>();
  for (const r of requests) {
    for (const t of r.transfers) {
      if (isClientId(t.id)) transfers.add(t.id);
      if (typeof t.debit_account_id === 'string' && t.debit_account_id) accounts.add(t.debit_account_id);
      if (typeof t.credit_account_id === 'string' && t.credit_account_id) accounts.add(t.credit_account_id);
      const flags = t.flags ?? 0;
      if (flags & (TransferFlags.post_pending | TransferFlags.void_pending) && isClientId(t.pending_id)) {
        pendings.add(t.pending_id);
      }
    }
  }
  return { transfers: [...transfers], accounts, pendings: [...pendings] };
}

/** Per-day totals of money actually moved (plain and posted transfers), for the rollup table. */
export function dailyTotals(outcomes: readonly BatchOutcome[]): Map<string, { day: string; ledger: number; code: number; count: number; amount: number }> {
  const totals = new Map<string, { day: string; ledger: number; code: number; count: number; amount: number }>();
  for (const o of outcomes) {
    for (const t of o.inserts) {
      if (t.flags & (TransferFlags.pending | TransferFlags.void_pending)) continue;
      const day = businessDay(t.ts);
      const key = `${day}|${t.ledger}|${t.code}`;
      const row = totals.get(key);
      if (row) {
        row.count += 1;
        row.amount += t.amount;
      } else totals.set(key, { day, ledger: t.ledger, code: t.code, count: 1, amount: t.amount });
    }
  }
  return totals;
}
