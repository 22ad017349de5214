/**
 * Reversal (冲正) of a void: a sale void, pre-auth void or completion void the terminal got no
 * answer to. Undoing the void makes the voided transaction stand again:
 *   void / completion void → the sale (completion) is charged again: `pay` customer → receivable
 *     and `fee` receivable → fee income, under the reversal's id; the sale goes back to approved;
 *   pre-auth void → a new hold `<reversal id>:hold` (pending, until the pre-auth's own expiry);
 *     the pre-auth goes back to approved with it as its pending transfer.
 * The card's daily usage the void gave back is taken again. The claim moves only the void
 * (approved → reversed); the voided transaction comes back in the finalising transaction, after
 * the ledger took the money — so in between nothing can refund or void it again.
 *
 * When the ledger refuses (the customer spent the money meanwhile, an account closed), the
 * reversal is still acknowledged ('00', amount 0: nothing undone, so the terminal stops sending
 * it), the void stands, and the case is listed for staff as a reconciliation exception
 * `void_reversal_unposted`. An off-us void whose reversal advice already left for the switch
 * (or may have: any attempt counts) cannot be taken back either: acknowledged likewise, exception
 * `void_reversal_offus`. One still waiting in the switch link's queue is recalled (held in the
 * claim; dropped once our ledger re-posted the sale, queued again if it refused).
 */
import type { Kysely } from 'kysely';
import type { TransferInput } from '../ledger/index.js';
import { newId } from '../platform/ids.js';
import type { PaymentsDeps } from './deps.js';
import { isOffUs } from './engine-offus.js';
import { findById, type EngineDb, type TxnRow } from './engine-rows.js';
import { holdTransfer, saleTransfers, type PostingAccounts } from './postings.js';
import type { ReconKind, SettlementTables } from './settlement-migration.js';

export const VOID_TYPES: readonly TxnRow['type'][] = ['void', 'preauth_void', 'completion_void'];

/** Is `row` a reversal of a void (its original is a void, pre-auth void or completion void)? */
export const isVoidReversal = (row: Pick<TxnRow, 'type'>, original: Pick<TxnRow, 'type'> | undefined): boolean =>
  row.type === 'reversal' && original !== undefined && VOID_TYPES.includes(original.type);

/** Is the void of an off-us sale (its reversal advice went to the switch link's queue)? */
export const isOffUsVoid = (v: TxnRow): boolean => v.type === 'void' && isOffUs(v);

/** Seconds a restored pre-auth hold lasts: until the pre-auth's own expiry, from the reversal's claim (stored: the same on every retry). */
export const restoredHoldSeconds = (row: Pick<TxnRow, 'created_at' | 'hold_expires_at'>): number =>
  Math.max(1, Math.ceil(((row.hold_expires_at ?? row.created_at) - row.created_at) / 1_000_000));

/** The transfers of a void's reversal (row.amount / row.fee are the voided transaction's). */
export function voidReversalTransfers(row: TxnRow, v: TxnRow, accounts: PostingAccounts): TransferInput[] {
  if (row.amount === 0) return [];
  if (v.type === 'preauth_void') return [holdTransfer(row.id, accounts, row.amount, restoredHoldSeconds(row))];
  return saleTransfers(row.id, accounts, row.amount, row.fee);
}

async function takeUsage(trx: EngineDb, o: TxnRow | undefined): Promise<void> {
  if (!o?.card_id) return;
  await trx
    .updateTable('pay_card_usage')
    .set((eb) => ({ amount: eb('amount', '+', o.amount), count: eb('count', '+', 1) }))
    .where('card_id', '=', o.card_id)
    .where('business_date', '=', o.business_date)
    .execute();
}

/**
 * Inside settle's finalising transaction of a void's reversal: `ok` → the voided transaction
 * stands again (and takes the card's daily usage again); refused → the void stands (settle's
 * compensation put it back to approved) and staff get the exception. An off-us void's recalled
 * advice is dropped (ok) or queued again (refused).
 */
export async function finishVoidReversal(deps: PaymentsDeps, trx: EngineDb, row: TxnRow, v: TxnRow, ok: boolean): Promise<void> {
  if (isOffUsVoid(v) && deps.offUs && row.amount > 0) await deps.offUs.release(trx, v.id, !ok);
  if (!ok) {
    await recordVoidException(trx, 'void_reversal_unposted', v, row.created_at);
    return;
  }
  if (row.amount === 0 || !v.original_id) return;
  const o = await findById(trx, v.original_id);
  if (!o) return;
  const now = row.updated_at;
  if (v.type === 'preauth_void') {
    await trx
      .updateTable('pay_transactions')
      .set({ status: 'approved', pending_transfer_id: `${row.id}:hold`, updated_at: now })
      .where('id', '=', o.id)
      .where('status', '=', 'voided')
      .execute();
    await takeUsage(trx, o);
    return;
  }
  await trx
    .updateTable('pay_transactions')
    .set({ status: 'approved', updated_at: now })
    .where('id', '=', o.id)
    .where('status', '=', 'voided')
    .execute();
  // A sale made with a card reserved usage; a completion's pre-auth did (its void gave it back).
  if (v.type === 'void') await takeUsage(trx, o.type === 'sale' ? o : undefined);
  else await takeUsage(trx, o.original_id ? await findById(trx, o.original_id) : undefined);
}

type ReconDb = Kysely<SettlementTables & { pay_batches: { id: string; batch_no: number } }>;

/**
 * Lists a void (or refund, engine-refund-reversal.ts) whose reversal could not be carried out for
 * staff (reconciliation exceptions, unique per void and kind: recording it again adds nothing).
 */
export async function recordVoidException(
  trx: EngineDb | Kysely<unknown>,
  kind: Extract<ReconKind, 'void_reversal_unposted' | 'void_reversal_offus' | 'refund_reversal_unposted' | 'refund_reversal_offus'>,
  v: TxnRow,
  now: number,
): Promise<void> {
  if (!v.batch_id || !v.terminal_id) return;
  const db = trx as unknown as ReconDb;
  const batch = await db.selectFrom('pay_batches').select('batch_no').where('id', '=', v.batch_id).executeTakeFirst();
  await db
    .insertInto('pay_recon_exceptions')
    .values({
      id: newId(),
      batch_id: v.batch_id,
      terminal_id: v.terminal_id,
      merchant_party_id: v.merchant_party_id,
      org_id: v.org_id,
      batch_no: batch ? Number(batch.batch_no) : 0,
      kind,
      client_id: v.client_id,
      host_txn_id: v.id,
      terminal_type: 'reversal',
      terminal_amount: v.amount,
      host_type: v.type,
      host_amount: v.amount,
      host_status: 'approved',
      status: 'open',
      resolution: null,
      note: null,
      resolved_by: null,
      resolved_at: null,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['batch_id', 'client_id', 'kind']).doNothing())
    .execute();
}
