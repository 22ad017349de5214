/**
 * The switch's daily settlement file (docs/switch-sim.md is its reference):
 *
 *   H,<acquirer id>,<settlement date YYYY-MM-DD>,<created at ISO 8601 UTC>
 *   D,<rrn>,<type>,<amount fen>,<sign>,<stan>,<field 7>,<terminal id>,<merchant id>,<pan 6****4>,<auth code>,<original rrn>
 *   T,<D lines>,<total D fen>,<total C fen>,<net = D − C>
 *
 * UTF-8, LF line ends (a final LF too), no quoting: no field can hold a comma.
 * Exported for reconciliation tests that need a file without running a switch.
 */

export type SettlementLineType = 'SALE' | 'REFUND' | 'REVERSAL';

export interface SettlementLine {
  type: SettlementLineType;
  rrn: string;
  /** Fen, > 0. */
  amount: number;
  stan: string;
  transmittedAt: string;
  terminalId: string;
  merchantId: string;
  /** Already masked (6 + '*' + 4). */
  panMasked: string;
  authCode: string | null;
  originalRrn: string | null;
}

/** SALE: the switch owes the acquirer (D); REFUND and REVERSAL: the acquirer owes the switch (C). */
export const LINE_SIGN: Record<SettlementLineType, 'D' | 'C'> = { SALE: 'D', REFUND: 'C', REVERSAL: 'C' };

/** `<acquirer id>-<YYYYMMDD>.csv` */
export function settlementFileName(acquirerId: string, date: string): string {
  return `${acquirerId}-${date.replaceAll('-', '')}.csv`;
}

const CLEAN = /^[^,\r\n]*$/;

/** The file's text. Throws RangeError on a value that would break the format (a comma, a line break). */
export function formatSettlementFile(input: {
  acquirerId: string;
  date: string;
  createdAt: Date;
  lines: readonly SettlementLine[];
}): string {
  const out: string[] = [`H,${input.acquirerId},${input.date},${input.createdAt.toISOString()}`];
  let debit = 0;
  let credit = 0;
  for (const l of input.lines) {
    const sign = LINE_SIGN[l.type];
    if (sign === 'D') debit += l.amount;
    else credit += l.amount;
    const values = [
      'D',
      l.rrn,
      l.type,
      String(l.amount),
      sign,
      l.stan,
      l.transmittedAt,
      l.terminalId,
      l.merchantId,
      l.panMasked,
      l.authCode ?? '',
      l.originalRrn ?? '',
    ];
    for (const v of values) if (!CLEAN.test(v)) throw new RangeError('a settlement file value holds a comma or a line break');
    out.push(values.join(','));
  }
  out.push(`T,${input.lines.length},${debit},${credit},${debit - credit}`);
  return `${out.join('\n')}\n`;
}
