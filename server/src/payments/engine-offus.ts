/**
 * Other banks' cards (off-us) in the engine. The switch, not us, authorises them; the ledger leg
 * is the bank's clearing account with the switch (`bank:switch-clearing`, what the switch owes)
 * → the merchant's receivable. A row is off-us when it, or the sale it undoes, names that account
 * and no card of ours.
 *
 * What the switch must hear after its answer — a void, a terminal or staff reversal, a refund —
 * is an advice queued through the switch link's store and forward IN the claim transaction
 * ('held'), and released in the finalising one: sent when the ledger took the undoing, dropped
 * when it refused. So the switch and our ledger never disagree about a step either of them took.
 */
import { BANK_ACCOUNTS } from '../seed/bootstrap.js';
import type { OffUsAdvice, ResponseCode } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import type { EngineDb, TxnRow } from './engine-rows.js';

export const SWITCH_CLEARING = BANK_ACCOUNTS.switch_clearing;

export const isOffUs = (row: Pick<TxnRow, 'account_id' | 'card_id'>): boolean => row.account_id === SWITCH_CLEARING && row.card_id === null;

/** The advice a row owes the switch about its off-us original, or null. */
export function adviceOf(row: Pick<TxnRow, 'id' | 'type' | 'amount'>, original: TxnRow | undefined): OffUsAdvice | null {
  // Only a sale was authorised at the switch (a void's reversal recalls the void's own advice instead).
  if (!original || original.type !== 'sale' || !isOffUs(original)) return null;
  if (row.type === 'void' || row.type === 'reversal') return { txnId: row.id, kind: 'reversal', originalTxnId: original.id, amount: original.amount };
  if (row.type === 'refund') return { txnId: row.id, kind: 'refund', originalTxnId: original.id, amount: row.amount };
  return null;
}

type ClaimEffect = (trx: EngineDb, row: TxnRow) => Promise<ResponseCode | 'retry' | null>;

/**
 * Wraps a claim effect on an off-us original: after it, queues the advice the switch must get
 * ('91' when no switch is configured any more: we cannot tell it, so we do not do it).
 */
export function withAdvice(deps: PaymentsDeps, original: TxnRow, move: ClaimEffect): ClaimEffect {
  if (!isOffUs(original)) return move;
  return async (trx, row) => {
    const advice = adviceOf(row, original);
    if (advice && !deps.offUs) return '91';
    const refused = await move(trx, row);
    if (refused || !advice) return refused;
    await deps.offUs!.queue(trx, advice);
    return null;
  };
}
