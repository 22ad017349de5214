/**
 * Transactions the risk rules held for review (status 'held', code '09', the funds reserved by a
 * pending transfer `<id>:hold`): terminal card sales, QR sales and customer transfers. A
 * reviewer's decision settles them: approve posts the hold as the payment (void the hold and post
 * sale + fee — or the transfer — in one linked chain), decline voids the hold (and reopens a
 * dynamic QR order the payment had claimed). Idempotent: deciding again answers the row as it
 * stands; the ledger tells which decision (or the hold's expiry) won if two reviewers raced.
 */
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { chain, completeHold, releaseHold } from './postings.js';
import { customerTransferOf, paymentAccounts } from './qr-commit.js';
import type { QrTables } from './qr-tables.js';
import type { TxnReply } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { batchNoOf, post } from './engine-ledger.js';
import { findById, newAuthCode, replyOf, type EngineDb, type TxnRow } from './engine-rows.js';

export interface ResolvedHeld {
  row: TxnRow;
  reply: TxnReply;
  /** false when the transaction was no longer held (decided before, or its hold expired). */
  changed: boolean;
}

/** The decline's transfer ids differ from the approval's, so neither can shadow the other's recorded outcome. */
const declineBase = (txnId: string): string => `${txnId}:decline`;

export async function resolveHeld(deps: PaymentsDeps, txnId: string, decision: 'approve' | 'decline', actorId: string): Promise<ResolvedHeld> {
  const db = deps.db as EngineDb;
  const row = await findById(db, txnId);
  if (!row) throw new XiaoweiError('payment_transaction_not_found');
  const batchNo = await batchNoOf(db, row.batch_id);
  const transfer = row.type === 'transfer';
  if (row.status !== 'held' || !row.pending_transfer_id || !row.account_id || (transfer ? !row.counter_account_id : !row.merchant_party_id)) {
    return { row, reply: replyOf(row, batchNo), changed: false };
  }
  const accounts = await paymentAccounts(deps, row);
  const approve = transfer ? chain([releaseHold(row.id, row.pending_transfer_id, accounts), customerTransferOf(row)]) : completeHold(row.id, row.pending_transfer_id, accounts, row.amount, row.fee);
  const outcome = await post(deps, decision === 'approve' ? approve : [releaseHold(declineBase(row.id), row.pending_transfer_id, accounts)]);

  // What the ledger says happened to the hold decides the row, whichever request got there first.
  let status: TxnRow['status'];
  if (outcome.ok) status = decision === 'approve' ? 'approved' : 'declined';
  else if (await deps.ledger.lookupTransfer(`${row.id}:${transfer ? 'xfer' : 'pay'}`)) status = 'approved';
  else if (await deps.ledger.lookupTransfer(`${declineBase(row.id)}:release`)) status = 'declined';
  else if (outcome.result === 'pending_transfer_expired' || outcome.result === 'pending_transfer_already_voided') status = 'expired';
  else throw new XiaoweiError('internal', `ledger refused the review decision: ${outcome.result}`);

  const now = deps.now();
  const next: TxnRow = {
    ...row,
    status,
    response_code: status === 'approved' ? '00' : status === 'declined' ? '59' : '09',
    auth_code: status === 'approved' ? newAuthCode() : null,
    updated_at: now,
  };
  const reply = replyOf(next, batchNo);
  next.reply = JSON.stringify(reply);
  // The first answer of a held request was '09, wait': a retry of it now gets the decision.
  const done = await db
    .updateTable('pay_transactions')
    .set({ status: next.status, response_code: next.response_code, auth_code: next.auth_code, reply: next.reply, updated_at: now, operator_id: row.operator_id })
    .where('id', '=', row.id)
    .where('status', '=', 'held')
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) !== 1) {
    const now2 = (await findById(db, row.id)) ?? next;
    return { row: now2, reply: replyOf(now2, batchNo), changed: false };
  }
  // A declined (or lapsed) QR payment gives back the dynamic order it claimed: the customer may pay it another way.
  if (status !== 'approved' && row.type === 'qr_sale') await reopenQrOrders(deps.db, [row.id], now);
  if (status === 'approved') {
    deps.risk.record({
      type: row.type,
      amount: row.amount,
      at: now,
      org_id: row.org_id,
      merchant_party_id: row.merchant_party_id,
      terminal_id: row.terminal_id,
      card_id: row.card_id,
      account_id: row.account_id,
    });
  }
  void actorId; // the risk part audits who decided (its review rows and the audit log)
  return { row: next, reply, changed: true };
}

/**
 * Gives back the dynamic QR orders that held QR payments had claimed, once those payments were
 * declined or their hold lapsed: the customer may pay the order another way. Idempotent.
 */
export async function reopenQrOrders(db: Kysely<unknown> | EngineDb, txnIds: readonly string[], now: number): Promise<void> {
  if (txnIds.length === 0) return;
  await (db as unknown as Kysely<QrTables>)
    .updateTable('pay_qr_orders')
    .set({ status: 'open', txn_id: null, updated_at: now })
    .where('txn_id', 'in', txnIds)
    .where('status', '=', 'paid')
    .execute();
}
