/**
 * Result codes of createTransfers, in order of precedence: a transfer that breaks several rules
 * gets the first that applies. `exists` is the one non-failure: the same id with the same fields
 * was already committed, and the retry is answered with that first outcome.
 * The order is part of the API (docs/adr/0003-ledger-design.md) — append, never reorder.
 */
export const TRANSFER_RESULTS = [
  'linked_event_failed',
  'linked_event_chain_open',
  'id_invalid',
  'flags_invalid',
  'flags_are_mutually_exclusive',
  'pending_id_required',
  'pending_id_must_be_empty',
  'pending_id_must_be_different',
  'timeout_reserved_for_pending_transfer',
  'amount_invalid',
  'amount_must_be_positive',
  'debit_account_id_required',
  'credit_account_id_required',
  'accounts_must_be_different',
  'ledger_must_not_be_zero',
  'code_must_not_be_zero',
  'reference_invalid',
  'exists_with_different_fields',
  'exists',
  'pending_transfer_not_found',
  'pending_transfer_has_different_debit_account_id',
  'pending_transfer_has_different_credit_account_id',
  'pending_transfer_has_different_ledger',
  'pending_transfer_has_different_code',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_expired',
  'exceeds_pending_transfer_amount',
  'pending_transfer_has_different_amount',
  'debit_account_not_found',
  'credit_account_not_found',
  'accounts_must_have_the_same_ledger',
  'transfer_must_have_the_same_ledger_as_accounts',
  'debit_account_closed',
  'credit_account_closed',
  'overflows_debits',
  'overflows_credits',
  'exceeds_credits',
  'exceeds_debits',
] as const;
export type TransferResult = (typeof TRANSFER_RESULTS)[number];

export const ACCOUNT_RESULTS = [
  'id_invalid',
  'flags_invalid',
  'flags_are_mutually_exclusive',
  'ledger_must_not_be_zero',
  'code_must_not_be_zero',
  'field_invalid',
  'exists_with_different_fields',
  'exists',
] as const;
export type AccountResult = (typeof ACCOUNT_RESULTS)[number];

/** One failure of a batch: the index of the event in the batch and why. */
export interface BatchResult<R extends string> {
  index: number;
  result: R;
}

/** Bilingual text for each transfer result, for people (console, terminal). */
export const TRANSFER_RESULT_TEXT: Record<TransferResult, { zh: string; en: string }> = {
  linked_event_failed: { zh: '关联的另一笔转账失败', en: 'another transfer in the linked chain failed' },
  linked_event_chain_open: { zh: '关联链未闭合', en: 'the linked chain is not closed' },
  id_invalid: { zh: '转账编号无效', en: 'the transfer id is invalid' },
  flags_invalid: { zh: '标志位无效', en: 'unknown flags' },
  flags_are_mutually_exclusive: { zh: '标志位互斥', en: 'the flags are mutually exclusive' },
  pending_id_required: { zh: '缺少预授权转账编号', en: 'pending_id is required' },
  pending_id_must_be_empty: { zh: '不应带预授权转账编号', en: 'pending_id must be empty' },
  pending_id_must_be_different: { zh: '预授权编号不能等于本笔编号', en: 'pending_id must differ from id' },
  timeout_reserved_for_pending_transfer: { zh: '只有预授权转账可设超时', en: 'only pending transfers have a timeout' },
  amount_invalid: { zh: '金额必须是以分为单位的非负整数', en: 'the amount must be a non-negative integer count of fen' },
  amount_must_be_positive: { zh: '金额必须大于零', en: 'the amount must be positive' },
  debit_account_id_required: { zh: '缺少借方账户', en: 'the debit account is required' },
  credit_account_id_required: { zh: '缺少贷方账户', en: 'the credit account is required' },
  accounts_must_be_different: { zh: '借贷双方不能是同一账户', en: 'debit and credit accounts must differ' },
  ledger_must_not_be_zero: { zh: '账簿不能为零', en: 'ledger must not be zero' },
  code_must_not_be_zero: { zh: '交易类型不能为零', en: 'code must not be zero' },
  reference_invalid: { zh: '附言过长或含无法保存的字符', en: 'the reference is too long or has characters that cannot be stored' },
  exists_with_different_fields: { zh: '同一编号已用于另一笔不同的转账', en: 'this id was used for a different transfer' },
  exists: { zh: '已处理（重复请求）', en: 'already done (a retry)' },
  pending_transfer_not_found: { zh: '预授权转账不存在', en: 'the pending transfer does not exist' },
  pending_transfer_has_different_debit_account_id: { zh: '借方账户与预授权不符', en: 'debit account differs from the pending transfer' },
  pending_transfer_has_different_credit_account_id: { zh: '贷方账户与预授权不符', en: 'credit account differs from the pending transfer' },
  pending_transfer_has_different_ledger: { zh: '账簿与预授权不符', en: 'ledger differs from the pending transfer' },
  pending_transfer_has_different_code: { zh: '交易类型与预授权不符', en: 'code differs from the pending transfer' },
  pending_transfer_already_posted: { zh: '预授权已完成', en: 'the pending transfer was already posted' },
  pending_transfer_already_voided: { zh: '预授权已撤销', en: 'the pending transfer was already voided' },
  pending_transfer_expired: { zh: '预授权已过期', en: 'the pending transfer has expired' },
  exceeds_pending_transfer_amount: { zh: '金额超过预授权金额', en: 'the amount exceeds the pending amount' },
  pending_transfer_has_different_amount: { zh: '撤销金额须等于预授权金额', en: 'a void must be for the full pending amount' },
  debit_account_not_found: { zh: '借方账户不存在', en: 'the debit account does not exist' },
  credit_account_not_found: { zh: '贷方账户不存在', en: 'the credit account does not exist' },
  accounts_must_have_the_same_ledger: { zh: '两个账户币种不同', en: 'the accounts are on different ledgers' },
  transfer_must_have_the_same_ledger_as_accounts: { zh: '转账币种与账户不符', en: 'the transfer ledger differs from the accounts' },
  debit_account_closed: { zh: '借方账户已关闭', en: 'the debit account is closed' },
  credit_account_closed: { zh: '贷方账户已关闭', en: 'the credit account is closed' },
  overflows_debits: { zh: '借方金额溢出', en: 'debits would overflow' },
  overflows_credits: { zh: '贷方金额溢出', en: 'credits would overflow' },
  exceeds_credits: { zh: '余额不足', en: 'insufficient funds (debits would exceed credits)' },
  exceeds_debits: { zh: '贷方超过借方限额', en: 'credits would exceed debits' },
};
