/**
 * The CUP POS layout: every message type a POS acquirer exchanges, request and response, packs
 * and unpacks back to itself; hand-built byte arrays pin down the encodings field by field; and a
 * property checks the round trip for random messages drawn from the spec.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CUP_POS,
  Iso8583Error,
  compileSpec,
  getString,
  getSubfields,
  getTlv,
  locateFields,
  pack,
  tlvValue,
  unpack,
  type FieldValue,
  type Message,
} from './index.js';
import { dispatchSource } from './codec.js';
import { messageArb } from './test-support/arbitrary.js';
import { CUP_MESSAGES, PAN, PIN_BLOCK, TRACK2, chipSaleRequest } from './test-support/cup-samples.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('CUP POS: every message type round-trips', () => {
  it.each(Object.entries(CUP_MESSAGES))('%s', (_name, build) => {
    const message = build();
    const bytes = pack(CUP_POS, message);
    const back = unpack(CUP_POS, bytes);
    expect(back).toEqual(message);
    // …and the bytes are canonical: packing what we read gives the same bytes.
    expect(pack(CUP_POS, back).equals(bytes)).toBe(true);
  });

  it('covers the message types of the CUP field notes', () => {
    const mtis = new Set(Object.values(CUP_MESSAGES).map((b) => b().mti));
    for (const mti of [
      '0800',
      '0810',
      '0200',
      '0210',
      '0220',
      '0230',
      '0100',
      '0110',
      '0400',
      '0410',
      '0500',
      '0510',
      '0320',
      '0330',
      '0820',
      '0830',
    ]) {
      expect(mtis.has(mti), mti).toBe(true);
    }
    const sale = CUP_MESSAGES['sale request 0200 (magnetic stripe)']!();
    expect(getString(sale, 3)).toBe('000000');
    expect(getSubfields(sale, 60)!.get(1)).toBe('22');
    expect(getString(CUP_MESSAGES['sale void request 0200']!(), 3)).toBe('200000');
    expect(getString(CUP_MESSAGES['pre-authorisation request 0100']!(), 3)).toBe('030000');
    expect(getSubfields(CUP_MESSAGES['sign-on request 0800']!(), 60)!.get(1)).toBe('00');
  });

  it('reads the values back with their types', () => {
    const back = unpack(CUP_POS, pack(CUP_POS, chipSaleRequest()));
    expect(getString(back, 2)).toBe(PAN);
    expect(getString(back, 35)).toBe(TRACK2);
    expect(back.fields.get(52)).toEqual(PIN_BLOCK);
    expect(tlvValue(getTlv(back, 55)!, '9F26')).toEqual(hex('95BBE372271DDA7C'));
    expect(back.tpdu).toEqual({ destination: '0006', source: '0000' });
    expect(back.header).toBe('603100311003');
  });

  it('round-trips random messages drawn from the spec', () => {
    fc.assert(
      fc.property(messageArb(CUP_POS, ['0200', '0210', '0800', '0810']), (m) => {
        const bytes = pack(CUP_POS, m);
        const back = unpack(CUP_POS, bytes);
        expect(back).toEqual(m);
        expect(pack(CUP_POS, back).equals(bytes)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('CUP POS: bytes, field by field (hand-built)', () => {
  const header = '60 0006 0000  603100311003';

  it('encodes the header, BCD MTI and binary bitmap', () => {
    const m: Message = {
      mti: '0800',
      tpdu: { destination: '0006', source: '0000' },
      header: '603100311003',
      fields: new Map([[11, '000001']]),
    };
    // Bitmap: only bit 11 → byte 2 = 0010 0000.
    expect(pack(CUP_POS, m)).toEqual(hex(`${header} 0800 0020000000000000 000001`));
  });

  const one = (field: number, value: Message['fields'] extends Map<number, infer V> ? V : never): Buffer => {
    const bytes = pack(CUP_POS, {
      mti: '0200',
      tpdu: { destination: '0006', source: '0000' },
      header: '603100311003',
      fields: new Map([[field, value]]),
    });
    // Skip TPDU (5), header (6), MTI (2), bitmap (8).
    return bytes.subarray(21);
  };

  it('LLVAR BCD PAN: 1-byte BCD length in digits, left-justified, 0-padded', () => {
    expect(one(2, '6217001234567890123')).toEqual(hex('19 6217001234567890 1230'));
    expect(one(2, '6225880123456789')).toEqual(hex('16 6225880123456789'));
  });

  it('fixed BCD: amounts right-justified; entry mode left-justified', () => {
    expect(one(4, '000000012345')).toEqual(hex('000000012345'));
    expect(one(22, '051')).toEqual(hex('0510'));
    expect(one(23, '001')).toEqual(hex('0001'));
    expect(one(25, '00')).toEqual(hex('00'));
  });

  it('track 2: z characters in BCD, "=" as D', () => {
    expect(one(35, '6217001234567890123=3012220')).toEqual(hex('27 6217001234567890123D30122200'));
  });

  it('text fields as ASCII; LLLVAR text with a 2-byte BCD length', () => {
    expect(one(41, '10000019')).toEqual(Buffer.from('10000019', 'latin1'));
    expect(one(49, '156')).toEqual(hex('313536'));
    expect(one(54, '1002156C000000012345')).toEqual(Buffer.concat([hex('0020'), Buffer.from('1002156C000000012345', 'latin1')]));
  });

  it('field 55: LLLVAR byte count, BER-TLV with 1- and 2-byte tags and lengths', () => {
    const tlv = [
      { tag: '9F26', value: hex('0102030405060708') },
      { tag: '95', value: Buffer.alloc(0x90, 0xaa) },
    ];
    // 9F26 08 + 8 bytes = 11; 95 81 90 + 144 = 147: 158 bytes, BCD 0158.
    expect(one(55, tlv)).toEqual(Buffer.concat([hex('0158 9F26 08 0102030405060708 95 8190'), Buffer.alloc(0x90, 0xaa)]));
  });

  it('field 60: positional sub-fields as one left-justified BCD digit string', () => {
    expect(
      one(
        60,
        new Map([
          [1, '22'],
          [2, '000024'],
          [3, '000'],
        ]),
      ),
    ).toEqual(hex('0011 2200002400 00'));
    expect(
      one(
        60,
        new Map([
          [1, '22'],
          [2, '000024'],
          [3, '000'],
          [4, '6'],
          [5, '0'],
        ]),
      ),
    ).toEqual(hex('0013 22000024000600'));
  });

  it('field 63: ASCII 63.1 then raw bytes', () => {
    expect(
      one(
        63,
        new Map<number, string | Buffer>([
          [1, 'CUP'],
          [2, hex('D6D0B9FA')],
        ]),
      ),
    ).toEqual(hex('0007 435550 D6D0B9FA'));
  });

  it('binary fields are raw bytes', () => {
    expect(one(52, PIN_BLOCK)).toEqual(PIN_BLOCK);
  });
});

describe('locateFields', () => {
  it('gives each field its prefix and value range', () => {
    const bytes = pack(CUP_POS, chipSaleRequest());
    const spots = locateFields(CUP_POS, bytes);
    expect(spots.map((s) => s.field)).toEqual([2, 3, 4, 11, 14, 22, 23, 25, 26, 35, 41, 42, 49, 52, 53, 55, 60, 64]);
    const pan = spots[0]!;
    expect(pan).toEqual({ field: 2, start: 21, dataStart: 22, end: 32 });
    const mac = spots.at(-1)!;
    expect(mac.end).toBe(bytes.length);
    expect(bytes.subarray(mac.dataStart, mac.end)).toEqual(chipSaleRequest().fields.get(64));
  });
});

describe('compileSpec', () => {
  it('compiles once per spec object', () => {
    expect(compileSpec(CUP_POS)).toBe(compileSpec(CUP_POS));
  });
});

describe('generated field loops', () => {
  it('put nothing but field numbers into the generated source', () => {
    expect(dispatchSource([2, 64])).toContain('case 64: pos = e64(values[64], out, pos); break;');
    for (const bad of [1, 129, 2.5, Number.NaN]) expect(() => dispatchSource([2, bad])).toThrow(/not a field number/);
  });

  it('without code generation (--disallow-code-generation-from-strings) the codec gives the same bytes, values and errors', () => {
    // Everything observable of pack, unpack and locateFields, on good and malformed bytes.
    const probe = `
      import { CUP_POS, pack, unpack, locateFields } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)};
      import { CUP_MESSAGES } from ${JSON.stringify(new URL('./test-support/cup-samples.ts', import.meta.url).pathname)};
      const seen = (f) => { try { const v = f(); return v instanceof Buffer ? v.toString('hex') : v; } catch (e) { return [e.code, e.field, e.offset, e.message]; } };
      const out = [];
      for (const build of Object.values(CUP_MESSAGES)) {
        const bytes = pack(CUP_POS, build());
        const m = unpack(CUP_POS, bytes);
        out.push(bytes.toString('hex'), pack(CUP_POS, m).equals(bytes), locateFields(CUP_POS, bytes));
        out.push(seen(() => unpack(CUP_POS, bytes.subarray(0, bytes.length - 9))));
        const unknown = Buffer.from(bytes); unknown[13] |= 0x08; // bit 5: not a CUP field
        out.push(seen(() => unpack(CUP_POS, unknown)));
      }
      out.push(seen(() => pack(CUP_POS, { ...CUP_MESSAGES['sale request 0200 (chip)'](), fields: new Map([[5, '1']]) })));
      let codegen = true;
      try { new Function(''); } catch { codegen = false; }
      console.log(JSON.stringify({ codegen, out }));
    `;
    const child = execFileSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', probe],
      {
        encoding: 'utf8',
      },
    );
    const here = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
    const [without, generated] = [JSON.parse(child), JSON.parse(here)] as { codegen: boolean; out: unknown[] }[];
    expect([without!.codegen, generated!.codegen]).toEqual([false, true]);
    expect(without!.out).toEqual(generated!.out);
    expect(JSON.stringify(generated!.out)).toContain('unknown_field');
    expect(JSON.stringify(generated!.out)).toContain('short_buffer');
  });
});

describe('pack output: views of shared slabs', () => {
  const builds = Object.values(CUP_MESSAGES);

  it('a packed message never changes when more are packed, across many slabs', () => {
    // ~3,000 messages of up to ~300 bytes fill a dozen 64 KiB slabs; every one is kept.
    const kept: { bytes: Buffer; copy: Buffer }[] = [];
    for (let i = 0; i < 3_000; i++) {
      const bytes = pack(CUP_POS, builds[i % builds.length]!());
      kept.push({ bytes, copy: Buffer.from(bytes) });
    }
    for (const { bytes, copy } of kept) expect(bytes.equals(copy)).toBe(true);
    // No two results share a byte: writing into one leaves its neighbours alone.
    const [a, b] = [kept[10]!.bytes, kept[11]!.bytes];
    if (a.buffer === b.buffer) expect(a.byteOffset + a.length <= b.byteOffset || b.byteOffset + b.length <= a.byteOffset).toBe(true);
    a.fill(0xee);
    expect(b.equals(kept[11]!.copy)).toBe(true);
  });

  it('a message whose bound exceeds what is left of a slab moves with its header to a new one', () => {
    // Field 62 allows 512 bytes and 59 999 characters: a message with both has a bound of ~1.5 KiB.
    const big: Message = {
      ...CUP_MESSAGES['sign-on request 0800']!(),
      fields: new Map<number, FieldValue>([
        [11, '000001'],
        [59, 'x'.repeat(999)],
        [62, Buffer.alloc(512, 0xab)],
      ]),
    };
    const small = chipSaleRequest();
    const kept: { bytes: Buffer; copy: Buffer; message: Message }[] = [];
    for (let i = 0; i < 600; i++) {
      const message = i % 3 === 0 ? big : small;
      const bytes = pack(CUP_POS, message);
      kept.push({ bytes, copy: Buffer.from(bytes), message });
    }
    for (const { bytes, copy, message } of kept) {
      expect(bytes.equals(copy)).toBe(true);
      expect(unpack(CUP_POS, bytes)).toEqual(message);
    }
  });

  it('a failed pack leaves the messages packed before and after it intact', () => {
    const before = pack(CUP_POS, chipSaleRequest());
    const copy = Buffer.from(before);
    const bad = chipSaleRequest();
    bad.fields.set(4, '12345X789012');
    expect(() => pack(CUP_POS, bad)).toThrow(Iso8583Error);
    const after = pack(CUP_POS, chipSaleRequest());
    expect(before.equals(copy)).toBe(true);
    expect(after.equals(copy)).toBe(true);
  });
});
