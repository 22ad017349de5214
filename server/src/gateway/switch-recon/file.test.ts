import { describe, expect, it } from 'vitest';
import { XiaoweiError } from '../../platform/errors.js';
import { formatSettlementFile, parseSettlementFile } from './file.js';
import { line } from './test-fixtures.js';

const good = formatSettlementFile({
  acquirerId: '04581000',
  settlementDate: '2026-11-27',
  createdAt: '2026-11-27T15:00:05.123Z',
  lines: [line('SALE', 'AB0000000001', 10_000), line('REFUND', 'AB0000000002', 2_000, 'AB0000000001'), line('REVERSAL', 'AB0000000003', 300)],
});

/** The error a text throws (a test fails if it parses). */
function errorOf(text: string): XiaoweiError {
  try {
    parseSettlementFile(text);
  } catch (error) {
    if (error instanceof XiaoweiError) return error;
    throw error;
  }
  throw new Error('parsed');
}

/** The good file with line `n` (1-based) replaced. */
function withLine(n: number, text: string): string {
  const rows = good.split('\n');
  rows[n - 1] = text;
  return rows.join('\n');
}

describe('settlement file parser', () => {
  it('reads a well-formed file back as written', () => {
    const f = parseSettlementFile(good);
    expect(f).toMatchObject({ acquirerId: '04581000', settlementDate: '2026-11-27', debitTotal: 10_000, creditTotal: 2_300, net: 7_700 });
    expect(f.lines.map((l) => [l.lineNo, l.type, l.rrn, l.amount, l.sign, l.originalRrn])).toEqual([
      [2, 'SALE', 'AB0000000001', 10_000, 'D', null],
      [3, 'REFUND', 'AB0000000002', 2_000, 'C', 'AB0000000001'],
      [4, 'REVERSAL', 'AB0000000003', 300, 'C', 'AB0000000003'],
    ]);
    expect(f.lines[0]).toMatchObject({ stan: '000123', transmittedAt: '1127093000', terminalRef: 'TERM0001', merchantRef: 'MERCHANT0000001', panMasked: '621999****1234', authCode: 'A12345' });
    expect(good.endsWith('T,3,10000,2300,7700\n')).toBe(true);
    // A negative net, an empty file, a byte-order mark, no final LF.
    expect(parseSettlementFile('H,04581000,2026-11-27,2026-11-27T15:00:00Z\nD,AB0000000009,REFUND,5,C,000001,1127000000,TERM0001,MERCHANT0000001,621999****1234,,\nT,1,0,5,-5').net).toBe(-5);
    expect(parseSettlementFile('\uFEFFH,04581000,2026-11-27,2026-11-27T15:00:00Z\nT,0,0,0,0\n').lines).toEqual([]);
  });

  it.each([
    ['empty text', '', 'switch_recon_file_header', 1, 'record'],
    ['not a header', withLine(1, 'D,04581000,2026-11-27,2026-11-27T15:00:00Z'), 'switch_recon_file_header', 1, 'record'],
    ['bad acquirer id', withLine(1, 'H,ACQ,2026-11-27,2026-11-27T15:00:00Z'), 'switch_recon_file_header', 1, 'acquirer_id'],
    ['impossible date', withLine(1, 'H,04581000,2026-02-30,2026-11-27T15:00:00Z'), 'switch_recon_file_header', 1, 'settlement_date'],
    ['creation time not UTC ISO 8601', withLine(1, 'H,04581000,2026-11-27,27/11/2026'), 'switch_recon_file_header', 1, 'created_at'],
    ['unknown record type', withLine(3, 'X,1,2'), 'switch_recon_file_record', 3, 'record'],
    ['empty line', withLine(3, ''), 'switch_recon_file_record', 3, 'record'],
    ['CR LF line endings', good.replace(/\n/g, '\r\n'), 'switch_recon_file_record', 1, 'line_ending'],
    ['a field too many', withLine(2, `${good.split('\n')[1]},x`), 'switch_recon_file_record', 2, 'fields'],
    ['unknown transaction type', withLine(2, good.split('\n')[1]!.replace('SALE', 'PURCHASE')), 'switch_recon_file_type', 2, 'type'],
    ['amount not a number', withLine(2, good.split('\n')[1]!.replace(',10000,', ',10a00,')), 'switch_recon_file_amount', 2, 'amount'],
    ['amount in yuan', withLine(2, good.split('\n')[1]!.replace(',10000,', ',100.00,')), 'switch_recon_file_amount', 2, 'amount'],
    ['amount zero', withLine(2, good.split('\n')[1]!.replace(',10000,', ',0,')), 'switch_recon_file_amount', 2, 'amount'],
    ['amount negative', withLine(2, good.split('\n')[1]!.replace(',10000,', ',-10000,')), 'switch_recon_file_amount', 2, 'amount'],
    ['amount beyond a safe integer', withLine(2, good.split('\n')[1]!.replace(',10000,', ',99999999999999999,')), 'switch_recon_file_amount', 2, 'amount'],
    ['sign against the type', withLine(2, good.split('\n')[1]!.replace(',D,', ',C,')), 'switch_recon_file_field', 2, 'sign'],
    ['short rrn', withLine(2, good.split('\n')[1]!.replace('AB0000000001', 'AB01')), 'switch_recon_file_field', 2, 'rrn'],
    ['bad field 7', withLine(2, good.split('\n')[1]!.replace('1127093000', '1327093000')), 'switch_recon_file_field', 2, 'transmitted_at'],
    ['reversal without original', withLine(4, good.split('\n')[3]!.replace(/,AB0000000003$/, ',')), 'switch_recon_file_field', 4, 'original_rrn'],
    ['totals not matching', withLine(5, 'T,3,10000,2300,7701'), 'switch_recon_file_totals', 5, 'net'],
    ['count not matching', withLine(5, 'T,2,10000,2300,7700'), 'switch_recon_file_totals', 5, 'count'],
    ['debit total not matching', withLine(5, 'T,3,10001,2300,7701'), 'switch_recon_file_totals', 5, 'debit_total'],
    ['missing trailer', good.split('\n').slice(0, 4).join('\n'), 'switch_recon_file_trailer', 5, 'missing'],
    ['a line after the trailer', `${good}D,AB0000000009,SALE,1,D,000001,1127000000,TERM0001,MERCHANT0000001,621999****1234,,\n`, 'switch_recon_file_trailer', 6, 'after_trailer'],
  ])('%s → %s on line %i', (_name, text, code, lineNo, field) => {
    const e = errorOf(text);
    expect(e.code).toBe(code);
    expect(e.detail).toBe(String(lineNo));
    expect(e.data).toMatchObject({ line: lineNo, field });
  });

  it('refuses a repeated rrn of one type, naming both lines', () => {
    const rows = good.split('\n');
    const dup = [rows[0], rows[1], rows[1], 'T,2,20000,0,20000', ''].join('\n');
    expect(errorOf(dup)).toMatchObject({ code: 'switch_recon_file_duplicate', detail: '3', data: { line: 3, first_line: 2 } });
  });

  it('never echoes a clear PAN found where the masked one belongs', () => {
    const pan = '6219991234567890123';
    const e = errorOf(withLine(2, good.split('\n')[1]!.replace('621999****1234', pan)));
    expect(e).toMatchObject({ code: 'switch_recon_file_field', data: { line: 2, field: 'pan' } });
    expect(JSON.stringify({ message: e.message, data: e.data, detail: e.detail })).not.toContain(pan);
  });
});
