/**
 * Byte-level building blocks of the codec: lookup tables (character classes, hex, BCD) and the
 * loops that use them. Everything here works on a Buffer and an offset and allocates at most the
 * result; the closures of compile.ts call these in the hot path.
 */
import type { FieldClass } from './spec.js';

/** One table per text class: ALLOWED[cls][byte] is 1 when the byte may appear in the class. */
function table(accept: (code: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = accept(c) ? 1 : 0;
  return t;
}
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isPrintable = (c: number): boolean => c >= 0x20 && c <= 0x7e;

export type TextClass = Exclude<FieldClass, 'b'>;

export const ALLOWED: Readonly<Record<TextClass, Uint8Array>> = {
  n: table(isDigit),
  z: table((c) => c >= 0x30 && c <= 0x3f),
  a: table((c) => isLetter(c) || c === 0x20),
  an: table((c) => isLetter(c) || isDigit(c) || c === 0x20),
  ans: table(isPrintable),
  ns: table((c) => isPrintable(c) && !isLetter(c)),
  // x+n: the first character (C or D) is checked by badCharIn/badByteIn; the table covers the digits.
  xn: table(isDigit),
};

/** Index of the first character of `s` outside `cls`, or -1. */
export function badCharIn(s: string, cls: TextClass): number {
  const t = ALLOWED[cls];
  if (cls === 'xn') {
    const c = s.charCodeAt(0);
    if (s.length > 0 && c !== 0x43 && c !== 0x44) return 0; // 'C' or 'D'
    for (let i = 1; i < s.length; i++) {
      const d = s.charCodeAt(i);
      if (d > 0xff || t[d] !== 1) return i;
    }
    return -1;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || t[c] !== 1) return i;
  }
  return -1;
}

/** Offset of the first byte of buf[start, end) outside `cls`, or -1. */
export function badByteIn(buf: Uint8Array, start: number, end: number, cls: TextClass): number {
  const t = ALLOWED[cls];
  let i = start;
  if (cls === 'xn' && i < end) {
    if (buf[i] !== 0x43 && buf[i] !== 0x44) return i;
    i++;
  }
  for (; i < end; i++) if (t[buf[i]!] !== 1) return i;
  return -1;
}

/** HEX_VALUE[code] is the nibble of a hex character (either case), or -1. */
export const HEX_VALUE: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** Upper-case hex character codes by nibble. */
export const HEX_CHAR: Uint8Array = Uint8Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));

/** Two upper-case hex characters per byte value, for tags and headers. */
export const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));

/**
 * Two-byte BER tags as strings ("9F26"), indexed by (t0 >> 5) << 7 | t1: a two-byte tag has a
 * first byte ending in 11111 (8 choices) and a second byte below 0x80, so 1,024 strings cover all.
 */
export const TAG2: readonly string[] = Array.from({ length: 1024 }, (_, i) => HEX_BYTE[((i >> 7) << 5) | 0x1f]! + HEX_BYTE[i & 0x7f]!);

/** BCD_OK[byte] is 1 when both nibbles are decimal digits. */
export const BCD_OK: Uint8Array = table((b) => b >> 4 <= 9 && (b & 0x0f) <= 9);

/**
 * A scratch area for building decoded strings byte by byte before one latin1 conversion (no
 * per-character string concatenation). Decoding is synchronous, so one shared area is safe; it
 * is large enough for the longest value any spec can declare (9,999 units of track data).
 */
export const SCRATCH: Buffer = Buffer.allocUnsafe(20_000);

/** Writes `s` (already checked) as one byte per character. */
export function writeAscii(s: string, out: Buffer, pos: number): number {
  for (let i = 0; i < s.length; i++) out[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

/**
 * Writes text of class `cls` at `pos`; returns the index of the first character outside the
 * class (nothing useful written then), or -1.
 */
export function writeText(s: string, cls: TextClass, out: Buffer, pos: number): number {
  const n = s.length;
  if (n > 64 && cls !== 'xn') {
    // Long values: one native copy, then a byte-table check (faster than charCodeAt from ~64
    // characters on; below that the two native calls cost more than the loop).
    // Every class is ASCII, so a UTF-8 length equal to the string length proves no character
    // above 0x7F would be truncated by the latin1 write.
    if (Buffer.byteLength(s, 'utf8') !== n) return badCharIn(s, cls);
    out.write(s, pos, n, 'latin1');
    const bad = badByteIn(out, pos, pos + n, cls);
    return bad < 0 ? -1 : bad - pos;
  }
  const bad = badCharIn(s, cls);
  if (bad >= 0) return bad;
  for (let i = 0; i < n; i++) out[pos + i] = s.charCodeAt(i);
  return -1;
}

/**
 * Writes `units` BCD digits/track characters of `s`. Returns the index of a character that is
 * not a digit (class n) or not 0x30–0x3F (class z) without finishing, or -1 when all went in.
 */
export function writeBcd(s: string, out: Buffer, pos: number, track: boolean, left: boolean, pad: number): number {
  const n = s.length;
  const limit = track ? 15 : 9;
  let i = 0;
  let p = pos;
  if (n & 1 && !left) {
    const d = s.charCodeAt(0) - 0x30;
    if (d < 0 || d > limit) return 0;
    out[p++] = (pad << 4) | d;
    i = 1;
  }
  for (; i + 1 < n; i += 2) {
    const hi = s.charCodeAt(i) - 0x30;
    const lo = s.charCodeAt(i + 1) - 0x30;
    if (hi < 0 || hi > limit) return i;
    if (lo < 0 || lo > limit) return i + 1;
    out[p++] = (hi << 4) | lo;
  }
  if (i < n) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > limit) return i;
    out[p] = (d << 4) | pad;
  }
  return -1;
}

const fc = String.fromCharCode;

/** Both nibbles of a byte as characters 0x30 + nibble ("00"–"99" for BCD, "=" for D in track data). */
const NIBBLES2: readonly string[] = Array.from({ length: 256 }, (_, b) => fc(0x30 + (b >> 4), 0x30 + (b & 0x0f)));
const NIBBLE1: readonly string[] = Array.from({ length: 16 }, (_, d) => fc(0x30 + d));

/**
 * `units` nibbles from buf at `start` as characters 0x30 + nibble: the pad nibble of an odd count
 * is the first one (right-justified) or the last one (left-justified) and is skipped.
 */
function nibbleString(buf: Buffer, start: number, units: number, left: boolean): string {
  if (units > 32) {
    // Long values (track 3, field 48): one native conversion of the scratch area.
    const q0 = units & 1 && !left ? 1 : 0;
    for (let k = 0, q = q0; k < units; k++, q++) {
      const b = buf[start + (q >> 1)]!;
      SCRATCH[k] = 0x30 + (q & 1 ? b & 0x0f : b >> 4);
    }
    return SCRATCH.toString('latin1', 0, units);
  }
  return nibblesAt(buf, start, units & 1 && !left ? 1 : 0, units);
}

/**
 * Decodes `units` BCD digits (class n) from buf at `start`; returns the offset of a byte with a
 * non-digit nibble instead. The pad nibble of an odd count is skipped, whatever its value.
 */
export function readBcdDigits(buf: Buffer, start: number, units: number, left: boolean): string | number {
  const bad = badBcdIn(buf, start, units, left);
  return bad >= 0 ? bad : nibbleString(buf, start, units, left);
}

/**
 * Offset of the first byte of `units` BCD digits at `start` with a digit nibble above 9, or -1.
 * The pad nibble of an odd count is not checked.
 */
export function badBcdIn(buf: Buffer, start: number, units: number, left: boolean): number {
  const odd = units & 1;
  let i = start;
  if (odd && !left) {
    if ((buf[i]! & 0x0f) > 9) return i;
    i++;
  }
  const stop = start + (units >> 1) + (odd && !left ? 1 : 0);
  for (; i < stop; i++) if (BCD_OK[buf[i]!] !== 1) return i;
  if (odd && left && buf[i]! >> 4 > 9) return i;
  return -1;
}

/**
 * `count` nibbles from nibble `q` of the bytes at `start` (high nibble first) as characters
 * 0x30 + nibble: one positional sub-field of a BCD field, read straight from the message without
 * the whole field's string. One or two aligned digits come from the tables (no allocation).
 */
export function nibblesAt(buf: Buffer, start: number, q: number, count: number): string {
  if (count === 1) {
    const b = buf[start + (q >> 1)]!;
    return NIBBLE1[q & 1 ? b & 0x0f : b >> 4]!;
  }
  if (count === 2 && (q & 1) === 0) return NIBBLES2[buf[start + (q >> 1)]!]!;
  for (let k = 0; k < count; k++, q++) {
    const b = buf[start + (q >> 1)]!;
    SCRATCH[k] = 0x30 + (q & 1 ? b & 0x0f : b >> 4);
  }
  return latin1(SCRATCH, 0, count);
}

/** buf[start, end) as a string of the same char codes (callers have checked the bytes). */
export function latin1(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n > 20) return n > 32 ? buf.toString('latin1', start, end) : latin1(buf, start, start + 16) + latin1(buf, start + 16, end);
  // Short values (ids, codes, digits, sub-fields): one String.fromCharCode call with explicit
  // arguments gives one flat string — no concatenation, no cons string (values of 13 characters
  // or more built by `+` are cons strings of several objects).
  const p = start;
  // prettier-ignore
  switch (n) {
    case 1: return fc(buf[p]!);
    case 2: return fc(buf[p]!, buf[p + 1]!);
    case 3: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!);
    case 4: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!);
    case 5: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!);
    case 6: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!);
    case 7: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!);
    case 8: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!);
    case 9: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!);
    case 10: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!);
    case 11: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!);
    case 12: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!);
    case 13: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!);
    case 14: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!, buf[p + 13]!);
    case 15: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!, buf[p + 13]!, buf[p + 14]!);
    case 16: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!, buf[p + 13]!, buf[p + 14]!, buf[p + 15]!);
    case 17: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!, buf[p + 13]!, buf[p + 14]!, buf[p + 15]!, buf[p + 16]!);
    case 18: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!, buf[p + 13]!, buf[p + 14]!, buf[p + 15]!, buf[p + 16]!, buf[p + 17]!);
    case 19: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!, buf[p + 13]!, buf[p + 14]!, buf[p + 15]!, buf[p + 16]!, buf[p + 17]!, buf[p + 18]!);
    case 20: return fc(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!, buf[p + 8]!, buf[p + 9]!, buf[p + 10]!, buf[p + 11]!, buf[p + 12]!, buf[p + 13]!, buf[p + 14]!, buf[p + 15]!, buf[p + 16]!, buf[p + 17]!, buf[p + 18]!, buf[p + 19]!);
    default:
      return '';
  }
}

/** Decodes `units` track characters (class z): nibble + 0x30, so D reads as '='. */
export function readBcdTrack(buf: Buffer, start: number, units: number, left: boolean): string {
  return nibbleString(buf, start, units, left);
}

/** Writes bytes as upper-case hex characters. */
export function writeHex(value: Uint8Array, out: Buffer, pos: number): number {
  let p = pos;
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    out[p++] = HEX_CHAR[b >> 4]!;
    out[p++] = HEX_CHAR[b & 0x0f]!;
  }
  return p;
}

/** Reads `bytes` bytes written as 2·bytes hex characters; returns the offset of a bad character instead. */
export function readHex(buf: Buffer, start: number, bytes: number): Buffer | number {
  const out = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) {
    const hi = HEX_VALUE[buf[start + 2 * i]!]!;
    const lo = HEX_VALUE[buf[start + 2 * i + 1]!]!;
    if (hi < 0) return start + 2 * i;
    if (lo < 0) return start + 2 * i + 1;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** A private copy of buf[start, end): values must not change when the caller reuses its buffer. */
export function copyBytes(buf: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  const out = Buffer.allocUnsafe(n);
  // PIN blocks, MACs, most field 55s: a byte loop is a third of the cost of Buffer#copy's checks.
  if (n <= 256) for (let i = 0; i < n; i++) out[i] = buf[start + i]!;
  else buf.copy(out, 0, start, end);
  return out;
}
