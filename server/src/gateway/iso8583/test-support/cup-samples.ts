/**
 * One sample of every message a CUP-style POS acquirer exchanges with its terminals, request and
 * response, built to the CUP layout (cup-pos.ts) with the processing codes and 60.1 message type
 * codes of the CUP POS field notes (see /work/shared/DOMAIN.md, "Card acquiring at the terminal").
 * Card data is made up: the PAN below passes no issuer's checks and no real card has it.
 *
 * Used by the round-trip tests, the fuzz corpus and bench/iso8583.ts.
 */
import type { FieldValue, Message, Subfields, TlvData } from '../message.js';

export const PAN = '6217001234567890123';
export const TRACK2 = `${PAN}=30122200000000000`;
export const TRACK3 = `996${PAN}=1561560000000000000003000000214000030122=000000000000=000000000000=00000000`;
export const PIN_BLOCK = Buffer.from('3A1F0C22D9E4B70B', 'hex');
export const MAC = Buffer.from('9C3B7A2E00000000', 'hex');

const TID = '10000019';
const MID = '850100082410002';
const BATCH = '000024';
const REQUEST_TPDU = { destination: '0006', source: '0000' };
const RESPONSE_TPDU = { destination: '0000', source: '0006' };
const HEADER = '603100311003';

const sub = (...values: (string | Buffer)[]): Subfields => new Map(values.map((v, i) => [i + 1, v]));
const tlv = (...items: [string, string][]): TlvData => items.map(([tag, hex]) => ({ tag, value: Buffer.from(hex, 'hex') }));

/** ICC data of a chip sale request (ARQC and the terminal data CUP asks for). */
export const ICC_REQUEST: TlvData = tlv(
  ['9F26', '95BBE372271DDA7C'],
  ['9F27', '80'],
  ['9F10', '07010103A0000001' + '0A010000000000ED538FE4'],
  ['9F37', '7F9F349E'],
  ['9F36', '0157'],
  ['95', '0000000000'],
  ['9A', '250830'],
  ['9C', '00'],
  ['9F02', '000000012345'],
  ['5F2A', '0156'],
  ['82', '7C00'],
  ['9F1A', '0156'],
  ['9F03', '000000000000'],
  ['9F33', 'E0E1C8'],
  ['9F34', '420300'],
  ['9F35', '22'],
  ['9F1E', '3130303030303139'],
  ['84', 'A000000333010102'],
  ['9F09', '008C'],
  ['9F41', '00000403'],
);

/** Issuer authentication data and a script in a chip sale response (a 144-byte script: 0x81 length form). */
export const ICC_RESPONSE: TlvData = [
  { tag: '91', value: Buffer.from('1A2B3C4D5E6F70813030', 'hex') },
  { tag: '72', value: Buffer.alloc(144, 0x9f) },
  { tag: '9F36', value: Buffer.from('0157', 'hex') },
];

const msg = (mti: string, response: boolean, fields: [number, FieldValue][]): Message => ({
  mti,
  tpdu: response ? RESPONSE_TPDU : REQUEST_TPDU,
  header: HEADER,
  fields: new Map(fields),
});

const card: [number, FieldValue][] = [
  [2, PAN],
  [14, '3012'],
];

/** A magnetic-stripe sale request (消费). */
export const saleRequest = (): Message =>
  msg('0200', false, [
    [2, PAN],
    [3, '000000'],
    [4, '000000012345'],
    [11, '000403'],
    [14, '3012'],
    [22, '021'],
    [25, '00'],
    [26, '12'],
    [35, TRACK2],
    [36, TRACK3],
    [41, TID],
    [42, MID],
    [49, '156'],
    [52, PIN_BLOCK],
    [53, '2600000000000000'],
    [60, sub('22', BATCH, '000', '5', '0')],
    [64, MAC],
  ]);

/** A chip (IC card) sale request: entry mode 05x, card sequence number, field 55. */
export const chipSaleRequest = (): Message =>
  msg('0200', false, [
    [2, PAN],
    [3, '000000'],
    [4, '000000012345'],
    [11, '000404'],
    [14, '3012'],
    [22, '051'],
    [23, '001'],
    [25, '00'],
    [26, '12'],
    [35, TRACK2],
    [41, TID],
    [42, MID],
    [49, '156'],
    [52, PIN_BLOCK],
    [53, '2600000000000000'],
    [55, ICC_REQUEST],
    [60, sub('22', BATCH, '000', '6', '0', '0', '000')],
    [64, MAC],
  ]);

const responseCommon = (stan: string, code: string): [number, FieldValue][] => [
  [11, stan],
  [12, '101530'],
  [13, '0830'],
  [15, '0830'],
  [32, '00010344'],
  [37, '101530123456'],
  [39, code],
  [41, TID],
  [42, MID],
];

/** The answer to a financial request: approved, with authorisation code and issuer/acquirer ids. */
const financialResponse = (mti: string, processing: string, stan: string, type: string, extra: [number, FieldValue][] = []): Message =>
  msg(mti, true, [
    ...card,
    [3, processing],
    [4, '000000012345'],
    ...responseCommon(stan, '00'),
    [25, '00'],
    [38, 'A1B2C3'],
    [44, sub('01020000   ', '03100000   ')],
    [49, '156'],
    [60, sub(type, BATCH, '000')],
    // 63.1 card organisation, 63.2 issuer note in GBK ("中国" = D6D0 B9FA).
    [63, sub('CUP', Buffer.from('D6D0B9FA20202020', 'hex'))],
    [64, MAC],
    ...extra,
  ]);

const original = (stan: string, date?: string): Subfields => (date ? sub(BATCH, stan, date) : sub(BATCH, stan));

/** Every request/response pair of a CUP POS acquirer, by name. */
export const CUP_MESSAGES: Readonly<Record<string, () => Message>> = {
  'sign-on request 0800': () =>
    msg('0800', false, [
      [11, '000001'],
      [41, TID],
      [42, MID],
      [60, sub('00', BATCH, '003')],
      [63, sub('001')],
    ]),
  'sign-on response 0810': () =>
    msg('0810', true, [
      ...responseCommon('000001', '00'),
      [60, sub('00', BATCH, '003')],
      // PIN key and MAC key, each 16 bytes under the TMK with a 4-byte check value.
      [62, Buffer.from('0F1E2D3C4B5A69788796A5B4C3D2E1F0' + '1A2B3C4D' + '00112233445566778899AABBCCDDEEFF' + '5E6F7081', 'hex')],
    ]),
  'sale request 0200 (magnetic stripe)': saleRequest,
  'sale request 0200 (chip)': chipSaleRequest,
  'sale response 0210': () => financialResponse('0210', '000000', '000403', '22', [[55, ICC_RESPONSE]]),
  'sale void request 0200': () =>
    msg('0200', false, [
      ...card,
      [3, '200000'],
      [4, '000000012345'],
      [11, '000405'],
      [22, '021'],
      [25, '00'],
      [26, '12'],
      [35, TRACK2],
      [37, '101530123456'],
      [38, 'A1B2C3'],
      [41, TID],
      [42, MID],
      [49, '156'],
      [52, PIN_BLOCK],
      [53, '2600000000000000'],
      [60, sub('23', BATCH, '000')],
      [61, original('000403')],
      [64, MAC],
    ]),
  'sale void response 0210': () => financialResponse('0210', '200000', '000405', '23'),
  'refund request 0220': () =>
    msg('0220', false, [
      ...card,
      [3, '200000'],
      [4, '000000005000'],
      [11, '000406'],
      [22, '021'],
      [25, '00'],
      [35, TRACK2],
      [37, '101530123456'],
      [41, TID],
      [42, MID],
      [49, '156'],
      [60, sub('25', BATCH, '000')],
      [61, sub('000000', '000000', '0829')],
      [63, sub('000')],
      [64, MAC],
    ]),
  'refund response 0230': () => financialResponse('0230', '200000', '000406', '25'),
  'pre-authorisation request 0100': () =>
    msg('0100', false, [
      ...card,
      [3, '030000'],
      [4, '000000100000'],
      [11, '000407'],
      [22, '021'],
      [25, '06'],
      [26, '12'],
      [35, TRACK2],
      [41, TID],
      [42, MID],
      [49, '156'],
      [52, PIN_BLOCK],
      [53, '2600000000000000'],
      [60, sub('10', BATCH, '000')],
      [64, MAC],
    ]),
  'pre-authorisation response 0110': () => financialResponse('0110', '030000', '000407', '10'),
  'pre-authorisation void request 0100': () =>
    msg('0100', false, [
      ...card,
      [3, '200000'],
      [4, '000000100000'],
      [11, '000408'],
      [22, '021'],
      [25, '06'],
      [35, TRACK2],
      [38, 'A1B2C3'],
      [41, TID],
      [42, MID],
      [49, '156'],
      [60, sub('11', BATCH, '000')],
      [61, original('000000', '0830')],
      [64, MAC],
    ]),
  'pre-authorisation void response 0110': () => financialResponse('0110', '200000', '000408', '11'),
  'completion request 0200': () =>
    msg('0200', false, [
      ...card,
      [3, '000000'],
      [4, '000000110000'],
      [11, '000409'],
      [22, '021'],
      [25, '06'],
      [35, TRACK2],
      [38, 'A1B2C3'],
      [41, TID],
      [42, MID],
      [49, '156'],
      [60, sub('20', BATCH, '000')],
      [61, original('000000', '0830')],
      [64, MAC],
    ]),
  'completion response 0210': () => financialResponse('0210', '000000', '000409', '20'),
  'completion advice 0220': () =>
    msg('0220', false, [
      ...card,
      [3, '000000'],
      [4, '000000110000'],
      [11, '000410'],
      [22, '012'],
      [25, '06'],
      [38, 'A1B2C3'],
      [41, TID],
      [42, MID],
      [49, '156'],
      [60, sub('24', BATCH, '000')],
      [61, original('000000', '0830')],
      [64, MAC],
    ]),
  'completion advice response 0230': () => financialResponse('0230', '000000', '000410', '24'),
  'reversal request 0400': () =>
    msg('0400', false, [
      ...card,
      [3, '000000'],
      [4, '000000012345'],
      [11, '000404'],
      [22, '051'],
      [23, '001'],
      [25, '00'],
      // Reversal reason: 98 = no answer from the host.
      [39, '98'],
      [41, TID],
      [42, MID],
      [49, '156'],
      [53, '2600000000000000'],
      [55, ICC_REQUEST.slice(0, 5)],
      [60, sub('22', BATCH, '000', '6', '0')],
      [64, MAC],
    ]),
  'reversal response 0410': () => financialResponse('0410', '000000', '000404', '22'),
  'batch settlement request 0500': () =>
    msg('0500', false, [
      [11, '000411'],
      [41, TID],
      [42, MID],
      // Domestic debit total, count, credit total, count, answer code; then the same for foreign cards.
      [48, '000000135690' + '004' + '000000005000' + '001' + '0' + '000000000000' + '000' + '000000000000' + '000' + '0'],
      [49, '156'],
      [60, sub('00', BATCH, '201')],
      [63, sub('001')],
    ]),
  'batch settlement response 0510': () =>
    msg('0510', true, [
      ...responseCommon('000411', '00'),
      [48, '000000135690' + '004' + '000000005000' + '001' + '1' + '000000000000' + '000' + '000000000000' + '000' + '1'],
      [49, '156'],
      [60, sub('00', BATCH, '201')],
    ]),
  'batch upload request 0320': () =>
    msg('0320', false, [
      [11, '000412'],
      [41, TID],
      [42, MID],
      // Count, then per transaction: card organisation, STAN, PAN (padded to 20), amount.
      [48, '02' + '00' + '000403' + `0${PAN}` + '000000012345' + '00' + '000405' + `0${PAN}` + '000000012345'],
      [60, sub('00', BATCH, '201')],
    ]),
  'batch upload response 0330': () =>
    msg('0330', true, [
      [11, '000412'],
      [39, '00'],
      [41, TID],
      [42, MID],
      [60, sub('00', BATCH, '201')],
    ]),
  'echo test request 0820': () =>
    msg('0820', false, [
      [11, '000413'],
      [41, TID],
      [42, MID],
      [60, sub('00', BATCH, '301')],
    ]),
  'echo test response 0830': () =>
    msg('0830', true, [
      [11, '000413'],
      [39, '00'],
      [41, TID],
      [42, MID],
      [60, sub('00', BATCH, '301')],
    ]),
};
