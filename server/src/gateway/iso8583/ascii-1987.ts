/**
 * Generic ISO 8583:1987 in ASCII: MTI as 4 ASCII digits, bitmaps as 16 hex characters (a
 * secondary bitmap when bit 1 is set), numeric and text values as ASCII, binary values as
 * upper-case hex (two characters per byte), LLVAR/LLLVAR prefixes as 2/3 ASCII digits.
 *
 * Source: the data element table of ISO 8583-1:1987 ("Bank card originated messages —
 * Interchange message specifications — Content for financial transactions", §4.3), as
 * reproduced in the public ISO 8583 references (Wikipedia "ISO 8583", data elements; the moov-io
 * and jPOS "iso87ascii" packagers agree on the ASCII representation). Two deliberate readings:
 *   - 36 (track 3) is listed as "n ...104" but track 3 carries field separators (ISO 4909), so it
 *     is class z here, like 35;
 *   - 28–31 and 97 ("x+n 8", "x+n 16") include their C/D sign: 9 and 17 characters.
 */
import type { DumpPolicy, FieldClass, FieldSpec, MessageSpec } from './spec.js';

type Text = Exclude<FieldClass, 'b'>;
const fixed = (cls: Text, max: number, name: string, dump?: DumpPolicy): FieldSpec => ({
  name,
  class: cls,
  length: 'fixed',
  max,
  content: 'ascii',
  ...(dump ? { dump } : {}),
});
const ll = (cls: Text, max: number, name: string, dump?: DumpPolicy): FieldSpec => ({
  name,
  class: cls,
  length: 'llvar',
  max,
  prefix: 'ascii',
  content: 'ascii',
  ...(dump ? { dump } : {}),
});
const lll = (cls: Text, max: number, name: string, dump?: DumpPolicy): FieldSpec => ({
  name,
  class: cls,
  length: 'lllvar',
  max,
  prefix: 'ascii',
  content: 'ascii',
  ...(dump ? { dump } : {}),
});
/** "b 64" in the standard is 8 bytes, written as 16 hex characters. */
const bin = (bytes: number, name: string, dump?: DumpPolicy): FieldSpec => ({
  name,
  class: 'b',
  length: 'fixed',
  max: bytes,
  content: 'hex',
  ...(dump ? { dump } : {}),
});

/**
 * Containers whose content the 1987 table leaves to networks and private agreements — where
 * schemes put CVV2/CVC2 (e.g. DE 48 sub-elements, private field 126). We cannot tell a card
 * verification value from anything else in them, so the log dump shows none of it.
 */
const OPAQUE: DumpPolicy = 'removed';

const fields: Record<number, FieldSpec> = {
  2: ll('n', 19, 'Primary account number', 'pan'),
  3: fixed('n', 6, 'Processing code'),
  4: fixed('n', 12, 'Amount, transaction'),
  5: fixed('n', 12, 'Amount, settlement'),
  6: fixed('n', 12, 'Amount, cardholder billing'),
  7: fixed('n', 10, 'Transmission date and time (MMDDhhmmss)'),
  8: fixed('n', 8, 'Amount, cardholder billing fee'),
  9: fixed('n', 8, 'Conversion rate, settlement'),
  10: fixed('n', 8, 'Conversion rate, cardholder billing'),
  11: fixed('n', 6, 'Systems trace audit number'),
  12: fixed('n', 6, 'Time, local transaction (hhmmss)'),
  13: fixed('n', 4, 'Date, local transaction (MMDD)'),
  14: fixed('n', 4, 'Date, expiration (YYMM)'),
  15: fixed('n', 4, 'Date, settlement (MMDD)'),
  16: fixed('n', 4, 'Date, conversion (MMDD)'),
  17: fixed('n', 4, 'Date, capture (MMDD)'),
  18: fixed('n', 4, 'Merchant type'),
  19: fixed('n', 3, 'Acquiring institution country code'),
  20: fixed('n', 3, 'PAN extended, country code'),
  21: fixed('n', 3, 'Forwarding institution country code'),
  22: fixed('n', 3, 'Point of service entry mode'),
  23: fixed('n', 3, 'Card sequence number'),
  24: fixed('n', 3, 'Network international identifier'),
  25: fixed('n', 2, 'Point of service condition code'),
  26: fixed('n', 2, 'Point of service PIN capture code'),
  27: fixed('n', 1, 'Authorizing identification response length'),
  28: fixed('xn', 9, 'Amount, transaction fee'),
  29: fixed('xn', 9, 'Amount, settlement fee'),
  30: fixed('xn', 9, 'Amount, transaction processing fee'),
  31: fixed('xn', 9, 'Amount, settlement processing fee'),
  32: ll('n', 11, 'Acquiring institution identification code'),
  33: ll('n', 11, 'Forwarding institution identification code'),
  34: ll('ns', 28, 'Primary account number, extended', 'pan'),
  35: ll('z', 37, 'Track 2 data', 'removed'),
  36: lll('z', 104, 'Track 3 data', 'removed'),
  37: fixed('an', 12, 'Retrieval reference number'),
  38: fixed('an', 6, 'Authorization identification response'),
  39: fixed('an', 2, 'Response code'),
  40: fixed('an', 3, 'Service restriction code'),
  41: fixed('ans', 8, 'Card acceptor terminal identification'),
  42: fixed('ans', 15, 'Card acceptor identification code', 'clear'),
  43: fixed('ans', 40, 'Card acceptor name/location'),
  44: ll('an', 25, 'Additional response data'),
  45: ll('an', 76, 'Track 1 data', 'removed'),
  46: lll('an', 999, 'Additional data (ISO)', OPAQUE),
  47: lll('an', 999, 'Additional data (national)', OPAQUE),
  48: lll('an', 999, 'Additional data (private)', OPAQUE),
  49: fixed('an', 3, 'Currency code, transaction'),
  50: fixed('an', 3, 'Currency code, settlement'),
  51: fixed('an', 3, 'Currency code, cardholder billing'),
  52: bin(8, 'Personal identification number data', 'removed'),
  53: fixed('n', 16, 'Security related control information', 'removed'),
  54: lll('an', 120, 'Additional amounts'),
  55: lll('ans', 999, 'Reserved (ISO)', OPAQUE),
  56: lll('ans', 999, 'Reserved (ISO)', OPAQUE),
  57: lll('ans', 999, 'Reserved (national)', OPAQUE),
  58: lll('ans', 999, 'Reserved (national)', OPAQUE),
  59: lll('ans', 999, 'Reserved (national)', OPAQUE),
  60: lll('ans', 999, 'Reserved (national)', OPAQUE),
  61: lll('ans', 999, 'Reserved (private)', OPAQUE),
  62: lll('ans', 999, 'Reserved (private)', OPAQUE),
  63: lll('ans', 999, 'Reserved (private)', OPAQUE),
  64: bin(8, 'Message authentication code', 'mac'),
  65: bin(1, 'Bitmap, extended'),
  66: fixed('n', 1, 'Settlement code'),
  67: fixed('n', 2, 'Extended payment code'),
  68: fixed('n', 3, 'Receiving institution country code'),
  69: fixed('n', 3, 'Settlement institution country code'),
  70: fixed('n', 3, 'Network management information code'),
  71: fixed('n', 4, 'Message number'),
  72: fixed('n', 4, 'Message number, last'),
  73: fixed('n', 6, 'Date, action (YYMMDD)'),
  74: fixed('n', 10, 'Credits, number'),
  75: fixed('n', 10, 'Credits, reversal number'),
  76: fixed('n', 10, 'Debits, number'),
  77: fixed('n', 10, 'Debits, reversal number'),
  78: fixed('n', 10, 'Transfer, number'),
  79: fixed('n', 10, 'Transfer, reversal number'),
  80: fixed('n', 10, 'Inquiries, number'),
  81: fixed('n', 10, 'Authorizations, number'),
  82: fixed('n', 12, 'Credits, processing fee amount'),
  83: fixed('n', 12, 'Credits, transaction fee amount'),
  84: fixed('n', 12, 'Debits, processing fee amount'),
  85: fixed('n', 12, 'Debits, transaction fee amount'),
  86: fixed('n', 16, 'Credits, amount'),
  87: fixed('n', 16, 'Credits, reversal amount'),
  88: fixed('n', 16, 'Debits, amount'),
  89: fixed('n', 16, 'Debits, reversal amount'),
  90: fixed('n', 42, 'Original data elements', 'clear'),
  91: fixed('an', 1, 'File update code'),
  92: fixed('an', 2, 'File security code'),
  93: fixed('an', 5, 'Response indicator'),
  94: fixed('an', 7, 'Service indicator'),
  95: fixed('an', 42, 'Replacement amounts', 'clear'),
  96: bin(8, 'Message security code', 'removed'),
  97: fixed('xn', 17, 'Amount, net settlement'),
  98: fixed('ans', 25, 'Payee'),
  99: ll('n', 11, 'Settlement institution identification code'),
  100: ll('n', 11, 'Receiving institution identification code'),
  101: ll('ans', 17, 'File name'),
  102: ll('ans', 28, 'Account identification 1', 'pan'),
  103: ll('ans', 28, 'Account identification 2', 'pan'),
  104: lll('ans', 100, 'Transaction description'),
};
for (let f = 105; f <= 111; f++) fields[f] = lll('ans', 999, 'Reserved (ISO)', OPAQUE);
for (let f = 112; f <= 119; f++) fields[f] = lll('ans', 999, 'Reserved (national)', OPAQUE);
for (let f = 120; f <= 127; f++) fields[f] = lll('ans', 999, 'Reserved (private)', OPAQUE);
fields[128] = bin(8, 'Message authentication code', 'mac');

export const ISO8583_1987_ASCII: MessageSpec = {
  name: 'ISO 8583:1987 ASCII',
  layout: { tpdu: false, mti: 'ascii', bitmap: 'hex', secondaryBitmap: true },
  fields,
};
