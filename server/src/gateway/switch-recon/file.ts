/**
 * The card switch's daily settlement file (common brief "Settlement file of the switch"; the
 * simulator writes it at cut-over):
 *
 *   H,<acquirer id>,<settlement date YYYY-MM-DD>,<created at ISO 8601 UTC>
 *   D,<rrn>,<type>,<amount fen>,<sign>,<stan>,<field 7>,<terminal id>,<merchant id>,<pan 6****4>,<auth code|>,<original rrn|>
 *   T,<D lines>,<total D fen>,<total C fen>,<net = D − C>
 *
 * UTF-8, LF, no quoting. The parser is strict: the first problem found is thrown as a typed error
 * whose detail is its 1-based line number and whose data names the field — never a value, since a
 * malformed file may carry a clear PAN where the masked one belongs. The writer is the inverse
 * (tests, tools), computing the trailer.
 */
import { XiaoweiError, type ErrorCode } from '../../platform/errors.js';
import { RECORD_TYPES, type RecordType } from './migration.js';

export interface SettlementLine {
  /** 1-based line of the file. */
  lineNo: number;
  rrn: string;
  type: RecordType;
  /** Fen, > 0. */
  amount: number;
  /** D: the switch owes the acquirer (SALE); C: the acquirer owes the switch (REFUND, REVERSAL). */
  sign: 'D' | 'C';
  stan: string;
  /** Field 7 of the message, MMDDhhmmss. */
  transmittedAt: string;
  terminalRef: string;
  merchantRef: string;
  panMasked: string;
  authCode: string | null;
  originalRrn: string | null;
}

export interface SettlementFile {
  acquirerId: string;
  settlementDate: string;
  createdAt: string;
  lines: SettlementLine[];
  debitTotal: number;
  creditTotal: number;
  /** debitTotal − creditTotal: > 0 the switch pays the acquirer. */
  net: number;
}

/** The sign each type must carry. */
export const SIGN_OF: Record<RecordType, 'D' | 'C'> = { SALE: 'D', REFUND: 'C', REVERSAL: 'C' };

const ACQUIRER_RE = /^\d{1,11}$/;
const RRN_RE = /^[0-9A-Za-z]{12}$/;
const STAN_RE = /^\d{6}$/;
const FIELD7_RE = /^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])([01]\d|2[0-3])[0-5]\d[0-5]\d$/;
const TERMINAL_RE = /^[ -~]{8}$/;
const MERCHANT_RE = /^[ -~]{15}$/;
const PAN_MASKED_RE = /^\d{6}\*{2,9}\d{4}$/;
const AUTH_RE = /^[0-9A-Za-z ]{6}$/;
const CREATED_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|\+00:00)$/;
const COUNT_RE = /^(0|[1-9]\d{0,15})$/;
const NET_RE = /^(0|-?[1-9]\d{0,15})$/;

function fail(code: ErrorCode, line: number, field?: string): never {
  throw new XiaoweiError(code, String(line), field === undefined ? { line } : { line, field });
}

/** A real calendar date 'YYYY-MM-DD'. */
export function isDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function count(s: string, line: number, code: ErrorCode, field: string): number {
  const n = COUNT_RE.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) fail(code, line, field);
  return n;
}

function parseHeader(text: string | undefined): Pick<SettlementFile, 'acquirerId' | 'settlementDate' | 'createdAt'> {
  const f = (text ?? '').split(',');
  if (f.length !== 4 || f[0] !== 'H') fail('switch_recon_file_header', 1, 'record');
  const [, acquirerId = '', settlementDate = '', createdAt = ''] = f;
  if (!ACQUIRER_RE.test(acquirerId)) fail('switch_recon_file_header', 1, 'acquirer_id');
  if (!isDate(settlementDate)) fail('switch_recon_file_header', 1, 'settlement_date');
  if (!CREATED_RE.test(createdAt) || !Number.isFinite(Date.parse(createdAt))) fail('switch_recon_file_header', 1, 'created_at');
  return { acquirerId, settlementDate, createdAt };
}

function parseDetail(f: string[], lineNo: number): SettlementLine {
  if (f.length !== 12) fail('switch_recon_file_record', lineNo, 'fields');
  const [, rrn = '', type = '', amountText = '', sign = '', stan = '', transmittedAt = '', terminalRef = '', merchantRef = '', pan = '', auth = '', original = ''] = f;
  if (!RRN_RE.test(rrn)) fail('switch_recon_file_field', lineNo, 'rrn');
  if (!(RECORD_TYPES as readonly string[]).includes(type)) fail('switch_recon_file_type', lineNo, 'type');
  const t = type as RecordType;
  const amount = /^[1-9]\d{0,15}$/.test(amountText) ? Number(amountText) : NaN;
  if (!Number.isSafeInteger(amount)) fail('switch_recon_file_amount', lineNo, 'amount');
  if (sign !== SIGN_OF[t]) fail('switch_recon_file_field', lineNo, 'sign');
  if (!STAN_RE.test(stan)) fail('switch_recon_file_field', lineNo, 'stan');
  if (!FIELD7_RE.test(transmittedAt)) fail('switch_recon_file_field', lineNo, 'transmitted_at');
  if (!TERMINAL_RE.test(terminalRef)) fail('switch_recon_file_field', lineNo, 'terminal_id');
  if (!MERCHANT_RE.test(merchantRef)) fail('switch_recon_file_field', lineNo, 'merchant_id');
  if (!PAN_MASKED_RE.test(pan)) fail('switch_recon_file_field', lineNo, 'pan');
  if (auth !== '' && !AUTH_RE.test(auth)) fail('switch_recon_file_field', lineNo, 'auth_code');
  // A reversal names the purchase it undoes; a sale names none; a refund may.
  const originalOk = t === 'REVERSAL' ? RRN_RE.test(original) : t === 'SALE' ? original === '' : original === '' || RRN_RE.test(original);
  if (!originalOk) fail('switch_recon_file_field', lineNo, 'original_rrn');
  return {
    lineNo,
    rrn,
    type: t,
    amount,
    sign,
    stan,
    transmittedAt,
    terminalRef,
    merchantRef,
    panMasked: pan,
    authCode: auth === '' ? null : auth,
    originalRrn: original === '' ? null : original,
  };
}

/** Parses a settlement file; throws the first problem as a `switch_recon_file_*` error. */
export function parseSettlementFile(input: string): SettlementFile {
  // A byte-order mark (a spreadsheet's save) is tolerated; nothing else is.
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const rows = text.split('\n');
  // The file ends with LF: the empty string after it is no line.
  if (rows.length > 1 && rows[rows.length - 1] === '') rows.pop();
  const crAt = rows.findIndex((r) => r.includes('\r'));
  if (crAt >= 0) fail('switch_recon_file_record', crAt + 1, 'line_ending');

  const header = parseHeader(rows[0]);
  const lines: SettlementLine[] = [];
  const seen = new Map<string, number>();
  let debitTotal = 0;
  let creditTotal = 0;
  for (let i = 1; i < rows.length; i++) {
    const lineNo = i + 1;
    const f = rows[i]!.split(',');
    if (f[0] === 'T') {
      if (i !== rows.length - 1) fail('switch_recon_file_trailer', lineNo + 1, 'after_trailer');
      if (f.length !== 5) fail('switch_recon_file_trailer', lineNo, 'fields');
      const n = count(f[1]!, lineNo, 'switch_recon_file_trailer', 'count');
      const d = count(f[2]!, lineNo, 'switch_recon_file_trailer', 'debit_total');
      const c = count(f[3]!, lineNo, 'switch_recon_file_trailer', 'credit_total');
      const net = NET_RE.test(f[4]!) ? Number(f[4]) : NaN;
      if (!Number.isSafeInteger(net)) fail('switch_recon_file_trailer', lineNo, 'net');
      if (n !== lines.length) fail('switch_recon_file_totals', lineNo, 'count');
      if (d !== debitTotal) fail('switch_recon_file_totals', lineNo, 'debit_total');
      if (c !== creditTotal) fail('switch_recon_file_totals', lineNo, 'credit_total');
      if (net !== d - c) fail('switch_recon_file_totals', lineNo, 'net');
      return { ...header, lines, debitTotal, creditTotal, net };
    }
    if (f[0] !== 'D') fail('switch_recon_file_record', lineNo, 'record');
    const line = parseDetail(f, lineNo);
    const key = `${line.type}:${line.rrn}`;
    if (seen.has(key)) throw new XiaoweiError('switch_recon_file_duplicate', String(lineNo), { line: lineNo, field: 'rrn', first_line: seen.get(key) });
    seen.set(key, lineNo);
    if (line.sign === 'D') debitTotal += line.amount;
    else creditTotal += line.amount;
    if (!Number.isSafeInteger(debitTotal) || !Number.isSafeInteger(creditTotal)) fail('switch_recon_file_amount', lineNo, 'amount');
    lines.push(line);
  }
  return fail('switch_recon_file_trailer', rows.length + 1, 'missing');
}

/** Writes a settlement file (LF, trailing LF) with its computed trailer. */
export function formatSettlementFile(file: { acquirerId: string; settlementDate: string; createdAt: string; lines: readonly Omit<SettlementLine, 'lineNo'>[] }): string {
  let d = 0;
  let c = 0;
  const out = [`H,${file.acquirerId},${file.settlementDate},${file.createdAt}`];
  for (const l of file.lines) {
    if (l.sign === 'D') d += l.amount;
    else c += l.amount;
    out.push(
      ['D', l.rrn, l.type, l.amount, l.sign, l.stan, l.transmittedAt, l.terminalRef, l.merchantRef, l.panMasked, l.authCode ?? '', l.originalRrn ?? ''].join(','),
    );
  }
  out.push(`T,${file.lines.length},${d},${c},${d - c}`);
  return `${out.join('\n')}\n`;
}
