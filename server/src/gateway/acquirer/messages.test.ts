import { describe, expect, it } from 'vitest';
import { CUP_POS, pack } from '../iso8583/index.js';
import { CUP_MESSAGES } from '../iso8583/test-support/cup-samples.js';
import {
  balanceField,
  cardFrom,
  decodeKeyData,
  decodeTotals,
  decodeUploadLines,
  encodeKeyData,
  encodeTotals,
  encodeUploadLines,
  kindOf,
  localTimeFields,
  macData,
  parseBalanceField,
  rrnOf,
} from './messages.js';

describe('acquirer message conventions', () => {
  it('reads the kind of every sample request of the CUP layout', () => {
    const kinds = Object.entries(CUP_MESSAGES)
      .filter(([name]) => name.includes('request'))
      .map(([name, make]) => {
        const m = make();
        const f60 = m.fields.get(60) as Map<number, string> | undefined;
        return [name, kindOf(m.mti, m.fields.get(3) as string | undefined, m.fields.get(25) as string | undefined, f60?.get(3))];
      });
    expect(Object.fromEntries(kinds)).toEqual({
      'sign-on request 0800': 'sign_on',
      'sale request 0200 (magnetic stripe)': 'sale',
      'sale request 0200 (chip)': 'sale',
      'sale void request 0200': 'void',
      'refund request 0220': 'refund',
      'pre-authorisation request 0100': 'preauth',
      'pre-authorisation void request 0100': 'preauth_void',
      'completion request 0200': 'completion',
      // An offline completion advice is not done by this host.
      'completion advice 0220': undefined,
      'reversal request 0400': 'reversal',
      'batch settlement request 0500': 'settle',
      'batch upload request 0320': 'upload',
      'echo test request 0820': 'echo',
    });
  });

  it('covers the bytes from the MTI to field 64 with the MAC', () => {
    const frame = pack(CUP_POS, CUP_MESSAGES['sale request 0200 (magnetic stripe)']!());
    const data = macData(frame);
    expect(data[0]).toBe(0x02); // MTI 0200 in BCD, after TPDU (5) and header (6)
    expect(data.length).toBe(frame.length - 11 - 8);
  });

  it('round-trips settlement totals, upload lines, key data and balances', () => {
    const totals = { saleCount: 4, saleAmount: 135_690, refundCount: 1, refundAmount: 5_000 };
    // The CUP sample's request totals, byte for byte.
    expect(encodeTotals(totals, '0')).toBe((CUP_MESSAGES['batch settlement request 0500']!().fields.get(48) as string));
    expect(decodeTotals(encodeTotals(totals, '2'))).toEqual({ totals, answer: '2' });
    expect(decodeTotals('12345')).toBeUndefined();

    const lines = [
      { type60: '22', stan: '000403', pan: '6217001234567890123', amount: 12_345 },
      { type60: '25', stan: '000405', pan: '6217001234567890123', amount: 500 },
    ];
    const f48 = encodeUploadLines(lines);
    expect(f48).toHaveLength(2 + 2 * 40);
    expect(decodeUploadLines(f48)).toEqual(lines.map(({ pan: _pan, ...rest }) => rest));
    expect(decodeUploadLines('01' + '2'.repeat(39))).toBeUndefined();
    expect(() => encodeUploadLines([])).toThrow(RangeError);

    const keys = { tpk: 'AA'.repeat(16), tpkKcv: '123456', tak: 'BB'.repeat(16), takKcv: 'ABCDEF' };
    const data = encodeKeyData(keys);
    expect(data).toHaveLength(38);
    const back = decodeKeyData(data)!;
    expect([back.tpk.toString('hex').toUpperCase(), back.tpkKcv, back.tak.toString('hex').toUpperCase(), back.takKcv]).toEqual([keys.tpk, keys.tpkKcv, keys.tak, keys.takKcv]);
    expect(decodeKeyData(data.subarray(1))).toBeUndefined();

    expect(balanceField(987_654)).toBe('0002156C000000987654');
    expect(parseBalanceField(balanceField(-12))).toBe(-12);
  });

  it('derives a stable 12-character RRN per transaction id', () => {
    expect(rrnOf('0190f3a2-0000-7000-8000-000000000001')).toBe(rrnOf('0190f3a2-0000-7000-8000-000000000001'));
    expect(rrnOf('a')).toMatch(/^[0-9A-Z]{12}$/);
    const many = new Set(Array.from({ length: 10_000 }, (_, i) => rrnOf(`txn-${i}`)));
    expect(many.size).toBe(10_000);
  });

  it('reads the card from 2 and 14 or from track 2; Beijing local time', () => {
    expect(cardFrom('6217001234567890123', '3012', undefined)).toEqual({ pan: '6217001234567890123', expiry: '3012' });
    expect(cardFrom(undefined, undefined, '6217001234567890123=30122200000000000')).toEqual({ pan: '6217001234567890123', expiry: '3012' });
    expect(cardFrom('6217001234567890000', undefined, '6217001234567890123=3012')).toBeUndefined();
    expect(cardFrom(undefined, undefined, undefined)).toBeUndefined();
    // 2026-11-27 16:05:09 UTC is 00:05:09 on 11-28 in Beijing.
    expect(localTimeFields(Date.UTC(2026, 10, 27, 16, 5, 9))).toEqual({ time: '000509', date: '1128' });
  });
});
