/**
 * Every kind of malformed input, on both specs, ends in an Iso8583Error with a stable code and
 * the field it concerns — and the error never repeats the value it refused.
 */
import { describe, expect, it } from 'vitest';
import {
  CUP_POS,
  ISO8583_1987_ASCII as ASCII,
  Iso8583Error,
  compileSpec,
  isIso8583Error,
  locateFields,
  pack,
  unpack,
  type FieldValue,
  type Iso8583ErrorCode,
  type Message,
  type MessageSpec,
} from './index.js';
import { PAN, PIN_BLOCK, chipSaleRequest, saleRequest } from './test-support/cup-samples.js';

function caught(fn: () => unknown): Iso8583Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Iso8583Error) return e;
    throw new Error(`expected an Iso8583Error, got ${String(e)}`);
  }
  throw new Error('expected an Iso8583Error, nothing was thrown');
}

function expectError(fn: () => unknown, code: Iso8583ErrorCode, field?: number): Iso8583Error {
  const e = caught(fn);
  expect(e.code).toBe(code);
  if (field !== undefined) expect(e.field).toBe(field);
  expect(isIso8583Error(e, code)).toBe(true);
  return e;
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const HEAD = '6000060000 603100311003';
const cup = (m: Omit<Message, 'tpdu' | 'header'>): Message => ({
  ...m,
  tpdu: { destination: '0006', source: '0000' },
  header: '603100311003',
});
/** A primary bitmap in hex with the given bits set. */
const bitmap = (...bits: number[]): string => {
  let v = 0n;
  for (const b of bits) v |= 1n << BigInt(64 - b);
  return v.toString(16).toUpperCase().padStart(16, '0');
};
const withField = (base: Message, field: number, value: FieldValue): Message => ({
  ...base,
  fields: new Map([...base.fields, [field, value]]),
});

describe('unpack: malformed bytes', () => {
  const sale = pack(CUP_POS, saleRequest());
  const spots = locateFields(CUP_POS, sale);
  const at = (field: number) => spots.find((s) => s.field === field)!;

  it('short buffer: cut inside the TPDU, the MTI, the bitmap or a field', () => {
    expect(expectError(() => unpack(CUP_POS, sale.subarray(0, 3)), 'short_buffer').fieldName).toBe('TPDU');
    expectError(() => unpack(CUP_POS, sale.subarray(0, 12)), 'short_buffer', 0);
    expectError(() => unpack(CUP_POS, sale.subarray(0, 18)), 'short_buffer', 1);
    expectError(() => unpack(CUP_POS, sale.subarray(0, at(4).start + 3)), 'short_buffer', 4);
    // Cut after a variable field's prefix: the prefix promises more than is left.
    expectError(() => unpack(CUP_POS, sale.subarray(0, at(35).dataStart + 2)), 'short_buffer', 35);
    expectError(() => unpack(ASCII, ascii('02')), 'short_buffer', 0);
  });

  it('bitmap pointing past the end', () => {
    const e = expectError(() => unpack(CUP_POS, sale.subarray(0, at(4).start)), 'bitmap_past_end', 4);
    expect(e.offset).toBe(at(4).start);
    expectError(() => unpack(ASCII, ascii('02004000000000000000')), 'bitmap_past_end', 2);
    // Bit 1 set: the secondary bitmap itself is missing.
    expectError(() => unpack(ASCII, ascii('0200C000000000000000')), 'short_buffer', 1);
  });

  it('bad length prefix: not BCD, not digits, above the maximum', () => {
    const panPrefix = at(2).start;
    const notBcd = Buffer.from(sale);
    notBcd[panPrefix] = 0x1a;
    expectError(() => unpack(CUP_POS, notBcd), 'bad_length_prefix', 2);
    const tooLong = Buffer.from(sale);
    tooLong[panPrefix] = 0x20; // 20 digits > n..19
    expectError(() => unpack(CUP_POS, tooLong), 'bad_length_prefix', 2);
    const lll = Buffer.from(sale);
    lll[at(60).start] = 0x09; // 0917 digits > 17
    expectError(() => unpack(CUP_POS, lll), 'bad_length_prefix', 60);
    expectError(() => unpack(ASCII, ascii('020040000000000000001X4761739001010010')), 'bad_length_prefix', 2);
    expectError(() => unpack(ASCII, ascii('0200400000000000000020' + '4'.repeat(20))), 'bad_length_prefix', 2);
  });

  it('non-digit in a numeric field (BCD nibble above 9, ASCII letter), and in the MTI', () => {
    const amount = Buffer.from(sale);
    amount[at(4).start + 2] = 0x0a;
    expectError(() => unpack(CUP_POS, amount), 'not_numeric', 4);
    const pan = Buffer.from(sale);
    pan[at(2).dataStart] = 0xf2;
    expectError(() => unpack(CUP_POS, pan), 'not_numeric', 2);
    expectError(() => unpack(ASCII, ascii('0200200000000000000000A000')), 'not_numeric', 3);
    expectError(() => unpack(ASCII, ascii('02X0')), 'not_numeric', 0);
    expectError(() => unpack(CUP_POS, hex(`${HEAD} 020A 0000000000000000`)), 'not_numeric', 0);
  });

  it('a non-digit in an odd-length BCD field: the first bad byte is named, whichever side the pad is on', () => {
    // Field 2 (19 digits, left-justified: the pad is the last low nibble) and 23 (3 digits,
    // right-justified: the pad is the first high nibble, never checked).
    const pan = Buffer.from(sale);
    pan[at(2).dataStart + 3] = 0x1a;
    pan[at(2).end - 1] = 0xa0;
    expect(expectError(() => unpack(CUP_POS, pan), 'not_numeric', 2).offset).toBe(at(2).dataStart + 3);
    const last = Buffer.from(sale);
    last[at(2).end - 1] = 0xa0;
    expect(expectError(() => unpack(CUP_POS, last), 'not_numeric', 2).offset).toBe(at(2).end - 1);
    const padOnly = Buffer.from(sale);
    padOnly[at(2).end - 1] = 0x3f; // the pad nibble's value is not checked
    expect(unpack(CUP_POS, padOnly).fields.get(2)).toBe(PAN);
    const chip = Buffer.from(pack(CUP_POS, chipSaleRequest()));
    const csn = locateFields(CUP_POS, chip).find((s) => s.field === 23)!;
    chip[csn.start] = 0xf0; // pad nibble F, digit 0
    expect(unpack(CUP_POS, chip).fields.get(23)).toBe('001');
    chip[csn.start] = 0x0b;
    expect(expectError(() => unpack(CUP_POS, chip), 'not_numeric', 23).offset).toBe(csn.start);
  });

  it('non-hex in a hex bitmap or a hex binary field', () => {
    expectError(() => unpack(ASCII, ascii('0200G000000000000000')), 'bad_hex', 1);
    expectError(() => unpack(ASCII, ascii(`0200${bitmap(52)}0123456789ABCDEZ`)), 'bad_hex', 52);
  });

  it('wrong character set for an / ans / z fields', () => {
    const rc = pack(CUP_POS, cup({ mti: '0210', fields: new Map([[39, '00']]) }));
    rc[rc.length - 1] = 0x40; // '@' in an
    expectError(() => unpack(CUP_POS, rc), 'bad_charset', 39);
    const tid = Buffer.from(sale);
    tid[at(41).dataStart] = 0x0a; // newline in ans
    expectError(() => unpack(CUP_POS, tid), 'bad_charset', 41);
    expectError(() => unpack(ASCII, ascii(`0200${bitmap(35)}13123456789=ABC`)), 'bad_charset', 35);
  });

  it('unknown field: a bit the spec does not define, or a secondary bitmap it does not allow', () => {
    // Bit 5 (amount, settlement) is not part of the CUP layout.
    expectError(() => unpack(CUP_POS, hex(`${HEAD} 0200 0800000000000000 000000000001`)), 'unknown_field', 5);
    expectError(() => unpack(CUP_POS, hex(`${HEAD} 0200 8000000000000000 0000000000000000`)), 'unknown_field', 1);
  });

  it('trailing bytes after the last field', () => {
    expectError(() => unpack(CUP_POS, Buffer.concat([sale, hex('00')])), 'trailing_bytes');
  });

  it('bad TPDU', () => {
    const bad = Buffer.from(sale);
    bad[0] = 0x61;
    expect(expectError(() => unpack(CUP_POS, bad), 'bad_header').fieldName).toBe('TPDU');
  });

  it('malformed sub-fields: a positional field cut inside a sub-field', () => {
    // 60 with 9 digits: 60.1 (2) + 60.2 (6) + one digit of 60.3.
    const e = expectError(() => unpack(CUP_POS, hex(`${HEAD} 0200 0000000000000010 0009 2200002400`)), 'bad_subfields', 60);
    expect(e.subfield).toBe(3);
    // 63 with 2 bytes: 63.1 needs 3.
    expectError(() => unpack(CUP_POS, hex(`${HEAD} 0200 0000000000000002 0002 4355`)), 'bad_subfields', 63);
  });

  it('malformed TLV in field 55', () => {
    const tlvCase = (content: string): Buffer => {
      const body = hex(content);
      const len = body.length.toString().padStart(4, '0');
      return hex(`${HEAD} 0200 0000000000000200 ${len} ${content}`);
    };
    const cases: [string, string][] = [
      ['9F', 'tag cut short'],
      ['9F26', 'length missing'],
      ['9F9F2601AA', 'tags longer than 2 bytes'],
      ['9F2608 0102', 'value runs past'],
      ['9F26 8105 0102030405', 'shortest form'],
      ['9F26 820005 0102030405', 'shortest form'],
      ['9F26 83000005 0102030405', 'indefinite or over-long'],
      ['9F26 80', 'indefinite or over-long'],
      ['9F26 81', 'length cut short'],
    ];
    for (const [content, why] of cases) {
      const e = expectError(() => unpack(CUP_POS, tlvCase(content)), 'bad_tlv', 55);
      expect(e.detail, content).toContain(why);
      expect(e.offset).toBeGreaterThanOrEqual(23);
    }
  });

  it('refuses things that are not bytes (and pack things that are not messages)', () => {
    expectError(() => pack(CUP_POS, null as unknown as Message), 'bad_value_type');
    expectError(() => pack(CUP_POS, { ...saleRequest(), fields: {} as Message['fields'] }), 'bad_value_type');
    expectError(() => unpack(CUP_POS, 'not bytes' as unknown as Buffer), 'bad_value_type');
  });

  it('accepts a Uint8Array as well as a Buffer', () => {
    expect(unpack(CUP_POS, new Uint8Array(sale))).toEqual(unpack(CUP_POS, sale));
  });

  it('never allocates in proportion to a hostile length: a 9999-digit prefix is refused before any read', () => {
    const hostile = hex(`${HEAD} 0200 0000000000000010 9999`);
    expectError(() => unpack(CUP_POS, hostile), 'bad_length_prefix', 60);
  });
});

describe('pack: values the spec refuses', () => {
  const base = saleRequest();

  it('value too long, too short, of the wrong type', () => {
    const long = expectError(() => pack(CUP_POS, withField(base, 2, `${PAN}1`)), 'value_too_long', 2);
    expect(long.message).not.toContain(PAN);
    expectError(() => pack(CUP_POS, withField(base, 41, '123456789')), 'value_too_long', 41);
    expectError(() => pack(CUP_POS, withField(base, 41, '1234567')), 'value_too_short', 41);
    expectError(() => pack(CUP_POS, withField(base, 52, Buffer.alloc(9))), 'value_too_long', 52);
    expectError(() => pack(CUP_POS, withField(base, 4, 12345 as unknown as string)), 'bad_value_type', 4);
    expectError(() => pack(CUP_POS, withField(base, 52, 'FFFF')), 'bad_value_type', 52);
    expectError(() => pack(ASCII, { mti: '0200', fields: new Map([[48, 'x'.repeat(1000)]]) }), 'value_too_long', 48);
  });

  it('non-digit in a numeric field; wrong character set for an/ans/z/x+n', () => {
    expectError(() => pack(CUP_POS, withField(base, 4, '00000001234A')), 'not_numeric', 4);
    expectError(() => pack(CUP_POS, withField(base, 2, '62170012345678901F')), 'not_numeric', 2);
    expectError(() => pack(CUP_POS, withField(base, 39, '0@')), 'bad_charset', 39);
    expectError(() => pack(CUP_POS, withField(base, 42, '85010008241000\n')), 'bad_charset', 42);
    expectError(() => pack(CUP_POS, withField(base, 42, '85010008241000é')), 'bad_charset', 42);
    // Long text goes through the native path: a character above 0x7F must still be caught.
    expectError(() => pack(CUP_POS, withField(base, 59, `${'A'.repeat(20)}Ł${'A'.repeat(20)}`)), 'bad_charset', 59);
    expectError(() => pack(CUP_POS, withField(base, 35, '6217001234567890123=3012A')), 'bad_charset', 35);
    expectError(() => pack(ASCII, { mti: '0200', fields: new Map([[28, 'X00000150']]) }), 'bad_charset', 28);
    expectError(() => pack(ASCII, { mti: '0200', fields: new Map([[3, '00000A']]) }), 'not_numeric', 3);
  });

  it('unknown field: not in the spec, the bitmap bit, out of range, not a number', () => {
    expectError(() => pack(CUP_POS, withField(base, 5, '000000000001')), 'unknown_field', 5);
    expectError(() => pack(CUP_POS, withField(base, 1, Buffer.alloc(8))), 'unknown_field', 1);
    expectError(() => pack(ASCII, { mti: '0200', fields: new Map([[129, 'x']]) }), 'unknown_field', 129);
    expectError(() => pack(ASCII, { mti: '0200', fields: new Map([[2.5, 'x']]) }), 'unknown_field');
    expectError(() => pack(ASCII, { mti: '0200', fields: new Map([['2', 'x']]) as unknown as Message['fields'] }), 'unknown_field');
  });

  it('headers: missing TPDU or header, a TPDU the spec does not have, a bad MTI', () => {
    const { tpdu: _t, ...noTpdu } = base;
    expect(expectError(() => pack(CUP_POS, noTpdu), 'bad_header').fieldName).toBe('TPDU');
    const { header: _h, ...noHeader } = base;
    expect(expectError(() => pack(CUP_POS, noHeader), 'bad_header').fieldName).toBe('header');
    expectError(() => pack(CUP_POS, { ...base, tpdu: { destination: '00g6', source: '0000' } }), 'bad_header');
    expectError(() => pack(CUP_POS, { ...base, header: '603100311003'.toLowerCase().replace('0', 'a') }), 'bad_header');
    expectError(() => pack(ASCII, { mti: '0200', tpdu: { destination: '0006', source: '0000' }, fields: new Map() }), 'bad_header');
    expectError(() => pack(ASCII, { mti: '020', fields: new Map() }), 'bad_header', 0);
    expectError(() => pack(CUP_POS, { ...base, mti: '02A0' }), 'bad_header', 0);
  });

  it('sub-fields: a gap, a wrong length, an empty rest, wrong types', () => {
    expect(
      expectError(
        () =>
          pack(
            CUP_POS,
            withField(
              base,
              60,
              new Map([
                [1, '22'],
                [3, '000'],
              ]),
            ),
          ),
        'bad_subfields',
        60,
      ).subfield,
    ).toBeUndefined();
    expect(
      expectError(
        () =>
          pack(
            CUP_POS,
            withField(
              base,
              60,
              new Map([
                [1, '22'],
                [2, '24'],
              ]),
            ),
          ),
        'bad_subfields',
        60,
      ).subfield,
    ).toBe(2);
    expectError(() => pack(CUP_POS, withField(base, 60, new Map([[1, '2X']]))), 'not_numeric', 60);
    expectError(
      () =>
        pack(
          CUP_POS,
          withField(
            base,
            63,
            new Map<number, string | Buffer>([
              [1, 'CUP'],
              [2, Buffer.alloc(0)],
            ]),
          ),
        ),
      'bad_subfields',
      63,
    );
    expectError(
      () =>
        pack(
          CUP_POS,
          withField(
            base,
            63,
            new Map<number, string | Buffer>([
              [1, 'CUP'],
              [2, 'text'],
            ]),
          ),
        ),
      'bad_value_type',
      63,
    );
    expectError(() => pack(CUP_POS, withField(base, 60, '22000024000')), 'bad_value_type', 60);
  });

  it('TLV: bad tags, non-bytes values, a list that is not a list', () => {
    const chip = chipSaleRequest();
    for (const tag of ['9f26', '9F', '9F9F26', '1F', '9F80', 'ZZ']) {
      expectError(() => pack(CUP_POS, withField(chip, 55, [{ tag, value: Buffer.alloc(1) }])), 'bad_tlv', 55);
    }
    expectError(() => pack(CUP_POS, withField(chip, 55, [{ tag: '9F26', value: 'x' as unknown as Buffer }])), 'bad_value_type', 55);
    expectError(() => pack(CUP_POS, withField(chip, 55, Buffer.alloc(3))), 'bad_value_type', 55);
    // Above the field's 255 bytes once encoded.
    expectError(() => pack(CUP_POS, withField(chip, 55, [{ tag: '72', value: Buffer.alloc(253) }])), 'value_too_long', 55);
  });

  it('errors never carry the value: PIN block, card number', () => {
    const e = caught(() => pack(CUP_POS, withField(base, 52, Buffer.concat([PIN_BLOCK, PIN_BLOCK]))));
    expect(e.message).not.toMatch(new RegExp(PIN_BLOCK.toString('hex'), 'i'));
    const bad = caught(() => pack(CUP_POS, withField(base, 2, `${PAN.slice(0, 10)}X${PAN.slice(11)}`)));
    expect(`${bad.message} ${bad.localized('zh-CN')}`).not.toContain(PAN.slice(0, 10));
  });
});

describe('spec validation', () => {
  const broken = (fields: MessageSpec['fields'], layout: Partial<MessageSpec['layout']> = {}): MessageSpec => ({
    name: 'broken',
    layout: { tpdu: false, mti: 'ascii', bitmap: 'hex', secondaryBitmap: false, ...layout },
    fields,
  });

  it.each([
    ['a variable field without prefix', broken({ 2: { name: 'x', class: 'n', length: 'llvar', max: 19, content: 'ascii' } })],
    ['a fixed field with a prefix', broken({ 2: { name: 'x', class: 'n', length: 'fixed', max: 6, content: 'ascii', prefix: 'ascii' } })],
    ['an LLVAR above 99', broken({ 2: { name: 'x', class: 'ans', length: 'llvar', max: 100, prefix: 'ascii', content: 'ascii' } })],
    ['text in BCD', broken({ 2: { name: 'x', class: 'ans', length: 'fixed', max: 4, content: 'bcd' } })],
    ['binary as ASCII', broken({ 2: { name: 'x', class: 'b', length: 'fixed', max: 4, content: 'ascii' } })],
    ['justify on ASCII', broken({ 2: { name: 'x', class: 'n', length: 'fixed', max: 4, content: 'ascii', justify: 'left' } })],
    ['a zero length', broken({ 2: { name: 'x', class: 'n', length: 'fixed', max: 0, content: 'ascii' } })],
    [
      'TLV on text',
      broken({ 2: { name: 'x', class: 'ans', length: 'lllvar', max: 99, prefix: 'ascii', content: 'ascii', sub: { kind: 'tlv' } } }),
    ],
    [
      'rest not last',
      broken({
        2: {
          name: 'x',
          class: 'ans',
          length: 'lllvar',
          max: 99,
          prefix: 'ascii',
          content: 'ascii',
          sub: {
            kind: 'positional',
            fields: [
              { name: 'a', class: 'ans', length: 'rest' },
              { name: 'b', class: 'ans', length: 2 },
            ],
          },
        },
      }),
    ],
    ['field 65 without a secondary bitmap', broken({ 65: { name: 'x', class: 'n', length: 'fixed', max: 1, content: 'ascii' } })],
    ['field 1', broken({ 1: { name: 'x', class: 'b', length: 'fixed', max: 8, content: 'binary' } })],
    ['a header of 0 bytes', broken({}, { header: { bytes: 0, encoding: 'hex' } })],
  ])('refuses %s', (_name, spec) => {
    expectError(() => compileSpec(spec), 'bad_spec');
    expectError(() => pack(spec, { mti: '0800', fields: new Map() }), 'bad_spec');
  });
});

describe('Iso8583Error', () => {
  it('renders in zh-CN and en with the field and offset', () => {
    const e = new Iso8583Error('not_numeric', { field: 4, fieldName: 'Amount, transaction', offset: 27 });
    expect(e.message).toBe('A numeric field holds a non-digit (field 4, Amount, transaction, offset 27)');
    expect(e.localized('zh-CN')).toBe('数字字段含有非数字（第 4 域，Amount, transaction，偏移 27）');
    expect(e.localized('en')).toBe(e.message);
  });
});
