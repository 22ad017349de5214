/**
 * Staff views of payment transactions: a search (newest first, keyset on the time-ordered id) and
 * one transaction with its risk hits, related transactions and ledger transfer ids. Staff see their
 * organisation subtree; a merchant-side user only its own merchant's transactions.
 */
import type { Kysely } from 'kysely';
import { scopeHas } from '../identity/access.js';
import type { IdentityTables } from '../identity/tables.js';
import type { Actor } from '../platform/http/actor.js';
import type { Ledger } from '../ledger/index.js';
import type { RiskDecision, TxnStatus, TxnType } from './contracts.js';
import { REVERSED_BEFORE_ARRIVAL, toTxnRow, type EngineDb, type TxnRow } from './engine-rows.js';

export interface TxnQuery {
  merchant_party_id?: string | undefined;
  terminal_id?: string | undefined;
  type?: TxnType | undefined;
  status?: TxnStatus | undefined;
  /** 'YYYY-MM-DD' (business date, inclusive) or µs (created_at). */
  from?: string | undefined;
  to?: string | undefined;
  last4?: string | undefined;
  before?: string | undefined;
  limit?: number | undefined;
}

export interface TxnView {
  id: string;
  type: TxnType;
  status: TxnStatus;
  response_code: string;
  client_id: string;
  terminal_id: string | null;
  merchant_party_id: string | null;
  org_id: string;
  batch_id: string | null;
  operator_id: string | null;
  card_id: string | null;
  card_last4: string | null;
  account_id: string | null;
  counter_account_id: string | null;
  amount: number;
  fee: number;
  refunded_amount: number;
  refunded_fee: number;
  original_id: string | null;
  trace_no: number | null;
  auth_code: string | null;
  pending_transfer_id: string | null;
  hold_expires_at: number | null;
  business_date: string;
  settlement_id: string | null;
  /** The claim is committed but its ledger outcome not yet recorded (normally for milliseconds). */
  in_flight: boolean;
  created_at: number;
  updated_at: number;
}

export function toView(r: TxnRow): TxnView {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    response_code: r.response_code,
    client_id: r.client_id,
    terminal_id: r.terminal_id,
    merchant_party_id: r.merchant_party_id,
    org_id: r.org_id,
    batch_id: r.batch_id,
    operator_id: r.operator_id,
    card_id: r.card_id,
    card_last4: r.card_last4,
    account_id: r.account_id,
    counter_account_id: r.counter_account_id,
    amount: r.amount,
    fee: r.fee,
    refunded_amount: r.refunded_amount,
    refunded_fee: r.refunded_fee,
    original_id: r.original_id,
    trace_no: r.trace_no,
    auth_code: r.auth_code,
    pending_transfer_id: r.pending_transfer_id,
    hold_expires_at: r.hold_expires_at,
    business_date: r.business_date,
    settlement_id: r.settlement_id,
    in_flight: r.reply === '',
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_TXN_PAGE = 200;

export async function searchTransactions(db: EngineDb, actor: Actor, q: TxnQuery): Promise<{ items: TxnView[]; next_before: string | null }> {
  const limit = Math.min(q.limit ?? 50, MAX_TXN_PAGE);
  let query = db.selectFrom('pay_transactions').selectAll().where('request_hash', '!=', REVERSED_BEFORE_ARRIVAL);
  if (actor.org_scope === null) query = query.where('merchant_party_id', '=', actor.merchant_id ?? '\u0000none');
  else query = query.where('org_id', 'in', [...actor.org_scope]);
  if (q.merchant_party_id) query = query.where('merchant_party_id', '=', q.merchant_party_id);
  if (q.terminal_id) query = query.where('terminal_id', '=', q.terminal_id);
  if (q.type) query = query.where('type', '=', q.type);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.last4) query = query.where('card_last4', '=', q.last4);
  if (q.from) query = DATE.test(q.from) ? query.where('business_date', '>=', q.from) : query.where('created_at', '>=', Number(q.from));
  if (q.to) query = DATE.test(q.to) ? query.where('business_date', '<=', q.to) : query.where('created_at', '<=', Number(q.to));
  if (q.before) query = query.where('id', '<', q.before);
  const rows = (await query.orderBy('id', 'desc').limit(limit + 1).execute()).map(toTxnRow);
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map(toView);
  return { items, next_before: more ? items[items.length - 1]!.id : null };
}

async function canSee(db: EngineDb, actor: Actor, r: TxnRow): Promise<boolean> {
  if (actor.org_scope === null) return actor.merchant_id !== null && actor.merchant_id === r.merchant_party_id;
  return scopeHas(db as unknown as Kysely<IdentityTables>, actor, r.org_id);
}

export interface TxnDetail extends TxnView {
  risk: RiskDecision | null;
  related: TxnView[];
  ledger_transfer_ids: string[];
}

export async function transactionDetail(db: EngineDb, ledger: Ledger, actor: Actor, id: string): Promise<TxnDetail | undefined> {
  const found = await db.selectFrom('pay_transactions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!found) return undefined;
  const row = toTxnRow(found);
  if (row.request_hash === REVERSED_BEFORE_ARRIVAL || !(await canSee(db, actor, row))) return undefined;
  const relatedRows = await db
    .selectFrom('pay_transactions')
    .selectAll()
    .where((eb) => eb.or([eb('original_id', '=', row.id), ...(row.original_id ? [eb('id', '=', row.original_id)] : [])]))
    .orderBy('id')
    .limit(200)
    .execute();
  const transfers = await ledger.searchTransfers({ reference: row.id, limit: 50 });
  return {
    ...toView(row),
    risk: row.risk ? (JSON.parse(row.risk) as RiskDecision) : null,
    related: relatedRows.map(toTxnRow).filter((r) => r.request_hash !== REVERSED_BEFORE_ARRIVAL).map(toView),
    ledger_transfer_ids: transfers.items.map((t) => t.id),
  };
}
