/**
 * The generic ISO 8583:1987 ASCII spec: the data element table is complete, secondary-bitmap
 * fields round-trip, and the bytes are what the standard's ASCII representation says.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ISO8583_1987_ASCII as SPEC, pack, unpack, type FieldValue, type Message } from './index.js';
import { fieldArb, messageArb } from './test-support/arbitrary.js';

describe('ISO 8583:1987 ASCII', () => {
  it('defines every data element 2–128', () => {
    const numbers = Object.keys(SPEC.fields).map(Number);
    expect(numbers).toEqual(Array.from({ length: 127 }, (_, i) => i + 2));
  });

  it('round-trips an authorisation with secondary-bitmap fields (90, 102, 128)', () => {
    const m: Message = {
      mti: '0420',
      fields: new Map<number, FieldValue>([
        [2, '4761739001010010'],
        [3, '000000'],
        [4, '000000010000'],
        [7, '0830101530'],
        [11, '123456'],
        [28, 'C00000150'],
        [35, '4761739001010010=22122011143804400000'],
        [37, '000000123456'],
        [39, '00'],
        [41, 'TERM0001'],
        [42, 'MERCHANT0000001'],
        [43, 'VILLAGE SHOP 12        QINGDAO        CN'],
        [49, '156'],
        [52, Buffer.from('0123456789ABCDEF', 'hex')],
        [90, '020012345608301015300000000012300000000456'],
        [95, '000000005000000000005000C00000000D00000000'],
        [102, '6217001234567890123'],
        [128, Buffer.from('A1B2C3D4E5F60718', 'hex')],
      ]),
    };
    const bytes = pack(SPEC, m);
    const text = bytes.toString('latin1');
    // MTI, then primary bitmap with bit 1 set (a secondary bitmap follows), as upper-case hex.
    expect(text.slice(0, 4)).toBe('0420');
    expect(text.slice(4, 20)).toBe('F22000102AE09000');
    expect(text.slice(20, 36)).toBe('0000004204000001');
    expect(text.slice(36, 54)).toBe('164761739001010010');
    // Binary fields are written as hex; the MAC is last.
    expect(text.endsWith('A1B2C3D4E5F60718')).toBe(true);
    expect(text).toContain('0123456789ABCDEF');
    expect(unpack(SPEC, bytes)).toEqual(m);
    expect(pack(SPEC, unpack(SPEC, bytes)).equals(bytes)).toBe(true);
  });

  it('round-trips a message holding every data element', () => {
    fc.assert(
      fc.property(fc.tuple(...Array.from({ length: 127 }, (_, i) => fieldArb(SPEC.fields[i + 2]!))), (values) => {
        const m: Message = { mti: '0800', fields: new Map(values.map((v, i) => [i + 2, v])) };
        const bytes = pack(SPEC, m);
        expect(unpack(SPEC, bytes)).toEqual(m);
      }),
      { numRuns: 50 },
    );
  });

  it('round-trips random messages drawn from the spec', () => {
    fc.assert(
      fc.property(messageArb(SPEC, ['0100', '0110', '0200', '0210', '0420', '0800']), (m) => {
        const bytes = pack(SPEC, m);
        const back = unpack(SPEC, bytes);
        expect(back).toEqual(m);
        expect(pack(SPEC, back).equals(bytes)).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('reads lower-case hex but writes upper case (canonical form)', () => {
    const upper = pack(SPEC, { mti: '0800', fields: new Map<number, FieldValue>([[52, Buffer.from('abcdef0123456789', 'hex')]]) }).toString(
      'latin1',
    );
    const lower = upper.toLowerCase();
    expect(unpack(SPEC, Buffer.from(lower, 'latin1'))).toEqual(unpack(SPEC, Buffer.from(upper, 'latin1')));
  });
});
