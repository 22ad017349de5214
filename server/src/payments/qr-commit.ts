/**
 * How a QR sale or a customer transfer becomes money moved, exactly once:
 *
 * 1. A transaction row is written first, "in flight" (status declined, code 96, a placeholder
 *    reply), under the unique (client_scope, client_id) — in the same database transaction as the
 *    claim of the order or payment code it spends. Of two concurrent payments of one order only
 *    one claim succeeds (a conditional update), so only one can reach the ledger.
 * 2. One ledger call moves the money; its transfer ids derive from the transaction id.
 * 3. The row is finalised (approved, or declined 51 with the order released) — only while it is
 *    still in flight, so a racing finaliser cannot overwrite it.
 *
 * A crash between 1 and 3 leaves an in-flight row and nothing acknowledged. Whoever next reads it
 * (a retry with the same client id, the order's status poll) rolls it forward: the same ledger
 * call again — `exists` if it had committed, else it commits or is refused now — then step 3.
 * So money never moves without its row, and a row never says approved without the money.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LEDGER_CNY, type TransferInput } from '../ledger/index.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import { RESPONSE_CODES, businessDate, type ResponseCode, type RiskContext, type RiskDecision, type TxnReply, type TxnStatus } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { HOLD_SECONDS } from './engine-ledger.js';
import { loadMerchant } from './merchants.js';
import { holdTransfer, saleTransfers, type PostingAccounts } from './postings.js';
import type { QrTables } from './qr-tables.js';

/**
 * Ledger transfer code of a customer's account-to-account transfer. The chart (ledger/chart.ts)
 * has none yet: 12 `customer_transfer` (客户转账) is proposed to the lead; the ledger accepts any
 * positive code meanwhile. Not 1 (`staff_transfer`): a customer's own transfer is not a counter one.
 */
export const CUSTOMER_TRANSFER_CODE = 12;

export type TxnRow = QrTables['pay_transactions'];
type Db = Kysely<QrTables>;

const IN_FLIGHT = '"inFlight":true';

export interface PaymentIntent {
  type: 'qr_sale' | 'transfer';
  scope: string;
  clientId: string;
  requestHash: string;
  orgId: string;
  /** qr_sale: the merchant credited. */
  merchantPartyId: string | null;
  /** The customer account debited (null only for a decline known up front). */
  accountId: string | null;
  /** transfer: the account credited. */
  counterAccountId: string | null;
  amount: number;
  fee: number;
  terminalId: string | null;
  operatorId?: string | null;
  /** The terminal batch the sale counts in (payment codes and dynamic orders); null for the rest. */
  batch: { id: string; batch_no: number } | null;
  traceNo: number | null;
  risk: RiskContext;
  /** Known before any claim (e.g. '03' inactive merchant, 'A0' unknown code): store this decline. */
  decline?: ResponseCode | null;
  /**
   * Inside the intent's database transaction: claims the order or code the payment spends.
   * Answers null when claimed, or the response code of the decline when it cannot be; a thrown
   * error undoes the intent (nothing is stored, the same request later is judged afresh).
   */
  claim?: (trx: Db, txnId: string) => Promise<ResponseCode | null>;
}

const AUTH_ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const authCode = (): string => Array.from({ length: 6 }, () => AUTH_ALPHABET[randomInt(AUTH_ALPHABET.length)]).join('');

/** The reply of a row as it stands. */
export function replyOf(row: Pick<TxnRow, 'reply'>): TxnReply {
  const { inFlight: _f, ...reply } = JSON.parse(row.reply) as TxnReply & { inFlight?: boolean };
  return reply;
}

function makeReply(r: {
  id: string;
  clientId: string;
  type: TxnReply['type'];
  status: TxnStatus;
  code: ResponseCode;
  amount: number;
  fee: number;
  batchNo: number | null;
  traceNo: number | null;
  authCode: string | null;
  atUs: number;
}): TxnReply {
  return {
    id: r.id,
    clientId: r.clientId,
    type: r.type,
    status: r.status,
    approved: r.status === 'approved',
    responseCode: r.code,
    message: RESPONSE_CODES[r.code],
    amount: r.amount,
    fee: r.fee,
    cardLast4: null,
    batchNo: r.batchNo,
    traceNo: r.traceNo,
    authCode: r.authCode,
    originalId: null,
    at: Math.floor(r.atUs / 1000),
  };
}

export async function findTxn(db: Db, scope: string, clientId: string): Promise<TxnRow | undefined> {
  return db.selectFrom('pay_transactions').selectAll().where('client_scope', '=', scope).where('client_id', '=', clientId).executeTakeFirst();
}

/** A customer transfer's one ledger transfer, `<txn id>:xfer` (also what a reviewer's approval posts). */
export function customerTransferOf(row: Pick<TxnRow, 'id' | 'account_id' | 'counter_account_id' | 'amount'>): TransferInput {
  return {
    id: `${row.id}:xfer`,
    ledger: LEDGER_CNY,
    code: CUSTOMER_TRANSFER_CODE,
    reference: row.id,
    debit_account_id: row.account_id!,
    credit_account_id: row.counter_account_id!,
    amount: toSafeInt(row.amount),
  };
}

/**
 * The accounts a QR sale or transfer row moves money between: payer → merchant receivable, or
 * payer → the transfer's target (in `receivable`'s place, for a hold).
 */
export async function paymentAccounts(deps: PaymentsDeps, row: Pick<TxnRow, 'id' | 'type' | 'account_id' | 'counter_account_id' | 'merchant_party_id'>): Promise<PostingAccounts> {
  if (row.type === 'transfer') return { customer: row.account_id!, receivable: row.counter_account_id! };
  const merchant = await loadMerchant(deps.db, row.merchant_party_id!);
  if (!merchant) throw new Error(`merchant ${row.merchant_party_id} of transaction ${row.id} vanished`);
  return { customer: row.account_id!, receivable: merchant.receivable_account_id };
}

/**
 * The ledger transfers of a QR sale or transfer row (the same on every retry). A row held for
 * review reserves the amount with a pending transfer `<txn id>:hold` (30 days); the reviewer's
 * decision posts or voids it (engine-held.ts).
 */
async function transfersOf(deps: PaymentsDeps, row: TxnRow): Promise<TransferInput[]> {
  const amount = toSafeInt(row.amount);
  if (row.pending_transfer_id) return [holdTransfer(row.id, await paymentAccounts(deps, row), amount, HOLD_SECONDS)];
  if (row.type === 'transfer') return [customerTransferOf(row)];
  return saleTransfers(row.id, await paymentAccounts(deps, row), amount, toSafeInt(row.fee));
}

function codeOfLedgerRefusal(results: readonly { result: string }[]): ResponseCode | null {
  const failures = results.filter((r) => r.result !== 'exists' && r.result !== 'linked_event_failed');
  if (results.every((r) => r.result === 'exists')) return null;
  if (failures.some((r) => r.result === 'exceeds_credits')) return '51';
  if (failures.some((r) => /closed|not_found/.test(r.result))) return '12';
  return '96';
}

/** Moves the money of an in-flight row and finalises it; answers the final reply. */
async function rollForward(deps: PaymentsDeps, row: TxnRow): Promise<TxnReply> {
  const results = await deps.ledger.createTransfers(await transfersOf(deps, row));
  const refusal = codeOfLedgerRefusal(results);
  const nowUs = deps.now();
  const first = replyOf(row);
  const held = row.pending_transfer_id !== null && !refusal;
  const reply = makeReply({
    id: row.id,
    clientId: row.client_id,
    type: row.type,
    status: refusal ? 'declined' : held ? 'held' : 'approved',
    code: refusal ?? (held ? '09' : '00'),
    amount: first.amount,
    fee: refusal ? 0 : first.fee,
    batchNo: first.batchNo,
    traceNo: first.traceNo,
    authCode: refusal || held ? null : authCode(),
    atUs: toSafeInt(row.created_at),
  });
  const db = deps.db as Db;
  const done = await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('pay_transactions')
      .set({
        status: reply.status,
        response_code: reply.responseCode,
        reply: JSON.stringify(reply),
        auth_code: reply.authCode,
        fee: reply.fee,
        updated_at: nowUs,
        ...(refusal ? { pending_transfer_id: null, hold_expires_at: null } : {}),
      })
      .where('id', '=', row.id)
      .where('reply', '=', row.reply)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) return false;
    // A refused payment gives its order back, so the customer can pay it another way.
    if (refusal) await trx.updateTable('pay_qr_orders').set({ status: 'open', txn_id: null, updated_at: nowUs }).where('txn_id', '=', row.id).where('status', '=', 'paid').execute();
    return true;
  });
  if (!done) {
    const now = await db.selectFrom('pay_transactions').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    return replyOf(now);
  }
  return reply;
}

/** The answer for a row someone already wrote: its reply, rolled forward first when in flight. */
export async function settledReply(deps: PaymentsDeps, row: TxnRow): Promise<TxnReply> {
  return row.reply.includes(IN_FLIGHT) ? rollForward(deps, row) : replyOf(row);
}

function duplicate(row: TxnRow, intent: PaymentIntent, nowUs: number): TxnReply {
  return makeReply({ id: row.id, clientId: intent.clientId, type: intent.type, status: 'declined', code: '94', amount: intent.amount, fee: 0, batchNo: intent.batch?.batch_no ?? null, traceNo: intent.traceNo, authCode: null, atUs: nowUs });
}

function rowOf(deps: PaymentsDeps, intent: PaymentIntent, id: string, reply: TxnReply, nowUs: number, risk: RiskDecision | null, held = false): TxnRow {
  return {
    id,
    type: intent.type,
    status: reply.status,
    response_code: reply.responseCode,
    client_scope: intent.scope,
    client_id: intent.clientId,
    request_hash: intent.requestHash,
    reply: JSON.stringify(reply),
    terminal_id: intent.terminalId,
    merchant_party_id: intent.merchantPartyId,
    org_id: intent.orgId,
    batch_id: intent.batch?.id ?? null,
    operator_id: intent.operatorId ?? null,
    card_id: null,
    card_last4: null,
    account_id: intent.accountId,
    counter_account_id: intent.counterAccountId,
    amount: intent.amount,
    fee: reply.fee,
    refunded_amount: 0,
    refunded_fee: 0,
    original_id: null,
    trace_no: intent.traceNo,
    auth_code: reply.authCode,
    pending_transfer_id: held ? `${id}:hold` : null,
    hold_expires_at: held ? nowUs + HOLD_SECONDS * 1_000_000 : null,
    risk: risk && (risk.hits.length > 0 || risk.outcome !== 'approve') ? JSON.stringify(risk) : null,
    business_date: businessDate(nowUs, deps.cutoffMinutes),
    settlement_id: null,
    created_at: nowUs,
    updated_at: nowUs,
  };
}

/**
 * Pays a QR sale or a transfer exactly once per (scope, client id): the same request again
 * answers the first reply; other fields under the same client id answer '94' and change nothing.
 * A risk rule asking for review holds it as a card sale is held: the payer's funds reserved by a
 * pending transfer, status 'held' ('09'), in the review queue (risk-reviews.ts); a dynamic
 * order stays claimed by it until the reviewer decides (a decline or a lapsed hold reopens it).
 */
export async function commitPayment(deps: PaymentsDeps, intent: PaymentIntent): Promise<TxnReply> {
  const db = deps.db as Db;
  const existing = await findTxn(db, intent.scope, intent.clientId);
  if (existing) return existing.request_hash === intent.requestHash ? settledReply(deps, existing) : duplicate(existing, intent, deps.now());

  const decision: RiskDecision = intent.decline ? { outcome: 'decline', code: intent.decline, hits: [] } : await deps.risk.assess(intent.risk);
  const id = newId();
  const nowUs = deps.now();
  const base = { id, clientId: intent.clientId, type: intent.type, amount: intent.amount, batchNo: intent.batch?.batch_no ?? null, traceNo: intent.traceNo, atUs: nowUs };
  const declined = (code: ResponseCode): TxnReply => makeReply({ ...base, status: 'declined', code, fee: 0, authCode: null });

  let first: TxnReply | null = null;
  const outcome = await db.transaction().execute(async (trx) => {
    const riskCode = decision.outcome === 'decline' ? decision.code : null;
    const placeholder = riskCode ? declined(riskCode) : { ...declined('96'), fee: intent.fee, inFlight: true };
    const inserted = await trx
      .insertInto('pay_transactions')
      .values(rowOf(deps, intent, id, placeholder, nowUs, decision, decision.outcome === 'review'))
      .onConflict((oc) => oc.columns(['client_scope', 'client_id']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) return 'raced' as const;
    if (riskCode) {
      first = placeholder;
      return 'final' as const;
    }
    // The counting limits again, this row counted (as a card sale's claim does): of concurrent
    // payments against "at most K", K pass. Before the order's claim, so a decline leaves it open.
    const over = deps.risk.confirm ? await deps.risk.confirm(trx, intent.risk, decision) : null;
    let risk: string | undefined;
    if (over) risk = JSON.stringify({ outcome: 'decline', code: over.code, hits: [...decision.hits, over.hit] } satisfies RiskDecision);
    const claimCode = over ? over.code : intent.claim ? await intent.claim(trx, id) : null;
    if (claimCode) {
      first = declined(claimCode);
      await trx
        .updateTable('pay_transactions')
        .set({ response_code: claimCode, reply: JSON.stringify(first), fee: 0, pending_transfer_id: null, hold_expires_at: null, ...(risk ? { risk } : {}) })
        .where('id', '=', id)
        .execute();
      return 'final' as const;
    }
    return 'in_flight' as const;
  });

  if (outcome === 'raced') {
    // A concurrent request with the same client id wrote first: answer as a retry would be.
    const row = (await findTxn(db, intent.scope, intent.clientId))!;
    return row.request_hash === intent.requestHash ? settledReply(deps, row) : duplicate(row, intent, deps.now());
  }
  if (outcome === 'final') return first!;
  const row = await db.selectFrom('pay_transactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const reply = await rollForward(deps, row);
  if (reply.approved) deps.risk.record(intent.risk);
  return reply;
}
