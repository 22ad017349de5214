/**
 * Property tests of the ledger through its public API (createLedger), on every dialect.
 *
 * A small reference model, written from the result-code list (result-codes.ts: precedence order)
 * and the flag semantics (types.ts), predicts the outcome of every transfer of random batches
 * over a handful of accounts: random account flags, random amounts (0, negatives, floats, beyond
 * 2^53), random linked chains, pending → post (full or partial) / void, and ids repeated inside
 * and across batches. After every batch the ledger must agree with the model exactly (results,
 * balances), verify() must be ok, and the journal and the pending states must match the model.
 *
 * Knobs: XIAOWEI_PROPERTY_RUNS (default 40 runs per property and dialect), XIAOWEI_PROPERTY_STATS=1
 * (print how often each result code came up: the generator's coverage), XIAOWEI_PROPERTY_SHRINK_MS.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import { openDatabase } from '../platform/db/database.js';
import {
  AccountFlags,
  LEDGER_CNY,
  PendingStatus,
  TRANSFER_RESULTS,
  TransferFlags,
  createLedger,
  type AccountInput,
  type BatchResult,
  type Ledger,
  type TransferInput,
  type TransferResult,
} from './index.js';

const options = { XIAOWEI_COMMIT_MAX_BATCH: 8190, XIAOWEI_COMMIT_MAX_WAIT_MS: 0, XIAOWEI_COMMIT_MAX_QUEUE: 100_000, XIAOWEI_PENDING_SWEEP_MS: 3_600_000 };
const NUM_RUNS = Number(process.env.XIAOWEI_PROPERTY_RUNS ?? 40);
/** Bounds a failing property's shrinking, so that a failure costs tens of seconds, not minutes. */
const SHRINK_BUDGET_MS = Number(process.env.XIAOWEI_PROPERTY_SHRINK_MS ?? 30_000);

const MAX = Number.MAX_SAFE_INTEGER;
const USD = 840;
const F = TransferFlags;
const CLIENT_FLAGS = F.linked | F.pending | F.post_pending | F.void_pending;
const validId = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(v);
const isAmount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

interface MAccount {
  id: string;
  ledger: number;
  flags: number;
  dp: number;
  dpo: number;
  cp: number;
  cpo: number;
}
interface MRow {
  id: string;
  dr: string;
  cr: string;
  amount: number;
  pending_id: string | null;
  ledger: number;
  code: number;
  flags: number;
  timeout_s: number;
  reference: unknown;
}
interface MPending {
  id: string;
  status: 'pending' | 'posted' | 'voided';
  amount: number;
  dr: string;
  cr: string;
  ledger: number;
  code: number;
}
interface Snapshot {
  accounts: Map<string, MAccount>;
  journal: Map<string, MRow>;
  pendings: Map<string, MPending>;
}

/** The request's identity for idempotent replays: the fields a client sends. */
const requestKey = (t: TransferInput): string =>
  JSON.stringify([t.debit_account_id ?? '', t.credit_account_id ?? '', t.amount, t.pending_id ?? '', t.ledger, t.code, t.flags ?? 0, t.timeout_s ?? 0, t.reference ?? '']);

const exceedsMax = (...parts: number[]): boolean => parts.reduce((s, p) => s + BigInt(p), 0n) > BigInt(MAX);

class Model {
  accounts = new Map<string, MAccount>();
  journal = new Map<string, MRow>();
  rejected = new Map<string, { result: TransferResult; key: string }>();
  pendings = new Map<string, MPending>();

  addAccount(a: { id: string; ledger: number; flags: number }): void {
    this.accounts.set(a.id, { ...a, dp: 0, dpo: 0, cp: 0, cpo: 0 });
  }

  private snapshot(): Snapshot {
    return {
      accounts: new Map([...this.accounts].map(([k, v]) => [k, { ...v }])),
      journal: new Map(this.journal),
      pendings: new Map([...this.pendings].map(([k, v]) => [k, { ...v }])),
    };
  }

  private restore(s: Snapshot): void {
    this.accounts = s.accounts;
    this.journal = s.journal;
    this.pendings = s.pendings;
  }

  /** Checks that need no state, in the precedence order of TRANSFER_RESULTS. */
  private static staticCheck(t: TransferInput): TransferResult | undefined {
    if (!validId(t.id)) return 'id_invalid';
    const flags = t.flags ?? 0;
    if (!Number.isInteger(flags) || (flags & ~CLIENT_FLAGS) !== 0) return 'flags_invalid';
    const pending = (flags & F.pending) !== 0;
    const post = (flags & F.post_pending) !== 0;
    const voiding = (flags & F.void_pending) !== 0;
    if (Number(pending) + Number(post) + Number(voiding) > 1) return 'flags_are_mutually_exclusive';
    const resolving = post || voiding;
    if (resolving && !validId(t.pending_id)) return 'pending_id_required';
    if (!resolving && t.pending_id) return 'pending_id_must_be_empty';
    if (resolving && t.pending_id === t.id) return 'pending_id_must_be_different';
    const timeout = t.timeout_s ?? 0;
    if (!Number.isSafeInteger(timeout) || timeout < 0 || (timeout > 0 && !pending)) return 'timeout_reserved_for_pending_transfer';
    if (!isAmount(t.amount)) return 'amount_invalid';
    if (!resolving && t.amount === 0) return 'amount_must_be_positive';
    if (!resolving && !t.debit_account_id) return 'debit_account_id_required';
    if (!resolving && !t.credit_account_id) return 'credit_account_id_required';
    if (!resolving && t.debit_account_id === t.credit_account_id) return 'accounts_must_be_different';
    const minimum = resolving ? 0 : 1; // a post/void may leave ledger and code 0 (taken from the pending)
    if (!Number.isSafeInteger(t.ledger) || t.ledger < minimum) return 'ledger_must_not_be_zero';
    if (!Number.isSafeInteger(t.code) || t.code < minimum) return 'code_must_not_be_zero';
    if (t.reference != null && (typeof t.reference !== 'string' || t.reference.length > 256)) return 'reference_invalid';
    return undefined;
  }

  /** Is `t` a retry of the committed row `c`? (a post/void may leave fields to the pending) */
  private static sameAsCommitted(t: TransferInput, c: MRow): boolean {
    const flags = t.flags ?? 0;
    if (flags & (F.post_pending | F.void_pending)) {
      return (
        t.pending_id === c.pending_id &&
        flags === c.flags &&
        (t.amount === 0 || t.amount === c.amount) &&
        (!t.debit_account_id || t.debit_account_id === c.dr) &&
        (!t.credit_account_id || t.credit_account_id === c.cr) &&
        (t.ledger === 0 || t.ledger === c.ledger) &&
        (t.code === 0 || t.code === c.code) &&
        (t.reference ?? null) === c.reference
      );
    }
    return (
      t.debit_account_id === c.dr &&
      t.credit_account_id === c.cr &&
      t.amount === c.amount &&
      (t.pending_id ?? null) === c.pending_id &&
      t.ledger === c.ledger &&
      t.code === c.code &&
      flags === c.flags &&
      (t.timeout_s ?? 0) === c.timeout_s &&
      (t.reference ?? null) === c.reference
    );
  }

  /** Decides one transfer and, when it succeeds, applies it. */
  private decide(t: TransferInput): TransferResult | undefined {
    const invalid = Model.staticCheck(t);
    if (invalid) return invalid;
    const committed = this.journal.get(t.id);
    if (committed) return Model.sameAsCommitted(t, committed) ? 'exists' : 'exists_with_different_fields';
    const rejected = this.rejected.get(t.id);
    if (rejected) return rejected.key === requestKey(t) ? rejected.result : 'exists_with_different_fields';
    const flags = t.flags ?? 0;
    const row = (dr: string, cr: string, amount: number, ledger: number, code: number): MRow => ({
      id: t.id,
      dr,
      cr,
      amount,
      pending_id: t.pending_id ?? null,
      ledger,
      code,
      flags,
      timeout_s: t.timeout_s ?? 0,
      reference: t.reference ?? null,
    });

    if (flags & (F.post_pending | F.void_pending)) {
      const post = (flags & F.post_pending) !== 0;
      const p = this.pendings.get(t.pending_id!);
      if (!p) return 'pending_transfer_not_found';
      if (t.debit_account_id && t.debit_account_id !== p.dr) return 'pending_transfer_has_different_debit_account_id';
      if (t.credit_account_id && t.credit_account_id !== p.cr) return 'pending_transfer_has_different_credit_account_id';
      if (t.ledger !== 0 && t.ledger !== p.ledger) return 'pending_transfer_has_different_ledger';
      if (t.code !== 0 && t.code !== p.code) return 'pending_transfer_has_different_code';
      if (p.status === 'posted') return 'pending_transfer_already_posted';
      if (p.status === 'voided') return 'pending_transfer_already_voided';
      const amount = t.amount === 0 ? p.amount : t.amount;
      if (post && amount > p.amount) return 'exceeds_pending_transfer_amount';
      if (!post && amount !== p.amount) return 'pending_transfer_has_different_amount';
      const dr = this.accounts.get(p.dr)!;
      const cr = this.accounts.get(p.cr)!;
      if (post && dr.flags & AccountFlags.closed) return 'debit_account_closed';
      if (post && cr.flags & AccountFlags.closed) return 'credit_account_closed';
      dr.dp -= p.amount;
      cr.cp -= p.amount;
      if (post) {
        dr.dpo += amount;
        cr.cpo += amount;
      }
      this.pendings.set(p.id, { ...p, status: post ? 'posted' : 'voided' });
      this.journal.set(t.id, row(p.dr, p.cr, amount, p.ledger, p.code));
      return undefined;
    }

    const dr = this.accounts.get(t.debit_account_id);
    const cr = this.accounts.get(t.credit_account_id);
    if (!dr) return 'debit_account_not_found';
    if (!cr) return 'credit_account_not_found';
    if (dr.ledger !== cr.ledger) return 'accounts_must_have_the_same_ledger';
    if (t.ledger !== dr.ledger) return 'transfer_must_have_the_same_ledger_as_accounts';
    if (dr.flags & AccountFlags.closed) return 'debit_account_closed';
    if (cr.flags & AccountFlags.closed) return 'credit_account_closed';
    const amount = t.amount;
    if (exceedsMax(dr.dp, dr.dpo, amount)) return 'overflows_debits';
    if (exceedsMax(cr.cp, cr.cpo, amount)) return 'overflows_credits';
    if (dr.flags & AccountFlags.debits_must_not_exceed_credits && dr.dp + dr.dpo + amount > dr.cpo) return 'exceeds_credits';
    if (cr.flags & AccountFlags.credits_must_not_exceed_debits && cr.cp + cr.cpo + amount > cr.dpo) return 'exceeds_debits';
    if (flags & F.pending) {
      dr.dp += amount;
      cr.cp += amount;
      this.pendings.set(t.id, { id: t.id, status: 'pending', amount, dr: dr.id, cr: cr.id, ledger: t.ledger, code: t.code });
    } else {
      dr.dpo += amount;
      cr.cpo += amount;
    }
    this.journal.set(t.id, row(dr.id, cr.id, amount, t.ledger, t.code));
    return undefined;
  }

  /** Remembers a first outcome, so that a retry of the same request gets the same answer. */
  private record(t: TransferInput, result: TransferResult): void {
    if (result === 'exists' || result === 'exists_with_different_fields' || result === 'id_invalid' || !validId(t.id)) return;
    if (this.rejected.has(t.id) || this.journal.has(t.id)) return;
    this.rejected.set(t.id, { result, key: requestKey(t) });
  }

  /** The first outcome recorded for this very request, if any. */
  private recorded(t: TransferInput): TransferResult | undefined {
    if (!validId(t.id)) return undefined;
    const r = this.rejected.get(t.id);
    return r && r.key === requestKey(t) ? r.result : undefined;
  }

  /**
   * Applies a batch and returns the expected failures. A linked chain commits all or nothing; a
   * member that is a replay (`exists`) does not break its chain. A chain still open at the end of
   * the batch fails with linked_event_chain_open on its last member, before any other code of that
   * member (the documented precedence), and never commits — not even when that member is a replay.
   *
   * When a chain fails, the failing member reports its code and every other member its own
   * recorded first outcome if it has one, else linked_event_failed; outcomes are recorded member
   * by member, so a member repeating an earlier member's request is answered like that member.
   * Which member failed is decided so that a retry of the chain finds the same one: the first
   * member whose failure is its own (not a recorded linked_event_failed, which only says that some
   * other member failed the first time). Together this answers a retried chain with exactly its
   * first outcome (DESIGN.md rule 3).
   */
  apply(batch: readonly TransferInput[]): BatchResult<TransferResult>[] {
    const out: BatchResult<TransferResult>[] = [];
    let chain: { start: number; snap: Snapshot; failed?: { index: number; result: TransferResult }; firstLinkedFailure?: number; replays: number[] } | undefined;
    const last = batch.length - 1;
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i]!;
      const linked = ((t.flags ?? 0) & F.linked) !== 0;
      if (!chain && linked) chain = { start: i, snap: this.snapshot(), replays: [] };
      if (!chain) {
        const result = this.decide(t);
        if (result) {
          out.push({ index: i, result });
          this.record(t, result);
        }
        continue;
      }
      if (!chain.failed) {
        let result = linked && i === last ? 'linked_event_chain_open' : this.decide(t);
        if (result === 'exists') {
          chain.replays.push(i);
          result = undefined;
        }
        if (result === 'linked_event_failed') {
          // A recorded first outcome: the chain fails, but the member that failed it comes later.
          chain.firstLinkedFailure ??= i;
        } else if (result) {
          chain.failed = { index: i, result };
          this.restore(chain.snap);
        }
      }
      if (!linked || i === last) {
        if (!chain.failed && chain.firstLinkedFailure !== undefined) {
          chain.failed = { index: chain.firstLinkedFailure, result: 'linked_event_failed' };
          this.restore(chain.snap);
        }
        if (chain.failed) {
          for (let j = chain.start; j <= i; j++) {
            const result = j === chain.failed.index ? chain.failed.result : (this.recorded(batch[j]!) ?? 'linked_event_failed');
            out.push({ index: j, result });
            this.record(batch[j]!, result);
          }
        } else {
          for (const j of chain.replays) out.push({ index: j, result: 'exists' });
        }
        chain = undefined;
      }
    }
    return out.sort((a, b) => a.index - b.index);
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** Accounts of one run: [flags, ledger]; index 6 names an account that does not exist. */
const ACCOUNTS: [number, number][] = [
  [0, LEDGER_CNY],
  [AccountFlags.debits_must_not_exceed_credits, LEDGER_CNY],
  [AccountFlags.debits_must_not_exceed_credits | AccountFlags.history, LEDGER_CNY],
  [AccountFlags.credits_must_not_exceed_debits, LEDGER_CNY],
  [AccountFlags.closed, LEDGER_CNY],
  [0, USD],
];

/** Transfer ids: FRESH = a new id; ≥ 0 = the n-th id used before in the run; < 0 = invalid ids. */
const FRESH = -10;
type Op =
  | { kind: 'move'; id: number; dr: number; /** 1–3: another CNY account; 0 same; 10–13 closed, USD, unknown, empty */ crOffset: number; amount: number; ledger: number; code: number; flags: number; timeout: number; reference: unknown }
  | { kind: 'resolve'; id: number; pending: number; void: boolean; amount: number; dr: number; cr: number; ledger: number; code: number; linked: boolean; reference: unknown }
  | { kind: 'dup'; from: number; change: boolean };

const weighted = <T,>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, w = 6): fc.Arbitrary<T> =>
  fc.oneof({ weight: w, arbitrary: common }, { weight: 1, arbitrary: rare });

const idArb = fc.oneof({ weight: 24, arbitrary: fc.constant(FRESH) }, { weight: 3, arbitrary: fc.nat(40) }, { weight: 1, arbitrary: fc.constantFrom(-1, -2, -3) });
/** Mostly the CNY accounts that can move money; sometimes closed, USD, unknown (6) or empty (-1). */
const debitArb = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(0, 0, 1, 1, 2, 2, 3) },
  { weight: 2, arbitrary: fc.constantFrom(4, 5) },
  { weight: 1, arbitrary: fc.constantFrom(6, -1) },
);
const amountArb = weighted(
  fc.integer({ min: 1, max: 60 }),
  fc.constantFrom(0, -1, -100, 12.5, 0.1, 2 ** 53, 2 ** 53 + 2, 1e20, MAX, MAX - 1, Number.NaN, Number.POSITIVE_INFINITY),
  12,
);
const referenceArb = fc.oneof(
  { weight: 15, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(null, 'ref-1', '收购款 🍎', 'x'.repeat(256), 'x'.repeat(257), 7 as unknown) },
);
const linkedArb = fc.integer({ min: 0, max: 5 }).map((n) => (n === 0 ? F.linked : 0));

const moveArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant('move' as const),
  id: idArb,
  dr: debitArb,
  crOffset: weighted(fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, 10, 11, 12, 13), 16),
  amount: amountArb,
  ledger: weighted(fc.constant(LEDGER_CNY), fc.constantFrom(USD, 0, -1, 1.5), 30),
  code: weighted(fc.constant(1), fc.constantFrom(0, 2, -3), 30),
  flags: fc
    .tuple(linkedArb, weighted(fc.constantFrom(0, 0, F.pending), fc.constantFrom(F.expired, 1 << 7, F.pending | F.post_pending, F.post_pending | F.void_pending, -1, 0.5), 30))
    .map(([l, f]) => (Number.isInteger(f) && f >= 0 ? l | f : f)),
  timeout: weighted(fc.constant(0), fc.constantFrom(3600, -1, 1.5), 30),
  reference: referenceArb,
});

/** pending: ≥ 0 = the n-th pending of the run; -1 = none; -2 = an invalid id; -3 = any id used before. */
const resolveArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant('resolve' as const),
  id: idArb,
  pending: fc.oneof({ weight: 16, arbitrary: fc.nat(20) }, { weight: 1, arbitrary: fc.constantFrom(-1, -2, -3) }),
  void: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
  amount: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 2.5, 2 ** 53) }),
  dr: fc.oneof({ weight: 10, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }) }),
  cr: fc.oneof({ weight: 10, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }) }),
  ledger: weighted(fc.constant(0), fc.constantFrom(LEDGER_CNY, USD), 8),
  code: weighted(fc.constant(0), fc.constantFrom(1, 2), 8),
  linked: linkedArb.map((l) => l !== 0),
  reference: referenceArb,
});

const dupArb: fc.Arbitrary<Op> = fc.record({ kind: fc.constant('dup' as const), from: fc.nat(), change: fc.integer({ min: 0, max: 2 }).map((n) => n === 0) });

const opArb = fc.oneof({ weight: 8, arbitrary: moveArb }, { weight: 4, arbitrary: resolveArb }, { weight: 2, arbitrary: dupArb });
const batchesArb = (maxBatches: number) => fc.array(fc.array(opArb, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: maxBatches });
const runArb = fc.record({ batches: batchesArb(6), concurrent: fc.integer({ min: 0, max: 3 }).map((n) => n === 0) });

/** Turns generated ops into transfer requests for the run with prefix `p`; also returns the ids used. */
function materialise(p: string, batches: Op[][]): { requests: TransferInput[][]; ids: string[] } {
  const account = (i: number): string => (i < 0 ? '' : i === 6 ? `${p}nobody` : `${p}a${i}`);
  const ids: string[] = [];
  const pendings: string[] = [];
  const history: TransferInput[] = [];
  const id = (choice: number): string => {
    if (choice === FRESH || (choice >= 0 && ids.length === 0)) {
      const fresh = `${p}t${ids.length}`;
      ids.push(fresh);
      return fresh;
    }
    if (choice >= 0) return ids[choice % ids.length]!;
    return choice === -1 ? '' : choice === -2 ? 'not an id' : 'x'.repeat(129);
  };
  const requests = batches.map((ops) =>
    ops.map((op) => {
      let t: Record<string, unknown>;
      if (op.kind === 'dup') {
        const src = history[op.from % Math.max(history.length, 1)];
        if (!src) t = { id: id(FRESH), debit_account_id: account(0), credit_account_id: account(1), amount: 1, ledger: LEDGER_CNY, code: 1, flags: 0 };
        else {
          t = { ...src };
          if (op.change) t.amount = typeof src.amount === 'number' && src.amount >= 0 && src.amount < MAX ? src.amount + 1 : 1;
        }
      } else if (op.kind === 'move') {
        // The credit side: mostly another of the accounts 0–3; sometimes the same, closed, USD, unknown or empty.
        const special: Record<number, number> = { 0: op.dr, 10: 4, 11: 5, 12: 6, 13: -1 };
        const cr = special[op.crOffset] ?? (op.dr >= 0 && op.dr <= 3 ? (op.dr + op.crOffset) % 4 : op.crOffset);
        t = { id: id(op.id), debit_account_id: account(op.dr), credit_account_id: account(cr), amount: op.amount, ledger: op.ledger, code: op.code, flags: op.flags };
        const pending = (op.flags & F.pending) !== 0;
        if (op.timeout !== 0) t.timeout_s = op.timeout;
        else if (pending) t.timeout_s = 3600;
        if (op.reference !== undefined) t.reference = op.reference;
        if (pending && Number.isInteger(op.flags) && op.flags >= 0) pendings.push(t.id as string);
      } else {
        let pendingId: string | null;
        if (op.pending >= 0) pendingId = pendings.length > 0 ? pendings[op.pending % pendings.length]! : `${p}no-pending`;
        else if (op.pending === -1) pendingId = null;
        else if (op.pending === -2) pendingId = 'no such pending';
        else pendingId = ids.length > 0 ? ids[ids.length - 1]! : `${p}no-pending`;
        t = {
          id: id(op.id),
          debit_account_id: account(op.dr),
          credit_account_id: account(op.cr),
          amount: op.amount,
          pending_id: pendingId,
          ledger: op.ledger,
          code: op.code,
          flags: (op.void ? F.void_pending : F.post_pending) | (op.linked ? F.linked : 0),
        };
        if (op.reference !== undefined) t.reference = op.reference;
      }
      const transfer = t as unknown as TransferInput;
      history.push(transfer);
      return transfer;
    }),
  );
  return { requests, ids };
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

describe.each(DIALECTS)('ledger properties on %s', (dialect) => {
  let tdb: TestDatabase;
  let ledger: Ledger;
  let run = 0;
  const STATS = new Map<string, number>();
  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    ledger = createLedger(tdb.database, options);
  });
  afterAll(async () => {
    if (process.env.XIAOWEI_PROPERTY_STATS) console.log(dialect, JSON.stringify(Object.fromEntries([...STATS].sort((a, b) => b[1] - a[1]))));
    await ledger?.drain();
    await tdb?.drop();
  });

  const db = () => tdb.database.kysely;

  async function checkAgainstModel(p: string, model: Model): Promise<void> {
    const report = await ledger.verify();
    expect(report, report.problem).toMatchObject({ ok: true });
    const ids = ACCOUNTS.map((_, i) => `${p}a${i}`);
    const stored = await ledger.lookupAccounts(ids);
    for (const id of ids) {
      const a = stored.find((s) => s.id === id)!;
      const m = model.accounts.get(id)!;
      expect({ id, dp: a.debits_pending, dpo: a.debits_posted, cp: a.credits_pending, cpo: a.credits_posted }).toEqual({ id, dp: m.dp, dpo: m.dpo, cp: m.cp, cpo: m.cpo });
      // Invariants that need no model.
      if (a.flags & AccountFlags.debits_must_not_exceed_credits) expect(a.debits_pending + a.debits_posted).toBeLessThanOrEqual(a.credits_posted);
      if (a.flags & AccountFlags.credits_must_not_exceed_debits) expect(a.credits_pending + a.credits_posted).toBeLessThanOrEqual(a.debits_posted);
    }
  }

  async function checkJournal(ids: string[], model: Model): Promise<void> {
    if (ids.length === 0) return; // `in ()` is not SQL on PostgreSQL
    const rows = (await db().selectFrom('ledger_transfers').selectAll().where('id', 'in', ids).execute()) as Record<string, unknown>[];
    const journal = await Promise.all(ids.map((id) => ledger.lookupTransfer(id)));
    expect(rows.length).toBe(journal.filter(Boolean).length); // each id at most once
    for (const [i, id] of ids.entries()) {
      const t = journal[i];
      const m = model.journal.get(id);
      if (!m) {
        expect(t, `${id} must not be in the journal`).toBeUndefined();
        continue;
      }
      expect(t, `${id} must be in the journal`).toBeDefined();
      expect({ dr: t!.debit_account_id, cr: t!.credit_account_id, amount: t!.amount, flags: t!.flags, pending_id: t!.pending_id, ledger: t!.ledger, code: t!.code }).toEqual({
        dr: m.dr,
        cr: m.cr,
        amount: m.amount,
        flags: m.flags,
        pending_id: m.pending_id,
        ledger: m.ledger,
        code: m.code,
      });
    }
    const pendings = (await db().selectFrom('ledger_pending').select(['id', 'status']).where('id', 'in', ids).execute()) as { id: string; status: unknown }[];
    const status = { pending: PendingStatus.pending, posted: PendingStatus.posted, voided: PendingStatus.voided };
    expect(new Map(pendings.map((r) => [r.id, Number(r.status)]))).toEqual(new Map([...model.pendings.values()].filter((m) => ids.includes(m.id)).map((m) => [m.id, status[m.status]])));
  }

  async function openRun(): Promise<{ p: string; model: Model }> {
    const p = `r${++run}.`;
    const model = new Model();
    const inputs: AccountInput[] = ACCOUNTS.map(([flags, l], i) => ({ id: `${p}a${i}`, ledger: l, code: 10 + i, flags }));
    expect(await ledger.createAccounts(inputs)).toEqual([]);
    for (const a of inputs) model.addAccount({ id: a.id, ledger: a.ledger, flags: a.flags ?? 0 });
    // Fund the limited accounts so that debits from them can succeed.
    const fund: TransferInput[] = [1, 2].map((i) => ({ id: `${p}fund${i}`, debit_account_id: `${p}a0`, credit_account_id: `${p}a${i}`, amount: 100, ledger: LEDGER_CNY, code: 1 }));
    fund.push({ id: `${p}fund3`, debit_account_id: `${p}a3`, credit_account_id: `${p}a0`, amount: 100, ledger: LEDGER_CNY, code: 1 });
    expect(await ledger.createTransfers(fund)).toEqual(model.apply(fund));
    return { p, model };
  }

  it('agrees with the reference model on random batches; verify() stays ok', async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async ({ batches, concurrent }) => {
        const { p, model } = await openRun();
        const { requests, ids } = materialise(p, batches);
        if (concurrent) {
          // One group commit decides all callers' batches in queue order.
          const results = await Promise.all(requests.map((b) => ledger.createTransfers(b)));
          requests.forEach((batch, i) => {
            expect(results[i], `batch ${i}: ${JSON.stringify(batch)} → ${JSON.stringify(results[i])}`).toEqual(model.apply(batch));
          });
          await checkAgainstModel(p, model);
        } else {
          for (const [i, batch] of requests.entries()) {
            const results = await ledger.createTransfers(batch);
            if (process.env.XIAOWEI_PROPERTY_STATS) for (const r of results) STATS.set(r.result, (STATS.get(r.result) ?? 0) + 1);
            if (process.env.XIAOWEI_PROPERTY_STATS) STATS.set('ok', (STATS.get('ok') ?? 0) + batch.length - results.length);
            expect(results, `batch ${i}: ${JSON.stringify(batch)} → ${JSON.stringify(results)}`).toEqual(model.apply(batch));
            await checkAgainstModel(p, model);
          }
        }
        await checkJournal(ids, model);
      }),
      { numRuns: NUM_RUNS, interruptAfterTimeLimit: SHRINK_BUDGET_MS * 4, markInterruptAsFailure: false },
    );
  }, 180_000);

  it('answers a replayed batch with its first outcome (exists for what committed) and changes nothing', async () => {
    const snapshot = async (p: string) => ({
      accounts: (await ledger.lookupAccounts(ACCOUNTS.map((_, i) => `${p}a${i}`))).map(({ last_ts: _l, ...a }) => a).sort((a, b) => (a.id < b.id ? -1 : 1)),
      transfers: Number(((await db().selectFrom('ledger_transfers').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as { n: unknown }).n),
    });
    await fc.assert(
      fc.asyncProperty(batchesArb(3), async (batches) => {
        const { p } = await openRun();
        for (const batch of materialise(p, batches).requests) {
          const first = await ledger.createTransfers(batch);
          const before = await snapshot(p);
          const again = await ledger.createTransfers(batch);
          expect(await snapshot(p), 'a replay changes nothing').toEqual(before);
          // Every transfer that succeeded is now `exists`; every failure is the same failure (DESIGN.md rule 3).
          const firstOf = new Map(first.map((r) => [r.index, r.result]));
          const expected = batch.map((_, index) => ({ index, result: firstOf.get(index) ?? 'exists' }));
          const actual = batch.map((_, index) => ({ index, result: again.find((r) => r.index === index)?.result ?? '(committed again)' }));
          expect(actual, `replay of ${JSON.stringify(batch)}`).toEqual(expected);
        }
        const report = await ledger.verify();
        expect(report, report.problem).toMatchObject({ ok: true });
      }),
      { numRuns: Math.ceil(NUM_RUNS / 2), interruptAfterTimeLimit: SHRINK_BUDGET_MS * 2, markInterruptAsFailure: false },
    );
  }, 180_000);

  describe('a failed linked chain, and its retry, answer with the same codes', () => {
    type Member = (a: (i: number) => string, p: string) => TransferInput;
    const move = (id: string, dr: number, cr: number, amount: number, flags: number): Member => (a, p) => ({ id: id ? `${p}${id}` : '', debit_account_id: a(dr), credit_account_id: a(cr), amount, ledger: LEDGER_CNY, code: 1, flags });
    const cases: [string, Member[], TransferResult[]][] = [
      ['a later member fails (exceeds_credits)', [move('c1', 0, 1, 5, F.linked), move('c2', 1, 2, 1_000, 0)], ['linked_event_failed', 'exceeds_credits']],
      ['a later member has an invalid id', [move('c1', 0, 1, 5, F.linked), move('', 0, 1, 5, F.linked), move('c3', 0, 2, 5, 0)], ['linked_event_failed', 'id_invalid', 'linked_event_failed']],
      ['a later member reuses an earlier id with other fields', [move('c1', 0, 1, 5, F.linked), move('c1', 0, 1, 6, 0)], ['linked_event_failed', 'exists_with_different_fields']],
      ['the chain is left open', [move('c1', 0, 1, 5, F.linked), move('c2', 0, 2, 5, F.linked)], ['linked_event_failed', 'linked_event_chain_open']],
      ['a member repeats the request of the member that failed', [move('c1', 0, 1, 0, F.linked), move('c1', 0, 1, 0, F.linked), move('c3', 0, 2, 5, 0)], ['amount_must_be_positive', 'amount_must_be_positive', 'linked_event_failed']],
    ];
    it.each(cases)('%s', async (_name, members, codes) => {
      const { p } = await openRun();
      const a = (i: number) => `${p}a${i}`;
      const chain = members.map((m) => m(a, p));
      const first = await ledger.createTransfers(chain);
      expect(first).toEqual(codes.map((result, index) => ({ index, result })));
      // DESIGN.md rule 3: a retry returns the first outcome.
      expect(await ledger.createTransfers(chain), 'the retry').toEqual(first);
      for (const t of chain) if (t.id) expect(await ledger.lookupTransfer(t.id)).toBeUndefined();
    });
  });

  it('gives an open chain ending in a replayed transfer linked_event_chain_open and commits none of it', async () => {
    const { p } = await openRun();
    const a = (i: number) => `${p}a${i}`;
    expect(await ledger.createTransfers([{ id: `${p}x1`, debit_account_id: a(0), credit_account_id: a(1), amount: 5, ledger: LEDGER_CNY, code: 1, flags: F.linked }, { id: `${p}x2`, debit_account_id: a(0), credit_account_id: a(1), amount: 5, ledger: LEDGER_CNY, code: 1 }])).toEqual([]);
    // The same last transfer, now a replay, closes nothing: the chain is still open.
    const results = await ledger.createTransfers([
      { id: `${p}x3`, debit_account_id: a(0), credit_account_id: a(2), amount: 7, ledger: LEDGER_CNY, code: 1, flags: F.linked },
      { id: `${p}x2`, debit_account_id: a(0), credit_account_id: a(1), amount: 5, ledger: LEDGER_CNY, code: 1, flags: F.linked },
    ]);
    expect(results).toEqual([
      { index: 0, result: 'linked_event_failed' },
      { index: 1, result: 'linked_event_chain_open' },
    ]);
    expect(await ledger.lookupTransfer(`${p}x3`)).toBeUndefined();
  });

  it('reports linked_event_chain_open before the other codes of the last transfer (documented precedence)', async () => {
    const { p } = await openRun();
    const a = (i: number) => `${p}a${i}`;
    // Precedence: linked_event_chain_open (2nd) comes before amount_invalid (10th) and debit_account_not_found.
    expect(TRANSFER_RESULTS.indexOf('linked_event_chain_open')).toBeLessThan(TRANSFER_RESULTS.indexOf('amount_invalid'));
    const results = await ledger.createTransfers([
      { id: `${p}y1`, debit_account_id: a(0), credit_account_id: a(1), amount: 5, ledger: LEDGER_CNY, code: 1, flags: F.linked },
      { id: `${p}y2`, debit_account_id: a(0), credit_account_id: a(1), amount: -5, ledger: LEDGER_CNY, code: 1, flags: F.linked },
    ]);
    expect(results).toEqual([
      { index: 0, result: 'linked_event_failed' },
      { index: 1, result: 'linked_event_chain_open' },
    ]);
  });

  it('expires a pending after its timeout: post refused, the sweep voids it exactly once', async () => {
    const { p } = await openRun();
    const a = (i: number) => `${p}a${i}`;
    const second = createLedger(tdb.database, options); // as a second server process would
    try {
      const hold = (id: string, amount: number, timeout_s: number): TransferInput => ({ id: `${p}${id}`, debit_account_id: a(1), credit_account_id: a(0), amount, ledger: LEDGER_CNY, code: 3, flags: F.pending, timeout_s });
      expect(await ledger.createTransfers([hold('h1', 30, 1), hold('h2', 20, 1), hold('h3', 10, 3600)])).toEqual([]);
      expect((await ledger.lookupAccounts([a(1)]))[0]).toMatchObject({ debits_pending: 60, credits_posted: 100 });
      await sleep(1_300);
      const post = (pending: string, flags: number, amount = 0): TransferInput => ({ id: `${p}${pending}-${flags}`, debit_account_id: '', credit_account_id: '', amount, pending_id: `${p}${pending}`, ledger: 0, code: 0, flags });
      expect(await ledger.createTransfers([post('h1', F.post_pending)])).toEqual([{ index: 0, result: 'pending_transfer_expired' }]);
      // Two sweeps at once (two processes) void each expired pending once.
      const swept = await Promise.all([ledger.expirePendings(), second.expirePendings()]);
      expect(swept[0] + swept[1]).toBe(2);
      expect(await ledger.expirePendings()).toBe(0);
      expect(await ledger.createTransfers([post('h2', F.void_pending)])).toEqual([{ index: 0, result: 'pending_transfer_expired' }]);
      expect(await ledger.createTransfers([post('h3', F.post_pending, 4)])).toEqual([]);
      expect((await ledger.lookupAccounts([a(1)]))[0]).toMatchObject({ debits_pending: 0, debits_posted: 4, credits_posted: 100 });
      const voids = (await db().selectFrom('ledger_transfers').selectAll().where('pending_id', 'in', [`${p}h1`, `${p}h2`]).execute()) as Record<string, unknown>[];
      expect(voids.map((v) => [v.pending_id, Number(v.flags), Number(v.amount)]).sort()).toEqual([
        [`${p}h1`, F.void_pending | F.expired, 30],
        [`${p}h2`, F.void_pending | F.expired, 20],
      ]);
      const states = (await db().selectFrom('ledger_pending').select(['id', 'status']).where('id', 'in', [`${p}h1`, `${p}h2`, `${p}h3`]).orderBy('id').execute()) as { id: string; status: unknown }[];
      expect(states.map((s) => Number(s.status))).toEqual([PendingStatus.expired, PendingStatus.expired, PendingStatus.posted]);
      const report = await ledger.verify();
      expect(report, report.problem).toMatchObject({ ok: true });
    } finally {
      await second.drain();
    }
  });

  it('keeps balances right when two connections (as two processes) write the same accounts', async () => {
    const { p, model } = await openRun();
    const a = (i: number) => `${p}a${i}`;
    const otherDatabase = openDatabase({ url: tdb.url, poolSize: 4 });
    const other = createLedger(otherDatabase, options);
    try {
      // Alternating writers, one at a time: the model predicts every answer.
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 80 })), { minLength: 20, maxLength: 60 }), async (steps) => {
          for (const [k, [useOther, out, amount]] of steps.entries()) {
            const t: TransferInput = out
              ? { id: `${p}x${run}-${k}-${amount}`, debit_account_id: a(1), credit_account_id: a(2), amount, ledger: LEDGER_CNY, code: 1 }
              : { id: `${p}x${run}-${k}-${amount}`, debit_account_id: a(0), credit_account_id: a(1), amount, ledger: LEDGER_CNY, code: 1 };
            expect(await (useOther ? other : ledger).createTransfers([t])).toEqual(model.apply([t]));
          }
          run++;
        }),
        { numRuns: 5 },
      );
      await checkAgainstModel(p, model);
      // Both writers at once on the hot account, more than it holds.
      const [before] = await ledger.lookupAccounts([a(1)]);
      const outs = Array.from({ length: 60 }, (_, k): TransferInput => ({ id: `${p}hot-${k}`, debit_account_id: a(1), credit_account_id: a(2), amount: 7, ledger: LEDGER_CNY, code: 1 }));
      const results = await Promise.all(outs.map((t, k) => (k % 2 ? other : ledger).createTransfers([t])));
      const ok = results.filter((r) => r.length === 0).length;
      expect(results.flat().every((r) => r.result === 'exceeds_credits')).toBe(true);
      const [after] = await ledger.lookupAccounts([a(1)]);
      expect(after!.debits_posted - before!.debits_posted).toBe(ok * 7);
      expect(after!.debits_posted + after!.debits_pending).toBeLessThanOrEqual(after!.credits_posted);
      const report = await other.verify();
      expect(report, report.problem).toMatchObject({ ok: true });
    } finally {
      await other.drain();
      await otherDatabase.close();
    }
  });

  it('refuses the client-only-for-the-sweep `expired` flag from callers', async () => {
    const { p } = await openRun();
    const results = await ledger.createTransfers([{ id: `${p}e1`, debit_account_id: '', credit_account_id: '', amount: 0, pending_id: `${p}none`, ledger: 0, code: 0, flags: F.void_pending | F.expired }]);
    expect(results).toEqual([{ index: 0, result: 'flags_invalid' }]);
  });

  /**
   * Text and integer fields the schema does not bound for the database: whatever a caller puts
   * in one transfer, the result is a per-transfer code, the other callers of the same group
   * commit are not affected, and a retry of an accepted transfer is recognised as `exists`.
   */
  describe('fields the database cannot hold as given', () => {
    const cases: [string, (p: string) => Partial<TransferInput>][] = [
      ['a NUL byte in the reference', () => ({ reference: 'before\u0000after' })],
      ['a lone surrogate in the reference', () => ({ reference: 'half \ud800 pair' })],
      ['a code beyond 32 bits', () => ({ code: 2 ** 31 })],
      ['a ledger beyond 32 bits on the transfer', () => ({ ledger: 2 ** 32 + LEDGER_CNY })],
      ['a pending timeout beyond 32 bits', () => ({ flags: F.pending, timeout_s: 2 ** 31 })],
      ['a pending timeout that overflows the expiry timestamp', () => ({ flags: F.pending, timeout_s: 2 ** 52 })],
    ];
    it.each(cases)('%s', async (_name, odd) => {
      const { p } = await openRun();
      const a = (i: number) => `${p}a${i}`;
      const good: TransferInput = { id: `${p}good`, debit_account_id: a(0), credit_account_id: a(1), amount: 3, ledger: LEDGER_CNY, code: 1 };
      const bad: TransferInput = { id: `${p}odd`, debit_account_id: a(0), credit_account_id: a(2), amount: 4, ledger: LEDGER_CNY, code: 1, ...odd(p) };
      // Two callers whose batches share one group commit.
      const settled = await Promise.allSettled([ledger.createTransfers([good]), ledger.createTransfers([bad])]);
      expect(settled[0], 'the other caller of the group commit is not affected').toEqual({ status: 'fulfilled', value: [] });
      expect(settled[1].status, `createTransfers threw: ${settled[1].status === 'rejected' ? String(settled[1].reason) : ''}`).toBe('fulfilled');
      const results = (settled[1] as PromiseFulfilledResult<BatchResult<TransferResult>[]>).value;
      if (results.length === 0) {
        // Accepted: it must read back as sent, and a retry must be recognised.
        const stored = await ledger.lookupTransfer(bad.id);
        expect({ reference: stored?.reference ?? null, code: stored?.code, ledger: stored?.ledger, timeout_s: stored?.timeout_s ?? 0 }).toEqual({
          reference: bad.reference ?? null,
          code: bad.code,
          ledger: bad.ledger,
          timeout_s: bad.timeout_s ?? 0,
        });
        expect(await ledger.createTransfers([bad]), 'a retry of the accepted transfer').toEqual([{ index: 0, result: 'exists' }]);
        if (bad.flags === F.pending) {
          expect(await ledger.expirePendings()).toBe(0);
          const post: TransferInput = { id: `${p}odd-post`, debit_account_id: '', credit_account_id: '', amount: 0, pending_id: bad.id, ledger: 0, code: 0, flags: F.post_pending };
          await expect(ledger.createTransfers([post]), 'posting the accepted pending').resolves.toEqual([]);
        }
      } else {
        expect(results).toHaveLength(1);
        expect(TRANSFER_RESULTS).toContain(results[0]!.result);
      }
      const report = await ledger.verify();
      expect(report, report.problem).toMatchObject({ ok: true });
    });

    it('creates accounts with odd text or out-of-range integers per account, never failing the call', async () => {
      const p = `r${++run}.`;
      const batch: AccountInput[] = [
        { id: `${p}ok`, ledger: LEDGER_CNY, code: 1 },
        { id: `${p}nul`, ledger: LEDGER_CNY, code: 1, name: 'a\u0000b' },
        { id: `${p}big-code`, ledger: LEDGER_CNY, code: 2 ** 31 },
        { id: `${p}big-ledger`, ledger: 2 ** 32, code: 1 },
      ];
      let results;
      try {
        results = await ledger.createAccounts(batch);
      } catch (error) {
        expect.fail(`createAccounts threw: ${String(error)}`);
      }
      expect(results.find((r) => r.index === 0)).toBeUndefined();
      const [ok] = await ledger.lookupAccounts([`${p}ok`]);
      expect(ok).toBeDefined();
      for (const r of results) expect(r.index).toBeGreaterThan(0);
      for (const [i, a] of batch.entries()) {
        if (results.some((r) => r.index === i)) continue;
        const [stored] = await ledger.lookupAccounts([a.id]);
        expect({ name: stored?.name ?? null, code: stored?.code, ledger: stored?.ledger }).toEqual({ name: a.name ?? null, code: a.code, ledger: a.ledger });
      }
    });
  });
});
