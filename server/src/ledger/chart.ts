import { AccountFlags } from './types.js';

/**
 * The bank's chart of account types (ledger `code` of an account) and transfer codes. Reference
 * data, not demo data: the API, the console and the seed command all read it from here.
 */
export interface AccountType {
  code: number;
  key: string;
  zh: string;
  en: string;
  /** Internal accounts belong to an organisation; the others to a party. */
  internal: boolean;
  /** Which side grows the balance people see. */
  normal: 'debit' | 'credit';
  flags: number;
}

export const ACCOUNT_TYPES: readonly AccountType[] = [
  { code: 1001, key: 'bank_settlement', zh: '银行清算账户', en: 'Bank settlement', internal: true, normal: 'debit', flags: AccountFlags.history },
  { code: 1002, key: 'bank_cash', zh: '库存现金', en: 'Cash in vault', internal: true, normal: 'debit', flags: AccountFlags.history },
  { code: 1003, key: 'fee_income', zh: '手续费收入', en: 'Fee income', internal: true, normal: 'credit', flags: AccountFlags.history },
  { code: 1004, key: 'suspense', zh: '待处理挂账', en: 'Suspense', internal: true, normal: 'debit', flags: AccountFlags.history },
  // What the card switch owes the bank for other banks' cards paid at its merchants (debited by
  // each off-us sale, credited by refunds and by the switch's settlement).
  { code: 1005, key: 'switch_clearing', zh: '银联清算往来', en: 'Due from the card switch', internal: true, normal: 'debit', flags: AccountFlags.history },
  // The platform's side of money moved to or from accounts held in an external core-banking system.
  { code: 1006, key: 'core_clearing', zh: '核心系统往来', en: 'Core-banking clearing', internal: true, normal: 'debit', flags: AccountFlags.history },
  { code: 2001, key: 'customer_deposit', zh: '个人存款账户', en: 'Customer deposit', internal: false, normal: 'credit', flags: AccountFlags.history | AccountFlags.debits_must_not_exceed_credits },
  { code: 2002, key: 'merchant_settlement', zh: '商户结算账户', en: 'Merchant settlement', internal: false, normal: 'credit', flags: AccountFlags.history | AccountFlags.debits_must_not_exceed_credits },
  { code: 2003, key: 'agent_float', zh: '助农点备付金', en: 'Agent float', internal: false, normal: 'credit', flags: AccountFlags.history | AccountFlags.debits_must_not_exceed_credits },
  // What card and QR sales owe a merchant until settlement. No balance limit: a refund after
  // settlement may take it below zero, and the next settlement nets it.
  { code: 2004, key: 'merchant_receivable', zh: '商户待清算款', en: 'Merchant receivable', internal: false, normal: 'credit', flags: AccountFlags.history },
];

export interface TransferCode {
  code: number;
  key: string;
  zh: string;
  en: string;
}

export const TRANSFER_CODES: readonly TransferCode[] = [
  { code: 1, key: 'staff_transfer', zh: '柜面转账', en: 'Staff transfer' },
  { code: 2, key: 'cash_deposit', zh: '现金存入', en: 'Cash deposit' },
  { code: 3, key: 'cash_withdrawal', zh: '现金支取', en: 'Cash withdrawal' },
  { code: 4, key: 'fee', zh: '手续费', en: 'Fee' },
  { code: 5, key: 'payment', zh: '消费支付', en: 'Payment' },
  { code: 6, key: 'settlement', zh: '商户结算', en: 'Merchant settlement' },
  { code: 7, key: 'adjustment', zh: '调账', en: 'Adjustment' },
  { code: 8, key: 'produce_payout', zh: '农产品收购付款', en: 'Produce payout' },
  { code: 9, key: 'refund', zh: '退货', en: 'Refund' },
  { code: 10, key: 'hold', zh: '预授权冻结', en: 'Pre-authorisation hold' },
  { code: 11, key: 'reversal', zh: '冲正撤销', en: 'Reversal or void' },
  { code: 12, key: 'customer_transfer', zh: '客户转账', en: 'Customer transfer' },
  { code: 13, key: 'switch_settlement', zh: '银联资金清算', en: 'Card-switch settlement' },
  { code: 14, key: 'core_transfer', zh: '核心系统划款', en: 'Core-banking transfer' },
];

export function accountType(code: number): AccountType | undefined {
  return ACCOUNT_TYPES.find((t) => t.code === code);
}

/** The balance people see: credits − debits for credit-normal accounts, the reverse otherwise. */
export function displayBalance(code: number, debits: number, credits: number): number {
  return accountType(code)?.normal === 'debit' ? debits - credits : credits - debits;
}
