/**
 * China UnionPay POS terminal ⇄ acquirer host layout, as used by CUP-style conventional POS
 * terminals ("中国银联 POS 终端消息域说明", May 2002, and the 银联卡受理终端 application notes
 * that followed it, as commonly published; field encodings cross-checked with the published
 * summary "银联常用8583报文域说明" (csdndocs.com/article/7712474) and with a published sale
 * request dump (blog.csdn.net/MaxWoods/article/details/86490475), which known-answer.test.ts
 * decodes byte for byte).
 *
 * Wire layout after the 2-byte length (the channel's job, not the codec's):
 *   TPDU (60 dddd ssss) · application header 6 bytes (e.g. 60 31 00 31 10 03: application type 60,
 *   software version 31, terminal status, processing requirement, reserved) · MTI 2 bytes BCD ·
 *   primary bitmap 8 bytes binary (no secondary bitmap on this interface) · fields.
 * Conventions of the CUP layout:
 *   - n fields are BCD, right-justified with a leading 0 nibble, except those the CUP notes mark
 *     "左靠" (left-justified: PAN, 22, 32, track data, 48, 60, 61), padded with a trailing 0.
 *   - LLVAR prefixes are 1 BCD byte, LLLVAR prefixes 2 BCD bytes; for BCD content they count
 *     digits, otherwise bytes.
 *   - Text (an/ans) is ASCII; b is raw bytes.
 */
import type { FieldSpec, MessageSpec } from './spec.js';

const n = (name: string, max: number, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  class: 'n',
  length: 'fixed',
  max,
  content: 'bcd',
  ...extra,
});
const text = (cls: 'an' | 'ans', name: string, max: number, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  class: cls,
  length: 'fixed',
  max,
  content: 'ascii',
  ...extra,
});

export const CUP_POS: MessageSpec = {
  name: 'China UnionPay POS (CUP-style terminal ⇄ acquirer)',
  layout: { tpdu: true, header: { bytes: 6, encoding: 'hex' }, mti: 'bcd', bitmap: 'binary', secondaryBitmap: false },
  fields: {
    2: n('Primary account number', 19, { length: 'llvar', prefix: 'bcd', justify: 'left', dump: 'pan' }),
    3: n('Processing code', 6),
    4: n('Amount, transaction', 12),
    11: n('System trace audit number', 6),
    12: n('Time, local transaction (hhmmss)', 6),
    13: n('Date, local transaction (MMDD)', 4),
    14: n('Date, expiration (YYMM)', 4),
    15: n('Date, settlement (MMDD)', 4),
    22: n('POS entry mode', 3, { justify: 'left' }),
    23: n('Card sequence number', 3),
    25: n('POS condition code', 2),
    26: n('POS PIN capture code', 2),
    32: n('Acquiring institution identification code', 11, { length: 'llvar', prefix: 'bcd', justify: 'left' }),
    35: { name: 'Track 2 data', class: 'z', length: 'llvar', max: 37, prefix: 'bcd', content: 'bcd', justify: 'left', dump: 'removed' },
    36: { name: 'Track 3 data', class: 'z', length: 'lllvar', max: 104, prefix: 'bcd', content: 'bcd', justify: 'left', dump: 'removed' },
    37: text('an', 'Retrieval reference number', 12),
    38: text('an', 'Authorization identification response', 6),
    39: text('an', 'Response code', 2),
    41: text('ans', 'Card acceptor terminal identification', 8),
    // The merchant number: 15 digits, not card data — shown as is, past the dump's digit-run net.
    42: text('ans', 'Card acceptor identification code', 15, { dump: 'clear' }),
    // 44.1 issuing bank, 44.2 acquiring bank identification (responses).
    44: text('ans', 'Additional response data', 25, {
      length: 'llvar',
      prefix: 'bcd',
      sub: {
        kind: 'positional',
        fields: [
          { name: 'Issuer identification', class: 'ans', length: 11 },
          { name: 'Acquirer identification', class: 'ans', length: 11 },
          { name: 'Reserved', class: 'ans', length: 'rest' },
        ],
      },
    }),
    // Settlement totals (0500/0510) and batch-upload details (0320) are digit strings; the
    // batch-upload details hold card numbers, hence no dump.
    48: n('Additional data, private', 322, { length: 'lllvar', prefix: 'bcd', justify: 'left', dump: 'removed' }),
    49: text('an', 'Currency code, transaction', 3),
    52: { name: 'PIN data', class: 'b', length: 'fixed', max: 8, content: 'binary', dump: 'removed' },
    53: n('Security related control information', 16, { dump: 'removed' }),
    54: text('an', 'Additional amounts', 20, { length: 'lllvar', prefix: 'bcd' }),
    55: {
      name: 'ICC system related data',
      class: 'b',
      length: 'lllvar',
      max: 255,
      prefix: 'bcd',
      content: 'binary',
      sub: { kind: 'tlv' },
      dump: 'removed',
    },
    // Later CUP terminal specs: terminal hardware serial number, location and other tagged data.
    59: text('ans', 'Reserved, private (terminal information)', 999, { length: 'lllvar', prefix: 'bcd' }),
    60: n('Reserved, private', 17, {
      length: 'lllvar',
      prefix: 'bcd',
      justify: 'left',
      sub: {
        kind: 'positional',
        fields: [
          { name: 'Message type code', class: 'n', length: 2 },
          { name: 'Batch number', class: 'n', length: 6 },
          { name: 'Network management information code', class: 'n', length: 3 },
          { name: 'Terminal read capability', class: 'n', length: 1 },
          { name: 'IC card condition code', class: 'n', length: 1 },
          { name: 'Partial approval / balance flag', class: 'n', length: 1 },
          { name: 'Account type', class: 'n', length: 3 },
        ],
      },
    }),
    61: n('Original message data', 29, {
      length: 'lllvar',
      prefix: 'bcd',
      justify: 'left',
      sub: {
        kind: 'positional',
        fields: [
          { name: 'Original batch number', class: 'n', length: 6 },
          { name: 'Original STAN', class: 'n', length: 6 },
          { name: 'Original date (MMDD)', class: 'n', length: 4 },
          { name: 'Original authorization method', class: 'n', length: 2 },
          { name: 'Original authorizing institution', class: 'n', length: 11 },
        ],
      },
    }),
    // Sign-on response: working keys (PIN, MAC, track) encrypted under the TMK with check values.
    62: { name: 'Reserved, private (key data)', class: 'b', length: 'lllvar', max: 512, prefix: 'bcd', content: 'binary', dump: 'removed' },
    // 63.1: operator number (requests) or card organisation ("CUP", responses); 63.2: issuer and
    // acquirer notes in GBK, hence bytes.
    63: {
      name: 'Reserved, private',
      class: 'b',
      length: 'lllvar',
      max: 163,
      prefix: 'bcd',
      content: 'binary',
      sub: {
        kind: 'positional',
        fields: [
          { name: 'Operator or card organisation', class: 'ans', length: 3 },
          { name: 'Custom data (GBK)', class: 'b', length: 'rest' },
        ],
      },
    },
    64: { name: 'Message authentication code', class: 'b', length: 'fixed', max: 8, content: 'binary', dump: 'mac' },
  },
};
