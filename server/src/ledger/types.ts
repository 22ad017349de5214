/** Ledger data types, modelled on TigerBeetle's accounts and transfers. Amounts are fen. */

export const AccountFlags = {
  none: 0,
  /** The account may not be debited beyond its credits (an asset-side customer deposit). */
  debits_must_not_exceed_credits: 1 << 1,
  /** The account may not be credited beyond its debits. */
  credits_must_not_exceed_debits: 1 << 2,
  /** Keep balance history (Xiaowei keeps it for every account; the flag is recorded). */
  history: 1 << 3,
  /** No transfer may move money into or out of the account. */
  closed: 1 << 4,
} as const;
export const ACCOUNT_FLAGS_MASK = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4);

export const TransferFlags = {
  none: 0,
  /** This transfer and the next succeed or fail together. */
  linked: 1 << 0,
  /** Reserve the amount (two-phase): balances move to *_pending. */
  pending: 1 << 1,
  /** Post (all or part of) the pending transfer named by pending_id. */
  post_pending: 1 << 2,
  /** Void the pending transfer named by pending_id. */
  void_pending: 1 << 3,
  /** Set only by the ledger's expiry sweep on the void it writes for a timed-out pending. */
  expired: 1 << 4,
} as const;
/** Flags a client may set. */
export const TRANSFER_FLAGS_MASK = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3);

export const PendingStatus = { pending: 1, posted: 2, voided: 3, expired: 4 } as const;
export type PendingStatusValue = (typeof PendingStatus)[keyof typeof PendingStatus];

/** What a client sends to create an account. */
export interface AccountInput {
  id: string;
  ledger: number;
  code: number;
  flags?: number;
  owner_id?: string | null;
  name?: string | null;
  reference?: string | null;
}

export interface Account {
  id: string;
  ledger: number;
  code: number;
  flags: number;
  owner_id: string | null;
  name: string | null;
  reference: string | null;
  debits_pending: number;
  debits_posted: number;
  credits_pending: number;
  credits_posted: number;
  /** Creation time, microseconds since the Unix epoch. */
  timestamp: number;
  /** Timestamp of the last transfer that touched the account. */
  last_ts: number;
}

/** What a client sends to create a transfer. */
export interface TransferInput {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  /** Fen. For post_pending, 0 posts the full pending amount. For void_pending, 0 or the pending amount. */
  amount: number;
  pending_id?: string | null;
  ledger: number;
  code: number;
  flags?: number;
  /** Seconds until a pending transfer expires; 0 = never. Only for pending transfers. */
  timeout_s?: number;
  reference?: string | null;
}

/** A committed transfer as stored in the journal. */
export interface Transfer {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  pending_id: string | null;
  ledger: number;
  code: number;
  flags: number;
  timeout_s: number;
  reference: string | null;
  /** Ledger-assigned, microseconds since the epoch; increases along every account's history. */
  ts: number;
  dr_debits_after: number;
  dr_credits_after: number;
  cr_debits_after: number;
  cr_credits_after: number;
}

export interface PendingState {
  id: string;
  status: PendingStatusValue;
  expires_at: number;
  amount: number;
  debit_account_id: string;
  credit_account_id: string;
  ledger: number;
  code: number;
}
