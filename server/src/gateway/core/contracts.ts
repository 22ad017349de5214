/**
 * The core-banking adapter's one interface. Rural banks keep deposit accounts in a core-banking
 * system; the platform moves money to and from them through `CoreAdapter`, whichever system it
 * is: the built-in ledger (`LedgerCore`) or a host-to-host ISO 8583 link (`IsoCore`), chosen by
 * `XIAOWEI_CORE`, never by code. Both pass the same conformance suite (test-support/conformance.ts).
 *
 * Exactly once: every money request carries the caller's request id (its idempotency key). A
 * repeat with the same fields answers the first outcome, other fields under the same id answer
 * '94'. 'unknown' means the outcome could not be learnt (the core did not answer and a status
 * query did not settle it): the caller decides — ask `status` later or `reverse` — and never sends
 * the same request under a new id.
 */
import { XiaoweiError } from '../../platform/errors.js';

/** Request ids: 1–64 characters the ledger accepts in a transfer id and ISO 8583 field 48 carries. */
export const CORE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Account numbers (a ledger account id, or the core host's account number). */
export const CORE_ACCOUNT = /^[A-Za-z0-9._:-]{1,64}$/;
/** The largest amount either implementation carries (ISO 8583 field 4: 12 digits of fen). */
export const CORE_MAX_AMOUNT = 999_999_999_999;

export type CoreAccountState = 'active' | 'frozen' | 'closed';

export type CoreInquiry =
  | { found: false }
  | {
      found: true;
      status: CoreAccountState;
      /** Fen the account can be debited now (posted balance less holds); may be negative. */
      available: number;
      currency: 'CNY';
    };

export interface CoreMoveRequest {
  /** The caller's request id (idempotency key), `CORE_REQUEST_ID`. */
  id: string;
  account: string;
  /** Fen, a positive safe integer ≤ `CORE_MAX_AMOUNT`; anything else is rejected '13'. */
  amount: number;
  /**
   * Text for the account's statement (≤ 200 characters). The ledger keeps it on the transfer and
   * counts it among the request's fields (a retry must repeat it); the ISO 8583 host never sees it.
   */
  narrative?: string;
}

export interface CoreReverseRequest {
  /** This reversal's own request id (the ISO host gets an RRN derived from it). */
  id: string;
  /** The request id of the debit or credit to undo. */
  originalId: string;
}

/** Why a request was rejected. */
export type CoreRejectCode =
  /** do not honour: the core rejected it without a reason we know (e.g. the answer was lost: the same id again gives it) */
  | '05'
  /** invalid amount */
  | '13'
  /** no such account */
  | '14'
  /** insufficient funds */
  | '51'
  /** account frozen or closed */
  | '62'
  /** the same request id with other fields */
  | '94'
  /** the core cannot be reached: the request was provably not sent (a later retry under the same id is safe) */
  | '91'
  /** the core answered a code this adapter does not know */
  | '96';

export interface Text {
  zh: string;
  en: string;
}

export type CoreResult =
  { outcome: 'posted'; code: '00'; reason: Text } | { outcome: 'rejected'; code: CoreRejectCode; reason: Text } | { outcome: 'unknown' };

/** What the core knows of a debit or credit request id. A reversal's own id is 'not_found'. */
export type CoreRequestStatus = 'posted' | 'reversed' | 'rejected' | 'not_found' | 'unknown';

export interface CoreAdapter {
  /** Balance and state of an account. Throws `core_unavailable` when the core cannot answer. */
  inquiry(account: string): Promise<CoreInquiry>;
  /** Takes `amount` from the account. */
  debit(request: CoreMoveRequest): Promise<CoreResult>;
  /** Puts `amount` into the account. */
  credit(request: CoreMoveRequest): Promise<CoreResult>;
  /**
   * Undoes a posted debit or credit, at most once however often it is asked. 'posted' = undone now
   * or before, or there was nothing to undo (the original was rejected or never arrived).
   */
  reverse(request: CoreReverseRequest): Promise<CoreResult>;
  status(id: string): Promise<CoreRequestStatus>;
}

/** Counters of an ISO 8583 core link since the process started. */
export interface CoreLinkStats {
  requests: number;
  posted: number;
  rejected: number;
  unknown: number;
  /** Requests sent and not answered in time (each followed by one status query). */
  timeouts: number;
  /** Answers that came after their request had given up (logged). */
  late: number;
}

export interface CoreLinkState {
  kind: 'ledger' | 'iso8583';
  /** host:port of the core host; null for the ledger. */
  endpoint: string | null;
  /** ready: requests go through; connecting: not up yet (or reconnecting); idle: not used yet. */
  state: 'ready' | 'connecting' | 'idle';
  outstanding: number;
  stats: CoreLinkStats | null;
}

export interface CoreBanking extends CoreAdapter {
  readonly kind: 'ledger' | 'iso8583';
  /** Connects the ISO 8583 link now rather than on first use; nothing for the ledger. */
  start(): void;
  state(): CoreLinkState;
  close(): Promise<void>;
}

export const CORE_CODE_TEXT: Record<'00' | CoreRejectCode, Text> = {
  '00': { zh: '成功', en: 'done' },
  '05': {
    zh: '核心系统拒绝交易（可查询状态，或用同一请求号重发以获取原因）',
    en: 'rejected by the core (ask its status, or send again with the same id to learn the reason)',
  },
  '13': { zh: '金额无效', en: 'invalid amount' },
  '14': { zh: '账户不存在', en: 'no such account' },
  '51': { zh: '余额不足', en: 'insufficient funds' },
  '62': { zh: '账户已冻结或已销户', en: 'the account is frozen or closed' },
  '94': { zh: '同一请求号已用于另一笔不同的请求', en: 'this request id was used for a different request' },
  '91': { zh: '核心系统不可用（请求未发出）', en: 'the core-banking system is unavailable (the request was not sent)' },
  '96': { zh: '核心系统返回了无法识别的应答码', en: 'the core answered an unrecognised response code' },
};

export function posted(): CoreResult {
  return { outcome: 'posted', code: '00', reason: CORE_CODE_TEXT['00'] };
}

export function rejected(code: CoreRejectCode): CoreResult {
  return { outcome: 'rejected', code, reason: CORE_CODE_TEXT[code] };
}

export const UNKNOWN: CoreResult = { outcome: 'unknown' };

/** '13' for an amount neither implementation may carry, else null. */
export function amountProblem(amount: unknown): CoreResult | null {
  return typeof amount === 'number' && Number.isSafeInteger(amount) && amount > 0 && amount <= CORE_MAX_AMOUNT ? null : rejected('13');
}

/** Throws `core_request_invalid` for a malformed id, account or narrative: a caller's bug, not a decline. */
export function checkMove(request: CoreMoveRequest): void {
  checkId(request.id, 'id');
  if (typeof request.account !== 'string' || !CORE_ACCOUNT.test(request.account)) {
    throw new XiaoweiError('core_request_invalid', 'account must be 1–64 of A–Z a–z 0–9 . _ : -');
  }
  if (request.narrative !== undefined && (typeof request.narrative !== 'string' || request.narrative.length > 200)) {
    throw new XiaoweiError('core_request_invalid', 'narrative must be at most 200 characters');
  }
}

export function checkId(id: unknown, name: string): asserts id is string {
  if (typeof id !== 'string' || !CORE_REQUEST_ID.test(id))
    throw new XiaoweiError('core_request_invalid', `${name} must be 1–64 of A–Z a–z 0–9 . _ : -`);
}
