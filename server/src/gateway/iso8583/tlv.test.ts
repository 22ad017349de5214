/**
 * BER-TLV in a field: the three length forms, one- and two-byte tags, repeated tags, and hex
 * content (a TLV field of an ASCII dialect), through a spec made for the purpose.
 */
import { describe, expect, it } from 'vitest';
import { pack, unpack, type FieldValue, type MessageSpec, type TlvData } from './index.js';

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
});
