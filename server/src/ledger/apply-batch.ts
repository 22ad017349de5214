import type { TransferResult, BatchResult } from './result-codes.js';
import type { LedgerClock } from './ledger-clock.js';
import {
  AccountFlags,
  PendingStatus,
  TRANSFER_FLAGS_MASK,
  TransferFlags,
  type Account,
  type PendingState,
  type Transfer,
  type TransferInput,
} from './types.js';
import { isClientId } from '../platform/ids.js';
import { MAX_INT32, isStorableText } from './account-rules.js';

/** Everything the database said about a batch, loaded before the batch is decided. */
export interface BatchState {
  /** Accounts named by the batch (and by the pending transfers it posts or voids). Mutated. */
  accounts: Map<string, Account>;
  /** Committed transfers whose ids appear in the batch; transfers decided in it are added. */
  existing: Map<string, Transfer>;
  /** First outcomes of rejected transfers whose ids appear in the batch; new rejections are added. */
  rejections: Map<string, { result: string; fingerprint: string }>;
  /** Pending transfers referenced by post/void in the batch. Mutated. */
  pendings: Map<string, PendingState>;
}

/** What to write for a decided batch. */
export interface BatchOutcome {
  results: BatchResult<TransferResult>[];
  inserts: Transfer[];
  /**
   * Ids of accounts whose balances may have changed. A linked chain that rolls back leaves its
   * accounts here: rewriting an unchanged balance is harmless, copying the set per chain is not.
   */
  touched: Set<string>;
  /** Pending states created or changed. */
  pendingWrites: Map<string, PendingState>;
  rejections: { id: string; result: TransferResult; fingerprint: string; ts: number }[];
}

export const MAX_REFERENCE_LENGTH = 256;

/** The fields that identify a transfer request, for idempotent replays. */
export function fingerprint(t: TransferInput): string {
  return JSON.stringify([
    t.debit_account_id ?? '',
    t.credit_account_id ?? '',
    t.amount,
    t.pending_id ?? '',
    t.ledger,
    t.code,
    t.flags ?? 0,
    t.timeout_s ?? 0,
    t.reference ?? '',
  ]);
}

function sameAsCommitted(t: TransferInput, c: Transfer): boolean {
  const flags = t.flags ?? 0;
  const resolving = (flags & (TransferFlags.post_pending | TransferFlags.void_pending)) !== 0;
  if (resolving) {
    // A post/void may leave accounts, ledger, code and amount to be taken from the pending.
    return (
      (t.pending_id ?? null) === c.pending_id &&
      flags === c.flags &&
      (t.amount === 0 || t.amount === c.amount) &&
      (!t.debit_account_id || t.debit_account_id === c.debit_account_id) &&
      (!t.credit_account_id || t.credit_account_id === c.credit_account_id) &&
      (t.ledger === 0 || t.ledger === c.ledger) &&
      (t.code === 0 || t.code === c.code) &&
      (t.reference ?? null) === c.reference
    );
  }
  return (
    t.debit_account_id === c.debit_account_id &&
    t.credit_account_id === c.credit_account_id &&
    t.amount === c.amount &&
    (t.pending_id ?? null) === c.pending_id &&
    t.ledger === c.ledger &&
    t.code === c.code &&
    flags === c.flags &&
    (t.timeout_s ?? 0) === c.timeout_s &&
    (t.reference ?? null) === c.reference
  );
}

const isSafeAmount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Checks that need nothing from the database, in precedence order. */
function checkStatic(t: TransferInput, internal: boolean): TransferResult | undefined {
  if (!isClientId(t.id)) return 'id_invalid';
  const flags = t.flags ?? 0;
  const allowed = internal ? TRANSFER_FLAGS_MASK | TransferFlags.expired : TRANSFER_FLAGS_MASK;
  if (!Number.isInteger(flags) || (flags & ~allowed) !== 0) return 'flags_invalid';
  const pending = (flags & TransferFlags.pending) !== 0;
  const post = (flags & TransferFlags.post_pending) !== 0;
  const voiding = (flags & TransferFlags.void_pending) !== 0;
  if (Number(pending) + Number(post) + Number(voiding) > 1) return 'flags_are_mutually_exclusive';
  if (post || voiding) {
    if (!t.pending_id) return 'pending_id_required';
    if (!isClientId(t.pending_id)) return 'pending_id_required';
    if (t.pending_id === t.id) return 'pending_id_must_be_different';
  } else if (t.pending_id) return 'pending_id_must_be_empty';
  const timeout = t.timeout_s ?? 0;
  if (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > MAX_INT32) return 'timeout_reserved_for_pending_transfer';
  if (timeout > 0 && !pending) return 'timeout_reserved_for_pending_transfer';
  if (!isSafeAmount(t.amount)) return 'amount_invalid';
  if (!post && !voiding) {
    if (t.amount === 0) return 'amount_must_be_positive';
    if (!t.debit_account_id) return 'debit_account_id_required';
    if (!t.credit_account_id) return 'credit_account_id_required';
    if (t.debit_account_id === t.credit_account_id) return 'accounts_must_be_different';
    if (!Number.isSafeInteger(t.ledger) || t.ledger <= 0 || t.ledger > MAX_INT32) return 'ledger_must_not_be_zero';
    if (!Number.isSafeInteger(t.code) || t.code <= 0 || t.code > MAX_INT32) return 'code_must_not_be_zero';
  } else {
    if (!Number.isSafeInteger(t.ledger) || t.ledger < 0 || t.ledger > MAX_INT32) return 'ledger_must_not_be_zero';
    if (!Number.isSafeInteger(t.code) || t.code < 0 || t.code > MAX_INT32) return 'code_must_not_be_zero';
  }
  if (t.reference != null && !isStorableText(t.reference, MAX_REFERENCE_LENGTH)) return 'reference_invalid';
  return undefined;
}

interface Undo {
  accounts: Map<string, Account>;
  pendings: Map<string, PendingState | undefined>;
  pendingWritesHad: Map<string, PendingState | undefined>;
  inserts: number;
}

/**
 * Decides a batch of transfers against loaded state: validates each in precedence order, applies
 * the successful ones to the in-memory accounts, and returns what must be written. Pure apart from
 * mutating `state` and reading the clock; shared by the SQLite and PostgreSQL stores.
 */
export function applyBatch(
  batch: readonly TransferInput[],
  state: BatchState,
  clock: LedgerClock,
  options: { internal?: boolean } = {},
): BatchOutcome {
  const out: BatchOutcome = {
    results: [],
    inserts: [],
    touched: new Set(),
    pendingWrites: new Map(),
    rejections: [],
  };
  const now = clock.nowMicros();
  let chainStart = -1;
  let undo: Undo | undefined;
  let chainFailed: { index: number; result: TransferResult } | undefined;
  const chainResults: BatchResult<TransferResult>[] = [];

  const touch = (account: Account): void => {
    if (undo && !undo.accounts.has(account.id)) undo.accounts.set(account.id, { ...account });
    out.touched.add(account.id);
  };
  const setPending = (p: PendingState): void => {
    if (undo) {
      if (!undo.pendings.has(p.id)) undo.pendings.set(p.id, state.pendings.get(p.id) && { ...state.pendings.get(p.id)! });
      if (!undo.pendingWritesHad.has(p.id)) undo.pendingWritesHad.set(p.id, out.pendingWrites.get(p.id));
    }
    state.pendings.set(p.id, p);
    out.pendingWrites.set(p.id, p);
  };

  const decide = (t: TransferInput): TransferResult | undefined => {
    const invalid = checkStatic(t, options.internal === true);
    if (invalid) return invalid;
    const prior = state.existing.get(t.id);
    if (prior) return sameAsCommitted(t, prior) ? 'exists' : 'exists_with_different_fields';
    const rejected = state.rejections.get(t.id);
    if (rejected) {
      return rejected.fingerprint === fingerprint(t) ? (rejected.result as TransferResult) : 'exists_with_different_fields';
    }
    const flags = t.flags ?? 0;
    if (flags & (TransferFlags.post_pending | TransferFlags.void_pending)) return resolvePending(t, flags);
    return createMovement(t, flags);
  };

  const resolvePending = (t: TransferInput, flags: number): TransferResult | undefined => {
    const p = state.pendings.get(t.pending_id!);
    if (!p) return 'pending_transfer_not_found';
    if (t.debit_account_id && t.debit_account_id !== p.debit_account_id) return 'pending_transfer_has_different_debit_account_id';
    if (t.credit_account_id && t.credit_account_id !== p.credit_account_id) return 'pending_transfer_has_different_credit_account_id';
    if (t.ledger !== 0 && t.ledger !== p.ledger) return 'pending_transfer_has_different_ledger';
    if (t.code !== 0 && t.code !== p.code) return 'pending_transfer_has_different_code';
    if (p.status === PendingStatus.posted) return 'pending_transfer_already_posted';
    if (p.status === PendingStatus.voided) return 'pending_transfer_already_voided';
    if (p.status === PendingStatus.expired) return 'pending_transfer_expired';
    const expiring = (flags & TransferFlags.expired) !== 0;
    if (p.expires_at > 0 && p.expires_at <= now && !expiring) return 'pending_transfer_expired';
    const post = (flags & TransferFlags.post_pending) !== 0;
    const amount = t.amount === 0 ? p.amount : t.amount;
    if (post && amount > p.amount) return 'exceeds_pending_transfer_amount';
    if (!post && amount !== p.amount) return 'pending_transfer_has_different_amount';
    const dr = state.accounts.get(p.debit_account_id);
    const cr = state.accounts.get(p.credit_account_id);
    if (!dr) return 'debit_account_not_found';
    if (!cr) return 'credit_account_not_found';
    if (post && dr.flags & AccountFlags.closed) return 'debit_account_closed';
    if (post && cr.flags & AccountFlags.closed) return 'credit_account_closed';
    touch(dr);
    touch(cr);
    dr.debits_pending -= p.amount;
    cr.credits_pending -= p.amount;
    if (post) {
      dr.debits_posted += amount;
      cr.credits_posted += amount;
    }
    setPending({ ...p, status: post ? PendingStatus.posted : expiring ? PendingStatus.expired : PendingStatus.voided });
    record(t, flags, p.debit_account_id, p.credit_account_id, amount, p.ledger, p.code, dr, cr);
    return undefined;
  };

  const createMovement = (t: TransferInput, flags: number): TransferResult | undefined => {
    const dr = state.accounts.get(t.debit_account_id);
    const cr = state.accounts.get(t.credit_account_id);
    if (!dr) return 'debit_account_not_found';
    if (!cr) return 'credit_account_not_found';
    if (dr.ledger !== cr.ledger) return 'accounts_must_have_the_same_ledger';
    if (t.ledger !== dr.ledger) return 'transfer_must_have_the_same_ledger_as_accounts';
    if (dr.flags & AccountFlags.closed) return 'debit_account_closed';
    if (cr.flags & AccountFlags.closed) return 'credit_account_closed';
    const amount = t.amount;
    const pending = (flags & TransferFlags.pending) !== 0;
    const drDebits = dr.debits_pending + dr.debits_posted + amount;
    const crCredits = cr.credits_pending + cr.credits_posted + amount;
    if (!Number.isSafeInteger(drDebits) || !Number.isSafeInteger(cr.debits_pending + cr.debits_posted)) return 'overflows_debits';
    if (!Number.isSafeInteger(crCredits) || !Number.isSafeInteger(dr.credits_pending + dr.credits_posted)) return 'overflows_credits';
    if (dr.flags & AccountFlags.debits_must_not_exceed_credits && drDebits > dr.credits_posted) return 'exceeds_credits';
    if (cr.flags & AccountFlags.credits_must_not_exceed_debits && crCredits > cr.debits_posted) return 'exceeds_debits';
    touch(dr);
    touch(cr);
    if (pending) {
      dr.debits_pending += amount;
      cr.credits_pending += amount;
    } else {
      dr.debits_posted += amount;
      cr.credits_posted += amount;
    }
    const row = record(t, flags, dr.id, cr.id, amount, t.ledger, t.code, dr, cr);
    if (pending) {
      const timeout = t.timeout_s ?? 0;
      setPending({
        id: t.id,
        status: PendingStatus.pending,
        expires_at: timeout > 0 ? row.ts + timeout * 1_000_000 : 0,
        amount,
        debit_account_id: dr.id,
        credit_account_id: cr.id,
        ledger: t.ledger,
        code: t.code,
      });
    }
    return undefined;
  };

  const record = (
    t: TransferInput,
    flags: number,
    debitId: string,
    creditId: string,
    amount: number,
    ledger: number,
    code: number,
    dr: Account,
    cr: Account,
  ): Transfer => {
    const ts = clock.next(Math.max(dr.last_ts, cr.last_ts));
    dr.last_ts = ts;
    cr.last_ts = ts;
    const row: Transfer = {
      id: t.id,
      debit_account_id: debitId,
      credit_account_id: creditId,
      amount,
      pending_id: t.pending_id ?? null,
      ledger,
      code,
      flags,
      timeout_s: t.timeout_s ?? 0,
      reference: t.reference ?? null,
      ts,
      dr_debits_after: dr.debits_posted,
      dr_credits_after: dr.credits_posted,
      cr_debits_after: cr.debits_posted,
      cr_credits_after: cr.credits_posted,
    };
    out.inserts.push(row);
    state.existing.set(row.id, row);
    return row;
  };

  const rollbackChain = (): void => {
    if (!undo) return;
    for (const [id, before] of undo.accounts) Object.assign(state.accounts.get(id)!, before);
    for (const [id, before] of undo.pendings) {
      if (before) state.pendings.set(id, before);
      else state.pendings.delete(id);
    }
    for (const [id, had] of undo.pendingWritesHad) {
      if (had) out.pendingWrites.set(id, had);
      else out.pendingWrites.delete(id);
    }
    for (const row of out.inserts.splice(undo.inserts)) state.existing.delete(row.id);
  };

  const reject = (t: TransferInput, index: number, result: TransferResult): void => {
    out.results.push({ index, result });
    // Remember the first outcome, so that a retry of the same request gets the same answer.
    if (result !== 'exists' && result !== 'exists_with_different_fields' && result !== 'id_invalid' && isClientId(t.id)) {
      if (!state.rejections.has(t.id) && !state.existing.has(t.id)) {
        const entry = { id: t.id, result, fingerprint: fingerprint(t), ts: clock.nowMicros() };
        out.rejections.push(entry);
        state.rejections.set(t.id, entry);
      }
    }
  };

  const last = batch.length - 1;
  const isOpenEnd = (i: number): boolean => i === last && ((batch[i]!.flags ?? 0) & TransferFlags.linked) !== 0;
  /** A member that answers a recorded linked_event_failed: the chain fails, but not because of it. */
  let firstLinkedFailure: number | undefined;

  const decideMember = (t: TransferInput, i: number): void => {
    // An open chain is a property of the request, before any code of its last member (even `exists`).
    const result = isOpenEnd(i) ? 'linked_event_chain_open' : decide(t);
    if (result === 'exists') {
      // A replayed member does not break its chain; it is reported once the chain closes.
      chainResults.push({ index: i, result });
    } else if (result === 'linked_event_failed') {
      firstLinkedFailure ??= i;
    } else if (result) {
      chainFailed = { index: i, result };
      rollbackChain();
    }
  };

  /**
   * Answers a failed chain so that a retry of it gets exactly its first outcome (DESIGN.md rule
   * 3): the failing member — the first whose failure is its own — its code; every other member
   * its recorded first outcome if it has one (recorded member by member, so a repeat of an earlier
   * member's request is answered like it), else linked_event_failed.
   */
  const closeChain = (end: number): void => {
    if (!chainFailed && firstLinkedFailure !== undefined) {
      chainFailed = { index: firstLinkedFailure, result: 'linked_event_failed' };
      rollbackChain();
    }
    if (!chainFailed) {
      out.results.push(...chainResults);
      return;
    }
    for (let j = chainStart; j <= end; j++) {
      const t = batch[j]!;
      const recorded = isClientId(t.id) ? state.rejections.get(t.id) : undefined;
      const first = recorded && recorded.fingerprint === fingerprint(t) ? (recorded.result as TransferResult) : undefined;
      reject(t, j, j === chainFailed.index ? chainFailed.result : (first ?? 'linked_event_failed'));
    }
  };

  for (let i = 0; i < batch.length; i++) {
    const t = batch[i]!;
    const linked = ((t.flags ?? 0) & TransferFlags.linked) !== 0;
    if (chainStart < 0 && linked) {
      chainStart = i;
      undo = { accounts: new Map(), pendings: new Map(), pendingWritesHad: new Map(), inserts: out.inserts.length };
      chainFailed = undefined;
      firstLinkedFailure = undefined;
      chainResults.length = 0;
    }
    if (chainStart < 0) {
      const result = decide(t);
      if (result) reject(t, i, result);
      continue;
    }
    if (!chainFailed) decideMember(t, i);
    if (!linked || i === last) {
      closeChain(i);
      chainStart = -1;
      undo = undefined;
    }
  }
  out.results.sort((a, b) => a.index - b.index);
  return out;
}
