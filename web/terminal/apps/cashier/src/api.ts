/**
 * The cashier's side of the payments API (server: /api/v1/terminal/pay/…), through the shell's
 * bridge: the shell signs every request with the session MAC key and holds the PIN key.
 *
 * Exactly once. Every money request carries a client id made before it is sent and written to
 * the app's store (`inflight`) first; the shell's own retry (a replayed sequence number) resends
 * the same body, so the same client id. An answer that does not come (no network, time-out, a
 * 5xx) is an unknown outcome: never "pending" — the app queues a reversal
 * `{ clientId, originalClientId }` in the shell's outbox (durable: stored before the first try,
 * sent until the server answers, same client id every time) and tells the cashier the
 * transaction was cancelled. An app closed in the middle of a request finds `inflight` at the
 * next start and reverses it the same way. Queuing is recorded per original, so one original
 * gets one reversal however often this runs.
 */
import { call, ShellError } from '../../sdk/bridge';

export const PAY = '/api/v1/terminal/pay';

export type TxnType =
  | 'balance'
  | 'sale'
  | 'void'
  | 'refund'
  | 'preauth'
  | 'preauth_void'
  | 'completion'
  | 'completion_void'
  | 'reversal'
  | 'qr_sale'
  | 'transfer';
export type TxnStatus = 'approved' | 'declined' | 'held' | 'voided' | 'reversed' | 'expired' | 'completed' | 'refunded';

/** contracts.ts TxnReply (the terminal's view of a transaction). */
export interface TxnReply {
  id: string;
  clientId: string;
  type: TxnType;
  status: TxnStatus;
  approved: boolean;
  responseCode: string;
  message: { zh: string; en: string };
  amount: number;
  fee: number;
  balance?: number;
  cardLast4: string | null;
  batchNo: number | null;
  traceNo: number | null;
  authCode: string | null;
  originalId: string | null;
  at: number;
}

export interface BatchTotals {
  saleCount: number;
  saleAmount: number;
  refundCount: number;
  refundAmount: number;
}

export interface OpenBatch {
  batchNo: number;
  openedAt: number;
  totals: BatchTotals;
  transactions: TxnReply[];
}

export interface CloseResult {
  batchNo: number;
  result: 'balanced' | 'mismatch';
  terminalTotals: BatchTotals;
  hostTotals: BatchTotals;
  nextBatchNo: number;
}

export interface QrOrder {
  orderId: string;
  payload: string;
  expiresAt: number;
}

export interface QrOrderStatus {
  orderId: string;
  status: 'open' | 'paid' | 'expired' | 'cancelled';
  transaction: TxnReply | null;
}

/** A refused request: the server's typed error (or the shell's), in both languages. */
export class PayError extends Error {
  constructor(
    readonly code: string,
    readonly zh: string,
    readonly en: string,
  ) {
    super(`${code}: ${en}`);
    this.name = 'PayError';
  }
}

/** The answer did not come: the request may or may not have taken effect. */
export class UnknownOutcome extends Error {
  constructor(
    readonly originalClientId: string,
    readonly reason: PayError,
  ) {
    super(`unknown outcome of ${originalClientId}: ${reason.code}`);
    this.name = 'UnknownOutcome';
  }
}

export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** No answer, or an answer that says nothing about the outcome (server or gateway failure). */
function unknownOutcome(error: PayError): boolean {
  return (
    error.code === 'network' ||
    error.code === 'timeout' ||
    /^http_5\d\d$/.test(error.code) ||
    ['internal', 'internal_error', 'overloaded', 'shutting_down', 'service_unavailable'].includes(error.code)
  );
}

function toPayError(error: unknown): PayError {
  if (error instanceof PayError) return error;
  if (error instanceof ShellError) return new PayError(error.error.code, error.error.zh, error.error.en);
  const text = error instanceof Error ? error.message : String(error);
  return new PayError('client_error', text, text);
}

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number): Promise<T> {
  const request = call('api', body === undefined ? { method, path } : { method, path, body });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout =
    timeoutMs === undefined
      ? null
      : new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new PayError('timeout', '交易超时，未收到银行应答', 'Timed out waiting for the bank')),
            timeoutMs,
          );
        });
  try {
    const answer = await (timeout ? Promise.race([request, timeout]) : request);
    return answer.body as T;
  } catch (error) {
    throw toPayError(error);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export const getBatch = () => api<OpenBatch>('GET', `${PAY}/batch`);
export const getTransaction = (id: string) => api<TxnReply>('GET', `${PAY}/transactions/${encodeURIComponent(id)}`);
export const getQrStatic = () => api<{ payload: string }>('GET', `${PAY}/qr/static`);
export const getQrOrder = (id: string) => api<QrOrderStatus>('GET', `${PAY}/qr/orders/${encodeURIComponent(id)}`);

// ─── the app's small store in the shell ─────────────────────────────────────────────────────────

async function load<T>(key: string): Promise<T | null> {
  try {
    return ((await call('storage.get', { key })) as T | null) ?? null;
  } catch {
    return null;
  }
}

async function save(key: string, value: unknown): Promise<void> {
  await call('storage.set', { key, value });
}

interface Inflight {
  clientId: string;
  path: string;
  amount: number;
  at: number;
}

/** The terminal's own record of the open batch: every approved transaction as it happened. */
export interface Journal {
  batchNo: number | null;
  txns: TxnReply[];
}

const JOURNAL = 'journal';
const INFLIGHT = 'inflight';
const REVERSED = 'reversed';

export async function loadJournal(): Promise<Journal> {
  return (await load<Journal>(JOURNAL)) ?? { batchNo: null, txns: [] };
}

export async function clearJournal(nextBatchNo: number | null): Promise<void> {
  await save(JOURNAL, { batchNo: nextBatchNo, txns: [] } satisfies Journal);
}

/** Records an approved answer, and what it did to its original (void, completion, refund…). */
export async function journal(reply: TxnReply): Promise<void> {
  if (!reply.approved || reply.type === 'balance' || reply.type === 'reversal') return;
  const j = await loadJournal();
  if (j.batchNo !== null && reply.batchNo !== null && reply.batchNo !== j.batchNo) j.txns = [];
  j.batchNo = reply.batchNo ?? j.batchNo;
  j.txns = j.txns.filter((t) => t.id !== reply.id);
  j.txns.push(reply);
  const original = reply.originalId ? j.txns.find((t) => t.id === reply.originalId) : undefined;
  if (original) {
    if (reply.type === 'void' || reply.type === 'completion_void') original.status = 'voided';
    if (reply.type === 'preauth_void') original.status = 'voided';
    if (reply.type === 'completion') original.status = 'completed';
  }
  await save(JOURNAL, j);
}

const SALE_TYPES: ReadonlySet<TxnType> = new Set(['sale', 'completion', 'qr_sale']);

/**
 * The terminal's totals for batch close, from its journal: sales, completions and QR sales still
 * standing (a voided one counts neither itself nor its void), and refunds.
 */
export function journalTotals(txns: TxnReply[]): BatchTotals {
  const totals: BatchTotals = { saleCount: 0, saleAmount: 0, refundCount: 0, refundAmount: 0 };
  for (const t of txns) {
    if (SALE_TYPES.has(t.type) && t.status !== 'voided' && t.status !== 'reversed') {
      totals.saleCount += 1;
      totals.saleAmount += t.amount;
    } else if (t.type === 'refund' && t.status !== 'reversed') {
      totals.refundCount += 1;
      totals.refundAmount += t.amount;
    }
  }
  return totals;
}

/**
 * Queues the reversal of `originalClientId` in the shell's outbox, once per original. Resolves
 * when the outbox has stored it (it is sent then, or as soon as the network allows).
 */
export async function queueReversal(originalClientId: string): Promise<void> {
  const done = (await load<string[]>(REVERSED)) ?? [];
  if (!done.includes(originalClientId)) {
    await call('api', {
      method: 'POST',
      path: `${PAY}/reversal`,
      body: { clientId: `rv-${originalClientId}`.slice(0, 128), originalClientId },
      durable: true,
    });
    await save(REVERSED, [...done, originalClientId].slice(-200));
  }
  const inflight = await load<Inflight>(INFLIGHT);
  if (inflight?.clientId === originalClientId) await save(INFLIGHT, null);
}

/** At start: a request the app never saw answered (closed, reloaded mid-way) is reversed. */
export async function recoverInflight(): Promise<string | null> {
  const inflight = await load<Inflight>(INFLIGHT);
  if (!inflight) return null;
  await queueReversal(inflight.clientId);
  return inflight.clientId;
}

/**
 * A money request: client id fixed and recorded before sending; the approved answer journalled;
 * no answer → reversal queued and UnknownOutcome thrown. A typed refusal (4xx) moved no money.
 */
export async function pay(path: string, body: Record<string, unknown> & { clientId: string }, timeoutMs: number): Promise<TxnReply> {
  await save(INFLIGHT, {
    clientId: body.clientId,
    path,
    amount: typeof body.amount === 'number' ? body.amount : 0,
    at: Date.now(),
  } satisfies Inflight);
  let reply: TxnReply;
  try {
    reply = await api<TxnReply>('POST', `${PAY}/${path}`, body, timeoutMs);
  } catch (error) {
    const e = toPayError(error);
    // A balance inquiry moves no money: nothing to reverse.
    if (unknownOutcome(e) && path !== 'balance') {
      await queueReversal(body.clientId);
      throw new UnknownOutcome(body.clientId, e);
    }
    await save(INFLIGHT, null);
    throw e;
  }
  await save(INFLIGHT, null);
  await journal(reply);
  return reply;
}

/** Requests that move no money (QR order, batch close/upload): errors are simply shown. */
export function post<T>(path: string, body: unknown): Promise<T> {
  return api<T>('POST', `${PAY}/${path}`, body);
}

export async function pinBlock(pin: string, pan: string): Promise<string> {
  try {
    return (await call('pin.block', { pin, pan })).pinBlock;
  } catch (error) {
    throw toPayError(error);
  }
}

export async function supervisorSignOn(operatorNo: string, password: string): Promise<void> {
  try {
    await call('operator.signOn', { operatorNo, password });
  } catch (error) {
    throw toPayError(error);
  }
}

export async function printReceipt(lines: string[]): Promise<void> {
  await call('print', { lines });
}

// ─── small helpers ──────────────────────────────────────────────────────────────────────────────

/** Luhn check digit test for a PAN of 13–19 digits. */
export function luhnOk(pan: string): boolean {
  if (!/^\d{13,19}$/.test(pan)) return false;
  let sum = 0;
  for (let i = 0; i < pan.length; i++) {
    let d = pan.charCodeAt(pan.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** 'YYMM' with a real month. */
export function expiryOk(expiry: string): boolean {
  return /^\d{2}(0[1-9]|1[0-2])$/.test(expiry);
}
