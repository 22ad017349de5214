/**
 * BER-TLV in a field: the three length forms, one- and two-byte tags, repeated tags, and hex
 * content (a TLV field of an ASCII dialect), through a spec made for the purpose.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CUP_POS, getTlv, pack, tlvValue, unpack, type FieldValue, type MessageSpec, type TlvData } from './index.js';
import { ICC_REQUEST, chipSaleRequest } from './test-support/cup-samples.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const spec = (content: 'binary' | 'hex'): MessageSpec => ({
  name: `TLV test (${content})`,
  layout: { tpdu: false, mti: 'ascii', bitmap: 'hex', secondaryBitmap: false },
  fields: { 55: { name: 'ICC data', class: 'b', length: 'lllvar', max: 999, prefix: 'ascii', content, sub: { kind: 'tlv' } } },
});

const message = (tlv: TlvData) => ({ mti: '0200', fields: new Map<number, FieldValue>([[55, tlv]]) });
/** MTI + bitmap with bit 55 only. */
const HEAD = '0200' + '0000000000000200';

describe('TLV fields', () => {
  const tlv: TlvData = [
    { tag: '9F26', value: hex('0102030405060708') },
    { tag: '95', value: Buffer.alloc(0x80, 0xaa) },
    { tag: '72', value: Buffer.alloc(0x100, 0xbb) },
    { tag: '9F26', value: hex('FF') },
    { tag: '9F01', value: Buffer.alloc(0) },
  ];
  // 9F26 08 +8 = 11; 95 81 80 +128 = 131; 72 82 0100 +256 = 260; 9F26 01 FF = 4; 9F01 00 = 3 → 409.
  const content = Buffer.concat([
    hex('9F26 08 0102030405060708 95 8180'),
    Buffer.alloc(0x80, 0xaa),
    hex('72 820100'),
    Buffer.alloc(0x100, 0xbb),
    hex('9F26 01 FF 9F01 00'),
  ]);

  it('binary content: all three length forms, repeated tags kept in order', () => {
    const bytes = pack(spec('binary'), message(tlv));
    expect(bytes).toEqual(Buffer.concat([Buffer.from(`${HEAD}409`, 'latin1'), content]));
    expect(unpack(spec('binary'), bytes)).toEqual(message(tlv));
  });

  it('hex content: the same TLV written as upper-case hex, the length still in bytes', () => {
    const bytes = pack(spec('hex'), message(tlv));
    expect(bytes.toString('latin1')).toBe(`${HEAD}409${content.toString('hex').toUpperCase()}`);
    expect(unpack(spec('hex'), bytes)).toEqual(message(tlv));
  });

  it('reports a TLV error inside hex content at its offset in the message', () => {
    // 9F26 announces 8 bytes, 1 follows: the value starts at byte 3 of the content = character 6.
    const bytes = Buffer.from(`${HEAD}004${'9F2608FF'}`, 'latin1');
    expect(() => unpack(spec('hex'), bytes)).toThrow(expect.objectContaining({ code: 'bad_tlv', field: 55, offset: 20 + 3 + 6 }));
  });

  it('a field that ends inside its last data object fails at unpack, not when the list is first read', () => {
    // 9F26 announces 8 bytes; the field (3 bytes) ends after the length.
    const bytes = Buffer.concat([Buffer.from(`${HEAD}003`, 'latin1'), hex('9F2608')]);
    expect(() => unpack(spec('binary'), bytes)).toThrow(expect.objectContaining({ code: 'bad_tlv', field: 55 }));
  });

  it('a list longer than the field is refused before anything is packed past it', () => {
    const small: MessageSpec = { ...spec('binary'), fields: { 55: { ...spec('binary').fields[55]!, max: 20 } } };
    const long: TlvData = [
      { tag: '9F26', value: Buffer.alloc(8) },
      { tag: '9F10', value: Buffer.alloc(16) },
    ];
    expect(() => pack(small, message(long))).toThrow(expect.objectContaining({ code: 'value_too_long', field: 55, detail: '30 > 20' }));
    // A bad item after the point where the list outgrew the field is still the error named.
    expect(() => pack(small, message([...long, { tag: 'XX', value: Buffer.alloc(1) }]))).toThrow(
      expect.objectContaining({ code: 'bad_tlv', field: 55 }),
    );
  });
});

/**
 * unpack keeps a TLV field's bytes and decodes its data objects when the list is first used: to
 * every caller the value is still the plain list of { tag, value } it always was.
 */
describe('decoded TLV lists', () => {
  const decoded = (): TlvData => getTlv(unpack(CUP_POS, pack(CUP_POS, chipSaleRequest())), 55)!;

  it('behave as arrays of { tag, value }: index, length, iteration, methods, keys, JSON', () => {
    expect(Array.isArray(decoded())).toBe(true);
    expect(decoded()).toHaveLength(ICC_REQUEST.length);
    expect(decoded()[0]).toEqual(ICC_REQUEST[0]);
    expect([...decoded()]).toEqual(ICC_REQUEST);
    expect(decoded().map((i) => i.tag)).toEqual(ICC_REQUEST.map((i) => i.tag));
    expect(Object.keys(decoded())).toEqual(Object.keys(ICC_REQUEST));
    expect(JSON.stringify(decoded())).toBe(JSON.stringify(ICC_REQUEST));
    expect(tlvValue(decoded(), '9F02')).toEqual(hex('000000012345'));
    expect(decoded().slice(0, 2)).toEqual(ICC_REQUEST.slice(0, 2));
    expect(Buffer.isBuffer(decoded()[5]!.value)).toBe(true);
  });

  it('show their data objects when logged with util.inspect, which does not go through a proxy', () => {
    expect(inspect(decoded())).toBe(inspect(ICC_REQUEST));
  });

  it('keep their values when the caller reuses the buffer it unpacked', () => {
    const bytes = Buffer.from(pack(CUP_POS, chipSaleRequest()));
    const list = getTlv(unpack(CUP_POS, bytes), 55)!;
    bytes.fill(0);
    expect(list).toEqual(ICC_REQUEST);
  });

  it('pack back to the bytes they came from, read or not', () => {
    const bytes = Buffer.from(pack(CUP_POS, chipSaleRequest()));
    const untouched = unpack(CUP_POS, bytes);
    expect(pack(CUP_POS, untouched)).toEqual(bytes);
    const read = unpack(CUP_POS, bytes);
    expect(getTlv(read, 55)![0]!.tag).toBe('9F26');
    expect(pack(CUP_POS, read)).toEqual(bytes);
  });

  it('pack what a caller changed in them, not the bytes they were decoded from', () => {
    const m = unpack(CUP_POS, pack(CUP_POS, chipSaleRequest()));
    const list = getTlv(m, 55)!;
    list[0] = { tag: '9F26', value: hex('0102030405060708') };
    list.push({ tag: '9F53', value: hex('52') });
    const back = getTlv(unpack(CUP_POS, pack(CUP_POS, m)), 55)!;
    expect(back).toEqual([{ tag: '9F26', value: hex('0102030405060708') }, ...ICC_REQUEST.slice(1), { tag: '9F53', value: hex('52') }]);
    // Emptied with length = 0 (a set, not a method call): an empty field 55.
    const m2 = unpack(CUP_POS, pack(CUP_POS, chipSaleRequest()));
    getTlv(m2, 55)!.length = 0;
    expect(getTlv(unpack(CUP_POS, pack(CUP_POS, m2)), 55)).toEqual([]);
  });

  it('pack as the bytes they came from into a dialect that writes the field as hex', () => {
    const bytes = pack(spec('binary'), message(ICC_REQUEST));
    const m = unpack(spec('binary'), bytes);
    expect(unpack(spec('hex'), pack(spec('hex'), m))).toEqual(message(ICC_REQUEST));
  });
});
