/**
 * `LedgerCore`: the built-in ledger as the core-banking system. An account is a ledger account id
 * (any CNY account: which ones a caller may move money on is the caller's business). Each request
 * is ONE ledger transfer whose id is derived from the request id, so the ledger's own exactly-once
 * rules make the adapter idempotent: a repeat answers `exists` (posted) or its first rejection,
 * other fields answer `exists_with_different_fields` ('94').
 *
 *   debit   account → bank:core-clearing, code 14, id `core:<request id>`, reference = narrative
 *   credit  bank:core-clearing → account, same id scheme (so a credit under a debit's id is '94')
 *   reverse the opposite of the posted transfer, id `core-rev:<original id>`; an original not in
 *           the ledger has its id spent (see `spend`), as the ISO host does, so it cannot post later
 *
 * A reversal must be able to post later even if an attempt was once rejected (insufficient
 * funds, a closed account): the ledger answers a rejected id with that rejection forever. So
 * attempt n ≥ 2 uses `core-rev:<original id>:<n>`, and attempt n is made only when every earlier
 * one is known rejected (gw_core_rejections, written only after the ledger rejected it). An id the
 * ledger rejected can never post, so at most one attempt ever posts: the reversal happens once.
 * Before an attempt the accounts are checked, so an attempt is rarely burnt at all.
 *
 * The ledger has no "frozen" state: accounts are 'active' or (flag `closed`) 'closed'.
 */
import type { Kysely } from 'kysely';
import {
  AccountFlags,
  displayBalance,
  accountType,
  LEDGER_CNY,
  type Account,
  type Ledger,
  type Transfer,
  type TransferInput,
  type TransferResult,
} from '../../ledger/index.js';
import { XiaoweiError } from '../../platform/errors.js';
import { BANK_ACCOUNTS } from '../../seed/bootstrap.js';
import {
  amountProblem,
  checkId,
  checkMove,
  CORE_ACCOUNT,
  posted,
  rejected,
  UNKNOWN,
  type CoreAdapter,
  type CoreInquiry,
  type CoreMoveRequest,
  type CoreRejectCode,
  type CoreRequestStatus,
  type CoreResult,
  type CoreReverseRequest,
} from './contracts.js';
import type { CoreTables } from './migration.js';

/** Transfer code 14 (core_transfer) in the chart. */
const CORE_TRANSFER = 14;
/** Reversal attempts per original; each further one needs the earlier ones rejected. */
export const MAX_REVERSAL_ATTEMPTS = 10;

/** Never created: the debit side of the transfer that spends a request id (see `spend`). */
const NO_ACCOUNT = 'gw-core:no-such-account';

const moveId = (requestId: string): string => `core:${requestId}`;
const reversalId = (originalId: string, attempt: number): string =>
  attempt === 1 ? `core-rev:${originalId}` : `core-rev:${originalId}:${attempt}`;

/** Ledger results that mean "the request was not taken in" (nothing queued), not an outcome. */
const NOT_QUEUED = new Set(['overloaded', 'shutting_down', 'batch_too_large']);

function rejectCode(result: TransferResult): CoreRejectCode | null {
  switch (result) {
    case 'exists_with_different_fields':
      return '94';
    case 'exceeds_credits':
    case 'exceeds_debits':
      return '51';
    case 'debit_account_closed':
    case 'credit_account_closed':
      return '62';
    case 'debit_account_not_found':
    case 'credit_account_not_found':
    case 'accounts_must_be_different':
    case 'accounts_must_have_the_same_ledger':
    case 'transfer_must_have_the_same_ledger_as_accounts':
      return '14';
    case 'amount_invalid':
    case 'amount_must_be_positive':
    case 'overflows_debits':
    case 'overflows_credits':
      return '13';
    default:
      return null;
  }
}

/** What the account can give (as the debit side) or take (as the credit side) within its flags. */
function headroom(a: Account, side: 'debit' | 'credit'): number {
  if (side === 'debit' && a.flags & AccountFlags.debits_must_not_exceed_credits)
    return a.credits_posted - a.debits_posted - a.debits_pending;
  if (side === 'credit' && a.flags & AccountFlags.credits_must_not_exceed_debits)
    return a.debits_posted - a.credits_posted - a.credits_pending;
  return Number.MAX_SAFE_INTEGER;
}

export interface LedgerCoreDeps {
  ledger: Ledger;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  /** µs since the epoch. */
  now: () => number;
}

export class LedgerCore implements CoreAdapter {
  private readonly db: Kysely<CoreTables>;

  constructor(private readonly deps: LedgerCoreDeps) {
    this.db = deps.db as Kysely<CoreTables>;
  }

  async inquiry(account: string): Promise<CoreInquiry> {
    if (typeof account !== 'string' || !CORE_ACCOUNT.test(account)) return { found: false };
    let a: Account | undefined;
    try {
      [a] = await this.deps.ledger.lookupAccounts([account]);
    } catch {
      throw new XiaoweiError('core_unavailable');
    }
    if (!a || a.ledger !== LEDGER_CNY) return { found: false };
    const balance = displayBalance(a.code, a.debits_posted, a.credits_posted);
    const held = accountType(a.code)?.normal === 'debit' ? a.credits_pending : a.debits_pending;
    return { found: true, status: a.flags & AccountFlags.closed ? 'closed' : 'active', available: balance - held, currency: 'CNY' };
  }

  debit(request: CoreMoveRequest): Promise<CoreResult> {
    return this.move('debit', request);
  }

  credit(request: CoreMoveRequest): Promise<CoreResult> {
    return this.move('credit', request);
  }

  async reverse(request: CoreReverseRequest): Promise<CoreResult> {
    checkId(request.id, 'id');
    checkId(request.originalId, 'originalId');
    try {
      return await this.reverseOnce(request.originalId);
    } catch {
      // A lookup failed (the database): this call moved nothing, but an earlier one may have.
      return UNKNOWN;
    }
  }

  private async reverseOnce(originalId: string): Promise<CoreResult> {
    const original = (await this.deps.ledger.lookupTransfer(moveId(originalId))) ?? (await this.spend(originalId));
    if (original === 'not_posted') return posted();
    if (original === 'unavailable') return rejected('91');
    if (original === 'unknown') return UNKNOWN;
    const transfer = (attempt: number): TransferInput => ({
      id: reversalId(originalId, attempt),
      debit_account_id: original.credit_account_id,
      credit_account_id: original.debit_account_id,
      amount: original.amount,
      ledger: original.ledger,
      code: CORE_TRANSFER,
      reference: `冲正 reversal of core request ${originalId}`,
    });
    for (let attempt = 1; attempt <= MAX_REVERSAL_ATTEMPTS; attempt++) {
      const t = transfer(attempt);
      if (await this.deps.ledger.lookupTransfer(t.id)) return posted();
      if (await this.burnt(t.id)) continue;
      const problem = await this.precheck(t);
      // A concurrent call may have posted this very attempt between the lookup and the check.
      if (problem) return (await this.deps.ledger.lookupTransfer(t.id)) ? posted() : rejected(problem);
      const result = await this.submit(t);
      if (result.outcome === 'rejected' && result.code !== '91') await this.remember(t.id, originalId, 'reversal', result.code);
      return result;
    }
    // Every attempt was burnt by a race: an operator must look (the money stays as it is).
    return rejected('05');
  }

  async status(id: string): Promise<CoreRequestStatus> {
    checkId(id, 'id');
    try {
      if (await this.deps.ledger.lookupTransfer(moveId(id))) {
        for (let attempt = 1; attempt <= MAX_REVERSAL_ATTEMPTS; attempt++) {
          const rid = reversalId(id, attempt);
          if (await this.deps.ledger.lookupTransfer(rid)) return 'reversed';
          if (!(await this.burnt(rid))) break;
        }
        return 'posted';
      }
      const memo = await this.memo(moveId(id));
      return memo === undefined ? 'not_found' : memo === 'void' ? 'reversed' : 'rejected';
    } catch {
      return 'unknown';
    }
  }

  private async move(kind: 'debit' | 'credit', request: CoreMoveRequest): Promise<CoreResult> {
    checkMove(request);
    const bad = amountProblem(request.amount);
    if (bad) return bad;
    const clearing = BANK_ACCOUNTS.core_clearing;
    const t: TransferInput = {
      id: moveId(request.id),
      debit_account_id: kind === 'debit' ? request.account : clearing,
      credit_account_id: kind === 'debit' ? clearing : request.account,
      amount: request.amount,
      ledger: LEDGER_CNY,
      code: CORE_TRANSFER,
      reference: request.narrative ?? null,
    };
    const result = await this.submit(t);
    // '94' is this request's answer, not the id's: the id keeps its first outcome.
    if (result.outcome === 'rejected' && result.code !== '94' && result.code !== '91')
      await this.remember(t.id, request.id, kind, result.code);
    return result;
  }

  /** One transfer through the ledger, its result as the core's. */
  private async submit(t: TransferInput): Promise<CoreResult> {
    let failure;
    try {
      [failure] = await this.deps.ledger.createTransfers([t]);
    } catch (error) {
      if (error instanceof XiaoweiError && NOT_QUEUED.has(error.code)) return rejected('91');
      // The commit failed as a whole (database error): it did not happen, unless the lookup says so.
      try {
        return (await this.deps.ledger.lookupTransfer(t.id)) ? posted() : UNKNOWN;
      } catch {
        return UNKNOWN;
      }
    }
    if (!failure || failure.result === 'exists') return posted();
    const code = rejectCode(failure.result);
    if (code === null) throw new XiaoweiError('core_request_invalid', failure.result);
    return rejected(code);
  }

  /** A reason to reject a reversal attempt without spending its id, or null. */
  private async precheck(t: TransferInput): Promise<CoreRejectCode | null> {
    const accounts = await this.deps.ledger.lookupAccounts([t.debit_account_id, t.credit_account_id]);
    const dr = accounts.find((a) => a.id === t.debit_account_id);
    const cr = accounts.find((a) => a.id === t.credit_account_id);
    if (!dr || !cr) return '14';
    if ((dr.flags | cr.flags) & AccountFlags.closed) return '62';
    if (headroom(dr, 'debit') < t.amount || headroom(cr, 'credit') < t.amount) return '51';
    return null;
  }

  /**
   * A reversal whose original is not in the ledger: spends the original's id, so that a debit
   * or credit arriving after its own reversal answers '94' instead of posting. The id is spent
   * by a transfer the ledger must reject (from an account that never exists): the ledger then
   * answers every other transfer under that id `exists_with_different_fields`. Returns the
   * original if it committed meanwhile; 'not_posted' when there is nothing to undo.
   */
  private async spend(originalId: string): Promise<Transfer | 'not_posted' | 'unavailable' | 'unknown'> {
    const id = moveId(originalId);
    let failure;
    try {
      [failure] = await this.deps.ledger.createTransfers([
        {
          id,
          debit_account_id: NO_ACCOUNT,
          credit_account_id: BANK_ACCOUNTS.core_clearing,
          amount: 1,
          ledger: LEDGER_CNY,
          code: CORE_TRANSFER,
          reference: 'reversed before it arrived',
        },
      ]);
    } catch (error) {
      return error instanceof XiaoweiError && NOT_QUEUED.has(error.code) ? 'unavailable' : 'unknown';
    }
    if (failure?.result === 'debit_account_not_found') {
      await this.remember(id, originalId, 'void', '00');
      return 'not_posted';
    }
    // The id was taken first by the request itself: posted (undo it) or rejected (nothing to undo).
    return (await this.deps.ledger.lookupTransfer(id)) ?? 'not_posted';
  }

  private async burnt(transferId: string): Promise<boolean> {
    return (await this.memo(transferId)) !== undefined;
  }

  private async memo(transferId: string): Promise<CoreTables['gw_core_rejections']['kind'] | undefined> {
    const row = await this.db.selectFrom('gw_core_rejections').select('kind').where('transfer_id', '=', transferId).executeTakeFirst();
    return row?.kind;
  }

  private async remember(
    transferId: string,
    requestId: string,
    kind: CoreTables['gw_core_rejections']['kind'],
    code: string,
  ): Promise<void> {
    try {
      await this.db
        .insertInto('gw_core_rejections')
        .values({ transfer_id: transferId, request_id: requestId, kind, code, created_at: this.deps.now() })
        .onConflict((oc) => oc.column('transfer_id').doNothing())
        .execute();
    } catch {
      // A cache of the ledger's answer: the rejection stands without it, and the next retry of
      // the same id (answered the same rejection by the ledger) writes it.
    }
  }
}
