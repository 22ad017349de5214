/**
 * The CUP-style POS message conventions both ends of the acquirer link share (the host in
 * host.ts, the simulated terminal in pos-client.ts): message kinds, the MAC's byte range, the
 * layouts of fields 48, 54, 60, 61 and 62 as this host uses them, RRNs and the local time fields.
 * Pure functions, no I/O.
 *
 * Field 62 of the sign-on answer (0810), 38 bytes:
 *   TPK under the TMK (16, TDES ECB) ‖ TPK check value (3) ‖ TAK under the TMK (16) ‖ TAK check value (3)
 *   (check value = the first 3 bytes of TDES-encrypting a zero block with the clear key).
 * Field 62 of a financial request from a DUKPT terminal (binary, LLLVAR; dukpt.ts), with a PIN:
 *   TDES DUKPT: the KSN (10 bytes; the PIN block, format 0, is in 52);
 *   AES DUKPT: the KSN (12 bytes) ‖ the format 4 PIN block (16 bytes) — 52 holds only 8 bytes.
 *   A 'tpk' terminal's 62 in a request is ignored.
 * Field 48 of the batch settlement (0500/0510), 62 digits, CUP layout:
 *   domestic debit amount (12) · count (3) · credit amount (12) · count (3) · answer code (1),
 *   then the same 31 digits for foreign cards (always zero here). Debits are sales and
 *   completions standing in the batch, credits approved refunds. Answer code: '0' in a request;
 *   '1' balanced, '2' not balanced (upload the batch), '3' error in an answer.
 * Field 48 of a batch-upload line message (0320, 60.3 '201'): a 2-digit count (1–8), then per line
 *   the 60.1 message type code of the transaction (2: 22 sale, 20 completion, 25 refund, …) ·
 *   STAN (6) · PAN right-justified zero-filled to 20 · amount (12). (CUP puts the card
 *   organisation in the first two digits; this host needs the transaction type for the engine's
 *   upload comparison and reads the PAN not at all.)
 * The closing 0320 (60.3 '202') carries in 48 the number of lines uploaded (4 digits).
 * Field 54 (balance), 20 characters: account type '00' · amount type '02' (available) · '156' ·
 *   'C' or 'D' · 12 digits of fen — the same as on the switch link.
 */
import { createHash } from 'node:crypto';
import type { BatchTotals, TxnType } from '../../payments/contracts.js';
import { CUP_POS } from '../iso8583/index.js';

/** Bytes before the MTI in a CUP_POS frame: TPDU (5) and application header (6). */
export const MTI_OFFSET = (CUP_POS.layout.tpdu ? 5 : 0) + (CUP_POS.layout.header?.bytes ?? 0);
export const MAC_BYTES = 8;

/**
 * The bytes field 64's MAC covers: from the MTI up to field 64. With no secondary bitmap on this
 * interface, 64 is the last field and has a fixed length, so it is exactly the last 8 bytes of a
 * message that decoded cleanly (the codec refuses trailing bytes).
 */
export const macData = (frame: Buffer): Buffer => frame.subarray(MTI_OFFSET, frame.length - MAC_BYTES);

/** What a request asks for, from its MTI, processing code (3) and condition code (25). */
export type PosKind =
  | 'sale'
  | 'void'
  | 'balance'
  | 'refund'
  | 'preauth'
  | 'preauth_void'
  | 'completion'
  | 'completion_void'
  | 'reversal'
  | 'settle'
  | 'upload'
  | 'sign_on'
  | 'sign_off'
  | 'echo';

/** MTI, processing code and condition code of each financial kind (what the client sends). */
export const FINANCIAL: Readonly<Record<Exclude<PosKind, 'reversal' | 'settle' | 'upload' | 'sign_on' | 'sign_off' | 'echo'>, { mti: string; processing: string; condition: string; type60: string }>> = {
  sale: { mti: '0200', processing: '000000', condition: '00', type60: '22' },
  void: { mti: '0200', processing: '200000', condition: '00', type60: '23' },
  balance: { mti: '0200', processing: '310000', condition: '00', type60: '01' },
  refund: { mti: '0220', processing: '200000', condition: '00', type60: '25' },
  preauth: { mti: '0100', processing: '030000', condition: '06', type60: '10' },
  preauth_void: { mti: '0100', processing: '200000', condition: '06', type60: '11' },
  completion: { mti: '0200', processing: '000000', condition: '06', type60: '20' },
  completion_void: { mti: '0200', processing: '200000', condition: '06', type60: '21' },
};

/** 60.1 message type codes of the engine's transaction types (batch-upload lines). */
export const TYPE60: Readonly<Partial<Record<TxnType, string>>> = {
  balance: '01',
  preauth: '10',
  preauth_void: '11',
  completion: '20',
  completion_void: '21',
  sale: '22',
  void: '23',
  refund: '25',
};
const TYPE_OF_60 = new Map(Object.entries(TYPE60).map(([type, code]) => [code, type as TxnType]));
export const txnTypeOf60 = (code: string): TxnType | undefined => TYPE_OF_60.get(code);

/**
 * The kind of a request, or undefined for one this host does not do ('12'). Network management:
 * 0800 sign-on (60.3 001/003/004), 0820 with 60.3 '002' sign-off or '301' echo.
 */
export function kindOf(mti: string, processing: string | undefined, condition: string | undefined, code60: string | undefined): PosKind | undefined {
  switch (mti) {
    case '0800':
      return 'sign_on';
    case '0820':
      return code60 === '002' ? 'sign_off' : code60 === '301' ? 'echo' : undefined;
    case '0400':
      return 'reversal';
    case '0500':
      return 'settle';
    case '0320':
      return 'upload';
    case '0200':
      if (processing === '310000') return 'balance';
      if (processing === '000000') return condition === '06' ? 'completion' : condition === '00' ? 'sale' : undefined;
      if (processing === '200000') return condition === '06' ? 'completion_void' : condition === '00' ? 'void' : undefined;
      return undefined;
    case '0220':
      return processing === '200000' && condition === '00' ? 'refund' : undefined;
    case '0100':
      if (condition !== '06') return undefined;
      return processing === '030000' ? 'preauth' : processing === '200000' ? 'preauth_void' : undefined;
    default:
      return undefined;
  }
}

/** The engine's client id of a POS transaction, and of the reversal of one. */
export const clientIdOf = (batch: string, stan: string): string => `iso:${batch}:${stan}`;
export const reversalClientIdOf = (batch: string, stan: string): string => `iso:rev:${batch}:${stan}`;

/**
 * The retrieval reference number (field 37) of an engine transaction: 12 upper-case base-36
 * characters of SHA-256(transaction id) — the same for every retry, ~62 bits, so two transactions
 * share one only by a collision of about one in 2^31 after 2^31 transactions.
 */
export function rrnOf(txnId: string): string {
  const digest = createHash('sha256').update(txnId).digest();
  return digest.readBigUInt64BE(0).toString(36).toUpperCase().padStart(13, '0').slice(-12);
}

const BEIJING_MS = 8 * 3_600_000;

/** Fields 12 (hhmmss) and 13 (MMDD) in Beijing time for a moment in ms. */
export function localTimeFields(atMs: number): { time: string; date: string } {
  const iso = new Date(atMs + BEIJING_MS).toISOString();
  return { time: iso.slice(11, 19).replace(/:/g, ''), date: iso.slice(5, 7) + iso.slice(8, 10) };
}

/** Field 54 for an available balance in fen. */
export function balanceField(fen: number): string {
  return `0002156${fen < 0 ? 'D' : 'C'}${String(Math.abs(fen)).padStart(12, '0')}`;
}

/** The balance in a field 54, or undefined when it is not this layout. */
export function parseBalanceField(value: string): number | undefined {
  const m = /^0002156([CD])(\d{12})$/.exec(value);
  if (!m) return undefined;
  const fen = Number(m[2]);
  return m[1] === 'D' ? -fen : fen;
}

export const amountField = (fen: number): string => String(fen).padStart(12, '0');

// ─── Field 62: working keys ───────────────────────────────────────────────────────────────────

export interface WorkingKeys {
  tpk: Buffer;
  tpkKcv: string;
  tak: Buffer;
  takKcv: string;
}

export const KEY_DATA_BYTES = 38;

export function encodeKeyData(k: { tpk: string; tpkKcv: string; tak: string; takKcv: string }): Buffer {
  return Buffer.concat([Buffer.from(k.tpk, 'hex'), Buffer.from(k.tpkKcv, 'hex'), Buffer.from(k.tak, 'hex'), Buffer.from(k.takKcv, 'hex')]);
}

export function decodeKeyData(data: Buffer): WorkingKeys | undefined {
  if (data.length !== KEY_DATA_BYTES) return undefined;
  const hex = (from: number, to: number): string => data.subarray(from, to).toString('hex').toUpperCase();
  return { tpk: Buffer.from(data.subarray(0, 16)), tpkKcv: hex(16, 19), tak: Buffer.from(data.subarray(19, 35)), takKcv: hex(35, 38) };
}

// ─── Field 48: settlement totals and upload lines ─────────────────────────────────────────────

const MAX_COUNT = 999;

/** Totals as field 48 (answer code '0' in a request). Counts above 999 cannot be expressed: they are sent as 999. */
export function encodeTotals(t: BatchTotals, answer: '0' | '1' | '2' | '3'): string {
  const count = (n: number): string => String(Math.min(n, MAX_COUNT)).padStart(3, '0');
  const domestic = amountField(t.saleAmount) + count(t.saleCount) + amountField(t.refundAmount) + count(t.refundCount) + answer;
  return domestic + '0'.repeat(30) + answer;
}

export function decodeTotals(value: string): { totals: BatchTotals; answer: string } | undefined {
  const m = /^(\d{12})(\d{3})(\d{12})(\d{3})(\d)(\d{31})?$/.exec(value);
  if (!m) return undefined;
  return { totals: { saleAmount: Number(m[1]), saleCount: Number(m[2]), refundAmount: Number(m[3]), refundCount: Number(m[4]) }, answer: m[5]! };
}

export interface UploadLine {
  type60: string;
  stan: string;
  /** Digits only; sent right-justified in 20 zero-filled digits. */
  pan: string;
  amount: number;
}

export const MAX_UPLOAD_LINES = 8;

export function encodeUploadLines(lines: readonly UploadLine[]): string {
  if (lines.length < 1 || lines.length > MAX_UPLOAD_LINES) throw new RangeError(`1 to ${MAX_UPLOAD_LINES} lines per message`);
  return String(lines.length).padStart(2, '0') + lines.map((l) => l.type60 + l.stan + l.pan.padStart(20, '0') + amountField(l.amount)).join('');
}

/** The lines of a 0320 (without the PANs, which this host has no use for), or undefined if malformed. */
export function decodeUploadLines(value: string): Omit<UploadLine, 'pan'>[] | undefined {
  const count = Number(value.slice(0, 2));
  if (!/^\d{2}$/.test(value.slice(0, 2)) || count < 1 || count > MAX_UPLOAD_LINES || value.length !== 2 + count * 40 || !/^\d+$/.test(value)) return undefined;
  const lines: Omit<UploadLine, 'pan'>[] = [];
  for (let i = 0; i < count; i++) {
    const at = 2 + i * 40;
    lines.push({ type60: value.slice(at, at + 2), stan: value.slice(at + 2, at + 8), amount: Number(value.slice(at + 28, at + 40)) });
  }
  return lines;
}

// ─── Cards ────────────────────────────────────────────────────────────────────────────────────

/** The card of a request: PAN and expiry from fields 2 and 14, else from track 2 (`PAN=YYMM…`). */
export function cardFrom(pan2: string | undefined, expiry14: string | undefined, track2: string | undefined): { pan: string; expiry: string } | undefined {
  if (pan2 !== undefined && expiry14 !== undefined) return { pan: pan2, expiry: expiry14 };
  if (track2 === undefined) return undefined;
  const m = /^(\d{12,19})[=D](\d{4})/.exec(track2);
  if (!m) return undefined;
  if (pan2 !== undefined && pan2 !== m[1]) return undefined;
  return { pan: m[1]!, expiry: expiry14 ?? m[2]! };
}

export const EXPIRY = /^\d{2}(0[1-9]|1[0-2])$/;
