import { isClientId } from '../platform/ids.js';
import { TransferFlags } from './types.js';
import type { CommitRequest } from './store.js';
import type { BatchOutcome, BatchState } from './apply-batch.js';
import type { RowNote } from '../platform/db/row-note.js';
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

/** Fills each request's `stored` (if asked for) from the decided state: committed or first-committed transfers. */
export function fillStored(requests: readonly CommitRequest[], outcomes: readonly BatchOutcome[], state: BatchState): void {
  requests.forEach((r, i) => {
    const stored = r.stored;
    if (!stored) return;
    const refused = new Set<number>();
    for (const f of outcomes[i]!.results) if (f.result !== 'exists') refused.add(f.index);
    r.transfers.forEach((t, index) => {
      stored[index] = refused.has(index) ? undefined : state.existing.get(t.id);
    });
  });
}

/** The rows other domains asked to store with this group (audit entries), by table and column list. */
export function notesOf(requests: readonly CommitRequest[], outcomes: readonly BatchOutcome[]): Map<string, { table: string; columns: string[]; rows: RowNote['row'][] }> {
  const groups = new Map<string, { table: string; columns: string[]; rows: RowNote['row'][] }>();
  requests.forEach((r, i) => {
    const note = r.note?.(outcomes[i]!.results);
    if (!note) return;
    const { table, row } = note;
    const columns = Object.keys(row);
    const key = `${table}(${columns.join(',')})`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { table, columns, rows: [] }));
    group.rows.push(row);
  });
  return groups;
}

const SQL_NAME = /^[a-z_][a-z0-9_]*$/;
/** Checks a note's table and column names (they come from code; this keeps a slip from becoming SQL). */
export function checkNames(table: string, columns: readonly string[]): void {
  if (!SQL_NAME.test(table) || !columns.every((c) => SQL_NAME.test(c))) throw new Error(`bad note target ${table}`);
}
