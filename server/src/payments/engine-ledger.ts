/**
 * How each engine transaction maps to ledger transfers, and how a claimed (in-flight) row is
 * settled: its transfers go to the ledger in one call, then the row is finalised — approved, or
 * declined with its claim's side effects undone. Everything here is computed from the stored rows
 * alone, so any process may settle any in-flight row again (the transfer ids derive from the
 * transaction id: a second settlement finds `exists`, or the same recorded rejection).
 */
import type { Kysely } from 'kysely';
import { prepared } from '../platform/db/prepared.js';
import { XiaoweiError } from '../platform/errors.js';
import type { TransferInput, TransferResult } from '../ledger/index.js';
import { PAY_CODES, completeHold, holdTransfer, releaseHold, returnTransfers, saleTransfers, type PostingAccounts } from './postings.js';
import { PREAUTH_HOLD_DAYS, type OffUsAnswer, type ResponseCode, type TxnStatus } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { IN_FLIGHT, findById, newAuthCode, replyOf, toTxnRow, type EngineDb, type TxnRow } from './engine-rows.js';
import { loadMerchant, type LoadedMerchant } from './merchants.js';
import { adviceOf, isOffUs } from './engine-offus.js';
import { write } from './engine-writer.js';
import { finishVoidReversal, isVoidReversal, voidReversalTransfers } from './engine-void-reversal.js';
import { finishRefundReversal, isRefundReversal, refundReversalTransfers } from './engine-refund-reversal.js';

export const HOLD_SECONDS = PREAUTH_HOLD_DAYS * 86_400;

export type LedgerOutcome = { ok: true } | { ok: false; result: TransferResult };

/** One ledger call; `exists` (a retry) counts as success; the failure reported is the chain's own. */
export async function post(deps: Pick<PaymentsDeps, 'ledger'>, transfers: readonly TransferInput[]): Promise<LedgerOutcome> {
  if (transfers.length === 0) return { ok: true };
  const results = await deps.ledger.createTransfers(transfers);
  const failures = results.filter((r) => r.result !== 'exists');
  if (failures.length === 0) return { ok: true };
  const own = failures.find((r) => r.result !== 'linked_event_failed') ?? failures[0]!;
  return { ok: false, result: own.result };
}

/** The response code a ledger refusal means to a cardholder or cashier. */
export function codeForLedger(result: TransferResult): ResponseCode {
  switch (result) {
    case 'exceeds_credits':
      return '51';
    case 'debit_account_closed':
    case 'credit_account_closed':
      return '05';
    case 'pending_transfer_expired':
    case 'pending_transfer_already_posted':
    case 'pending_transfer_already_voided':
    case 'pending_transfer_not_found':
      return '22';
    default:
      return '96';
  }
}

/** The transfers of a row (its original for void, refund, completion, their voids and reversal). */
export function transfersOf(row: TxnRow, original: TxnRow | undefined, accounts: PostingAccounts): TransferInput[] {
  switch (row.type) {
    case 'sale':
    case 'qr_sale':
      // A held sale reserves the funds until a reviewer decides (engine-held.ts).
      return row.pending_transfer_id ? [holdTransfer(row.id, accounts, row.amount, HOLD_SECONDS)] : saleTransfers(row.id, accounts, row.amount, row.fee);
    case 'preauth':
      return [holdTransfer(row.id, accounts, row.amount, HOLD_SECONDS)];
    case 'completion':
      return completeHold(row.id, need(original).pending_transfer_id!, accounts, row.amount, row.fee);
    case 'preauth_void':
      return [releaseHold(row.id, need(original).pending_transfer_id!, accounts)];
    case 'void':
    case 'completion_void':
      return returnTransfers(row.id, accounts, row.amount, row.fee, PAY_CODES.reversal);
    case 'refund':
      return returnTransfers(row.id, accounts, row.amount, row.fee, PAY_CODES.refund);
    case 'reversal': {
      const o = need(original);
      if (isVoidReversal(row, o)) return voidReversalTransfers(row, o, accounts);
      if (isRefundReversal(row, o)) return refundReversalTransfers(row, accounts);
      if (o.type === 'preauth' || (o.pending_transfer_id && o.auth_code === null)) return [releaseHold(row.id, o.pending_transfer_id!, accounts)];
      if (row.amount === 0) return [];
      return returnTransfers(row.id, accounts, row.amount, row.fee, PAY_CODES.reversal);
    }
    default:
      return [];
  }
}

function need(original: TxnRow | undefined): TxnRow {
  if (!original) throw new Error('the original transaction is missing');
  return original;
}

/** The status an original goes back to when the transaction that changed it fails. */
function restoredStatus(original: TxnRow, failure: TransferResult): TxnStatus {
  if (failure === 'pending_transfer_expired') return 'expired';
  if (original.type === 'sale' && original.pending_transfer_id && original.auth_code === null) return 'held';
  return original.refunded_amount > 0 && original.refunded_amount >= original.amount ? 'refunded' : 'approved';
}

/**
 * Undoes what a claim did besides inserting its row, inside the finalising transaction: the
 * card's daily usage, the original's status, a refund's count on its original.
 */
async function compensate(trx: EngineDb, row: TxnRow, original: TxnRow | undefined, failure: TransferResult): Promise<void> {
  if ((row.type === 'sale' || row.type === 'preauth') && row.card_id) {
    await trx
      .updateTable('pay_card_usage')
      .set((eb) => ({ amount: eb('amount', '-', row.amount), count: eb('count', '-', 1) }))
      .where('card_id', '=', row.card_id)
      .where('business_date', '=', row.business_date)
      .execute();
  }
  if (!original) return;
  // A completion void's claim gave back the usage of the completion's pre-auth; the undoing failed.
  if (row.type === 'completion_void' && original.original_id) {
    const preauth = await findById(trx, original.original_id);
    if (preauth?.card_id) {
      await trx
        .updateTable('pay_card_usage')
        .set((eb) => ({ amount: eb('amount', '+', preauth.amount), count: eb('count', '+', 1) }))
        .where('card_id', '=', preauth.card_id)
        .where('business_date', '=', preauth.business_date)
        .execute();
    }
  }
  // The claim of a void or reversal gave the original's daily usage back; the undoing failed.
  if ((row.type === 'void' || row.type === 'preauth_void' || row.type === 'reversal') && (original.type === 'sale' || original.type === 'preauth') && original.card_id) {
    await trx
      .updateTable('pay_card_usage')
      .set((eb) => ({ amount: eb('amount', '+', original.amount), count: eb('count', '+', 1) }))
      .where('card_id', '=', original.card_id)
      .where('business_date', '=', original.business_date)
      .execute();
  }
  if (row.type === 'refund') {
    await trx
      .updateTable('pay_transactions')
      .set((eb) => ({ refunded_amount: eb('refunded_amount', '-', row.amount), refunded_fee: eb('refunded_fee', '-', row.fee), status: 'approved', updated_at: row.updated_at }))
      .where('id', '=', original.id)
      .execute();
    return;
  }
  const changed: Partial<Record<TxnRow['type'], TxnStatus>> = { void: 'voided', completion_void: 'voided', preauth_void: 'voided', completion: 'completed', reversal: 'reversed' };
  const to = changed[row.type];
  if (to) {
    await trx
      .updateTable('pay_transactions')
      .set({ status: restoredStatus(original, failure), updated_at: row.updated_at })
      .where('id', '=', original.id)
      .where('status', '=', to)
      .execute();
  }
}

/** The finalising update of a settled row, built once (platform/db/prepared.ts); `unposted` also zeroes the amounts. */
type FinishValues = {
  id: string;
  status: TxnStatus;
  responseCode: string;
  authCode: string | null;
  pendingTransferId: string | null;
  holdExpiresAt: number | null;
  reply: string;
  now: number;
};
const finishQuery = (unposted: boolean) =>
  prepared<FinishValues, never>((db, p) =>
    (db as EngineDb)
      .updateTable('pay_transactions')
      .set({
        status: p.status,
        response_code: p.responseCode,
        auth_code: p.authCode,
        pending_transfer_id: p.pendingTransferId,
        hold_expires_at: p.holdExpiresAt,
        reply: p.reply,
        updated_at: p.now,
        ...(unposted ? { amount: 0, fee: 0 } : {}),
      })
      .where('id', '=', p.id)
      .where('reply', '=', IN_FLIGHT),
  );
const finishRow = finishQuery(false);
const finishUnposted = finishQuery(true);

export interface SettleOptions {
  batchNo: number | null;
  /** The row's merchant when the caller has it already (saves a read). */
  merchant?: LoadedMerchant | undefined;
  /** Called with the row once approved (risk counters). */
  onApproved?: (row: TxnRow) => void;
  /** The issuer's authorisation code (an off-us sale the switch approved); ours otherwise. */
  authCode?: string | null | undefined;
}

/**
 * Settles an in-flight row: one ledger call, then the row's final state and reply. Safe to call
 * from several requests (or processes) at once: the ledger answers the same outcome to each, and
 * only one finalising update matches `reply = ''`; the others read the winner's row.
 */
export async function settle(deps: PaymentsDeps, row: TxnRow, options: SettleOptions): Promise<TxnRow> {
  const db = deps.db as EngineDb;
  const original = row.original_id ? await findById(db, row.original_id) : undefined;
  const merchant = options.merchant ?? (row.merchant_party_id ? await loadMerchant(db as Kysely<unknown>, row.merchant_party_id) : undefined);
  if (!merchant || !row.account_id) throw new XiaoweiError('internal', `transaction ${row.id} has no merchant or account`);
  const accounts: PostingAccounts = { customer: row.account_id, receivable: merchant.receivable_account_id };
  const outcome = await post(deps, transfersOf(row, original, accounts));
  const now = deps.now();
  const held = (row.type === 'sale' || row.type === 'qr_sale') && row.pending_transfer_id !== null;
  // A void's or refund's reversal the ledger refused is still acknowledged (nothing undone, amount 0): the void/refund stands, staff get the case.
  const unposted = !outcome.ok && (isVoidReversal(row, original) || isRefundReversal(row, original));
  const final: TxnRow = outcome.ok
    ? {
        ...row,
        status: held ? 'held' : 'approved',
        response_code: held ? '09' : '00',
        auth_code: held ? null : (options.authCode ?? newAuthCode()),
        updated_at: now,
      }
    : unposted
      ? { ...row, status: 'approved', response_code: '00', amount: 0, fee: 0, auth_code: newAuthCode(), pending_transfer_id: null, hold_expires_at: null, updated_at: now }
      : { ...row, status: 'declined', response_code: codeForLedger(outcome.result), pending_transfer_id: null, hold_expires_at: null, updated_at: now };
  final.reply = JSON.stringify(replyOf(final, options.batchNo));
  const won = await write(deps, async (trx) => {
    const done = await (unposted ? finishUnposted : finishRow).affected(trx, {
      id: row.id,
      status: final.status,
      responseCode: final.response_code,
      authCode: final.auth_code,
      pendingTransferId: final.pending_transfer_id,
      holdExpiresAt: final.hold_expires_at,
      reply: final.reply,
      now,
    });
    if (done !== 1) return false;
    if (!outcome.ok) await compensate(trx, final, original, outcome.result);
    if (original && isVoidReversal(row, original)) await finishVoidReversal(deps, trx, { ...row, updated_at: now }, original, outcome.ok);
    if (original && isRefundReversal(row, original)) await finishRefundReversal(deps, trx, { ...row, updated_at: now }, original, outcome.ok);
    // The switch hears of a void/reversal/refund of an off-us sale only if our ledger took it.
    const advice = adviceOf(row, original);
    if (advice && deps.offUs) await deps.offUs.release(trx, advice.txnId, outcome.ok);
    // The switch approved an off-us sale our ledger then refused: the switch must undo it too.
    if (!outcome.ok && row.type === 'sale' && isOffUs(row) && deps.offUs) {
      const undo = { txnId: `${row.id}:ledger`, kind: 'reversal' as const, originalTxnId: row.id, amount: row.amount };
      await deps.offUs.queue(trx, undo);
      await deps.offUs.release(trx, undo.txnId, true);
    }
    return true;
  });
  if (!won) {
    const winner = await findById(db, row.id);
    return winner ?? final;
  }
  if (outcome.ok && !held) options.onApproved?.(final);
  return final;
}

/** The batch number of a batch id (for replies of rows settled outside their request). */
export async function batchNoOf(db: EngineDb, batchId: string | null): Promise<number | null> {
  if (!batchId) return null;
  const b = await db.selectFrom('pay_batches').select('batch_no').where('id', '=', batchId).executeTakeFirst();
  return b ? Number(b.batch_no) : null;
}

/** Settles a row found in flight (a retry, a reversal or a status query met it), then re-reads it. */
/** Finishes every claim of a batch whose ledger outcome is not recorded yet (batch close). */
export async function settleBatchInFlight(deps: PaymentsDeps, batchId: string): Promise<void> {
  const rows = await (deps.db as EngineDb).selectFrom('pay_transactions').selectAll().where('batch_id', '=', batchId).where('reply', '=', IN_FLIGHT).execute();
  for (const r of rows) await settleInFlight(deps, toTxnRow(r));
}

export async function settleInFlight(deps: PaymentsDeps, row: TxnRow): Promise<TxnRow> {
  if (row.reply !== IN_FLIGHT) return row;
  const db = deps.db as EngineDb;
  const batchNo = await batchNoOf(db, row.batch_id);
  if (row.type === 'sale' && isOffUs(row)) {
    // Never sent again: the switch link tells what became of the first call (waiting while it is open).
    const answer: OffUsAnswer = deps.offUs ? await deps.offUs.recover(row.id, row.created_at) : { outcome: 'unavailable' };
    return toTxnRow(await settleOffUs(deps, row, answer, { batchNo }));
  }
  const settled = await settle(deps, row, { batchNo });
  return toTxnRow(settled);
}

/** The response code of a switch answer that did not approve. */
export function offUsDeclineCode(answer: OffUsAnswer): ResponseCode {
  if (answer.outcome === 'answered') return answer.code === '00' ? '96' : answer.code;
  return answer.outcome === 'unknown' ? '98' : '91';
}

/**
 * Finishes a claimed off-us sale with the switch's answer: approved → the ledger leg (clearing →
 * receivable, fee) with the issuer's auth code; anything else → declined, nothing posted (after
 * `unknown` the link has already queued the reversal).
 */
export async function settleOffUs(deps: PaymentsDeps, row: TxnRow, answer: OffUsAnswer, options: SettleOptions): Promise<TxnRow> {
  if (answer.outcome === 'answered' && answer.code === '00') return settle(deps, row, { ...options, authCode: answer.authCode });
  return finishDeclined(deps, row, offUsDeclineCode(answer), options.batchNo);
}

/** Declines an in-flight row that moved nothing (no ledger call was made for it). */
async function finishDeclined(deps: PaymentsDeps, row: TxnRow, code: ResponseCode, batchNo: number | null): Promise<TxnRow> {
  const now = deps.now();
  const final: TxnRow = { ...row, status: 'declined', response_code: code, auth_code: null, pending_transfer_id: null, hold_expires_at: null, updated_at: now };
  final.reply = JSON.stringify(replyOf(final, batchNo));
  const won = await write(deps, async (trx) => {
    const done = await trx
      .updateTable('pay_transactions')
      .set({ status: 'declined', response_code: code, auth_code: null, reply: final.reply, updated_at: now })
      .where('id', '=', row.id)
      .where('reply', '=', IN_FLIGHT)
      .executeTakeFirst();
    return Number(done.numUpdatedRows) === 1;
  });
  if (won) return final;
  return (await findById(deps.db as EngineDb, row.id)) ?? final;
}
