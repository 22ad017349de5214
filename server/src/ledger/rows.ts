import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import type { Account, PendingState, PendingStatusValue, Transfer } from './types.js';

/** Maps database rows to ledger objects; every integer passes the safe-integer check. */
export function accountFromRow(r: Record<string, unknown>): Account {
  return {
    id: r.id as string,
    ledger: toSafeInt(r.ledger),
    code: toSafeInt(r.code),
    flags: toSafeInt(r.flags),
    owner_id: (r.owner_id as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    reference: (r.reference as string | null) ?? null,
    debits_pending: toSafeInt(r.debits_pending),
    debits_posted: toSafeInt(r.debits_posted),
    credits_pending: toSafeInt(r.credits_pending),
    credits_posted: toSafeInt(r.credits_posted),
    timestamp: toSafeInt(r.timestamp),
    last_ts: toSafeInt(r.last_ts),
  };
}

export function transferFromRow(r: Record<string, unknown>): Transfer {
  return {
    id: r.id as string,
    debit_account_id: r.debit_account_id as string,
    credit_account_id: r.credit_account_id as string,
    amount: toSafeInt(r.amount),
    pending_id: (r.pending_id as string | null) ?? null,
    ledger: toSafeInt(r.ledger),
    code: toSafeInt(r.code),
    flags: toSafeInt(r.flags),
    timeout_s: toSafeInt(r.timeout_s),
    reference: (r.reference as string | null) ?? null,
    ts: toSafeInt(r.ts),
    dr_debits_after: toSafeInt(r.dr_debits_after),
    dr_credits_after: toSafeInt(r.dr_credits_after),
    cr_debits_after: toSafeInt(r.cr_debits_after),
    cr_credits_after: toSafeInt(r.cr_credits_after),
  };
}

export function pendingFromRow(r: Record<string, unknown>): PendingState {
  return {
    id: r.id as string,
    status: toSafeInt(r.status) as PendingStatusValue,
    expires_at: toSafeInt(r.expires_at),
    amount: toSafeInt(r.amount),
    debit_account_id: r.debit_account_id as string,
    credit_account_id: r.credit_account_id as string,
    ledger: toSafeInt(r.ledger),
    code: toSafeInt(r.code),
  };
}

export { toSafeIntOrNull };

const DAY_US = 86_400_000_000;
const CHINA_OFFSET_US = 8 * 3600 * 1_000_000;
const dayCache = new Map<number, string>();

/** The business day (China Standard Time, UTC+8) of a ledger timestamp, as YYYY-MM-DD. */
export function businessDay(ts: number): string {
  const n = Math.floor((ts + CHINA_OFFSET_US) / DAY_US);
  let day = dayCache.get(n);
  if (!day) {
    day = new Date(n * 86_400_000).toISOString().slice(0, 10);
    if (dayCache.size > 4096) dayCache.clear();
    dayCache.set(n, day);
  }
  return day;
}
