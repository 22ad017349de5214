/**
 * Test fixtures of the settlement part (not a test itself): writes `pay_transactions` rows and
 * their ledger transfers exactly as the engine does (postings.ts, one createTransfers call per
 * payment, transfer ids from the transaction id), for dates and in states a test chooses.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { newId } from '../platform/ids.js';
import { PAY_CODES, returnTransfers, saleTransfers } from './postings.js';
import type { PaymentsSharedTables, TxnStatus, TxnType } from './contracts.js';
import type { PaymentsDeps } from './deps.js';

export type TxnRow = PaymentsSharedTables['pay_transactions'];

export interface FixtureMerchant {
  partyId: string;
  receivable: string;
  orgId: string;
}

export interface FixtureTxn {
  type: TxnType;
  amount: number;
  fee?: number;
  status?: TxnStatus;
  businessDate: string;
  customerAccount: string;
  terminalId?: string | null;
  batchId?: string | null;
  original?: TxnRow;
  clientId?: string;
  /** Write the row but no ledger transfers (a declined or held one): no auth code. */
  noEffect?: boolean;
  /** Approved, with an auth code, but no transfers on the receivable (e.g. a reversal that released a hold). */
  noLedger?: boolean;
  cardLast4?: string | null;
  at?: number;
}

let seq = 0;

/** Inserts one transaction row and posts its transfers; an undoing row also moves its original's status. */
export async function writeTxn(deps: PaymentsDeps, m: FixtureMerchant, t: FixtureTxn): Promise<TxnRow> {
  const db = deps.db as Kysely<PaymentsSharedTables>;
  const id = newId();
  const at = t.at ?? deps.now();
  const status = t.status ?? 'approved';
  const posted = !t.noEffect && status !== 'declined' && status !== 'held';
  const row: TxnRow = {
    id,
    type: t.type,
    status,
    response_code: posted ? '00' : '51',
    client_scope: t.terminalId ?? 'fixture',
    client_id: t.clientId ?? `fx-${process.pid}-${++seq}`,
    request_hash: createHash('sha256').update(id).digest('hex'),
    reply: '{}',
    terminal_id: t.terminalId ?? null,
    merchant_party_id: m.partyId,
    org_id: m.orgId,
    batch_id: t.batchId ?? null,
    operator_id: null,
    card_id: null,
    card_last4: t.type === 'qr_sale' ? null : (t.cardLast4 ?? '1234'),
    account_id: t.customerAccount,
    counter_account_id: null,
    amount: t.amount,
    fee: t.fee ?? 0,
    refunded_amount: 0,
    refunded_fee: 0,
    original_id: t.original?.id ?? null,
    trace_no: ++seq,
    auth_code: posted ? String(100000 + (seq % 900000)) : null,
    pending_transfer_id: null,
    hold_expires_at: null,
    risk: null,
    business_date: t.businessDate,
    settlement_id: null,
    created_at: at,
    updated_at: at,
  };
  await db.insertInto('pay_transactions').values(row).execute();
  if (!posted || t.noLedger) {
    if (t.original) await markOriginal(db, t, row);
    return row;
  }
  const accounts = { customer: t.customerAccount, receivable: m.receivable };
  const transfers =
    t.type === 'sale' || t.type === 'qr_sale' || t.type === 'completion'
      ? saleTransfers(id, accounts, row.amount, row.fee)
      : t.type === 'refund'
        ? returnTransfers(id, accounts, row.amount, row.fee, PAY_CODES.refund)
        : returnTransfers(id, accounts, row.amount, row.fee, PAY_CODES.reversal);
  const failed = await deps.ledger.createTransfers(transfers);
  if (failed.length > 0) throw new Error(`fixture ${t.type}: ${failed.map((f) => f.result).join(',')}`);
  if (t.original) await markOriginal(db, t, row);
  return row;
}

async function markOriginal(db: Kysely<PaymentsSharedTables>, t: FixtureTxn, row: TxnRow): Promise<void> {
  const o = t.original!;
  if (t.type === 'refund') {
    const refunded = o.refunded_amount + row.amount;
    o.refunded_amount = refunded;
    o.refunded_fee += row.fee;
    o.status = refunded >= o.amount ? 'refunded' : o.status;
  } else o.status = t.type === 'reversal' ? 'reversed' : 'voided';
  await db.updateTable('pay_transactions').set({ status: o.status, refunded_amount: o.refunded_amount, refunded_fee: o.refunded_fee }).where('id', '=', o.id).execute();
}
