/**
 * Known-answer tests: messages published by others, with their authors' field-by-field readings,
 * decoded byte for byte and re-encoded to the same bytes.
 */
import { describe, expect, it } from 'vitest';
import { CUP_POS, ISO8583_1987_ASCII, dump, getString, getSubfields, getTlv, pack, unpack, type MessageSpec } from './index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('CUP POS sale request (chip), published dump', () => {
  // Source: "POS调试8583报文-消费", blog.csdn.net/MaxWoods/article/details/86490475 (mirrored at
  // codetd.com/article/5053461): a sale request of a CUP-style terminal, with the author's
  // reading of fields 2–26 and of the bitmap. Framing: 2-byte length 0x01AA, then the message.
  const PUBLISHED = hex(`
    01 AA 60 00 06 00 00 60 31 00 31 10 03 02 00 70 24 06 C0 20 C1 9A 31 16 62 24 24 29 00
    00 01 13 00 00 00 00 00 00 00 00 01 00 04 03 28 06 07 10 00 00 00 12 34 62 24 24 29 00
    00 01 13 D2 80 62 01 39 49 03 10 13 31 30 30 30 30 30 31 39 38 35 30 31 30 30 30 38 32
    34 31 30 30 30 32 00 01 00 31 35 36 D1 EE F4 19 D0 AE 26 09 26 00 00 00 00 00 00 00 01
    39 9F 26 08 95 BB E3 72 27 1D DA 7C 9F 27 01 80 9F 10 13 07 01 01 03 A0 00 00 01 0A 01
    00 00 00 00 00 ED 53 8F E4 9F 37 04 7F 9F 34 9E 9F 36 02 01 57 95 05 00 00 00 00 00 9A
    03 19 08 30 9C 01 00 9F 02 06 00 00 00 00 00 01 5F 2A 02 01 56 82 02 7C 00 9F 1A 02 01
    56 9F 03 06 00 00 00 00 00 00 9F 33 03 E0 E1 C8 9F 35 01 22 9F 1E 08 31 30 30 30 30 30
    31 39 84 08 A0 00 00 03 33 01 01 02 9F 09 02 00 8C 9F 41 04 00 00 04 03 01 53 31 32 32
    30 38 39 38 36 30 36 31 37 30 38 30 30 30 32 35 38 33 39 39 33 31 33 31 31 48 46 54 31
    37 30 38 30 33 30 31 31 34 31 34 32 30 31 39 30 38 33 30 30 39 33 34 33 35 31 35 30 32
    30 30 31 37 32 32 42 44 33 30 2E 36 32 31 35 35 35 2C 31 31 34 2E 33 36 31 39 35 34 41
    32 36 30 30 31 30 32 30 32 30 32 31 36 30 30 30 30 32 39 30 32 31 30 30 31 35 37 30 38
    30 33 30 36 30 30 30 31 31 33 30 34 30 38 30 34 32 34 37 32 39 32 30 35 30 38 48 37 30
    36 32 38 30 31 00 14 22 00 00 24 00 06 00 38 46 36 35 31 42 32 36`);
  const body = PUBLISHED.subarray(2);

  it('has the framing the author shows', () => {
    expect(PUBLISHED.readUInt16BE(0)).toBe(body.length);
  });

  it('decodes to the published reading', () => {
    const m = unpack(CUP_POS, body);
    expect(m.tpdu).toEqual({ destination: '0006', source: '0000' });
    expect(m.header).toBe('603100311003');
    expect(m.mti).toBe('0200');
    // "位图:702406C020C19A31=[2,3,4,11,14,22,23,25,26,35,41,42,48,49,52,53,55,59,60,64]"
    expect([...m.fields.keys()]).toEqual([2, 3, 4, 11, 14, 22, 23, 25, 26, 35, 41, 42, 48, 49, 52, 53, 55, 59, 60, 64]);
    expect(getString(m, 2)).toBe('6224242900000113');
    expect(getString(m, 3)).toBe('000000');
    expect(getString(m, 4)).toBe('000000000001');
    expect(getString(m, 11)).toBe('000403');
    expect(getString(m, 14)).toBe('2806');
    // The author prints the raw nibbles "0710" and "0000": n3 left-justified (22) and right-justified (23).
    expect(getString(m, 22)).toBe('071');
    expect(getString(m, 23)).toBe('000');
    expect(getString(m, 25)).toBe('00');
    expect(getString(m, 26)).toBe('12');
    // Track 2: 34 characters, the separator nibble D read as '='.
    expect(getString(m, 35)).toBe('6224242900000113=28062013949031013');
    expect(getString(m, 41)).toBe('10000019');
    expect(getString(m, 42)).toBe('850100082410002');
    expect(getString(m, 48)).toBe('0');
    expect(getString(m, 49)).toBe('156');
    expect(m.fields.get(52)).toEqual(hex('D1EEF419D0AE2609'));
    expect(getString(m, 53)).toBe('2600000000000000');
    const icc = getTlv(m, 55)!;
    expect(icc.map((i) => i.tag)).toEqual([
      '9F26',
      '9F27',
      '9F10',
      '9F37',
      '9F36',
      '95',
      '9A',
      '9C',
      '9F02',
      '5F2A',
      '82',
      '9F1A',
      '9F03',
      '9F33',
      '9F35',
      '9F1E',
      '84',
      '9F09',
      '9F41',
    ]);
    expect(icc[0]!.value).toEqual(hex('95BBE372271DDA7C'));
    expect(getString(m, 59)).toHaveLength(153);
    expect([...getSubfields(m, 60)!]).toEqual([
      [1, '22'],
      [2, '000024'],
      [3, '000'],
      [4, '6'],
      [5, '0'],
      [6, '0'],
    ]);
    expect(m.fields.get(64)).toEqual(Buffer.from('8F651B26', 'latin1'));
  });

  it('re-encodes to the published bytes', () => {
    expect(pack(CUP_POS, unpack(CUP_POS, body))).toEqual(body);
  });

  it('dumps without the card number, track 2, PIN block or ICC values', () => {
    const text = dump(CUP_POS, unpack(CUP_POS, body));
    expect(text).toContain('622424******0113');
    expect(text).not.toContain('6224242900000113');
    expect(text).not.toMatch(/d1eef419d0ae2609/i);
    expect(text).not.toMatch(/95BBE372/i);
    expect(text).toContain('MAC present');
  });
});

describe('ISO 8583:1987 ASCII 0210, published message', () => {
  // Source: "Read ISO 8583 message", on-september.blogspot.com/2010/01/read-iso-8583-message.html,
  // with the author's split of every field. (The author labels the last field 52; its bit in
  // 723A00010A808400 is 54, which is what the value — an additional amount — is.)
  const PUBLISHED =
    '0210723A00010A80840018593600141001099999011000000010000000100702153300000119153310061007065656561006090102240000000901360020100236C0102240000000';

  it('decodes to the published split and re-encodes to the same text', () => {
    const bytes = Buffer.from(PUBLISHED, 'latin1');
    const m = unpack(ISO8583_1987_ASCII, bytes);
    expect(m.mti).toBe('0210');
    expect(Object.fromEntries(m.fields)).toEqual({
      2: '593600141001099999',
      3: '011000',
      4: '000010000000',
      7: '1007021533',
      11: '000001',
      12: '191533',
      13: '1006',
      15: '1007',
      32: '565656',
      37: '100609010224',
      39: '00',
      41: '00000901',
      49: '360',
      54: '100236C0102240000000',
    });
    expect(pack(ISO8583_1987_ASCII, m).toString('latin1')).toBe(PUBLISHED);
  });
});

describe('ASCII fields with a binary bitmap and an ASCII header, published dump', () => {
  // Source: Stack Overflow question 21282257 "ISO 8583 message decoding" and its accepted answer's
  // decoding (credibledoc iso-8583-packer): a 0820 with a 10-character header "0110000000",
  // binary primary and secondary bitmaps and ASCII fields 11, 12, 13, 41, 48 (LLL) and 70.
  // The spec is the 1987 table with a different layout: a spec is data, so this is all it takes.
  const spec: MessageSpec = {
    ...ISO8583_1987_ASCII,
    name: '1987 ASCII, binary bitmap, 10-character header',
    layout: { tpdu: false, header: { bytes: 10, encoding: 'ascii' }, mti: 'ascii', bitmap: 'binary', secondaryBitmap: true },
  };
  const PUBLISHED = hex(`
    00 5B 30 31 31 30 30 30 30 30 30 30 30 38 32 30 80 38 00 00
    00 81 00 00 04 00 00 00 00 00 00 00 33 36 32 39 31 30 31 30
    32 39 35 37 31 30 33 31 31 30 30 30 30 30 30 35 30 33 31 53
    55 32 30 31 31 31 30 33 31 31 30 32 39 35 37 32 30 31 31 31
    30 33 31 31 30 32 39 35 37 33 30 30 31`);

  it('decodes to the published reading and re-encodes to the same bytes', () => {
    const body = PUBLISHED.subarray(2);
    expect(PUBLISHED.readUInt16BE(0)).toBe(body.length);
    const m = unpack(spec, body);
    expect(m.header).toBe('0110000000');
    expect(m.mti).toBe('0820');
    expect(Object.fromEntries(m.fields)).toEqual({
      11: '362910',
      12: '102957',
      13: '1031',
      41: '10000005',
      48: 'SU20111031102957201110311029573',
      70: '001',
    });
    expect(pack(spec, m)).toEqual(body);
  });
});
