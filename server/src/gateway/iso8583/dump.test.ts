/**
 * The log dump: one line per field, and never the full card number, the PIN block, track data or
 * ICC values — checked on fixed messages and on random card data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CUP_POS, ISO8583_1987_ASCII, dump, dumpLines, maskPan, pack, unpack, type FieldValue, type Message } from './index.js';
import { CUP_MESSAGES, ICC_REQUEST, PAN, PIN_BLOCK, TRACK2, TRACK3, chipSaleRequest } from './test-support/cup-samples.js';

/** What must never show: the full PAN, the whole track, the PIN block in hex either case. */
const secretsOf = (pan: string, track2: string, pin: Buffer): string[] => [
  pan,
  track2,
  pin.toString('hex'),
  pin.toString('hex').toUpperCase(),
];

describe('dump', () => {
  it('prints one line per field, the PAN masked, secrets removed, the MAC as present', () => {
    const lines = dumpLines(CUP_POS, chipSaleRequest());
    expect(lines).toEqual([
      'MTI "0200"',
      'TPDU destination="0006" source="0000"',
      'header "603100311003"',
      '002 Primary account number: 621700*********0123',
      '003 Processing code: "000000"',
      '004 Amount, transaction: "000000012345"',
      '011 System trace audit number: "000404"',
      '014 Date, expiration (YYMM): "3012"',
      '022 POS entry mode: "051"',
      '023 Card sequence number: "001"',
      '025 POS condition code: "00"',
      '026 POS PIN capture code: "12"',
      '035 Track 2 data: [removed]',
      '041 Card acceptor terminal identification: "10000019"',
      '042 Card acceptor identification code: "850100082410002"',
      '049 Currency code, transaction: "156"',
      '052 PIN data: [removed]',
      '053 Security related control information: [removed]',
      `055 ICC system related data: ${ICC_REQUEST.map((i) => `${i.tag}=[removed]`).join(' ')}`,
      '060 Reserved, private: 1="22" 2="000024" 3="000" 4="6" 5="0" 6="0" 7="000"',
      'MAC present (field 64)',
    ]);
  });

  it('says when the MAC is absent, shows sub-fields and byte counts, removes key data', () => {
    const text = dump(CUP_POS, CUP_MESSAGES['sign-on response 0810']!());
    expect(text).toContain('062 Reserved, private (key data): [removed]');
    expect(text.endsWith('MAC absent')).toBe(true);
    const sale = dump(CUP_POS, CUP_MESSAGES['sale response 0210']!());
    expect(sale).toContain('063 Reserved, private: 1="CUP" 2=[8 bytes]');
    expect(sale).toContain('044 Additional response data: 1="01020000   " 2="03100000   "');
  });

  it('removes tracks and private containers (CVV2 lives there) of the 1987 table, masks the extended PAN and account ids', () => {
    const sale = dump(CUP_POS, CUP_MESSAGES['sale request 0200 (magnetic stripe)']!());
    expect(sale).not.toContain(TRACK3);
    const m: Message = {
      mti: '0200',
      fields: new Map<number, FieldValue>([
        [34, '12345678901234567890'],
        [45, 'B4761739001010010^CARDHOLDER/TEST^2212201'],
        // CVC2 in a DE 48 sub-element, CVV2 in private field 126: containers the dump never opens.
        [48, '92031234'],
        [96, Buffer.alloc(8, 1)],
        [102, '6217001234567890123'],
        [126, '0000000000000000000123'],
        [128, Buffer.alloc(8)],
      ]),
    };
    expect(dumpLines(ISO8583_1987_ASCII, m)).toEqual([
      'MTI "0200"',
      '034 Primary account number, extended: 123456**********7890',
      '045 Track 1 data: [removed]',
      '048 Additional data (private): [removed]',
      '096 Message security code: [removed]',
      '102 Account identification 1: 621700*********0123',
      '126 Reserved (private): [removed]',
      'MAC present (field 128)',
    ]);
  });

  it('keeps each field on its line: control characters are escaped, unknown fields removed', () => {
    const m: Message = {
      mti: '0200',
      fields: new Map<number, FieldValue>([
        [59, 'a\nb'],
        [5, 'secret'],
      ]),
    };
    const lines = dumpLines(CUP_POS, m);
    expect(lines).toContain('005 (not in spec): [removed]');
    expect(lines).toContain('059 Reserved, private (terminal information): "a\\nb"');
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    // Hand-built nonsense (a tag with a newline, a number where bytes belong) still dumps safely.
    const odd: Message = {
      mti: '0200',
      fields: new Map<number, FieldValue>([
        [55, [{ tag: '9F\n26', value: Buffer.alloc(1) }]],
        [63, new Map<number, string | Buffer>([[1, 'CUP']]).set(2, 42 as unknown as Buffer)],
      ]),
    };
    const oddLines = dumpLines(CUP_POS, odd);
    expect(oddLines).toContain('055 ICC system related data: "9F\\n26"=[removed]');
    expect(oddLines).toContain('063 Reserved, private: 1="CUP" 2=[removed]');
  });

  it('masks any run of 13+ digits in text shown in clear (a card number where none is expected)', () => {
    const m: Message = {
      mti: '0200',
      fields: new Map<number, FieldValue>([
        [59, `AB${PAN}Z`],
        [41, '12345678'],
      ]),
    };
    const text = dump(CUP_POS, m);
    expect(text).not.toContain(PAN);
    expect(text).toContain('"AB621700*********0123Z"');
    expect(text).toContain('"12345678"');
    expect(dump(CUP_POS, CUP_MESSAGES['batch upload request 0320']!())).toContain('048 Additional data, private: [removed]');
  });

  it('masks PANs as first 6 and last 4, short values entirely', () => {
    expect(maskPan(PAN)).toBe('621700*********0123');
    expect(maskPan('6225880123456789')).toBe('622588******6789');
    expect(maskPan('12345678901')).toBe('***********');
  });

  it('never contains the full PAN, the PIN block or track 2 (random card data, through pack/unpack)', () => {
    const card = fc
      .tuple(
        fc.stringMatching(/^[0-9]{13,19}$/),
        fc.stringMatching(/^[0-9]{4}$/),
        fc.stringMatching(/^[0-9]{3,13}$/),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
      )
      .map(([pan, expiry, discretionary, pin]) => ({
        pan,
        track2: `${pan}=${expiry}${discretionary}`.slice(0, 37),
        pin: Buffer.from(pin),
      }));
    fc.assert(
      fc.property(card, ({ pan, track2, pin }) => {
        const base = chipSaleRequest();
        const m: Message = {
          ...base,
          fields: new Map([...base.fields, [2, pan], [35, track2], [52, pin] as [number, FieldValue]]),
        };
        const text = dump(CUP_POS, unpack(CUP_POS, pack(CUP_POS, m)));
        for (const secret of secretsOf(pan, track2, pin)) expect(text).not.toContain(secret);
        expect(text).toContain(`${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`);
      }),
      { numRuns: 500 },
    );
  });

  it('no sample message leaks its card data', () => {
    for (const build of Object.values(CUP_MESSAGES)) {
      const text = dump(CUP_POS, build());
      for (const secret of secretsOf(PAN, TRACK2, PIN_BLOCK)) expect(text).not.toContain(secret);
    }
  });
});
