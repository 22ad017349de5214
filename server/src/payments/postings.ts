/**
 * How payments map to ledger transfers. Every payment's transfers go to the ledger in one
 * `createTransfers` call, chained with the `linked` flag so they commit together or not at all.
 * Transfer ids are the transaction id with a suffix, so a retried commit is idempotent and the
 * journal leads back to the transaction (`reference` = transaction id).
 */
import { LEDGER_CNY, TransferFlags, type TransferInput } from '../ledger/index.js';
import { BANK_ACCOUNTS } from '../seed/bootstrap.js';

/** Transfer codes of the chart (ledger/chart.ts). */
export const PAY_CODES = { payment: 5, fee: 4, settlement: 6, refund: 9, hold: 10, reversal: 11 } as const;

export interface PostingAccounts {
  /** The customer's deposit account (2001). */
  customer: string;
  /** The merchant's receivable account (2004). */
  receivable: string;
  /** The bank's fee income (1003); defaults to the bank's. */
  feeIncome?: string;
}

/** Marks every transfer but the last as linked to the next. */
export function chain(transfers: TransferInput[]): TransferInput[] {
  return transfers.map((t, i) => ({ ...t, flags: (t.flags ?? 0) | (i < transfers.length - 1 ? TransferFlags.linked : 0) }));
}

const base = (txnId: string, suffix: string, code: number) => ({ id: `${txnId}:${suffix}`, ledger: LEDGER_CNY, code, reference: txnId });

/** Sale, completion or QR sale: customer → receivable the amount; receivable → fee income the fee. */
export function saleTransfers(txnId: string, a: PostingAccounts, amount: number, fee: number): TransferInput[] {
  const out: TransferInput[] = [{ ...base(txnId, 'pay', PAY_CODES.payment), debit_account_id: a.customer, credit_account_id: a.receivable, amount }];
  if (fee > 0) out.push({ ...base(txnId, 'fee', PAY_CODES.fee), debit_account_id: a.receivable, credit_account_id: a.feeIncome ?? BANK_ACCOUNTS.fee_income, amount: fee });
  return chain(out);
}

/**
 * The undoing of (part of) a sale: receivable → customer `amount`; fee income → receivable `fee`.
 * `code` is refund (9) for refunds and reversal (11) for voids and reversals.
 */
export function returnTransfers(txnId: string, a: PostingAccounts, amount: number, fee: number, code: number): TransferInput[] {
  const out: TransferInput[] = [{ ...base(txnId, 'ret', code), debit_account_id: a.receivable, credit_account_id: a.customer, amount }];
  if (fee > 0) out.push({ ...base(txnId, 'rfee', code), debit_account_id: a.feeIncome ?? BANK_ACCOUNTS.fee_income, credit_account_id: a.receivable, amount: fee });
  return chain(out);
}

/** A hold: pending customer → receivable, released by the ledger after `timeoutS` unless posted or voided. */
export function holdTransfer(txnId: string, a: PostingAccounts, amount: number, timeoutS: number): TransferInput {
  return { ...base(txnId, 'hold', PAY_CODES.hold), debit_account_id: a.customer, credit_account_id: a.receivable, amount, flags: TransferFlags.pending, timeout_s: timeoutS };
}

/** Releases a hold (pre-auth void, review declined). */
export function releaseHold(txnId: string, pendingId: string, a: PostingAccounts): TransferInput {
  return { ...base(txnId, 'release', PAY_CODES.hold), debit_account_id: a.customer, credit_account_id: a.receivable, amount: 0, pending_id: pendingId, flags: TransferFlags.void_pending };
}

/**
 * Completion of a pre-auth (or approval of a held sale): the hold is voided and the final amount
 * posted as a sale, in one chain — so a completion above the hold (up to 115 %) needs no second
 * pending and fails whole if the customer cannot cover it.
 */
export function completeHold(txnId: string, pendingId: string, a: PostingAccounts, amount: number, fee: number): TransferInput[] {
  return chain([releaseHold(txnId, pendingId, a), ...saleTransfers(txnId, a, amount, fee)]);
}

/** Settlement: receivable → the merchant's settlement account, the net amount. */
export function settlementTransfer(settlementId: string, receivable: string, settlementAccount: string, net: number): TransferInput {
  return { ...base(settlementId, 'settle', PAY_CODES.settlement), debit_account_id: receivable, credit_account_id: settlementAccount, amount: net };
}
