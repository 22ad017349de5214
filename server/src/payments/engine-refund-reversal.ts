/**
 * Reversal (冲正) of a refund: the terminal got no answer to a refund (CUP POS terminals send a
 * 0400 of the 0220; the JSON API has the same semantics). Undoing it charges the customer the
 * refunded amount again: `pay` customer → receivable the refund's amount and `fee` receivable →
 * fee income the fee the refund gave back, linked, under the reversal's id. The claim moves only
 * the refund (approved → reversed) and takes a row lock on the sale (which must still be approved
 * or refunded); the sale's refunded total comes down in the finalising transaction, after the
 * ledger took the money — so in between the sale cannot be refunded past its amount, and a
 * reversal of the sale waits for it (engine.ts `reverseOf`). The card's daily usage is untouched
 * (a refund gave none back).
 *
 * When the ledger refuses (the customer spent the refund meanwhile, an account closed), the
 * reversal is still acknowledged ('00', amount 0: nothing undone, so the terminal stops sending
 * it), the refund stands, and the case is listed for staff as a reconciliation exception
 * `refund_reversal_unposted` — likewise when the sale was reversed since (nothing to charge
 * again). An off-us refund whose advice already left for the switch (or may have) cannot be taken
 * back: acknowledged likewise, exception `refund_reversal_offus`. One still waiting in the switch
 * link's queue is recalled in the claim (dropped once our ledger re-posted, queued again if it
 * refused), as for a void's reversal (engine-void-reversal.ts).
 */
import type { TransferInput } from '../ledger/index.js';
import type { PaymentsDeps } from './deps.js';
import { isOffUs } from './engine-offus.js';
import { IN_FLIGHT, type EngineDb, type TxnRow } from './engine-rows.js';
import { recordVoidException } from './engine-void-reversal.js';
import { saleTransfers, type PostingAccounts } from './postings.js';

/** Is `row` a reversal of a refund? */
export const isRefundReversal = (row: Pick<TxnRow, 'type'>, original: Pick<TxnRow, 'type'> | undefined): boolean =>
  row.type === 'reversal' && original?.type === 'refund';

/** The transfers of a refund's reversal (row.amount / row.fee are the refund's; 0 when nothing is undone). */
export function refundReversalTransfers(row: TxnRow, accounts: PostingAccounts): TransferInput[] {
  if (row.amount === 0) return [];
  return saleTransfers(row.id, accounts, row.amount, row.fee);
}

/**
 * Inside the claim: holds the refunded sale (a row lock on PostgreSQL; SQLite has one writer) and
 * checks it still stands. False when it was reversed or voided since.
 */
export async function holdRefundedSale(trx: EngineDb, saleId: string, now: number): Promise<boolean> {
  const done = await trx
    .updateTable('pay_transactions')
    .set({ updated_at: now })
    .where('id', '=', saleId)
    .where('status', 'in', ['approved', 'refunded'])
    .executeTakeFirst();
  return Number(done.numUpdatedRows) === 1;
}

/** Reversals of refunds of `saleId` still in flight (a reversal of the sale settles them first). */
export async function refundReversalsInFlight(db: EngineDb, saleId: string): Promise<TxnRow['id'][]> {
  const rows = await db
    .selectFrom('pay_transactions')
    .select('id')
    .where('type', '=', 'reversal')
    .where('reply', '=', IN_FLIGHT)
    .where('original_id', 'in', (eb) => eb.selectFrom('pay_transactions').select('id').where('original_id', '=', saleId).where('type', '=', 'refund'))
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Inside settle's finalising transaction of a refund's reversal: `ok` → the sale's refunded total
 * comes down by the refund (refunded → approved); refused → the refund stands (settle's
 * compensation put it back to approved) and staff get the exception. An off-us refund's recalled
 * advice is dropped (ok) or queued again (refused).
 */
export async function finishRefundReversal(deps: PaymentsDeps, trx: EngineDb, row: TxnRow, f: TxnRow, ok: boolean): Promise<void> {
  if (isOffUs(f) && deps.offUs && row.amount > 0) await deps.offUs.release(trx, f.id, !ok);
  if (!ok) {
    await recordVoidException(trx, 'refund_reversal_unposted', f, row.created_at);
    return;
  }
  if (row.amount === 0 || !f.original_id) return;
  await trx
    .updateTable('pay_transactions')
    .set((eb) => ({ refunded_amount: eb('refunded_amount', '-', f.amount), refunded_fee: eb('refunded_fee', '-', f.fee), status: 'approved', updated_at: row.updated_at }))
    .where('id', '=', f.original_id)
    .where('status', 'in', ['approved', 'refunded'])
    .execute();
}
