/**
 * Digit sub-fields of a BCD field (CUP 60 and 61 are left-justified): packed and unpacked
 * nibble by nibble, without the whole field's string (compile.ts). Both justifications, both
 * pad nibbles, odd and even lengths, and the errors of the general sub-field path.
 */
import { describe, expect, it } from 'vitest';
import { Iso8583Error, pack, unpack, type FieldSpec, type FieldValue, type Iso8583ErrorCode, type MessageSpec } from './index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const spec = (extra: Partial<FieldSpec>): MessageSpec => ({
  name: 'positional BCD test',
  layout: { tpdu: false, mti: 'ascii', bitmap: 'hex', secondaryBitmap: false },
  fields: {
    60: {
      name: 'Positional digits',
      class: 'n',
      length: 'llvar',
      max: 9,
      prefix: 'bcd',
      content: 'bcd',
      sub: {
        kind: 'positional',
        fields: [
          { name: 'one', class: 'n', length: 2 },
          { name: 'two', class: 'n', length: 3 },
          { name: 'rest', class: 'n', length: 'rest' },
        ],
      },
      ...extra,
    },
  },
});
const RIGHT = spec({});
const RIGHT_F = spec({ pad: 0xf });
const LEFT_F = spec({ justify: 'left', pad: 0xf });

/** MTI and the hex bitmap (20 bytes), then field 60. */
const HEAD = 20;
const message = (...subs: string[]) => ({
  mti: '0200',
  fields: new Map<number, FieldValue>([[60, new Map(subs.map((s, i) => [i + 1, s]))]]),
});
const field60 = (s: MessageSpec, ...subs: string[]): string =>
  pack(s, message(...subs))
    .subarray(HEAD)
    .toString('hex')
    .toUpperCase();

function expectError(fn: () => unknown, code: Iso8583ErrorCode): Iso8583Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Iso8583Error);
    expect((e as Iso8583Error).code).toBe(code);
    expect((e as Iso8583Error).field).toBe(60);
    return e as Iso8583Error;
  }
  throw new Error(`expected ${code}`);
}

describe('digit sub-fields of a BCD field', () => {
  it('packs the nibbles with the pad where the justification puts it', () => {
    expect(field60(RIGHT, '12', '345', '6')).toBe('06123456');
    expect(field60(RIGHT, '12', '345')).toBe('05012345');
    expect(field60(RIGHT_F, '12', '345')).toBe('05F12345');
    expect(field60(LEFT_F, '12', '345')).toBe('0512345F');
    expect(field60(LEFT_F, '12', '345', '6789')).toBe('09123456789F');
  });

  it('unpacks to the same sub-fields, trailing ones absent, whatever the pad nibble', () => {
    for (const s of [RIGHT, RIGHT_F, LEFT_F]) {
      for (const subs of [['12', '345', '6789'], ['12', '345', '6'], ['12', '345'], ['12']]) {
        const bytes = pack(s, message(...subs));
        expect(unpack(s, bytes)).toEqual(message(...subs));
        expect(pack(s, unpack(s, bytes)).equals(bytes)).toBe(true);
      }
    }
    // A pad nibble of another value is not checked on the way in.
    expect(unpack(RIGHT, Buffer.concat([pack(RIGHT, message('12', '345')).subarray(0, HEAD), hex('05 71 23 45')]))).toEqual(
      message('12', '345'),
    );
  });

  it('refuses a non-digit nibble with the offset of its byte, and a cut sub-field', () => {
    const head = pack(RIGHT, message('12')).subarray(0, HEAD);
    const notDigit = expectError(() => unpack(RIGHT, Buffer.concat([head, hex('05 01 2A 45')])), 'not_numeric');
    expect(notDigit.offset).toBe(HEAD + 2);
    const leftPad = expectError(() => unpack(LEFT_F, Buffer.concat([head, hex('05 12 34 AF')])), 'not_numeric');
    expect(leftPad.offset).toBe(HEAD + 3);
    // Three digits: 60.1 and one digit of 60.2.
    const cut = expectError(() => unpack(RIGHT, Buffer.concat([head, hex('03 0123')])), 'bad_subfields');
    expect(cut.subfield).toBe(2);
    expect(cut.offset).toBe(HEAD);
  });

  it('refuses what the general path refuses when packing', () => {
    expectError(() => pack(RIGHT, message('1X')), 'not_numeric');
    expectError(() => pack(RIGHT, message('123')), 'bad_subfields');
    expectError(() => pack(RIGHT, message('12', '345', '')), 'bad_subfields');
    expectError(() => pack(RIGHT, message('12', '345', '67890')), 'value_too_long');
    const gap = {
      mti: '0200',
      fields: new Map<number, FieldValue>([
        [
          60,
          new Map([
            [1, '12'],
            [3, '6'],
          ]),
        ],
      ]),
    };
    expectError(() => pack(RIGHT, gap), 'bad_subfields');
    const bytes = { mti: '0200', fields: new Map<number, FieldValue>([[60, new Map([[1, Buffer.from('12')]])]]) };
    expect(expectError(() => pack(RIGHT, bytes), 'bad_value_type').subfield).toBe(1);
    expectError(() => pack(RIGHT, { mti: '0200', fields: new Map<number, FieldValue>([[60, '12345']]) }), 'bad_value_type');
  });
});
