import type { PaymentsSharedTables } from './contracts.js';

/** The QR part's tables (qr-migration.ts), with the shared ones it reads and writes. */
export interface QrTables extends PaymentsSharedTables {
  /** A dynamic merchant-presented order: one amount, paid once, open for ORDER_TTL_S. */
  pay_qr_orders: {
    id: string;
    merchant_party_id: string;
    terminal_id: string;
    org_id: string;
    /** The terminal's client id of the create request (unique per terminal). */
    client_id: string;
    request_hash: string;
    amount: number;
    payload: string;
    /** open | paid | cancelled; an open order past expires_at reads as expired. */
    status: 'open' | 'paid' | 'cancelled';
    expires_at: number;
    /** The pay_transactions row that claimed the order. */
    txn_id: string | null;
    created_at: number;
    updated_at: number;
  };
  /** A customer-presented one-time code: only its blind index is stored. */
  pay_payment_codes: {
    code_index: string;
    user_id: string;
    party_id: string;
    account_id: string;
    org_id: string;
    expires_at: number;
    used_at: number | null;
    txn_id: string | null;
    created_at: number;
  };
  ledger_accounts: {
    id: string;
    code: number;
    flags: number;
    owner_id: string | null;
    name: string | null;
  };
  parties: { id: string; name: string; org_id: string; kind: string };
  organisations: { id: string; name: string; name_en: string | null };
}
