/**
 * What the parts of the payments domain promise each other: merchants and cards, the terminal
 * transaction engine, risk, QR, settlement and reconciliation. Tables named here are shared inside
 * the domain; other domains use the exported functions only. Amounts are fen; timestamps are
 * microseconds since the epoch, like the ledger's; business dates are 'YYYY-MM-DD' in Beijing time
 * after the cut-off (see `businessDate`).
 */
import type { Kysely } from 'kysely';
import type { PinBlockFormat, PinKeyRef } from '../crypto/key-types.js';

// ─── Transaction set ────────────────────────────────────────────────────────────────────────────

export const TXN_TYPES = [
  'balance', // balance inquiry (no ledger effect)
  'sale',
  'void', // sale void: same terminal, same open batch, full amount, supervisor
  'refund', // partial and repeated, total ≤ original, any later day, supervisor
  'preauth', // pending ledger hold with expiry
  'preauth_void',
  'completion', // up to 115 % of the hold
  'completion_void',
  'reversal', // the terminal had no answer: undo if there was an effect; acknowledge anyway
  'qr_sale', // merchant-presented QR paid by a customer, or customer-presented code scanned at a terminal
  'transfer', // account-to-account transfer by a customer
] as const;
export type TxnType = (typeof TXN_TYPES)[number];

/**
 * A transaction's state. `approved`: its effect stands. `declined`: no effect. `held`: the risk
 * rules held it for review (funds reserved as a pending transfer; a reviewer posts or voids it).
 * `voided`, `reversed`, `expired` (a pre-auth whose hold lapsed), `completed` (a pre-auth that a
 * completion consumed), `refunded` (fully refunded; partly refunded sales stay `approved` with
 * `refunded_amount` > 0).
 */
export const TXN_STATUSES = ['approved', 'declined', 'held', 'voided', 'reversed', 'expired', 'completed', 'refunded'] as const;
export type TxnStatus = (typeof TXN_STATUSES)[number];

/**
 * Response codes, one table, CUP/ISO 8583 field 39 semantics. A decline is a valid answer
 * (HTTP 200 with approved=false), not an HTTP error; HTTP errors are for requests that are
 * malformed, unauthenticated or not allowed at all.
 */
export const RESPONSE_CODES = {
  '00': { zh: '交易成功', en: 'Approved' },
  '03': { zh: '无效商户', en: 'Invalid merchant' },
  '05': { zh: '不予承兑', en: 'Do not honour' },
  '09': { zh: '交易待银行审核', en: 'Held for the bank’s review' },
  '12': { zh: '无效交易', en: 'Invalid transaction' },
  '13': { zh: '无效金额', en: 'Invalid amount' },
  '14': { zh: '无效卡号', en: 'Invalid card number' },
  '22': { zh: '原交易状态不允许此操作', en: 'The original transaction’s state does not allow this' },
  '25': { zh: '找不到原交易', en: 'Original transaction not found' },
  '33': { zh: '卡已过期', en: 'Expired card' },
  '41': { zh: '挂失卡', en: 'Lost card' },
  '45': { zh: '卡已停用', en: 'Card blocked' },
  '51': { zh: '余额不足', en: 'Insufficient funds' },
  '55': { zh: '密码错误', en: 'Wrong PIN' },
  '57': { zh: '持卡人无此交易权限', en: 'Transaction not permitted to the cardholder' },
  '58': { zh: '终端无此交易权限', en: 'Transaction not permitted to the terminal' },
  '59': { zh: '风险控制拒绝', en: 'Declined by risk rules' },
  '61': { zh: '超出金额限制', en: 'Exceeds the amount limit' },
  '64': { zh: '金额与原交易不符', en: 'Amount does not match the original' },
  '65': { zh: '超出次数限制', en: 'Exceeds the frequency limit' },
  '75': { zh: '密码错误次数超限', en: 'PIN tries exceeded' },
  '77': { zh: '批次已结算，请重新签到', en: 'The batch is closed; start a new batch' },
  '91': { zh: '发卡行或转接清算系统不可用', en: 'Issuer or switch unavailable' },
  '94': { zh: '重复交易', en: 'Duplicate transaction' },
  '96': { zh: '系统故障', en: 'System malfunction' },
  '98': { zh: '发卡行未在规定时间内应答，交易已自动冲正', en: 'No answer from the issuer in time; the payment was reversed' },
  A0: { zh: '付款码无效或已过期', en: 'Invalid or expired payment code' },
} as const satisfies Record<string, { zh: string; en: string }>;
export type ResponseCode = keyof typeof RESPONSE_CODES;

/** A completion may post up to this share of the hold, in per cent (CUP: 115 %). */
export const COMPLETION_MAX_PERCENT = 115;
/** Days a pre-authorisation hold lasts before the ledger releases it (CUP: 30). */
export const PREAUTH_HOLD_DAYS = 30;

/** What every payment answer carries, to a terminal, the mobile page or the console. */
export interface TxnReply {
  id: string;
  clientId: string;
  type: TxnType;
  status: TxnStatus;
  approved: boolean;
  responseCode: ResponseCode;
  message: { zh: string; en: string };
  amount: number;
  fee: number;
  /** Balance after (balance inquiry only). */
  balance?: number;
  cardLast4: string | null;
  /** Terminal batch number and trace number (the request's sequence number), for the receipt. */
  batchNo: number | null;
  traceNo: number | null;
  /** Six characters, for approved transactions. */
  authCode: string | null;
  originalId: string | null;
  /** Milliseconds since the epoch. */
  at: number;
}

// ─── Fee plans (merchant discount rate) ────────────────────────────────────────────────────────

export interface FeePlan {
  id: string;
  org_id: string;
  name: string;
  /** Basis points of the amount (60 = 0.60 %). */
  rate_bp: number;
  min_fee: number;
  /** null = no cap. */
  max_fee: number | null;
  /** Added per transaction after min/max. */
  fixed_fee: number;
  status: 'active' | 'retired';
  created_at: number;
  updated_at: number;
}

/**
 * The fee of one transaction: amount × rate rounded half up to the fen, clamped to [min, max],
 * plus the fixed fee; never more than the amount. BigInt inside, so no fen is lost to doubles.
 */
export function feeFor(plan: Pick<FeePlan, 'rate_bp' | 'min_fee' | 'max_fee' | 'fixed_fee'>, amount: number): number {
  if (amount <= 0) return 0;
  let fee = Number((BigInt(amount) * BigInt(plan.rate_bp) + 5000n) / 10000n);
  if (fee < plan.min_fee) fee = plan.min_fee;
  if (plan.max_fee !== null && fee > plan.max_fee) fee = plan.max_fee;
  fee += plan.fixed_fee;
  return Math.min(fee, amount);
}

/**
 * The fee returned with a refund: the original fee in proportion (rounded down), except that the
 * refund which brings the total refunded to the original amount returns all the fee still kept —
 * so a fully refunded sale keeps no fee, and partial refunds never return more than was charged.
 */
export function refundFee(original: { amount: number; fee: number; refunded_amount: number; refunded_fee: number }, refund: number): number {
  if (original.refunded_amount + refund >= original.amount) return original.fee - original.refunded_fee;
  return Number((BigInt(original.fee) * BigInt(refund)) / BigInt(original.amount));
}

// ─── Tables ────────────────────────────────────────────────────────────────────────────────────

export interface PaymentsSharedTables {
  pay_fee_plans: FeePlan;
  pay_merchants: {
    /** The merchant's party (role `merchant`, or an agent running a service point). */
    party_id: string;
    org_id: string;
    /** ISO 18245 merchant category code, four digits. */
    mcc: string;
    fee_plan_id: string;
    /** Ledger account (code 2004) that sales credit and settlement empties. */
    receivable_account_id: string;
    /** Ledger account (code 2002) settlement pays into. */
    settlement_account_id: string;
    settlement_cycle: 'T0' | 'T1';
    status: 'active' | 'suspended' | 'closed';
    created_at: number;
    updated_at: number;
  };
  pay_cards: {
    id: string;
    /** Opaque token that stands for the PAN everywhere outside this table. */
    token: string;
    /** Secrets.blindIndex('card-pan', pan): the lookup key. */
    pan_index: string;
    /** Secrets.encrypt('card-pan', pan). */
    pan_sealed: string;
    bin: string;
    last4: string;
    /** YYMM. */
    expiry: string;
    party_id: string;
    org_id: string;
    /** The customer's deposit account (code 2001) the card draws on. */
    account_id: string;
    status: 'active' | 'blocked' | 'lost' | 'closed';
    pin_method: 'ibm3624' | 'visa-pvv';
    /** IBM 3624 offset, or the PVV (with `pvki`). Never the PIN, never a hash of it. */
    pin_offset: string;
    pvki: number;
    /** pay_keys.name of the PVK. */
    pvk_name: string;
    /** Consecutive wrong PINs; at MAX_PIN_TRIES the card refuses PINs until staff reset it. */
    pin_tries: number;
    daily_limit: number;
    per_txn_limit: number;
    created_at: number;
    updated_at: number;
  };
  /** Usage per card per business date, kept in the same transaction as the approval. */
  pay_card_usage: { card_id: string; business_date: string; amount: number; count: number };
  /** Long-lived keys of the payments domain (the PVK), as crypto-service handles sealed under the LMK. */
  pay_keys: { name: string; blob: string; type: string; algorithm: string; kcv: string; lmk_version: number; created_at: number };
  pay_batches: {
    id: string;
    terminal_id: string;
    batch_no: number;
    status: 'open' | 'closed';
    opened_at: number;
    closed_at: number | null;
    /** JSON BatchTotals the terminal sent at close. */
    terminal_totals: string | null;
    /** JSON BatchTotals the host counted at close. */
    host_totals: string | null;
    /** balanced, mismatch (the terminal must upload), uploaded (upload received; reconciliation compares). */
    result: 'balanced' | 'mismatch' | 'uploaded' | null;
  };
  pay_transactions: {
    id: string;
    type: TxnType;
    status: TxnStatus;
    response_code: string;
    /** Whose client id this is: the terminal id, or the user id on the mobile page. */
    client_scope: string;
    client_id: string;
    /** SHA-256 (hex) of the request's meaningful fields: the same client id with other fields is refused. */
    request_hash: string;
    /** The first answer, JSON TxnReply: a retry gets it again. */
    reply: string;
    terminal_id: string | null;
    merchant_party_id: string | null;
    org_id: string;
    batch_id: string | null;
    operator_id: string | null;
    card_id: string | null;
    card_last4: string | null;
    /** The customer account debited (or credited, for refunds). */
    account_id: string | null;
    /** For a transfer: the account credited. */
    counter_account_id: string | null;
    amount: number;
    fee: number;
    /** Sales, completions and QR sales: refunded so far, and the fee returned with it. */
    refunded_amount: number;
    refunded_fee: number;
    original_id: string | null;
    trace_no: number | null;
    auth_code: string | null;
    /** Pre-auth and held transactions: the ledger's pending transfer id. */
    pending_transfer_id: string | null;
    hold_expires_at: number | null;
    /** JSON RiskDecision, when rules ran. */
    risk: string | null;
    business_date: string;
    settlement_id: string | null;
    created_at: number;
    updated_at: number;
  };
}

export interface BatchTotals {
  saleCount: number;
  saleAmount: number;
  refundCount: number;
  refundAmount: number;
}

// ─── Risk (the risk part implements; the engine and QR call it) ────────────────────────────────

export interface RiskContext {
  type: TxnType;
  amount: number;
  at: number;
  org_id: string;
  merchant_party_id: string | null;
  terminal_id: string | null;
  card_id: string | null;
  account_id: string | null;
  /** Where the terminal said it is, when it did (millionths of a degree). */
  lat_e6?: number | null;
  lng_e6?: number | null;
}

export interface RiskHit {
  rule_id: string;
  version: number;
  name: string;
  outcome: 'decline' | 'review';
  shadow: boolean;
  /** Why, in both languages, with the numbers that decided it. */
  reason: { zh: string; en: string };
}

export interface RiskDecision {
  outcome: 'approve' | 'decline' | 'review';
  /** Response code for a decline: 59 (risk), 61 (amount limit) or 65 (frequency). */
  code: ResponseCode;
  hits: RiskHit[];
}

export interface RiskEngine {
  /** Evaluates the active and shadow rules; shadow hits are recorded but never change the outcome. */
  assess(ctx: RiskContext): Promise<RiskDecision>;
  /** Tells velocity counters an approved transaction happened (after its commit). */
  record(ctx: RiskContext): void;
  /**
   * Inside the claim's transaction, after the row is inserted: checks the counting rules (velocity,
   * daily totals) again with the rows still in flight counted too (this one included), so that
   * concurrent requests cannot all pass one limit. On PostgreSQL it first takes a transaction lock
   * per rule subject, which serialises the claims of one card, terminal or merchant across
   * processes: for a card, the row lock on its daily usage row (`pay_card_usage`, the card and the
   * business date) — taken already by the claim's reservation of the daily limit when
   * `held.cardUsage`, else taken here — and for a terminal or a merchant an advisory lock.
   * Answers the decline code of a limit now passed (with the hit, for the row's `risk`), or null.
   * Absent: nothing to check (risk off).
   */
  confirm?(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    trx: Kysely<any>,
    ctx: RiskContext,
    decision: RiskDecision,
    held?: { cardUsage?: boolean },
  ): Promise<{ code: ResponseCode; hit: RiskHit } | null>;
}

/** Risk-off (tests of other parts, and XIAOWEI_RISK=off): approves everything. */
export const NO_RISK: RiskEngine = {
  assess: async () => ({ outcome: 'approve', code: '00', hits: [] }),
  record: () => undefined,
};

export type PaymentsDb = Kysely<PaymentsSharedTables>;

// ─── Business date ──────────────────────────────────────────────────────────────────────────────

const BEIJING_OFFSET_US = 8 * 3_600_000_000;
const DAY_US = 86_400_000_000;

/**
 * The business date of a moment: the Beijing calendar date, moved to the next day from the daily
 * cut-off on (`cutoffMinutes` after Beijing midnight; 1440 = no cut-off before midnight).
 */
export function businessDate(atUs: number, cutoffMinutes: number): string {
  const local = atUs + BEIJING_OFFSET_US;
  const dayStart = Math.floor(local / DAY_US) * DAY_US;
  const shifted = local - dayStart >= cutoffMinutes * 60_000_000 ? dayStart + DAY_US : dayStart;
  return new Date(shifted / 1000).toISOString().slice(0, 10);
}

/** Parses XIAOWEI_CUTOFF ('HH:MM', Beijing time) into minutes after midnight. */
export function parseCutoff(text: string): number {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) throw new Error(`cut-off must be HH:MM, got ${text}`);
  return Math.min(1440, Number(m[1]) * 60 + Number(m[2]));
}

// ─── Other banks' cards (the gateway's switch link implements; the engine calls it) ─────────────

/** A PIN block as the terminal sent it, with the key and format it is under (the link translates it to the zone PIN key). */
export interface OffUsPin {
  block: Uint8Array;
  key: PinKeyRef;
  format: PinBlockFormat;
}

/** An online request for a card the bank did not issue: authorised by the card switch, never by us. */
export interface OffUsRequest {
  /** pay_transactions.id of the row claimed for it; the switch link's journal is keyed by it. */
  txnId: string;
  kind: 'sale' | 'balance';
  pan: string;
  /** YYMM. */
  expiry: string;
  /** Fen; 0 for a balance inquiry. */
  amount: number;
  pin?: OffUsPin | undefined;
  /** The platform terminal id and its merchant (field 18 comes from the merchant). */
  terminalId: string;
  merchantPartyId: string;
  /**
   * The terminal's own ISO 8583 numbers (fields 41 and 42) when it has them (a conventional POS),
   * so that the switch's records and file name the terminal the bank registered; else the link
   * derives them from the platform ids.
   */
  terminalRef?: string | undefined;
  merchantRef?: string | undefined;
  mcc: string;
  /** µs. */
  at: number;
}

/**
 * The switch's answer. `answered`: the issuer decided (ISO 8583 field 39 as our response code,
 * anything we do not know mapped to '05'). `unknown`: the request left, no answer came in time
 * (or the link fell after sending) — the link has already queued its reversal (store and
 * forward), so the payment must be declined. `unavailable`: nothing was sent (no link, not signed
 * on, queue full) — nothing to undo.
 */
export type OffUsAnswer =
  | { outcome: 'answered'; code: ResponseCode; authCode: string | null; balance?: number | undefined }
  | { outcome: 'unknown' }
  | { outcome: 'unavailable' };

/** What the engine queues for the switch about an earlier approved off-us sale; sent until acknowledged. */
export interface OffUsAdvice {
  /** The row that causes it (a void, refund or reversal) — unique: queuing it twice is a no-op. */
  txnId: string;
  /** reversal: undo the original in full (void, terminal reversal); refund: credit `amount` back. */
  kind: 'reversal' | 'refund';
  /** The off-us sale (pay_transactions.id) it is about. */
  originalTxnId: string;
  amount: number;
}

/**
 * The card switch as the engine sees it. Everything that moves money at the switch after the
 * first answer goes through the store-and-forward queue, in the same database transaction as
 * the engine's own change: `queue` in the claim ('held'), then `release` in the finalising
 * transaction (send it if the row was approved, drop it if declined).
 */
export interface OffUsAuthorizer {
  authorize(request: OffUsRequest): Promise<OffUsAnswer>;
  /**
   * Recovery of a row claimed for `authorize` whose final state was not recorded (a retry, the
   * sweep, a batch close met it): the answer the link recorded; else, while a call for it is
   * really open (in this process, or younger than the switch timeout), waits for it; else queues
   * its reversal and returns `unknown`. Never sends the authorisation again.
   */
  recover(txnId: string, claimedAt: number): Promise<OffUsAnswer>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  queue(trx: Kysely<any>, advice: OffUsAdvice): Promise<void>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  release(trx: Kysely<any>, txnId: string, send: boolean): Promise<void>;
  /**
   * Can the advice `txnId` still be taken back: queued and never attempted (so the switch cannot
   * have seen it)? A read; `recall` decides.
   */
  recallable(txnId: string): Promise<boolean>;
  /**
   * Takes the advice `txnId` back into 'held' if it is still queued and never attempted (a
   * conditional update: of a recall and the forwarder's claim only one wins); `release` then
   * drops it or queues it again. False when it could not be recalled.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  recall(trx: Kysely<any>, txnId: string): Promise<boolean>;
}
