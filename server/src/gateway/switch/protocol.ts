/**
 * The switch protocol (acquirer ⇄ card switch, platform ⇄ core-banking host): the one place that
 * knows its message table. Pure functions over `Message`; no I/O, no keys. The switch link, the
 * core adapter, reconciliation and the simulator all build and read messages through this file.
 *
 * Wire: TCP, 2-byte big-endian length prefix, no TPDU/header, `SWITCH_SPEC` (= `ISO8583_1987_ASCII`
 * with field 48 as `ans`).
 *
 * | MTI  | 3 / 70          | meaning                      | request fields (builder)                                     |
 * | ---- | --------------- | ---------------------------- | ------------------------------------------------------------ |
 * | 0800 | 70=001          | sign-on                      | 7 11 32 41=00000000 70 (`signOn`)                            |
 * | 0800 | 70=002          | sign-off                     | 7 11 32 41 70 (`signOff`)                                    |
 * | 0800 | 70=301          | echo (either direction)      | 7 11 41 70 (`echoRequest`)                                   |
 * | 0800 | 70=101          | key change                   | 7 11 32 41 48 70 (`keyChange`)                               |
 * | 0800 | 70=201          | cut-over (switch→acquirer)   | 7 11 15 41 70 (`cutover`)                                    |
 * | 0200 | 3=000000        | purchase                     | 2 3 4 7 11 12 13 14 18 22 25 32 37 41 42 49 [52] 64 (`purchase`) |
 * | 0200 | 3=310000        | balance inquiry              | as purchase, 4=0 (`balanceInquiry`)                          |
 * | 0400 |                 | reversal of a purchase       | 2 3 4 7 11 32 37 39 41 42 49 90 128 (`reversal`)             |
 * | 0220 | 3=200000        | refund advice                | 2 3 4 7 11 32 37 41 42 49 90 128 (`refundAdvice`)            |
 * | 0200 | 3=310000 + 102  | core: account inquiry        | 3 7 11 37 41=CORELINK 48 102 (`coreInquiry`)                 |
 * | 0200 | 3=000000 + 102  | core: debit                  | + 4 (`coreDebit`)                                            |
 * | 0200 | 3=210000 + 103  | core: credit                 | 3 4 7 11 37 41 48 103 (`coreCredit`)                         |
 * | 0400 | 41=CORELINK     | core: reverse request id 48  | 7 11 37 41 48 (`coreReversal`)                               |
 * | 0600 |                 | core: status of request id   | 7 11 41 48 (`coreStatus`)                                    |
 *
 * Answers (`answer`) are MTI + 10 and echo 3, 7, 11, 32, 37, 41, 42, 70 of the request when present.
 * After key change every card message and its answer (0200/0210/0400/0410/0220/0230, not the
 * core host's, which use 41 = CORELINK) carries a MAC (ISO 9797-1 alg. 3, padding 1, ZAK) in
 * field 64, or 128 when the message has fields above 64; see `macInput`. Exception: an answer
 * '96' to a card message that arrived before any key change carries no MAC (there is no key).
 *
 * Times: builders take `at` in MILLISECONDS since the epoch (the platform's `deps.now()` is µs:
 * divide by 1000). Field 7 is UTC, fields 12/13 Beijing time (UTC+8, no DST).
 */
import { isoMatchKey, isoRequestKey, isRequestMti, type MuxCodec } from '../channel/index.js';
import { ISO8583_1987_ASCII, pack, unpack, type FieldValue, type Message, type MessageSpec } from '../iso8583/index.js';

export { maskPan } from '../iso8583/index.js';

/**
 * `ISO8583_1987_ASCII` with field 48 widened from `an` to `ans` (printable ASCII), as jPOS's
 * iso87ascii packager has it (IFA_LLLCHAR): the key change (`ZPK=…,…;ZAK=…`) and the core host's
 * request ids carry '=', ',', ';', '-', ':' and '_' there. Use this spec (or `switchCodec`) for
 * every message of this protocol, never `ISO8583_1987_ASCII` itself.
 */
export const SWITCH_SPEC: MessageSpec = {
  ...ISO8583_1987_ASCII,
  name: 'Xiaowei switch protocol (ISO 8583:1987 ASCII)',
  fields: { ...ISO8583_1987_ASCII.fields, 48: { ...ISO8583_1987_ASCII.fields[48]!, class: 'ans' } },
};

/** Field 41 of network management messages. */
export const NETWORK_TERMINAL = '00000000';
/** Field 41 of every core-host message: tells a core 0200/0400 from a card one. */
export const CORE_TERMINAL = 'CORELINK';
/** Field 49: CNY. */
export const CURRENCY_CNY = '156';

/** Field 70 network management information codes. */
export const NMI = { signOn: '001', signOff: '002', keyChange: '101', cutover: '201', echo: '301' } as const;

/** Field 3 processing codes. */
export const PROCESSING = { purchase: '000000', balance: '310000', refund: '200000', credit: '210000' } as const;

/** Field 39 response codes this protocol uses. */
export const RC = {
  approved: '00',
  doNotHonour: '05',
  invalidTransaction: '12',
  invalidAmount: '13',
  noSuchCard: '14',
  cancelled: '17',
  formatError: '30',
  notFound: '25',
  insufficientFunds: '51',
  expiredOrWrongExpiry: '54',
  wrongPin: '55',
  restricted: '62',
  securityViolation: '63',
  noTimelyAnswer: '98',
  duplicateMismatch: '94',
  systemError: '96',
} as const;

/** Reason of a reversal (its field 39): no answer in time, or cancelled by the acquirer (void / terminal reversal). */
export type ReversalReason = '98' | '17';

/** Core account status (field 44 of an inquiry answer). */
export type CoreAccountStatus = 'A' | 'F' | 'C';
/** Core request status (field 44 of a 0610): posted, reversed, rejected, not found. */
export type CoreRequestStatus = 'P' | 'R' | 'J' | 'N';

// ------------------------------------------------------------------------------------------------
// small values
// ------------------------------------------------------------------------------------------------

/** STAN source: 000001 … 999999, then 000001 again (0 is never used). */
export class StanCounter {
  private last: number;
  /** `last` = the last STAN used (e.g. restored from storage); the next one is last + 1. */
  constructor(last = 0) {
    if (!Number.isInteger(last) || last < 0 || last > 999_999) throw new RangeError('a STAN is 0–999999');
    this.last = last;
  }
  next(): string {
    this.last = this.last >= 999_999 ? 1 : this.last + 1;
    return String(this.last).padStart(6, '0');
  }
  /** The last STAN handed out (0 before the first). */
  get current(): number {
    return this.last;
  }
}

const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Field 7: MMDDhhmmss in UTC. */
export function field7(ms: number): string {
  const d = new Date(ms);
  return p2(d.getUTCMonth() + 1) + p2(d.getUTCDate()) + p2(d.getUTCHours()) + p2(d.getUTCMinutes()) + p2(d.getUTCSeconds());
}

const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** Local (Beijing) time of fields 12 (hhmmss) and 13 (MMDD). */
export function beijingTime(ms: number): { hhmmss: string; mmdd: string } {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return {
    hhmmss: p2(d.getUTCHours()) + p2(d.getUTCMinutes()) + p2(d.getUTCSeconds()),
    mmdd: p2(d.getUTCMonth() + 1) + p2(d.getUTCDate()),
  };
}

/** The Beijing calendar date of an instant, 'YYYY-MM-DD'. */
export function beijingDate(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/**
 * The full date of a settlement date MMDD (field 15): the year that puts it nearest to `nowMs`
 * (an answer at 23:59 on 31 December may already carry 0101 of next year, and a late 1231 may
 * arrive in January). Throws RangeError for a date that exists in none of the candidate years.
 */
export function settlementDate(mmdd: string, nowMs: number): string {
  if (!/^[0-9]{4}$/.test(mmdd)) throw new RangeError('a settlement date is MMDD');
  const month = Number(mmdd.slice(0, 2));
  const day = Number(mmdd.slice(2));
  const year = new Date(nowMs + BEIJING_OFFSET_MS).getUTCFullYear();
  let best: { date: string; distance: number } | null = null;
  for (const y of [year - 1, year, year + 1]) {
    const t = Date.UTC(y, month - 1, day);
    const d = new Date(t);
    // 0229 in a common year rolls over to 0301: not a candidate.
    if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) continue;
    const distance = Math.abs(t - BEIJING_OFFSET_MS - nowMs);
    if (best === null || distance < best.distance) best = { date: d.toISOString().slice(0, 10), distance };
  }
  if (best === null) throw new RangeError('no such settlement date');
  return best.date;
}

/** 'YYYY-MM-DD' → 'MMDD'. */
export function mmddOf(date: string): string {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(date)) throw new RangeError('a date is YYYY-MM-DD');
  return date.slice(5, 7) + date.slice(8, 10);
}

/** Field 4: integer fen as 12 digits. */
export function amountField(fen: number | bigint): string {
  const v = BigInt(fen);
  if (v < 0n || v > 999_999_999_999n) throw new RangeError('an amount is 0–999999999999 fen');
  return v.toString().padStart(12, '0');
}

/** Field 4 → fen. */
export function parseAmount(field: string): number {
  if (!/^[0-9]{12}$/.test(field)) throw new RangeError('an amount is 12 digits');
  return Number(field);
}

/** Field 54: one "additional amount", account type 00, amount type 02 (available), CNY, sign, 12 digits. */
export function balanceField(fen: number | bigint): string {
  const v = BigInt(fen);
  return `0002${CURRENCY_CNY}${v < 0n ? 'D' : 'C'}${amountField(v < 0n ? -v : v)}`;
}

/** The available balance (amount type 02) in field 54, in fen (negative for D); null if absent or malformed. */
export function parseBalanceField(field: string): number | null {
  for (let i = 0; i + 20 <= field.length; i += 20) {
    const block = field.slice(i, i + 20);
    const m = /^[0-9]{2}02[0-9]{3}([CD])([0-9]{12})$/.exec(block);
    if (m) return (m[1] === 'D' ? -1 : 1) * Number(m[2]);
  }
  return null;
}

export interface OriginalData {
  /** MTI of the original message, e.g. '0200'. */
  mti: string;
  /** Its field 11. */
  stan: string;
  /** Its field 7, MMDDhhmmss. */
  transmittedAt: string;
  /** Its field 32; `parseOriginalData` returns the 11 digits as on the wire (left zero-padded). */
  acquirerId: string;
}

/** Field 90: original MTI (4) + STAN (6) + field 7 (10) + acquirer id (11, zero-padded) + 11 zeros. */
export function originalData(o: OriginalData): string {
  if (
    !/^[0-9]{4}$/.test(o.mti) ||
    !/^[0-9]{6}$/.test(o.stan) ||
    !/^[0-9]{10}$/.test(o.transmittedAt) ||
    !/^[0-9]{1,11}$/.test(o.acquirerId)
  ) {
    throw new RangeError('original data: MTI 4, STAN 6, field 7 10 and acquirer id 1–11 digits');
  }
  return `${o.mti}${o.stan}${o.transmittedAt}${padAcquirer(o.acquirerId)}00000000000`;
}

/** Field 90 → its parts; null if malformed. */
export function parseOriginalData(field: string): OriginalData | null {
  if (!/^[0-9]{42}$/.test(field)) return null;
  return { mti: field.slice(0, 4), stan: field.slice(4, 10), transmittedAt: field.slice(10, 20), acquirerId: field.slice(20, 31) };
}

/** An acquirer id as field 90 carries it (11 digits), for comparing with `parseOriginalData`. */
export function padAcquirer(acquirerId: string): string {
  return acquirerId.padStart(11, '0');
}

export interface KeyBlock {
  /** Hex of the key encrypted under the ZMK (TDES ECB, as `CryptoService.exportUnder`). */
  cryptogram: string;
  /** 6 hex digits. */
  kcv: string;
}

/** Field 48 of a key change: `ZPK=<hex>,<kcv>;ZAK=<hex>,<kcv>`. */
export function keyChangeField(keys: { zpk: KeyBlock; zak: KeyBlock }): string {
  const part = (k: KeyBlock): string => `${k.cryptogram.toUpperCase()},${k.kcv.toUpperCase()}`;
  return `ZPK=${part(keys.zpk)};ZAK=${part(keys.zak)}`;
}

/** Field 48 of a key change → the two key blocks; null if malformed. */
export function parseKeyChange(field: string): { zpk: KeyBlock; zak: KeyBlock } | null {
  const m = /^ZPK=([0-9A-Fa-f]{32}|[0-9A-Fa-f]{48}),([0-9A-Fa-f]{6});ZAK=([0-9A-Fa-f]{32}|[0-9A-Fa-f]{48}),([0-9A-Fa-f]{6})$/.exec(field);
  if (!m) return null;
  return {
    zpk: { cryptogram: m[1]!.toUpperCase(), kcv: m[2]!.toUpperCase() },
    zak: { cryptogram: m[3]!.toUpperCase(), kcv: m[4]!.toUpperCase() },
  };
}

// ------------------------------------------------------------------------------------------------
// builders
// ------------------------------------------------------------------------------------------------

/** What every request carries: its STAN (field 11) and when it is sent (ms; field 7 = `field7(at)`). */
export interface Stamp {
  stan: string;
  at: number;
}

const message = (mti: string, entries: [number, FieldValue | undefined][]): Message => {
  const fields = new Map<number, FieldValue>();
  for (const [k, v] of entries) if (v !== undefined) fields.set(k, v);
  return { mti, fields };
};

const network = (code: string, s: Stamp, extra: [number, FieldValue | undefined][]): Message =>
  message('0800', [[7, field7(s.at)], [11, s.stan], ...extra, [41, NETWORK_TERMINAL], [70, code]]);

export const signOn = (s: Stamp & { acquirerId: string }): Message => network(NMI.signOn, s, [[32, s.acquirerId]]);
export const signOff = (s: Stamp & { acquirerId: string }): Message => network(NMI.signOff, s, [[32, s.acquirerId]]);
export const echoRequest = (s: Stamp): Message => network(NMI.echo, s, []);
export const keyChange = (s: Stamp & { acquirerId: string; zpk: KeyBlock; zak: KeyBlock }): Message =>
  network(NMI.keyChange, s, [
    [32, s.acquirerId],
    [48, keyChangeField(s)],
  ]);
/** Cut-over (switch → acquirer): field 15 = the NEW settlement date. */
export const cutover = (s: Stamp & { settlementDate: string }): Message => network(NMI.cutover, s, [[15, mmddOf(s.settlementDate)]]);

export interface CardRequest extends Stamp {
  acquirerId: string;
  /** Field 37, 12 alphanumeric characters. */
  rrn: string;
  pan: string;
  /** YYMM. */
  expiry: string;
  /** Merchant category code (field 18). */
  mcc: string;
  terminalId: string;
  merchantId: string;
  /** Format 0 PIN block under the ZPK (8 bytes) when a PIN was entered. */
  pinBlock?: Buffer | undefined;
}

function cardRequest(processing: string, amount: number | bigint, r: CardRequest): Message {
  const local = beijingTime(r.at);
  return message('0200', [
    [2, r.pan],
    [3, processing],
    [4, amountField(amount)],
    [7, field7(r.at)],
    [11, r.stan],
    [12, local.hhmmss],
    [13, local.mmdd],
    [14, r.expiry],
    [18, r.mcc],
    [22, r.pinBlock ? '021' : '022'],
    [25, '00'],
    [32, r.acquirerId],
    [37, r.rrn],
    [41, r.terminalId],
    [42, r.merchantId],
    [49, CURRENCY_CNY],
    [52, r.pinBlock],
  ]);
}

/** 0200 purchase; sign it (`signMessage`) before sending. */
export const purchase = (r: CardRequest & { amount: number | bigint }): Message => cardRequest(PROCESSING.purchase, r.amount, r);
/** 0200 balance inquiry (amount 0); the answer's field 54 holds the balance. */
export const balanceInquiry = (r: CardRequest): Message => cardRequest(PROCESSING.balance, 0, r);

export interface AdviceRequest extends Stamp {
  acquirerId: string;
  pan: string;
  amount: number | bigint;
  terminalId: string;
  merchantId: string;
  /** The original purchase: its STAN and field 7 (its MTI is 0200, its acquirer id ours). */
  original: { stan: string; transmittedAt: string };
}

/** 0400 reversal of a purchase; `rrn` = the ORIGINAL's RRN; same 37 and 90 on every retry. */
export const reversal = (r: AdviceRequest & { rrn: string; reason: ReversalReason }): Message =>
  message('0400', [
    [2, r.pan],
    [3, PROCESSING.purchase],
    [4, amountField(r.amount)],
    [7, field7(r.at)],
    [11, r.stan],
    [32, r.acquirerId],
    [37, r.rrn],
    [39, r.reason],
    [41, r.terminalId],
    [42, r.merchantId],
    [49, CURRENCY_CNY],
    [90, originalData({ mti: '0200', stan: r.original.stan, transmittedAt: r.original.transmittedAt, acquirerId: r.acquirerId })],
  ]);

/** 0220 refund advice; `rrn` = the refund's OWN RRN; 90 = the original purchase. */
export const refundAdvice = (r: AdviceRequest & { rrn: string }): Message =>
  message('0220', [
    [2, r.pan],
    [3, PROCESSING.refund],
    [4, amountField(r.amount)],
    [7, field7(r.at)],
    [11, r.stan],
    [32, r.acquirerId],
    [37, r.rrn],
    [41, r.terminalId],
    [42, r.merchantId],
    [49, CURRENCY_CNY],
    [90, originalData({ mti: '0200', stan: r.original.stan, transmittedAt: r.original.transmittedAt, acquirerId: r.acquirerId })],
  ]);

/**
 * Fields an answer copies from its request: 7, 11, 32, 37, 41, 42 as common.md requires, plus 3
 * (card answers list it) and 70 (network answers list it), so `kindOf` reads an answer too.
 */
export const ECHOED_FIELDS = [3, 7, 11, 32, 37, 41, 42, 70] as const;

/**
 * The answer to `request`: MTI + 10, `ECHOED_FIELDS` copied when present, plus `extra`
 * (undefined values skipped; a value there overrides a copied one).
 */
export function answer(request: Message, extra: Map<number, FieldValue> | Record<number, FieldValue | undefined>): Message {
  const fields = new Map<number, FieldValue>();
  for (const f of ECHOED_FIELDS) {
    const v = request.fields.get(f);
    if (v !== undefined) fields.set(f, v);
  }
  const entries = extra instanceof Map ? extra.entries() : Object.entries(extra).map(([k, v]) => [Number(k), v] as const);
  for (const [k, v] of entries) if (v !== undefined) fields.set(k, v);
  return { mti: `${request.mti.slice(0, 2)}${Number(request.mti[2]) + 1}${request.mti[3]}`, fields };
}

export interface CoreRequest extends Stamp {
  /** Field 37, 12 characters, derived by the adapter. */
  rrn: string;
  /** The platform's request id (idempotency key), ≤ 64 characters: field 48. */
  requestId: string;
}

const core = (mti: string, s: Stamp, entries: [number, FieldValue | undefined][]): Message =>
  message(mti, [[7, field7(s.at)], [11, s.stan], ...entries, [41, CORE_TERMINAL]]);

export const coreInquiry = (r: CoreRequest & { account: string }): Message =>
  core('0200', r, [
    [3, PROCESSING.balance],
    [37, r.rrn],
    [48, r.requestId],
    [102, r.account],
  ]);
export const coreDebit = (r: CoreRequest & { account: string; amount: number | bigint }): Message =>
  core('0200', r, [
    [3, PROCESSING.purchase],
    [4, amountField(r.amount)],
    [37, r.rrn],
    [48, r.requestId],
    [102, r.account],
  ]);
/** Credit: the account travels in field 103 (account identification 2, "to"). */
export const coreCredit = (r: CoreRequest & { account: string; amount: number | bigint }): Message =>
  core('0200', r, [
    [3, PROCESSING.credit],
    [4, amountField(r.amount)],
    [37, r.rrn],
    [48, r.requestId],
    [103, r.account],
  ]);
/** Reverses the debit/credit whose request id is `originalRequestId`; `rrn` is this message's own. */
export const coreReversal = (r: Stamp & { rrn: string; originalRequestId: string }): Message =>
  core('0400', r, [
    [37, r.rrn],
    [48, r.originalRequestId],
  ]);
export const coreStatus = (r: Stamp & { requestId: string }): Message => core('0600', r, [[48, r.requestId]]);

// ------------------------------------------------------------------------------------------------
// reading
// ------------------------------------------------------------------------------------------------

export type MessageKind =
  | 'signOn'
  | 'signOff'
  | 'echo'
  | 'keyChange'
  | 'cutover'
  | 'purchase'
  | 'balance'
  | 'reversal'
  | 'refund'
  | 'coreInquiry'
  | 'coreDebit'
  | 'coreCredit'
  | 'coreReversal'
  | 'coreStatus'
  | 'unknown';

/** What a request (or, by its MTI − 10, an answer) is. */
export function kindOf(m: Message): MessageKind {
  const base = `${m.mti.slice(0, 2)}${Number(m.mti[2]) & ~1}${m.mti[3]}`;
  const f = m.fields;
  if (base === '0800') {
    switch (f.get(70)) {
      case NMI.signOn:
        return 'signOn';
      case NMI.signOff:
        return 'signOff';
      case NMI.echo:
        return 'echo';
      case NMI.keyChange:
        return 'keyChange';
      case NMI.cutover:
        return 'cutover';
      default:
        return 'unknown';
    }
  }
  const isCore = f.get(41) === CORE_TERMINAL;
  const proc = f.get(3);
  if (base === '0200') {
    if (isCore) {
      if (proc === PROCESSING.balance) return 'coreInquiry';
      if (proc === PROCESSING.purchase) return 'coreDebit';
      if (proc === PROCESSING.credit) return 'coreCredit';
      return 'unknown';
    }
    if (proc === PROCESSING.purchase) return 'purchase';
    if (proc === PROCESSING.balance) return 'balance';
    return 'unknown';
  }
  if (base === '0400') return isCore ? 'coreReversal' : 'reversal';
  if (base === '0220') return !isCore && proc === PROCESSING.refund ? 'refund' : 'unknown';
  if (base === '0600') return isCore ? 'coreStatus' : 'unknown';
  return 'unknown';
}

/** A string field, or undefined (absent or not text). */
export function str(m: Message, field: number): string | undefined {
  const v = m.fields.get(field);
  return typeof v === 'string' ? v : undefined;
}

// ------------------------------------------------------------------------------------------------
// MAC
// ------------------------------------------------------------------------------------------------

const MAC_MTIS = new Set(['0200', '0210', '0400', '0410', '0220', '0230']);

/** Whether this message must carry a MAC (card financial messages; not network management, not the core host). */
export function needsMac(m: Message): boolean {
  return MAC_MTIS.has(m.mti) && m.fields.get(41) !== CORE_TERMINAL;
}

/** 64, or 128 when the message has a field above 64 (hence a secondary bitmap). */
export function macField(m: Message): 64 | 128 {
  for (const k of m.fields.keys()) if (k > 64 && k !== 128) return 128;
  return 64;
}

const ZERO_MAC = Buffer.alloc(8);

/** The message with its MAC field set to `mac` (8 bytes); other fields shared, not copied. */
export function withMac(m: Message, mac: Buffer): Message {
  if (mac.length !== 8) throw new RangeError('a MAC is 8 bytes');
  const fields = new Map(m.fields);
  const f = macField(m);
  fields.delete(f === 64 ? 128 : 64);
  fields.set(f, mac);
  return { ...m, fields };
}

/** The bytes a MAC covers: the packed message with the MAC field as 16 '0', minus those 16 characters. */
export function macInput(m: Message): Buffer {
  const bytes = pack(SWITCH_SPEC, withMac(m, ZERO_MAC));
  return bytes.subarray(0, bytes.length - 16);
}

/**
 * The same bytes straight from a received frame that carries its MAC: the MAC field is the last
 * field on the wire and the bitmap is the same whatever its value, so no re-packing is needed.
 */
export function macInputOfFrame(frame: Buffer): Buffer {
  return frame.subarray(0, frame.length - 16);
}

/**
 * Packs `m` with its MAC in one pass (for a synchronous MAC, e.g. a simulator's clear key): packs
 * with the MAC field zeroed, MACs the bytes before it and writes the MAC's hex over the zeros.
 */
export function packWithMac(m: Message, mac: (data: Buffer) => Buffer): Buffer {
  const bytes = pack(SWITCH_SPEC, withMac(m, ZERO_MAC));
  const input = bytes.subarray(0, bytes.length - 16);
  bytes.write(mac(input).subarray(0, 8).toString('hex').toUpperCase(), bytes.length - 16, 'latin1');
  return bytes;
}

/** ISO 9797-1 alg. 3 under the ZAK: the platform's `(d) => crypto.generateMac(zak, 'ISO9797-1-ALG3', d)`, the simulator's `retailMac`. */
export type MacFunction = (data: Buffer) => Buffer | Promise<Buffer>;

/** The message with its MAC computed by `mac`. */
export async function signMessage(mac: MacFunction, m: Message): Promise<Message> {
  return withMac(m, (await mac(macInput(m))).subarray(0, 8));
}

/**
 * Whether the message's MAC is right. False when it has none. Pass the received frame to skip
 * re-packing (`macInputOfFrame`). Constant-time compare.
 */
export async function verifyMessage(mac: MacFunction, m: Message, frame?: Buffer): Promise<boolean> {
  const given = m.fields.get(macField(m));
  if (!Buffer.isBuffer(given) || given.length !== 8) return false;
  const computed = (await mac(frame ? macInputOfFrame(frame) : macInput(m))).subarray(0, 8);
  return timingSafeEqual8(computed, given);
}

function timingSafeEqual8(a: Buffer, b: Buffer): boolean {
  if (a.length !== 8 || b.length !== 8) return false;
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

// ------------------------------------------------------------------------------------------------
// the mux codec
// ------------------------------------------------------------------------------------------------

/**
 * A `MuxCodec` for the switch (and core) link: keys are response MTI | 41 | 11. `echo()` builds an
 * 0800/301 with the next STAN of `stan` (pass the link's own counter so echoes never collide with
 * its requests) and field 7 from `now` (ms).
 */
export function createSwitchCodec(options: { stan?: StanCounter; now?: () => number } = {}): MuxCodec<Message> {
  const stan = options.stan ?? new StanCounter();
  const now = options.now ?? Date.now;
  return {
    encode: (m) => pack(SWITCH_SPEC, m),
    decode: (frame) => unpack(SWITCH_SPEC, frame),
    requestKey: (m) => isoRequestKey(m.mti, str(m, 41) ?? '', str(m, 11) ?? ''),
    responseKey: (m) => {
      const terminal = str(m, 41);
      const s = str(m, 11);
      return terminal === undefined || s === undefined ? null : isoMatchKey(m.mti, terminal, s);
    },
    isRequest: (m) => isRequestMti(m.mti),
    echo: () => echoRequest({ stan: stan.next(), at: now() }),
  };
}

/** A codec with its own STAN counter for echoes; a link that sends echoes should use `createSwitchCodec` with its counter. */
export const switchCodec: MuxCodec<Message> = createSwitchCodec();
