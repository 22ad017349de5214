/**
 * The terminal transaction engine: sale, balance inquiry, void, refund, pre-authorisation and its
 * void, completion and its void, and reversal, each exactly once per (terminal, client id).
 *
 * Order of a money-moving request, chosen so that a crash loses nothing acknowledged and never
 * counts twice (docs in report-engine / ARCHITECTURE):
 *  1. reads and checks (merchant, card, PIN, limits, risk) — nothing that moves money;
 *  2. the claim: ONE database transaction inserts the row in flight (`reply = ''`, no auth code)
 *     under the unique (client_scope, client_id) and applies the row's side effects (the card's
 *     daily usage, the original's new state). A second identical request meets the row;
 *  3. ONE ledger call with the row's transfers (ids derive from the row id: idempotent);
 *  4. the finalising update (`where reply = ''`): approved with an auth code, or declined with the
 *     claim's side effects undone in the same database transaction.
 * Nothing is acknowledged before step 4 commits. A crash between 2 and 4 leaves an in-flight row
 * that the next request touching it (a retry, a reversal, a status query) settles by repeating 3
 * and 4 — the ledger answers `exists` or the same recorded refusal, so it never counts twice.
 */
import { sql, type Kysely } from 'kysely';
import { keyHandleFromBlob, type KeyHandle, type PinBlockFormat, type PinKeyRef } from '../crypto/index.js';
import { prepared } from '../platform/db/prepared.js';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { TerminalPrincipal } from '../terminals/contracts.js';
import { type BatchRow, openBatch } from './batches.js';
import { PAN_PURPOSE, cardProblem, findCardByPan, verifyCardPin, type CardRow } from './card-access.js';
import {
  COMPLETION_MAX_PERCENT,
  RESPONSE_CODES,
  businessDate,
  feeFor,
  refundFee,
  type OffUsRequest,
  type ResponseCode,
  type RiskContext,
  type RiskDecision,
  type TxnReply,
  type TxnType,
} from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { HOLD_SECONDS, batchNoOf, offUsDeclineCode, settle, settleInFlight, settleOffUs } from './engine-ledger.js';
import { SWITCH_CLEARING, isOffUs, withAdvice } from './engine-offus.js';
import { CLAIMS_ORDERED, claimWrite, onDisk, write } from './engine-writer.js';
import { reopenQrOrders } from './engine-held.js';
import { VOID_TYPES, isOffUsVoid, recordVoidException } from './engine-void-reversal.js';
import { holdRefundedSale, refundReversalsInFlight } from './engine-refund-reversal.js';
import {
  IN_FLIGHT,
  REVERSED_BEFORE_ARRIVAL,
  duplicateReply,
  findByClient,
  findById,
  insertTxn,
  newAuthCode,
  replyOf,
  requestHash,
  toTxnRow,
  type EngineDb,
  type TxnRow,
} from './engine-rows.js';
import { loadMerchant, type LoadedMerchant } from './merchants.js';

/** Who sends a terminal request: the MAC-verified terminal, its signed-on operator and the request's sequence number. */
export interface TerminalRequest {
  terminal: TerminalPrincipal;
  /** The terminal operator; null for a staff action (reconciliation's reversal). */
  operatorId: string | null;
  /** The protocol sequence number: the transaction's trace number (null outside the terminal protocol). */
  seq: number | null;
  /**
   * The key and format of the request's PIN block when it is not the JSON session's format-4 PIN
   * key (a conventional POS: format 0 under its TPK, or DUKPT).
   */
  pin?: { key: PinKeyRef; format: PinBlockFormat } | undefined;
  /** The terminal's ISO 8583 terminal and merchant numbers (fields 41/42), for the card switch. */
  refs?: { terminal: string; merchant: string } | undefined;
}

export interface CardInput {
  pan: string;
  expiry: string;
}

type Trx = EngineDb;
/** A claim's side effect: null when done, a response code to decline instead, 'retry' to decide again. */
type ClaimEffect = (trx: Trx, row: TxnRow) => Promise<ResponseCode | 'retry' | null>;

type Decision =
  | { final: ResponseCode; patch?: Partial<TxnRow>; balance?: number }
  | { proceed: Partial<TxnRow>; claim?: ClaimEffect; risk?: RiskContext; offUs?: Omit<OffUsRequest, 'txnId' | 'at'> };

class Declined extends Error {
  constructor(readonly code: ResponseCode | 'retry' | 'batch_closed') {
    super(code);
  }
}

const db = (deps: PaymentsDeps): EngineDb => deps.db as EngineDb;

// The claim's batch check, built once (platform/db/prepared.ts): on PostgreSQL it holds the batch
// open (a share lock) and, for an ordered claim, sets the transaction's `synchronous_commit = off`.
const batchStatus = prepared<{ id: string }, { status: string }>((d, p) => (d as EngineDb).selectFrom('pay_batches').select('status').where('id', '=', p.id));
const batchStatusPg = prepared<{ id: string }, { status: string }>((d, p) => (d as EngineDb).selectFrom('pay_batches').select('status').where('id', '=', p.id).forShare());
const batchStatusPgOrdered = prepared<{ id: string }, { status: string }>((d, p) =>
  (d as EngineDb)
    .selectFrom('pay_batches')
    .select(['status', sql<string>`set_config('synchronous_commit', 'off', true)`.as('sync')])
    .where('id', '=', p.id)
    .forShare(),
);

// ─── Small caches: the session's PIN key (immutable per session) ────────────────────────────────

const pinKeys = new Map<string, KeyHandle>();

async function sessionPinKey(deps: PaymentsDeps, sessionId: string): Promise<KeyHandle | undefined> {
  const cached = pinKeys.get(sessionId);
  if (cached) return cached;
  const s = await db(deps).selectFrom('terminal_sessions').select('pin_key').where('id', '=', sessionId).executeTakeFirst();
  if (!s) return undefined;
  const handle = keyHandleFromBlob(s.pin_key);
  if (pinKeys.size > 10_000) pinKeys.clear();
  pinKeys.set(sessionId, handle);
  return handle;
}

// ─── The common path ────────────────────────────────────────────────────────────────────────────

/** The answer to a request whose client id is already taken. */
async function answerExisting(deps: PaymentsDeps, existing: TxnRow, type: TxnType, hash: string): Promise<TxnReply> {
  if (existing.request_hash === REVERSED_BEFORE_ARRIVAL) {
    // The terminal reversed this client id before the original arrived: the late original is refused.
    return { ...(JSON.parse(existing.reply) as TxnReply), type };
  }
  if (existing.request_hash !== hash || existing.type !== type) return duplicateReply(existing, type, existing.client_id, deps.now());
  const row = existing.reply === IN_FLIGHT ? await settleInFlight(deps, existing) : existing;
  // The stored answer may have been committed a moment ago by another request, its sync still running.
  await onDisk(deps);
  return JSON.parse(row.reply) as TxnReply;
}

function baseRow(deps: PaymentsDeps, req: TerminalRequest, type: TxnType, clientId: string, hash: string, batch: BatchRow, nowUs: number): TxnRow {
  return {
    id: newId(),
    type,
    status: 'declined',
    response_code: '96',
    client_scope: req.terminal.terminal_id,
    client_id: clientId,
    request_hash: hash,
    reply: IN_FLIGHT,
    terminal_id: req.terminal.terminal_id,
    merchant_party_id: req.terminal.owner_party_id,
    org_id: req.terminal.org_id,
    batch_id: batch.id,
    operator_id: req.operatorId,
    card_id: null,
    card_last4: null,
    account_id: null,
    counter_account_id: null,
    amount: 0,
    fee: 0,
    refunded_amount: 0,
    refunded_fee: 0,
    original_id: null,
    trace_no: req.seq,
    auth_code: null,
    pending_transfer_id: null,
    hold_expires_at: null,
    risk: null,
    business_date: businessDate(nowUs, deps.cutoffMinutes),
    settlement_id: null,
    created_at: nowUs,
    updated_at: nowUs,
  };
}

/** Inserts a row that is final already (a decline, a balance inquiry, an acknowledged reversal). */
async function insertFinal(deps: PaymentsDeps, row: TxnRow, batchNo: number, extra: { balance?: number } = {}): Promise<TxnReply | TxnRow> {
  const reply = replyOf(row, batchNo, extra);
  try {
    await write(deps, (trx) => insertTxn(trx, { ...row, reply: JSON.stringify(reply) }));
    return reply;
  } catch (error) {
    const existing = await findByClient(db(deps), row.client_scope, row.client_id);
    if (existing) return existing;
    throw error;
  }
}

/**
 * Runs one terminal transaction request: the stored answer for a known client id, else the
 * checks (`decide`), the claim, the ledger call and the final state.
 */
async function run(
  deps: PaymentsDeps,
  req: TerminalRequest,
  type: TxnType,
  clientId: string,
  fields: readonly unknown[],
  decide: (base: TxnRow, merchant: LoadedMerchant, batch: BatchRow) => Promise<Decision>,
): Promise<TxnReply> {
  const hash = requestHash(type, fields);
  const d = db(deps);
  const nowUs = deps.now();
  // Three independent reads at once (on PostgreSQL three round trips in parallel instead of in turn).
  const [known, opened, merchant] = await Promise.all([
    findByClient(d, req.terminal.terminal_id, clientId),
    openBatch(d, req.terminal.terminal_id, nowUs),
    loadMerchant(d as Kysely<unknown>, req.terminal.owner_party_id),
  ]);
  if (known) return answerExisting(deps, known, type, hash);
  let batch = opened;
  for (let attempt = 0; ; attempt++) {
    const base = baseRow(deps, req, type, clientId, hash, batch, nowUs);
    // A reversal undoes what was done: it is processed even for a merchant suspended meanwhile.
    if (!merchant || (merchant.status !== 'active' && type !== 'reversal')) {
      const out = await insertFinal(deps, { ...base, response_code: '03' }, batch.batch_no);
      return 'clientId' in out ? out : answerExisting(deps, out, type, hash);
    }
    const decision = await decide(base, merchant, batch);

    if ('final' in decision) {
      const row: TxnRow = { ...base, ...decision.patch, status: decision.final === '00' ? 'approved' : 'declined', response_code: decision.final };
      if (decision.final === '00') row.auth_code = newAuthCode();
      const out = await insertFinal(deps, row, batch.batch_no, decision.balance === undefined ? {} : { balance: decision.balance });
      return 'clientId' in out ? out : answerExisting(deps, out, type, hash);
    }

    const row: TxnRow = { ...base, ...decision.proceed };
    try {
      // Ordered, not yet durable: what follows (the ledger's commit, the final update) makes it so (engine-writer.ts).
      await claimWrite(deps, async (trx) => {
        // The batch may have been closed since it was read: then this belongs in the next one.
        if (row.batch_id !== null) {
          const open = await (deps.database.dialect === 'postgres' ? (CLAIMS_ORDERED ? batchStatusPgOrdered : batchStatusPg) : batchStatus).first(trx, { id: row.batch_id });
          if (open?.status !== 'open') throw new Declined('batch_closed');
        }
        await insertTxn(trx, row);
        const refused = decision.claim ? await decision.claim(trx, row) : null;
        if (refused) throw new Declined(refused);
      });
    } catch (error) {
      if (error instanceof Declined) {
        if (error.code === 'batch_closed' && attempt < 5) {
          batch = await openBatch(d, req.terminal.terminal_id, nowUs);
          continue;
        }
        if (error.code === 'retry' && attempt < 5) continue;
        const code: ResponseCode = error.code === 'retry' || error.code === 'batch_closed' ? '96' : error.code;
        const out = await insertFinal(deps, { ...row, pending_transfer_id: null, hold_expires_at: null, response_code: code }, batch.batch_no);
        return 'clientId' in out ? out : answerExisting(deps, out, type, hash);
      }
      const existing = await findByClient(d, req.terminal.terminal_id, clientId);
      if (existing) return answerExisting(deps, existing, type, hash);
      throw error;
    }
    const risk = decision.risk;
    const options = { batchNo: batch.batch_no, merchant, ...(risk ? { onApproved: () => deps.risk.record(risk) } : {}) };
    if (decision.offUs) {
      // Another bank's card: the switch decides; the claim is in place, so a crash from here is recovered, never re-sent.
      const answer = deps.offUs ? await deps.offUs.authorize({ ...decision.offUs, txnId: row.id, at: row.created_at }) : ({ outcome: 'unavailable' } as const);
      const done = await settleOffUs(deps, row, answer, options);
      return JSON.parse(done.reply) as TxnReply;
    }
    const final = await settle(deps, row, options);
    return JSON.parse(final.reply) as TxnReply;
  }
}

// ─── Cards ──────────────────────────────────────────────────────────────────────────────────────

/** Off-us '91'; the card's state; the terminal's expiry; the PIN (required for every card transaction of the bank's own cards). */
async function checkCard(deps: PaymentsDeps, req: TerminalRequest, input: CardInput, pinBlock: string | undefined): Promise<{ code?: ResponseCode; card?: CardRow }> {
  const card = await findCardByPan(db(deps) as Kysely<unknown>, deps.secrets, input.pan);
  if (!card) return { code: '91' };
  const problem = cardProblem(card, deps.now());
  if (problem) return { code: problem, card };
  if (input.expiry !== card.expiry) return { code: '14', card };
  if (!pinBlock) return { code: '55', card };
  const key = req.pin?.key ?? (await sessionPinKey(deps, req.terminal.session_id));
  if (!key) return { code: '96', card };
  const pin = await verifyCardPin(deps, card, Buffer.from(pinBlock, 'hex'), key, req.pin?.format ?? 4, input.pan);
  if (pin === 'locked') return { code: '75', card };
  if (pin === 'wrong') return { code: '55', card };
  return { card };
}

const cardPatch = (card: CardRow | undefined): Partial<TxnRow> => (card ? { card_id: card.id, card_last4: card.last4, account_id: card.account_id } : {});

/** Reserves the amount in the card's daily usage, or answers '61' when the daily limit would be passed. */
function reserveUsage(card: CardRow): ClaimEffect {
  return async (trx, row) => {
    const reserved = await usageReservation.affected(trx, { cardId: card.id, date: row.business_date, amount: row.amount, limit: card.daily_limit });
    return reserved === 1 ? null : '61';
  };
}

const usageReservation = prepared<{ cardId: string; date: string; amount: number; limit: number }, never>(
  (_db, p) => sql<never>`
      insert into pay_card_usage (card_id, business_date, amount, count) values (${p.cardId}, ${p.date}, ${p.amount}, 1)
      on conflict (card_id, business_date) do update set amount = pay_card_usage.amount + excluded.amount, count = pay_card_usage.count + 1
      where pay_card_usage.amount + excluded.amount <= ${p.limit}`,
);

/**
 * The risk limits (velocity, daily totals) checked again inside the claim, where requests in
 * flight count each other (`RiskEngine.confirm`), then `then`. A limit now passed declines the
 * request with the rule's code, and the row's `risk` names the rule. With `usage` (the card's
 * daily-limit reservation) the reservation comes first: on PostgreSQL its row lock is the one that
 * serialises the card's claims for the recheck, so the recheck needs no lock of its own for the card.
 */
function withinLimits(deps: PaymentsDeps, ctx: RiskContext, decision: RiskDecision, then?: ClaimEffect, usage?: ClaimEffect): ClaimEffect {
  const risk = deps.risk;
  if (!risk.confirm) {
    if (!usage) return then ?? (async () => null);
    return async (trx, row) => (await usage(trx, row)) ?? (then ? then(trx, row) : null);
  }
  return async (trx, row) => {
    if (usage) {
      const refused = await usage(trx, row);
      if (refused) return refused;
    }
    const over = await risk.confirm!(trx, ctx, decision, { cardUsage: usage !== undefined });
    if (over) {
      row.risk = JSON.stringify({ outcome: 'decline', code: over.code, hits: [...decision.hits, over.hit] } satisfies RiskDecision);
      return over.code;
    }
    return then ? then(trx, row) : null;
  };
}

function riskContext(row: TxnRow, lat?: number, lng?: number): RiskContext {
  return {
    type: row.type,
    amount: row.amount,
    at: row.created_at,
    org_id: row.org_id,
    merchant_party_id: row.merchant_party_id,
    terminal_id: row.terminal_id,
    card_id: row.card_id,
    account_id: row.account_id,
    ...(lat !== undefined && lng !== undefined ? { lat_e6: Math.round(lat * 1e6), lng_e6: Math.round(lng * 1e6) } : {}),
  };
}

/** Card, PIN, per-transaction limit and risk for sale and pre-auth; the claim reserves the daily limit. */
async function cardPayment(
  deps: PaymentsDeps,
  req: TerminalRequest,
  base: TxnRow,
  input: { amount: number; card: CardInput; pinBlock?: string | undefined; lat?: number | undefined; lng?: number | undefined },
  shape: (row: TxnRow, decision: RiskDecision) => Partial<TxnRow> | ResponseCode,
  offUs?: { kind: 'sale'; merchant: LoadedMerchant },
): Promise<Decision> {
  const checked = await checkCard(deps, req, input.card, input.pinBlock);
  if (!checked.card && checked.code === '91' && deps.offUs) {
    return offUs ? offUsPayment(deps, req, base, input, offUs.merchant, shape) : { final: '58', patch: { card_last4: input.card.pan.slice(-4), amount: input.amount } };
  }
  const patch = { card_last4: input.card.pan.slice(-4), ...cardPatch(checked.card), amount: input.amount };
  if (checked.code || !checked.card) return { final: checked.code ?? '96', patch };
  const card = checked.card;
  if (input.amount > card.per_txn_limit || input.amount > card.daily_limit) return { final: '61', patch };
  const row = { ...base, ...patch };
  const ctx = riskContext(row, input.lat, input.lng);
  const decision = await deps.risk.assess(ctx);
  const riskJson = decision.hits.length > 0 || decision.outcome !== 'approve' ? JSON.stringify(decision) : null;
  if (decision.outcome === 'decline') return { final: decision.code, patch: { ...patch, risk: riskJson } };
  const shaped = shape(row, decision);
  if (typeof shaped === 'string') return { final: shaped, patch: { ...patch, risk: riskJson } };
  return { proceed: { ...patch, ...shaped, risk: riskJson }, claim: withinLimits(deps, ctx, decision, undefined, reserveUsage(card)), risk: ctx };
}

/** The PIN block of a request as the switch link needs it (it translates it to the zone PIN key). */
async function offUsPin(deps: PaymentsDeps, req: TerminalRequest, pinBlock: string | undefined): Promise<OffUsRequest['pin']> {
  if (!pinBlock) return undefined;
  const key = req.pin?.key ?? (await sessionPinKey(deps, req.terminal.session_id));
  return key ? { block: Buffer.from(pinBlock, 'hex'), key, format: req.pin?.format ?? 4 } : undefined;
}

/** What the switch is asked, for a sale or a balance inquiry (the claim's id and time are added at the call). */
async function offUsRequest(
  deps: PaymentsDeps,
  req: TerminalRequest,
  kind: OffUsRequest['kind'],
  input: { amount: number; card: CardInput; pinBlock?: string | undefined },
  merchant: LoadedMerchant,
): Promise<Omit<OffUsRequest, 'txnId' | 'at'>> {
  return {
    kind,
    pan: input.card.pan,
    expiry: input.card.expiry,
    amount: input.amount,
    pin: await offUsPin(deps, req, input.pinBlock),
    terminalId: req.terminal.terminal_id,
    merchantPartyId: req.terminal.owner_party_id,
    terminalRef: req.refs?.terminal,
    merchantRef: req.refs?.merchant,
    mcc: merchant.mcc,
  };
}

/**
 * A sale with another bank's card: our risk rules still run (on the merchant and terminal: we
 * know no card or account of it), a review outcome declines ('59': the switch's approval cannot
 * wait for a reviewer), and the claim goes to the switch for authorisation.
 */
async function offUsPayment(
  deps: PaymentsDeps,
  req: TerminalRequest,
  base: TxnRow,
  input: { amount: number; card: CardInput; pinBlock?: string | undefined; lat?: number | undefined; lng?: number | undefined },
  merchant: LoadedMerchant,
  shape: (row: TxnRow, decision: RiskDecision) => Partial<TxnRow> | ResponseCode,
): Promise<Decision> {
  const patch: Partial<TxnRow> = { card_last4: input.card.pan.slice(-4), account_id: SWITCH_CLEARING, amount: input.amount };
  const row = { ...base, ...patch };
  const ctx = { ...riskContext(row, input.lat, input.lng), account_id: null };
  const decision = await deps.risk.assess(ctx);
  const riskJson = decision.hits.length > 0 || decision.outcome !== 'approve' ? JSON.stringify(decision) : null;
  if (decision.outcome !== 'approve') return { final: decision.outcome === 'decline' ? decision.code : '59', patch: { ...patch, risk: riskJson } };
  const shaped = shape(row, decision);
  if (typeof shaped === 'string') return { final: shaped, patch: { ...patch, risk: riskJson } };
  return {
    proceed: { ...patch, ...shaped, risk: riskJson },
    claim: withinLimits(deps, ctx, decision),
    risk: ctx,
    offUs: await offUsRequest(deps, req, 'sale', input, merchant),
  };
}

/**
 * The card number as it enters the request hash: its keyed blind index, never the PAN (a plain
 * hash of a PAN is easy to reverse). The PIN block (random fill in format 4) and the position are
 * not part of the request: a retry with the PIN entered again is the same request.
 */
const panKey = (deps: PaymentsDeps, pan: string): string => deps.secrets.blindIndex(PAN_PURPOSE, pan);

// ─── The transaction set ────────────────────────────────────────────────────────────────────────

export interface SaleInput {
  clientId: string;
  amount: number;
  card: CardInput;
  pinBlock?: string | undefined;
  lat?: number | undefined;
  lng?: number | undefined;
}

export function sale(deps: PaymentsDeps, req: TerminalRequest, input: SaleInput): Promise<TxnReply> {
  const fields = [input.amount, panKey(deps, input.card.pan), input.card.expiry];
  return run(deps, req, 'sale', input.clientId, fields, (base, merchant) =>
    cardPayment(deps, req, base, input, (row, decision) => {
      const fee = feeFor(merchant.fee_plan, row.amount);
      if (decision.outcome === 'review') return { fee, pending_transfer_id: `${row.id}:hold`, hold_expires_at: row.created_at + HOLD_SECONDS * 1_000_000 };
      return { fee };
    }, { kind: 'sale', merchant }),
  );
}

export function preauth(deps: PaymentsDeps, req: TerminalRequest, input: SaleInput): Promise<TxnReply> {
  const fields = [input.amount, panKey(deps, input.card.pan), input.card.expiry];
  return run(deps, req, 'preauth', input.clientId, fields, (base) =>
    cardPayment(deps, req, base, input, (row, decision) => {
      // A pre-auth is a hold already: a rule asking for review declines it (the cashier may try a sale).
      if (decision.outcome === 'review') return '59';
      return { pending_transfer_id: `${row.id}:hold`, hold_expires_at: row.created_at + HOLD_SECONDS * 1_000_000 };
    }),
  );
}

/** Balance inquiry: card and PIN; the available balance (posted credits − posted and pending debits). */
export function balance(deps: PaymentsDeps, req: TerminalRequest, input: { clientId: string; card: CardInput; pinBlock: string }): Promise<TxnReply> {
  const fields = [panKey(deps, input.card.pan), input.card.expiry];
  return run(deps, req, 'balance', input.clientId, fields, async (base, merchant) => {
    const checked = await checkCard(deps, req, input.card, input.pinBlock);
    if (!checked.card && checked.code === '91' && deps.offUs) {
      // Moves nothing: asked of the switch directly, nothing to reverse if the answer is lost.
      const ask = await offUsRequest(deps, req, 'balance', { ...input, amount: 0 }, merchant);
      const answer = await deps.offUs.authorize({ ...ask, txnId: base.id, at: base.created_at });
      const patch = { card_last4: input.card.pan.slice(-4), account_id: SWITCH_CLEARING };
      if (answer.outcome === 'answered' && answer.code === '00') return { final: '00', patch, ...(answer.balance === undefined ? {} : { balance: answer.balance }) };
      return { final: offUsDeclineCode(answer), patch };
    }
    const patch = cardPatch(checked.card);
    if (checked.code || !checked.card) return { final: checked.code ?? '96', patch };
    const [account] = await deps.ledger.lookupAccounts([checked.card.account_id]);
    if (!account) return { final: '96', patch };
    return { final: '00', patch, balance: account.credits_posted - account.debits_posted - account.debits_pending };
  });
}

/** The original a void/refund/completion names, settled if it was in flight, its hold's expiry applied. */
async function loadOriginal(deps: PaymentsDeps, originalId: string): Promise<TxnRow | undefined> {
  const found = await findById(db(deps), originalId);
  if (!found) return undefined;
  return refreshExpiry(deps, await settleInFlight(deps, found));
}

/** Holds past their expiry show 'expired' (the ledger's sweep voids the pending transfer). */
export async function refreshExpiry(deps: PaymentsDeps, row: TxnRow): Promise<TxnRow> {
  const holding = (row.type === 'preauth' && row.status === 'approved') || (row.status === 'held' && row.pending_transfer_id !== null);
  if (!holding || row.hold_expires_at === null || row.hold_expires_at > deps.now()) return row;
  const now = deps.now();
  await db(deps)
    .transaction()
    .execute(async (trx) => {
      const lapsed = await trx.updateTable('pay_transactions').set({ status: 'expired', updated_at: now }).where('id', '=', row.id).where('status', '=', row.status).executeTakeFirst();
      if (row.type === 'qr_sale' && Number(lapsed.numUpdatedRows) === 1) await reopenQrOrders(trx, [row.id], now);
    });
  return { ...row, status: 'expired', updated_at: now };
}

/** Moves the original from one state to another inside the claim, or declines with `code`. */
function transition(originalId: string, from: TxnRow['status'], to: TxnRow['status'], code: ResponseCode | 'retry', refunded: number | null = null): ClaimEffect {
  return async (trx, row) => {
    let q = trx.updateTable('pay_transactions').set({ status: to, updated_at: row.created_at }).where('id', '=', originalId).where('status', '=', from);
    if (refunded !== null) q = q.where('refunded_amount', '=', refunded);
    const done = await q.executeTakeFirst();
    return Number(done.numUpdatedRows) === 1 ? null : code;
  };
}

/** Did the original reserve the card's daily usage (sales and pre-auths made with a card)? */
export const reservedUsage = (o: Pick<TxnRow, 'type' | 'card_id'>): boolean => (o.type === 'sale' || o.type === 'preauth') && o.card_id !== null;

/**
 * The original's state change, and — for a sale or pre-auth that reserved the card's daily usage
 * — its amount given back, so a voided or reversed payment no longer counts against the limit.
 * (Refunds give nothing back: the daily limit bounds what a card spends, and a refund is not
 * a cancelled spend.) The finalising step adds it again if the ledger refuses the undoing.
 */
function undoing(o: TxnRow, move: ClaimEffect): ClaimEffect {
  if (!reservedUsage(o)) return move;
  return async (trx, row) => {
    const refused = await move(trx, row);
    if (refused) return refused;
    await trx
      .updateTable('pay_card_usage')
      .set((eb) => ({ amount: eb('amount', '-', o.amount), count: eb('count', '-', 1) }))
      .where('card_id', '=', o.card_id!)
      .where('business_date', '=', o.business_date)
      .execute();
    return null;
  };
}

const fromOriginal = (o: TxnRow): Partial<TxnRow> => ({ original_id: o.id, card_id: o.card_id, card_last4: o.card_last4, account_id: o.account_id });

/** Sale void (消费撤销): same terminal, same open batch, the full amount, an approved sale not refunded. */
export function voidSale(deps: PaymentsDeps, req: TerminalRequest, input: { clientId: string; originalId: string }): Promise<TxnReply> {
  return run(deps, req, 'void', input.clientId, [input.originalId], async (_base, _m, batch) => {
    const o = await loadOriginal(deps, input.originalId);
    if (!o || o.terminal_id !== req.terminal.terminal_id || (o.type !== 'sale' && o.type !== 'qr_sale')) return { final: '25' };
    const patch = { ...fromOriginal(o), amount: o.amount, fee: o.fee };
    if (o.batch_id !== batch.id) return { final: '77', patch };
    if (o.status !== 'approved' || o.refunded_amount > 0 || o.auth_code === null) return { final: '22', patch };
    return { proceed: patch, claim: withAdvice(deps, o, undoing(o, transition(o.id, 'approved', 'voided', '22', 0))) };
  });
}

/** Refund (退货): partial and repeated, total ≤ the original, any later day, sales/completions/QR sales of this merchant. */
export function refund(deps: PaymentsDeps, req: TerminalRequest, input: { clientId: string; originalId: string; amount: number }): Promise<TxnReply> {
  return run(deps, req, 'refund', input.clientId, [input.originalId, input.amount], async () => {
    const o = await loadOriginal(deps, input.originalId);
    if (!o || o.merchant_party_id !== req.terminal.owner_party_id || !['sale', 'completion', 'qr_sale'].includes(o.type)) return { final: '25' };
    const fee = refundFee(o, input.amount);
    const patch = { ...fromOriginal(o), amount: input.amount, fee };
    if (o.auth_code === null || (o.status !== 'approved' && o.status !== 'refunded')) return { final: '22', patch };
    if (o.refunded_amount + input.amount > o.amount) return { final: '64', patch };
    const full = o.refunded_amount + input.amount === o.amount;
    return {
      proceed: patch,
      // Optimistic: the original must still have the refunded total read above, else decide again.
      claim: withAdvice(deps, o, async (trx, row) => {
        const done = await trx
          .updateTable('pay_transactions')
          .set({ refunded_amount: o.refunded_amount + input.amount, refunded_fee: o.refunded_fee + fee, status: full ? 'refunded' : 'approved', updated_at: row.created_at })
          .where('id', '=', o.id)
          .where('status', '=', 'approved')
          .where('refunded_amount', '=', o.refunded_amount)
          .executeTakeFirst();
        return Number(done.numUpdatedRows) === 1 ? null : 'retry';
      }),
    };
  });
}

/** Pre-auth void: an approved, unexpired, uncompleted pre-auth of this merchant; the hold is released. */
export function preauthVoid(deps: PaymentsDeps, req: TerminalRequest, input: { clientId: string; originalId: string }): Promise<TxnReply> {
  return run(deps, req, 'preauth_void', input.clientId, [input.originalId], async () => {
    const o = await loadOriginal(deps, input.originalId);
    if (!o || o.merchant_party_id !== req.terminal.owner_party_id || o.type !== 'preauth') return { final: '25' };
    const patch = { ...fromOriginal(o), amount: o.amount };
    if (o.status !== 'approved' || o.pending_transfer_id === null) return { final: '22', patch };
    return { proceed: patch, claim: undoing(o, transition(o.id, 'approved', 'voided', '22')) };
  });
}

/**
 * Completion: up to COMPLETION_MAX_PERCENT of the hold ('61' above), once ('22' after), before the
 * hold expires ('22'); the fee is on the completed amount.
 */
export function completion(deps: PaymentsDeps, req: TerminalRequest, input: { clientId: string; originalId: string; amount: number }): Promise<TxnReply> {
  return run(deps, req, 'completion', input.clientId, [input.originalId, input.amount], async (base, merchant) => {
    const o = await loadOriginal(deps, input.originalId);
    if (!o || o.merchant_party_id !== req.terminal.owner_party_id || o.type !== 'preauth') return { final: '25' };
    const fee = feeFor(merchant.fee_plan, input.amount);
    const patch = { ...fromOriginal(o), amount: input.amount, fee };
    if (o.status !== 'approved' || o.pending_transfer_id === null) return { final: '22', patch };
    if (BigInt(input.amount) * 100n > BigInt(o.amount) * BigInt(COMPLETION_MAX_PERCENT)) return { final: '61', patch };
    const ctx = riskContext({ ...base, ...patch });
    const decision = await deps.risk.assess(ctx);
    const riskJson = decision.hits.length > 0 || decision.outcome !== 'approve' ? JSON.stringify(decision) : null;
    if (decision.outcome !== 'approve') return { final: decision.outcome === 'decline' ? decision.code : '59', patch: { ...patch, risk: riskJson } };
    return { proceed: { ...patch, risk: riskJson }, claim: withinLimits(deps, ctx, decision, transition(o.id, 'approved', 'completed', '22')), risk: ctx };
  });
}

/**
 * Completion void: like a sale void (same terminal, same open batch, full amount). The pre-auth's
 * hold stays consumed; the daily usage its pre-auth reserved is given back (nothing was spent).
 */
export function completionVoid(deps: PaymentsDeps, req: TerminalRequest, input: { clientId: string; originalId: string }): Promise<TxnReply> {
  return run(deps, req, 'completion_void', input.clientId, [input.originalId], async (_base, _m, batch) => {
    const o = await loadOriginal(deps, input.originalId);
    if (!o || o.terminal_id !== req.terminal.terminal_id || o.type !== 'completion') return { final: '25' };
    const patch = { ...fromOriginal(o), amount: o.amount, fee: o.fee };
    if (o.batch_id !== batch.id) return { final: '77', patch };
    if (o.status !== 'approved' || o.refunded_amount > 0 || o.auth_code === null) return { final: '22', patch };
    const preauth = o.original_id ? await findById(db(deps), o.original_id) : undefined;
    const move = transition(o.id, 'approved', 'voided', '22', 0);
    return { proceed: patch, claim: preauth ? undoing(preauth, move) : move };
  });
}

/**
 * Reversal (冲正): the terminal had no answer to `originalClientId`. Undoes the original if it had
 * an effect (a sale, completion or QR sale: the money goes back with the fee; a pre-auth or a held
 * sale: the hold is released; a void, pre-auth void or completion void: what it voided stands
 * again, see `reverseVoid`; a refund: the customer is charged it again, see `reverseRefund`);
 * acknowledges ('00') when there is nothing to undo; when the original has not arrived, stores it
 * as reversed so that a late original is refused. A reversal is not reversed ('12').
 */
export function reversal(deps: PaymentsDeps, req: TerminalRequest, input: { clientId: string; originalClientId: string }): Promise<TxnReply> {
  return run(deps, req, 'reversal', input.clientId, [input.originalClientId], async (base, _m, batch) => {
    const found = await findByClient(db(deps), req.terminal.terminal_id, input.originalClientId);
    if (!found) {
      // Not arrived (yet): store the original's client id as reversed, then acknowledge.
      const placeholder: TxnRow = { ...base, id: newId(), type: 'sale', client_id: input.originalClientId, request_hash: REVERSED_BEFORE_ARRIVAL, status: 'reversed', response_code: '22', trace_no: null };
      const placeholderReply = replyOf(placeholder, batch.batch_no);
      try {
        await db(deps).insertInto('pay_transactions').values({ ...placeholder, reply: JSON.stringify(placeholderReply) }).execute();
      } catch {
        // The original arrived meanwhile: decide again with it.
        const again = await findByClient(db(deps), req.terminal.terminal_id, input.originalClientId);
        if (!again) throw new Error('reversal placeholder refused');
        return reverseOf(deps, again);
      }
      return { final: '00', patch: { original_id: placeholder.id } };
    }
    return reverseOf(deps, found);
  });
}

async function reverseOf(deps: PaymentsDeps, found: TxnRow): Promise<Decision> {
  const o = await refreshExpiry(deps, await settleInFlight(deps, found));
  const patch: Partial<TxnRow> = { ...fromOriginal(o) };
  if (o.request_hash === REVERSED_BEFORE_ARRIVAL || o.status === 'declined' || o.status === 'reversed' || o.status === 'expired' || o.type === 'balance') {
    return { final: '00', patch };
  }
  if (o.type === 'sale' || o.type === 'qr_sale' || o.type === 'completion') {
    if (o.status === 'held') return { proceed: { ...patch, amount: o.amount }, claim: undoing(o, transition(o.id, 'held', 'reversed', 'retry')) };
    if (o.status === 'voided') return { final: '00', patch };
    if (o.status !== 'approved' && o.status !== 'refunded') return { final: '22', patch };
    // The switch reverses an off-us sale whole: one partly refunded there is for staff, not a reversal.
    if (isOffUs(o) && o.refunded_amount > 0) return { final: '22', patch };
    if (o.refunded_amount > 0) {
      // A reversal of one of its refunds still in flight changes the refunded total: settle it first.
      const pending = await refundReversalsInFlight(db(deps), o.id);
      if (pending.length > 0) {
        for (const id of pending) {
          const r = await findById(db(deps), id);
          if (r) await settleInFlight(deps, r);
        }
        return reverseOf(deps, (await findById(db(deps), o.id)) ?? o);
      }
    }
    const amount = o.amount - o.refunded_amount;
    const fee = o.fee - o.refunded_fee;
    const undo = undoing(o, transition(o.id, o.status, 'reversed', 'retry', o.refunded_amount));
    // One claimed since (it held the sale's row first): decide again, after it settled.
    const claim: ClaimEffect =
      o.refunded_amount > 0 ? async (trx, row) => (await undo(trx, row)) ?? ((await refundReversalsInFlight(trx, o.id)).length > 0 ? 'retry' : null) : undo;
    return { proceed: { ...patch, amount, fee }, claim: withAdvice(deps, o, claim) };
  }
  if (o.type === 'preauth') {
    if (o.status === 'voided') return { final: '00', patch };
    if (o.status !== 'approved') return { final: '22', patch };
    return { proceed: { ...patch, amount: o.amount }, claim: undoing(o, transition(o.id, 'approved', 'reversed', 'retry')) };
  }
  if (VOID_TYPES.includes(o.type)) return reverseVoid(deps, o, patch);
  if (o.type === 'refund') return reverseRefund(deps, o, patch);
  // A reversal: nothing a reversal may undo.
  return { final: '12', patch };
}

/**
 * Reversal of an approved refund (engine-refund-reversal.ts): the customer is charged the refunded
 * amount again and the merchant's receivable gets it back, less the fee the refund returned. The
 * claim holds the sale (still approved or refunded) and moves the refund to reversed (and recalls
 * an off-us refund's advice from the switch link's queue); settle posts and lowers the sale's
 * refunded total. Acknowledged with nothing undone ('00', amount 0, listed for staff) when the
 * sale was reversed or voided since, or an off-us refund's advice may have reached the switch.
 */
async function reverseRefund(deps: PaymentsDeps, f: TxnRow, patch: Partial<TxnRow>): Promise<Decision> {
  if (f.status !== 'approved' || !f.original_id) return { final: '00', patch };
  const o = await findById(db(deps), f.original_id);
  if (!o) return { final: '00', patch };
  if (o.status !== 'approved' && o.status !== 'refunded') {
    await recordVoidException(db(deps), 'refund_reversal_unposted', f, deps.now());
    return { final: '00', patch };
  }
  const move = transition(f.id, 'approved', 'reversed', 'retry');
  const hold: ClaimEffect = async (trx, row) => ((await holdRefundedSale(trx, o.id, row.created_at)) ? move(trx, row) : 'retry');
  const proceed: Partial<TxnRow> = { ...patch, amount: f.amount, fee: f.fee };
  if (!isOffUs(f)) return { proceed, claim: hold };
  return recallingAdvice(deps, f, 'refund_reversal_offus', { proceed, claim: hold }, patch);
}

/**
 * The undoing of an off-us void or refund whose advice still waits in the switch link's queue:
 * `claim`, then the advice recalled in the same transaction. One the switch may have heard of
 * already is acknowledged with nothing undone ('00') and listed for staff as `kind`.
 */
async function recallingAdvice(
  deps: PaymentsDeps,
  advised: TxnRow,
  kind: 'void_reversal_offus' | 'refund_reversal_offus',
  then: { proceed: Partial<TxnRow>; claim: ClaimEffect },
  patch: Partial<TxnRow>,
): Promise<Decision> {
  const offUs = deps.offUs;
  if (!offUs || !(await offUs.recallable(advised.id))) {
    await recordVoidException(db(deps), kind, advised, deps.now());
    return { final: '00', patch };
  }
  return {
    proceed: then.proceed,
    claim: async (trx, row) => {
      const refused = await then.claim(trx, row);
      if (refused) return refused;
      // The forwarder claimed it since we looked: decide again (then it is not recallable).
      return (await offUs.recall(trx, advised.id)) ? null : 'retry';
    },
  };
}

/**
 * Reversal of an approved void, pre-auth void or completion void (engine-void-reversal.ts): the
 * voided transaction stands again — charged again with its fee, or its hold restored until its
 * own expiry. The claim moves the void to reversed (and recalls an off-us void's advice from the
 * switch link's queue); settle posts and brings the voided transaction back. Acknowledged with
 * nothing undone ('00', amount 0) when the voided transaction cannot come back: a pre-auth whose
 * hold would have lapsed, or an off-us void the switch may have heard of (listed for staff).
 */
async function reverseVoid(deps: PaymentsDeps, v: TxnRow, patch: Partial<TxnRow>): Promise<Decision> {
  if (v.status !== 'approved' || !v.original_id) return { final: '00', patch };
  const o = await findById(db(deps), v.original_id);
  if (!o || o.status !== 'voided') return { final: '00', patch };
  const move = transition(v.id, 'approved', 'reversed', 'retry');
  if (v.type === 'preauth_void') {
    // A hold that would have lapsed by now is not restored (nor is one with less than a second left).
    if (o.hold_expires_at === null || o.hold_expires_at <= deps.now() + 1_000_000) return { final: '00', patch };
    return { proceed: { ...patch, amount: o.amount, fee: 0, hold_expires_at: o.hold_expires_at }, claim: move };
  }
  const proceed: Partial<TxnRow> = { ...patch, amount: o.amount, fee: o.fee };
  if (!isOffUsVoid(v)) return { proceed, claim: move };
  return recallingAdvice(deps, v, 'void_reversal_offus', { proceed, claim: move }, patch);
}

/**
 * Reverses a host transaction for staff (reconciliation's `reverse_host`: the terminal never
 * completed it). The same logic as a terminal reversal, under the original's terminal with the
 * client id `staff-reversal:<txn id>` — so doing it twice reverses once (after a declined attempt,
 * which did nothing, the next one is a new request: `staff-reversal:<txn id>:<n>`). Answers the reversal's
 * TxnReply ('00' also when there was nothing left to undo; '12' for types reversal does not undo).
 */
export async function reverseHostTransaction(deps: PaymentsDeps, txnId: string, actorId: string): Promise<TxnReply> {
  const o = await findById(db(deps), txnId);
  if (!o || !o.terminal_id || !o.merchant_party_id || o.request_hash === REVERSED_BEFORE_ARRIVAL) throw new XiaoweiError('payment_transaction_not_found');
  const req: TerminalRequest = {
    terminal: { terminal_id: o.terminal_id, serial: '', owner_party_id: o.merchant_party_id, org_id: o.org_id, group_ids: [], session_id: '', operator: null },
    operatorId: null,
    seq: null,
  };
  void actorId; // audited by the calling route
  // A staff reversal that was declined (no switch link then, say) did nothing: a later attempt is a new request.
  let clientId = `staff-reversal:${o.id}`;
  for (let attempt = 2; ; attempt++) {
    const prior = await findByClient(db(deps), o.terminal_id, clientId);
    if (!prior || prior.status !== 'declined' || prior.reply === IN_FLIGHT) break;
    clientId = `staff-reversal:${o.id}:${attempt}`;
  }
  return run(deps, req, 'reversal', clientId, [o.id], async () => {
    const fresh = await findById(db(deps), o.id);
    return reverseOf(deps, fresh ?? o);
  });
}

// ─── Reads for the terminal ─────────────────────────────────────────────────────────────────────

/** A transaction of this terminal, as its reply now stands (reprint; the outcome of a held one). */
export async function terminalTransaction(deps: PaymentsDeps, terminalId: string, id: string): Promise<TxnReply | undefined> {
  const found = await findById(db(deps), id);
  if (!found || found.terminal_id !== terminalId || found.request_hash === REVERSED_BEFORE_ARRIVAL) return undefined;
  const row = await refreshExpiry(deps, await settleInFlight(deps, found));
  await onDisk(deps);
  return replyOf(row, await batchNoOf(db(deps), row.batch_id));
}

/** A transaction of this terminal by its client id (ISO 8583 hosts name originals by batch and trace number). */
export async function transactionByClient(deps: PaymentsDeps, terminalId: string, clientId: string): Promise<TxnReply | undefined> {
  const found = await findByClient(db(deps), terminalId, clientId);
  if (!found || found.request_hash === REVERSED_BEFORE_ARRIVAL) return undefined;
  const row = await refreshExpiry(deps, await settleInFlight(deps, found));
  await onDisk(deps);
  return replyOf(row, await batchNoOf(db(deps), row.batch_id));
}

/** The transactions of a batch, oldest first, as replies. */
export async function batchTransactions(deps: PaymentsDeps, batch: BatchRow): Promise<TxnReply[]> {
  const rows = await db(deps)
    .selectFrom('pay_transactions')
    .selectAll()
    .where('batch_id', '=', batch.id)
    .where('request_hash', '!=', REVERSED_BEFORE_ARRIVAL)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const out: TxnReply[] = [];
  for (const r of rows) {
    const row = await refreshExpiry(deps, toTxnRow(r));
    out.push(replyOf(row, batch.batch_no));
  }
  return out;
}

/** Every response code, for documentation. */
export const ENGINE_RESPONSE_CODES = Object.keys(RESPONSE_CODES) as ResponseCode[];

// ─── Housekeeping ───────────────────────────────────────────────────────────────────────────────

/** A claim this old whose request has not finished is taken to have lost its process. */
export const STALE_IN_FLIGHT_US = 10_000_000;

/**
 * Settles in-flight rows older than STALE_IN_FLIGHT_US (their process died between the claim and
 * the final update: the ledger call is repeated, idempotently) and marks holds past their expiry
 * 'expired'. Run periodically by the engine's routes plugin; returns what it did.
 */
export async function sweepEngine(deps: PaymentsDeps, limit = 500): Promise<{ settled: number; expired: number }> {
  const d = db(deps);
  const now = deps.now();
  const stale = await d
    .selectFrom('pay_transactions')
    .selectAll()
    .where('status', '=', 'declined')
    .where('response_code', '=', '96')
    .where('reply', '=', IN_FLIGHT)
    .where('created_at', '<', now - STALE_IN_FLIGHT_US)
    .limit(limit)
    .execute();
  for (const r of stale) await settleInFlight(deps, toTxnRow(r));
  // Lapsed holds show 'expired'; a held QR payment's lapse also gives back the order it claimed —
  // only the rows this very update expired (a reviewer's decision may have won the race).
  const expired = await d.transaction().execute(async (trx) => {
    const lapsed = await trx
      .updateTable('pay_transactions')
      .set({ status: 'expired', updated_at: now })
      .where((eb) => eb.or([eb.and([eb('status', '=', 'approved'), eb('type', '=', 'preauth')]), eb('status', '=', 'held')]))
      .where('hold_expires_at', 'is not', null)
      .where('hold_expires_at', '<=', now)
      .returning(['id', 'type'])
      .execute();
    await reopenQrOrders(trx, lapsed.filter((r) => r.type === 'qr_sale').map((r) => r.id), now);
    return lapsed.length;
  });
  return { settled: stale.length, expired };
}
