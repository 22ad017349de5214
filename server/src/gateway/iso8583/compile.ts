/**
 * Turns a declarative FieldSpec into a pair of closures, checked once: every decision that depends
 * only on the spec (prefix form, content encoding, units → bytes, justification, sub-fields) is
 * taken here, so that packing and unpacking a field is straight-line work on a Buffer.
 */
import { Iso8583Error, type Iso8583ErrorSite } from './errors.js';
import type { FieldValue, SubfieldValue, Subfields, TlvData } from './message.js';
import {
  badBcdIn,
  badByteIn,
  badCharIn,
  copyBytes,
  latin1,
  nibblesAt,
  readBcdDigits,
  readBcdTrack,
  readHex,
  writeBcd,
  writeHex,
  writeText,
  type TextClass,
} from './primitives.js';
import type { FieldSpec, PositionalSubfield } from './spec.js';
import { lazyTlv, listOf, tlvSize, unopenedBytes, writeTlv, writeTlvChecked } from './tlv.js';

/** Read position in the buffer being unpacked; `end` is its length. */
export interface Cursor {
  pos: number;
  end: number;
}

export interface FieldCodec {
  readonly field: number;
  readonly spec: FieldSpec;
  /** Upper bound of the encoded size, prefix included. */
  readonly maxBytes: number;
  /** Writes the value at `pos` (the caller guarantees maxBytes of room); returns the new position. */
  encode(value: FieldValue, out: Buffer, pos: number): number;
  /** Reads the field at cur.pos and advances it; throws Iso8583Error on anything malformed. */
  decode(buf: Buffer, cur: Cursor): FieldValue;
  /** Where the value starts after the last decode (after any length prefix), for locateFields. */
  lastDataStart: number;
}

/** Largest value (in units) any text or BCD field may declare: bounds the shared scratch area. */
const MAX_TEXT_UNITS = 9_999;

const specError = (field: number, name: string, detail: string): Iso8583Error =>
  new Iso8583Error('bad_spec', { field, fieldName: name, detail });

/** Checks a field spec for inconsistencies a reviewer could miss; throws bad_spec. */
export function checkFieldSpec(field: number, f: FieldSpec): void {
  const fail = (detail: string): never => {
    throw specError(field, f.name, detail);
  };
  if (!Number.isInteger(f.max) || f.max < 1) fail('max must be a positive integer');
  const textual = f.class !== 'b';
  if (f.class === 'n' || f.class === 'z') {
    if (f.content !== 'ascii' && f.content !== 'bcd') fail(`class ${f.class} needs ascii or bcd content`);
  } else if (f.class === 'b') {
    if (f.content !== 'binary' && f.content !== 'hex') fail('class b needs binary or hex content');
  } else if (f.content !== 'ascii') fail(`class ${f.class} needs ascii content`);
  if (textual && f.max > MAX_TEXT_UNITS) fail(`max above ${MAX_TEXT_UNITS}`);
  if (f.content !== 'bcd' && (f.justify !== undefined || f.pad !== undefined)) fail('justify and pad apply to BCD content only');
  if (f.length === 'fixed') {
    if (f.prefix !== undefined) fail('a fixed field has no length prefix');
  } else {
    if (f.prefix === undefined) fail('a variable field needs a prefix encoding');
    const limit = f.prefix === 'binary' ? (f.length === 'llvar' ? 0xff : 0xffff) : f.length === 'llvar' ? 99 : 999;
    if (f.max > limit) fail(`max ${f.max} does not fit a ${f.prefix} ${f.length} prefix`);
  }
  if (f.sub?.kind === 'tlv' && f.class !== 'b') fail('TLV sub-fields need a class b parent');
  if (f.sub?.kind === 'positional') {
    const subs = f.sub.fields;
    if (subs.length === 0) fail('no sub-fields');
    let fixed = 0;
    subs.forEach((s, i) => {
      if (s.length === 'rest') {
        if (i !== subs.length - 1) fail('only the last sub-field may be rest');
      } else {
        if (!Number.isInteger(s.length) || s.length < 1) fail(`sub-field ${i + 1} needs a positive length`);
        fixed += s.length;
      }
      if (textual && s.class === 'b') fail('binary sub-fields need a class b parent');
      if (f.content === 'bcd' && s.class !== 'n' && s.class !== 'z') fail('sub-fields of a BCD parent are n or z');
    });
    if (fixed > f.max) fail('sub-fields longer than the field');
  }
}

/** Bytes taken by `units` units of content. */
function bytesFor(f: FieldSpec): (units: number) => number {
  switch (f.content) {
    case 'bcd':
      return (u) => (u + 1) >> 1;
    case 'hex':
      return (u) => u * 2;
    default:
      return (u) => u;
  }
}

function prefixBytes(f: FieldSpec): number {
  if (f.length === 'fixed') return 0;
  const ll = f.length === 'llvar';
  switch (f.prefix) {
    case 'ascii':
      return ll ? 2 : 3;
    default:
      return ll ? 1 : 2; // bcd and binary
  }
}

export function compileField(field: number, f: FieldSpec): FieldCodec {
  checkFieldSpec(field, f);
  const site: Iso8583ErrorSite = { field, fieldName: f.name };
  const at = (offset: number, detail?: string): Iso8583ErrorSite => ({ field, fieldName: f.name, offset, detail });
  const toBytes = bytesFor(f);
  const pBytes = prefixBytes(f);
  const max = f.max;
  const fixed = f.length === 'fixed';

  // ---- length prefix -------------------------------------------------------------------------
  const writePrefix = ((): ((units: number, out: Buffer, pos: number) => number) => {
    if (fixed) return (_u, _o, pos) => pos;
    const ll = f.length === 'llvar';
    switch (f.prefix) {
      case 'ascii':
        return ll
          ? (u, out, pos) => {
              out[pos] = 0x30 + ((u / 10) | 0);
              out[pos + 1] = 0x30 + (u % 10);
              return pos + 2;
            }
          : (u, out, pos) => {
              out[pos] = 0x30 + ((u / 100) | 0);
              out[pos + 1] = 0x30 + (((u / 10) | 0) % 10);
              out[pos + 2] = 0x30 + (u % 10);
              return pos + 3;
            };
      case 'bcd':
        return ll
          ? (u, out, pos) => {
              out[pos] = (((u / 10) | 0) << 4) | (u % 10);
              return pos + 1;
            }
          : (u, out, pos) => {
              out[pos] = (u / 100) | 0;
              out[pos + 1] = ((((u / 10) | 0) % 10) << 4) | (u % 10);
              return pos + 2;
            };
      default:
        return ll
          ? (u, out, pos) => {
              out[pos] = u;
              return pos + 1;
            }
          : (u, out, pos) => {
              out[pos] = u >> 8;
              out[pos + 1] = u & 0xff;
              return pos + 2;
            };
    }
  })();

  /** Reads the prefix at cur.pos (bounds already checked for pBytes); returns the unit count. */
  const readPrefix = ((): ((buf: Buffer, pos: number) => number) => {
    if (fixed) return () => max;
    const ll = f.length === 'llvar';
    const bad = (pos: number, why: string): never => {
      throw new Iso8583Error('bad_length_prefix', at(pos, why));
    };
    let read: (buf: Buffer, pos: number) => number;
    switch (f.prefix) {
      case 'ascii':
        read = (buf, pos) => {
          let u = 0;
          for (let i = 0; i < pBytes; i++) {
            const d = buf[pos + i]! - 0x30;
            if (d < 0 || d > 9) bad(pos, 'not a digit');
            u = u * 10 + d;
          }
          return u;
        };
        break;
      case 'bcd':
        read = ll
          ? (buf, pos) => {
              const b = buf[pos]!;
              if (b >> 4 > 9 || (b & 0x0f) > 9) bad(pos, 'not BCD');
              return (b >> 4) * 10 + (b & 0x0f);
            }
          : (buf, pos) => {
              const b0 = buf[pos]!;
              const b1 = buf[pos + 1]!;
              if (b0 >> 4 > 9 || (b0 & 0x0f) > 9 || b1 >> 4 > 9 || (b1 & 0x0f) > 9) bad(pos, 'not BCD');
              return (b0 >> 4) * 1000 + (b0 & 0x0f) * 100 + (b1 >> 4) * 10 + (b1 & 0x0f);
            };
        break;
      default:
        read = ll ? (buf, pos) => buf[pos]! : (buf, pos) => (buf[pos]! << 8) | buf[pos + 1]!;
    }
    return (buf, pos) => {
      const u = read(buf, pos);
      if (u > max) bad(pos, `length ${u} above maximum ${max}`);
      return u;
    };
  })();

  // ---- flat content ----------------------------------------------------------------------------
  const lengthCheck = (units: number): void => {
    if (units > max) throw new Iso8583Error('value_too_long', { ...site, detail: `${units} > ${max}` });
    if (fixed && units < max) throw new Iso8583Error('value_too_short', { ...site, detail: `${units} < ${max}` });
  };

  /** Encodes a string value (text, n, z). */
  const encodeText = ((): ((s: string, out: Buffer, pos: number) => number) => {
    const cls = f.class as TextClass;
    if (f.content === 'bcd') {
      const track = f.class === 'z';
      const left = f.justify === 'left';
      const pad = f.pad ?? 0;
      return (s, out, pos) => {
        lengthCheck(s.length);
        const p = writePrefix(s.length, out, pos);
        const bad = writeBcd(s, out, p, track, left, pad);
        if (bad >= 0) throw new Iso8583Error(track ? 'bad_charset' : 'not_numeric', { ...site, detail: `position ${bad}` });
        return p + ((s.length + 1) >> 1);
      };
    }
    const code = cls === 'n' ? 'not_numeric' : 'bad_charset';
    return (s, out, pos) => {
      lengthCheck(s.length);
      const p = writePrefix(s.length, out, pos);
      const bad = writeText(s, cls, out, p);
      if (bad >= 0) throw new Iso8583Error(code, { ...site, detail: `position ${bad}` });
      return p + s.length;
    };
  })();

  /** Decodes `units` of text content at `start` (bounds checked). */
  const decodeText = ((): ((buf: Buffer, start: number, units: number) => string) => {
    const cls = f.class as TextClass;
    if (f.content === 'bcd') {
      const left = f.justify === 'left';
      if (f.class === 'z') return (buf, start, units) => readBcdTrack(buf, start, units, left);
      return (buf, start, units) => {
        const r = readBcdDigits(buf, start, units, left);
        if (typeof r === 'number') throw new Iso8583Error('not_numeric', at(r));
        return r;
      };
    }
    const code = cls === 'n' ? 'not_numeric' : 'bad_charset';
    return (buf, start, units) => {
      const bad = badByteIn(buf, start, start + units, cls);
      if (bad >= 0) throw new Iso8583Error(code, at(bad));
      return latin1(buf, start, start + units);
    };
  })();

  const encodeBytes = (b: Uint8Array, out: Buffer, pos: number): number => {
    lengthCheck(b.length);
    const p = writePrefix(b.length, out, pos);
    if (f.content === 'hex') return writeHex(b, out, p);
    out.set(b, p);
    return p + b.length;
  };

  const decodeBytes = (buf: Buffer, start: number, units: number): Buffer => {
    if (f.content === 'hex') {
      const r = readHex(buf, start, units);
      if (typeof r === 'number') throw new Iso8583Error('bad_hex', at(r));
      return r;
    }
    return copyBytes(buf, start, start + units);
  };

  // The codec object exists before its closures so that they can record lastDataStart on it.
  const codec: FieldCodec = {
    field,
    spec: f,
    maxBytes: pBytes + toBytes(max),
    lastDataStart: 0,
    encode: () => 0,
    decode: () => '',
  };
  /** Reads the prefix, checks the bytes are there, advances the cursor; returns the unit count. */
  const locate = (buf: Buffer, cur: Cursor): number => {
    const pos = cur.pos;
    if (pos + pBytes > cur.end) throw new Iso8583Error('short_buffer', at(pos, 'length prefix cut short'));
    const units = readPrefix(buf, pos);
    const start = pos + pBytes;
    const end = start + toBytes(units);
    if (end > cur.end) throw new Iso8583Error('short_buffer', at(start, `needs ${end - start} bytes, ${cur.end - start} left`));
    codec.lastDataStart = start;
    cur.pos = end;
    return units;
  };

  const textual = f.class !== 'b';
  const flatEncode = textual
    ? (v: FieldValue, out: Buffer, pos: number): number => {
        if (typeof v !== 'string') throw new Iso8583Error('bad_value_type', { ...site, detail: 'expected a string' });
        return encodeText(v, out, pos);
      }
    : (v: FieldValue, out: Buffer, pos: number): number => {
        if (!(v instanceof Uint8Array)) throw new Iso8583Error('bad_value_type', { ...site, detail: 'expected bytes' });
        return encodeBytes(v, out, pos);
      };
  const flatDecode = textual
    ? (buf: Buffer, cur: Cursor): string => {
        const units = locate(buf, cur);
        return decodeText(buf, codec.lastDataStart, units);
      }
    : (buf: Buffer, cur: Cursor): Buffer => {
        const units = locate(buf, cur);
        return decodeBytes(buf, codec.lastDataStart, units);
      };

  // ---- sub-fields ------------------------------------------------------------------------------
  const sub = f.sub;
  if (sub === undefined && fixed && f.content === 'bcd' && f.class === 'n') {
    // The most common field by far (processing code, amount, STAN, dates…): one flat closure
    // each way instead of the composed path, which saves four calls per field.
    const bytes = toBytes(max);
    const left = f.justify === 'left';
    const pad = f.pad ?? 0;
    codec.encode = (v, out, pos) => {
      if (typeof v !== 'string') throw new Iso8583Error('bad_value_type', { ...site, detail: 'expected a string' });
      lengthCheck(v.length);
      const bad = writeBcd(v, out, pos, false, left, pad);
      if (bad >= 0) throw new Iso8583Error('not_numeric', { ...site, detail: `position ${bad}` });
      return pos + bytes;
    };
    codec.decode = (buf, cur) => {
      const pos = cur.pos;
      if (pos + bytes > cur.end) throw new Iso8583Error('short_buffer', at(pos, `needs ${bytes} bytes, ${cur.end - pos} left`));
      const r = readBcdDigits(buf, pos, max, left);
      if (typeof r === 'number') throw new Iso8583Error('not_numeric', at(r));
      codec.lastDataStart = pos;
      cur.pos = pos + bytes;
      return r;
    };
  } else if (sub === undefined && fixed && f.content !== 'bcd') {
    // Fixed text and binary fields (terminal and merchant ids, response code, PIN block, MAC):
    // no prefix to read, so the bounds check and the decode go in one closure.
    const bytes = toBytes(max);
    codec.encode = flatEncode;
    codec.decode = textual
      ? (buf, cur) => {
          const pos = cur.pos;
          if (pos + bytes > cur.end) throw new Iso8583Error('short_buffer', at(pos, `needs ${bytes} bytes, ${cur.end - pos} left`));
          const value = decodeText(buf, pos, max);
          codec.lastDataStart = pos;
          cur.pos = pos + bytes;
          return value;
        }
      : (buf, cur) => {
          const pos = cur.pos;
          if (pos + bytes > cur.end) throw new Iso8583Error('short_buffer', at(pos, `needs ${bytes} bytes, ${cur.end - pos} left`));
          const value = decodeBytes(buf, pos, max);
          codec.lastDataStart = pos;
          cur.pos = pos + bytes;
          return value;
        };
  } else if (sub === undefined) {
    codec.encode = flatEncode;
    codec.decode = flatDecode;
  } else if (sub.kind === 'tlv') {
    codec.encode = (v, out, pos) => {
      // A list unpack made and nobody has opened: its bytes, checked when unpacked, as they came.
      const raw = unopenedBytes(v);
      if (raw !== undefined) {
        const size = raw.length;
        lengthCheck(size);
        const p = writePrefix(size, out, pos);
        if (f.content === 'hex') return writeHex(raw, out, p);
        if (size < 64) for (let k = 0; k < size; k++) out[p + k] = raw[k]!;
        else out.set(raw, p);
        return p + size;
      }
      const list = listOf(v);
      if (f.content === 'binary') {
        // One pass: the items go in after the prefix (its width is the spec's), then the prefix.
        const end = writeTlvChecked(list, site, out, pos + pBytes, max);
        if (end >= 0) {
          lengthCheck(end - pos - pBytes);
          writePrefix(end - pos - pBytes, out, pos);
          return end;
        }
      }
      const size = tlvSize(list, site);
      lengthCheck(size);
      const p = writePrefix(size, out, pos);
      if (f.content === 'binary') return writeTlv(list as TlvData, out, p); // not reached: longer than max
      const bytes = Buffer.allocUnsafe(size);
      writeTlv(list as TlvData, bytes, 0);
      return writeHex(bytes, out, p);
    };
    // Unpacking checks the data objects but makes none: the field keeps its bytes in a list
    // that decodes itself on first use (tlv.ts, lazyTlv) — most messages are never asked.
    codec.decode = (buf, cur) => {
      const bytes = flatDecode(buf, cur) as Buffer;
      const start = codec.lastDataStart;
      try {
        return lazyTlv(bytes, site);
      } catch (e) {
        // Offsets inside the private copy → offsets in the message (a hex byte is 2 characters).
        if (e instanceof Iso8583Error && e.offset !== undefined) {
          const offset = start + (f.content === 'hex' ? 2 * e.offset : e.offset);
          throw new Iso8583Error(e.code, { field, fieldName: f.name, subfield: e.subfield, offset, detail: e.detail });
        }
        throw e;
      }
    };
  } else if (f.class === 'n' && f.content === 'bcd' && sub.fields.every((s) => s.class === 'n')) {
    // Digits in digit sub-fields (CUP 60, 61): sub-fields straight to and from the nibbles, with
    // the checks and errors of the general path below, in the same order, but without the
    // whole field's string between them (a tenth of a chip sale's pack + unpack went there).
    const subs = sub.fields;
    const left = f.justify === 'left';
    const pad = f.pad ?? 0;
    const bad = (subfield: number | undefined, detail: string, offset?: number): Iso8583Error =>
      new Iso8583Error('bad_subfields', { ...site, subfield, detail, offset });
    codec.encode = (v, out, pos) => {
      if (!(v instanceof Map)) throw new Iso8583Error('bad_value_type', { ...site, detail: 'expected a Map of sub-fields' });
      const map = v as Map<unknown, unknown>;
      let count = 0;
      let total = 0;
      for (let i = 0; i < subs.length; i++) {
        const value = map.get(i + 1);
        if (value === undefined) break;
        if (typeof value !== 'string') throw new Iso8583Error('bad_value_type', { ...site, subfield: i + 1, detail: 'expected a string' });
        const badAt = badCharIn(value, 'n');
        if (badAt >= 0) throw new Iso8583Error('not_numeric', { ...site, subfield: i + 1, detail: `position ${badAt}` });
        const want = subs[i]!.length;
        const len = value.length;
        if (want === 'rest' ? len === 0 : len !== want) {
          throw bad(i + 1, want === 'rest' ? 'an empty last sub-field is written as an absent one' : `length ${len}, expected ${want}`);
        }
        total += len;
        count++;
      }
      if (map.size !== count) throw bad(undefined, 'sub-fields must be numbered 1…k without gaps');
      lengthCheck(total);
      const p = writePrefix(total, out, pos);
      // Nibble k of the value goes to byte p + k/2, high nibble first; an odd right-justified
      // value starts with the pad nibble, an odd left-justified one ends with it.
      let k = 0;
      if (total & 1 && !left) {
        out[p] = pad << 4;
        k = 1;
      }
      for (let i = 0; i < count; i++) {
        const s = map.get(i + 1) as string;
        for (let j = 0; j < s.length; j++, k++) {
          const d = s.charCodeAt(j) - 0x30;
          if (k & 1) out[p + (k >> 1)]! |= d;
          else out[p + (k >> 1)] = d << 4;
        }
      }
      if (k & 1) out[p + (k >> 1)]! |= pad;
      return p + ((total + 1) >> 1);
    };
    codec.decode = (buf, cur) => {
      const at0 = cur.pos;
      const total = locate(buf, cur);
      const start = codec.lastDataStart;
      const badAt = badBcdIn(buf, start, total, left);
      if (badAt >= 0) throw new Iso8583Error('not_numeric', at(badAt));
      const q0 = total & 1 && !left ? 1 : 0;
      const out: Subfields = new Map();
      let p = 0;
      for (let i = 0; i < subs.length && p < total; i++) {
        const want = subs[i]!.length;
        const len = want === 'rest' ? total - p : want;
        if (p + len > total) throw bad(i + 1, `cut short: ${total - p} of ${len}`, at0);
        out.set(i + 1, nibblesAt(buf, start, q0 + p, len));
        p += len;
      }
      if (p < total) throw bad(undefined, `${total - p} units after the last sub-field`, at0);
      return out;
    };
  } else {
    const { join, split } = positional(sub.fields, textual, f.class, site);
    codec.encode = (v, out, pos) => flatEncode(join(v), out, pos);
    codec.decode = (buf, cur) => {
      const at0 = cur.pos;
      const flat = flatDecode(buf, cur);
      return split(flat, at0);
    };
  }
  return codec;
}

/** Join and split of positional sub-fields over a text (string) or binary (Buffer) parent. */
function positional(
  subs: readonly PositionalSubfield[],
  textual: boolean,
  parentClass: FieldSpec['class'],
  site: Iso8583ErrorSite,
): { join: (v: FieldValue) => FieldValue; split: (flat: string | Buffer, offset: number) => Subfields } {
  const bad = (subfield: number | undefined, detail: string, offset?: number): Iso8583Error =>
    new Iso8583Error('bad_subfields', { ...site, subfield, detail, offset });

  const join = (v: FieldValue): FieldValue => {
    if (!(v instanceof Map)) throw new Iso8583Error('bad_value_type', { ...site, detail: 'expected a Map of sub-fields' });
    const map = v as Map<unknown, unknown>;
    let count = 0;
    let joined = '';
    // Only a binary parent collects parts; a text one joins into a string.
    const parts: SubfieldValue[] | undefined = textual ? undefined : [];
    for (let i = 0; i < subs.length; i++) {
      const value = map.get(i + 1);
      if (value === undefined) break;
      const s = subs[i]!;
      const want = s.length;
      if (s.class === 'b') {
        if (!(value instanceof Uint8Array))
          throw new Iso8583Error('bad_value_type', { ...site, subfield: i + 1, detail: 'expected bytes' });
      } else {
        if (typeof value !== 'string') throw new Iso8583Error('bad_value_type', { ...site, subfield: i + 1, detail: 'expected a string' });
        const badAt = badCharIn(value, s.class);
        if (badAt >= 0)
          throw new Iso8583Error(s.class === 'n' ? 'not_numeric' : 'bad_charset', {
            ...site,
            subfield: i + 1,
            detail: `position ${badAt}`,
          });
      }
      const len = (value as SubfieldValue).length;
      if (want === 'rest' ? len === 0 : len !== want) {
        throw bad(i + 1, want === 'rest' ? 'an empty last sub-field is written as an absent one' : `length ${len}, expected ${want}`);
      }
      if (textual) joined += value as string;
      else parts!.push(value as SubfieldValue);
      count++;
    }
    // Every key must be a sub-field we wrote: a gap (60.3 without 60.2) or a stray key would not survive a round trip.
    if (map.size !== count) throw bad(undefined, 'sub-fields must be numbered 1…k without gaps');
    if (textual) return joined;
    return Buffer.concat(parts!.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  };

  const split = (flat: string | Buffer, offset: number): Subfields => {
    const out: Subfields = new Map();
    const total = flat.length;
    let p = 0;
    for (let i = 0; i < subs.length && p < total; i++) {
      const s = subs[i]!;
      const len = s.length === 'rest' ? total - p : s.length;
      if (p + len > total) throw bad(i + 1, `cut short: ${total - p} of ${len}`, offset);
      if (typeof flat === 'string') {
        const value = flat.substring(p, p + len);
        if (s.class !== parentClass) {
          const badAt = badCharIn(value, s.class as TextClass);
          if (badAt >= 0)
            throw new Iso8583Error(s.class === 'n' ? 'not_numeric' : 'bad_charset', {
              ...site,
              subfield: i + 1,
              offset,
              detail: `position ${badAt}`,
            });
        }
        out.set(i + 1, value);
      } else if (s.class === 'b') {
        out.set(i + 1, flat.subarray(p, p + len));
      } else {
        const badAt = badByteIn(flat, p, p + len, s.class);
        if (badAt >= 0)
          throw new Iso8583Error(s.class === 'n' ? 'not_numeric' : 'bad_charset', {
            ...site,
            subfield: i + 1,
            offset,
            detail: `position ${badAt - p}`,
          });
        out.set(i + 1, latin1(flat, p, p + len));
      }
      p += len;
    }
    if (p < total) throw bad(undefined, `${total - p} units after the last sub-field`, offset);
    return out;
  };

  return { join, split };
}
