import { isClientId } from '../platform/ids.js';
import { isStorableText } from '../platform/text.js';
import type { AccountResult } from './result-codes.js';
import { ACCOUNT_FLAGS_MASK, AccountFlags, type Account, type AccountInput } from './types.js';

const MAX_TEXT = 256;
/** ledger, code, flags and timeout_s are 32-bit columns: a larger value fails the statement on PostgreSQL. */
export const MAX_INT32 = 2 ** 31 - 1;
export { isStorableText };

/** Validates an account request, in precedence order. */
export function checkAccount(a: AccountInput): AccountResult | undefined {
  if (!isClientId(a.id)) return 'id_invalid';
  const flags = a.flags ?? 0;
  if (!Number.isInteger(flags) || (flags & ~ACCOUNT_FLAGS_MASK) !== 0) return 'flags_invalid';
  if (flags & AccountFlags.debits_must_not_exceed_credits && flags & AccountFlags.credits_must_not_exceed_debits) {
    return 'flags_are_mutually_exclusive';
  }
  if (!Number.isSafeInteger(a.ledger) || a.ledger <= 0 || a.ledger > MAX_INT32) return 'ledger_must_not_be_zero';
  if (!Number.isSafeInteger(a.code) || a.code <= 0 || a.code > MAX_INT32) return 'code_must_not_be_zero';
  for (const text of [a.owner_id, a.name, a.reference]) {
    if (text != null && !isStorableText(text, MAX_TEXT)) return 'field_invalid';
  }
  return undefined;
}

/** Same request as the stored account? (for idempotent replays of createAccounts) */
export function sameAccount(a: AccountInput, b: Account): boolean {
  return (
    a.ledger === b.ledger &&
    a.code === b.code &&
    (a.flags ?? 0) === b.flags &&
    (a.owner_id ?? null) === b.owner_id &&
    (a.name ?? null) === b.name &&
    (a.reference ?? null) === b.reference
  );
}

export function newAccountRow(a: AccountInput, timestamp: number): Account {
  return {
    id: a.id,
    ledger: a.ledger,
    code: a.code,
    flags: a.flags ?? 0,
    owner_id: a.owner_id ?? null,
    name: a.name ?? null,
    reference: a.reference ?? null,
    debits_pending: 0,
    debits_posted: 0,
    credits_pending: 0,
    credits_posted: 0,
    timestamp,
    last_ts: 0,
  };
}
