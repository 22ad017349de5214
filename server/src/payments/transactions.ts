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

/**
 * A transaction as staff see it: the row without its idempotency internals (scope, request hash,
 * stored reply) and its risk JSON (the detail view parses that), and whether its ledger outcome is
 * still being recorded.
 */
export type TxnView = Omit<TxnRow, 'client_scope' | 'request_hash' | 'reply' | 'risk'> & { in_flight: boolean };

export function toView(r: TxnRow): TxnView {
  const { client_scope: _scope, request_hash: _hash, reply, risk: _risk, ...view } = r;
  return { ...view, in_flight: reply === '' };
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
