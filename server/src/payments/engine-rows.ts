/**
 * The engine's view of `pay_transactions`: rows with their integers as safe numbers, the reply a
 * row answers, the request hash that makes a client id mean one request, and the in-flight
 * marker (a claimed row whose ledger call has not been settled yet: `reply = ''`).
 */
import { createHash, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { prepared } from '../platform/db/prepared.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { RESPONSE_CODES, type PaymentsSharedTables, type ResponseCode, type TxnReply, type TxnStatus, type TxnType } from './contracts.js';
import type { EngineTables } from './engine-migration.js';

export type TxnRow = PaymentsSharedTables['pay_transactions'];

/** The tables the engine reads and writes (plus the terminal session, for its PIN key). */
export type EngineDb = Kysely<
  PaymentsSharedTables &
    EngineTables & {
      terminal_sessions: { id: string; terminal_id: string; pin_key: string; pin_kcv: string; lmk_version: number; closed_at: number | null };
      terminals: { id: string; serial: string };
    }
>;

/** A claimed row whose outcome is not settled yet (the ledger call may or may not have happened). */
export const IN_FLIGHT = '';

/** A row stored for a reversal that arrived before its original: a late original is refused. */
export const REVERSED_BEFORE_ARRIVAL = 'reversed-before-arrival';

export function toTxnRow(r: TxnRow): TxnRow {
  return {
    ...r,
    amount: toSafeInt(r.amount, 'amount'),
    fee: toSafeInt(r.fee, 'fee'),
    refunded_amount: toSafeInt(r.refunded_amount, 'refunded_amount'),
    refunded_fee: toSafeInt(r.refunded_fee, 'refunded_fee'),
    trace_no: toSafeIntOrNull(r.trace_no, 'trace_no'),
    hold_expires_at: toSafeIntOrNull(r.hold_expires_at, 'hold_expires_at'),
    created_at: toSafeInt(r.created_at, 'created_at'),
    updated_at: toSafeInt(r.updated_at, 'updated_at'),
  };
}

/** SHA-256 hex of the request's meaningful fields, in a fixed order. */
export function requestHash(type: TxnType, fields: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify([type, ...fields])).digest('hex');
}

/** Six characters for an approved transaction's receipt. */
export function newAuthCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export const isApproved = (status: TxnStatus): boolean => status === 'approved';

/** The TxnReply a row stands for (its current state, with `batchNo` looked up by the caller). */
export function replyOf(row: TxnRow, batchNo: number | null, extra: { balance?: number } = {}): TxnReply {
  const code = (row.response_code in RESPONSE_CODES ? row.response_code : '96') as ResponseCode;
  const reply: TxnReply = {
    id: row.id,
    clientId: row.client_id,
    type: row.type,
    status: row.status,
    // Approved when it happened; `status` says what became of it since (voided, refunded, …).
    approved: code === '00',
    responseCode: code,
    message: { ...RESPONSE_CODES[code] },
    amount: row.amount,
    fee: row.fee,
    cardLast4: row.card_last4,
    batchNo,
    traceNo: row.trace_no,
    authCode: row.auth_code,
    originalId: row.original_id,
    at: Math.floor(row.created_at / 1000),
  };
  if (extra.balance !== undefined) reply.balance = extra.balance;
  return reply;
}

/** The answer to a client id reused with other fields: nothing was changed. */
export function duplicateReply(existing: TxnRow, type: TxnType, clientId: string, nowUs: number): TxnReply {
  return {
    id: existing.id,
    clientId,
    type,
    status: 'declined',
    approved: false,
    responseCode: '94',
    message: { ...RESPONSE_CODES['94'] },
    amount: 0,
    fee: 0,
    cardLast4: null,
    batchNo: null,
    traceNo: null,
    authCode: null,
    originalId: null,
    at: Math.floor(nowUs / 1000),
  };
}

/** Every column of a transaction row, in the order the prepared insert names them. */
const TXN_COLUMNS = [
  'id', 'type', 'status', 'response_code', 'client_scope', 'client_id', 'request_hash', 'reply', 'terminal_id', 'merchant_party_id',
  'org_id', 'batch_id', 'operator_id', 'card_id', 'card_last4', 'account_id', 'counter_account_id', 'amount', 'fee', 'refunded_amount',
  'refunded_fee', 'original_id', 'trace_no', 'auth_code', 'pending_transfer_id', 'hold_expires_at', 'risk', 'business_date',
  'settlement_id', 'created_at', 'updated_at',
] as const satisfies readonly (keyof TxnRow)[];

// The engine's hot queries, built once (platform/db/prepared.ts).
const byClient = prepared<{ scope: string; clientId: string }, TxnRow>((db, p) =>
  (db as EngineDb).selectFrom('pay_transactions').selectAll().where('client_scope', '=', p.scope).where('client_id', '=', p.clientId),
);
const byId = prepared<{ id: string }, TxnRow>((db, p) => (db as EngineDb).selectFrom('pay_transactions').selectAll().where('id', '=', p.id));
const insertRow = prepared<TxnRow, never>((db, p) =>
  (db as EngineDb).insertInto('pay_transactions').values(Object.fromEntries(TXN_COLUMNS.map((c) => [c, p[c]])) as unknown as TxnRow),
);

export async function findByClient(db: EngineDb, scope: string, clientId: string): Promise<TxnRow | undefined> {
  const row = await byClient.first(db, { scope, clientId });
  return row ? toTxnRow(row) : undefined;
}

export async function findById(db: EngineDb, id: string): Promise<TxnRow | undefined> {
  const row = await byId.first(db, { id });
  return row ? toTxnRow(row) : undefined;
}

/** Inserts a transaction row (every column given: a missing one is an error, not a default). */
export async function insertTxn(db: EngineDb, row: TxnRow): Promise<void> {
  await insertRow.execute(db, row);
}
