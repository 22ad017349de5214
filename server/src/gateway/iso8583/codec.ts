/**
 * pack/unpack: message ⇄ bytes for any MessageSpec.
 *
 * A spec is compiled on first use (compile.ts) and cached per spec object. pack writes the whole
 * message straight into a shared output slab and returns a view of the bytes it wrote — the way
 * Node's own Buffer pool hands out small buffers, so there is no second copy; unpack walks the
 * bitmap once. Both are synchronous, which is what makes sharing the slab and the per-spec
 * scratch state safe.
 *
 * Guarantees, for every spec:
 * - unpack(pack(m)) deep-equals m;
 * - pack(unpack(b)) equals b for canonical b (upper-case hex, spec pad nibbles, minimal TLV);
 * - malformed input throws Iso8583Error, never anything else, never loops, and allocates at most
 *   in proportion to the input (a length prefix is checked against the spec's maximum and the
 *   bytes actually left before anything is read).
 */
import { compileField, type Cursor, type FieldCodec } from './compile.js';
import { Iso8583Error, decodeEnded, decodeStarted } from './errors.js';
import type { FieldValue, Message, Subfields, TlvData, Tpdu } from './message.js';
import { BCD_OK, HEX_BYTE, HEX_CHAR, HEX_VALUE, SCRATCH, badByteIn, badCharIn, latin1, writeAscii } from './primitives.js';
import type { MessageSpec } from './spec.js';

/** A spec compiled to closures; obtained from compileSpec, used by pack and unpack. */
export interface CompiledSpec {
  readonly spec: MessageSpec;
  /** Index = field number; undefined where the spec has no field. */
  readonly codecs: readonly (FieldCodec | undefined)[];
  /** Upper bound of TPDU, application header and MTI, in bytes. */
  readonly headBytes: number;
  /** Size of the bitmaps when all are present, in bytes. */
  readonly bitmapBytes: number;
  /** Bitmap words of the message being packed (reused; pack is not re-entrant). */
  readonly words: Int32Array;
  /** Bitmap words of the message being unpacked (reused; unpack is not re-entrant). */
  readonly decodeWords: Int32Array;
  /** Values of the message being packed by field number (one Map walk instead of a get per field). */
  readonly values: (FieldValue | undefined)[];
  /** The spec's fields, encoded and decoded through one call site per field (see `dispatchers`). */
  readonly encodeFields: EncodeFields;
  readonly decodeFields: DecodeFields;
}

/** Encodes the fields whose bits are set in words[0…nWords) from `values`, clearing each slot. */
type EncodeFields = (values: (FieldValue | undefined)[], words: Int32Array, nWords: number, out: Buffer, pos: number) => number;
/** Decodes the fields whose bits are set in `words` into `fields`, in bitmap order. */
type DecodeFields = (
  buf: Buffer,
  cur: Cursor,
  words: Int32Array,
  fields: Map<number, FieldValue>,
  locations: FieldLocation[] | undefined,
) => void;

/**
 * Builds a spec's field loops with `new Function`: a switch on the field number with one
 * `case` per field of the spec, each calling that field's codec through its own call site.
 *
 * Why generate code: a single loop calling `codecs[n].decode(…)` sends ~18 different closures
 * through one call site, which V8 then leaves as a generic (megamorphic) call. With one call
 * site per field, each site always sees the same function, which the optimiser inlines into
 * the switch together with the byte loops it calls. The generated text is fixed apart from the
 * field numbers of the spec (integers checked by compileSpec, never input), so it cannot carry
 * anything from a message; `dispatchSource` shows it for review.
 */
function dispatchers(codecs: readonly (FieldCodec | undefined)[]): { encodeFields: EncodeFields; decodeFields: DecodeFields } {
  const pastEnd = (field: number, offset: number): Iso8583Error =>
    new Iso8583Error('bitmap_past_end', { field, fieldName: codecs[field]!.spec.name, offset });
  const unknownField = (field: number, offset: number): Iso8583Error =>
    new Iso8583Error('unknown_field', { field, offset, detail: 'set in the bitmap' });
  const numbers = codecs.flatMap((codec, n) => (codec === undefined ? [] : [n]));
  let factory: Factory;
  try {
    // The one generated function of the codebase; the comment above says why it is safe.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    factory = new Function('codecs', 'pastEnd', 'unknownField', dispatchSource(numbers)) as Factory;
  } catch {
    // A process started with --disallow-code-generation-from-strings: the same loops, generic.
    factory = genericDispatch;
  }
  return factory(codecs, pastEnd, unknownField);
}

type Factory = (
  codecs: readonly (FieldCodec | undefined)[],
  pastEnd: (field: number, offset: number) => Iso8583Error,
  unknownField: (field: number, offset: number) => Iso8583Error,
) => { encodeFields: EncodeFields; decodeFields: DecodeFields };

/** What the generated loops do, with one shared call site (a quarter slower); exported for the tests. */
export const genericDispatch: Factory = (codecs, pastEnd, unknownField) => ({
  encodeFields(values, words, nWords, out, pos) {
    for (let w = 0; w < nWords; w++) {
      let bits = words[w]!;
      while (bits !== 0) {
        const z = Math.clz32(bits);
        bits &= ~(1 << (31 - z));
        const n = w * 32 + z + 1;
        if (n !== 1) pos = codecs[n]!.encode(values[n]!, out, pos);
        values[n] = undefined;
      }
    }
    return pos;
  },
  decodeFields(buf, cur, words, fields, locations) {
    for (let w = 0; w < 4; w++) {
      let bits = words[w]!;
      while (bits !== 0) {
        const z = Math.clz32(bits);
        bits &= ~(1 << (31 - z));
        const n = w * 32 + z + 1;
        if (n === 1) continue;
        const start = cur.pos;
        const codec = codecs[n];
        if (codec === undefined) throw unknownField(n, start);
        if (start >= cur.end) throw pastEnd(n, start);
        fields.set(n, codec.decode(buf, cur));
        locations?.push({ field: n, start, dataStart: codec.lastDataStart, end: cur.pos });
      }
    }
  },
});

/** The source of the generated field loops for these field numbers (each an integer 2–128). */
export function dispatchSource(numbers: readonly number[]): string {
  for (const n of numbers) if (!Number.isInteger(n) || n < 2 || n > 128) throw new Error(`not a field number: ${n}`);
  const lines: string[] = ['"use strict";'];
  for (const n of numbers) lines.push(`const c${n} = codecs[${n}], e${n} = c${n}.encode, d${n} = c${n}.decode;`);
  lines.push(
    'function encodeFields(values, words, nWords, out, pos) {',
    '  for (let w = 0; w < nWords; w++) {',
    '    let bits = words[w];',
    '    while (bits !== 0) {',
    '      const z = Math.clz32(bits);',
    '      bits &= ~(1 << (31 - z));',
    '      const n = w * 32 + z + 1;',
    '      switch (n) {',
  );
  for (const n of numbers) lines.push(`        case ${n}: pos = e${n}(values[${n}], out, pos); break;`);
  lines.push(
    '      }',
    '      values[n] = undefined;',
    '    }',
    '  }',
    '  return pos;',
    '}',
    'function decodeFields(buf, cur, words, fields, locations) {',
    '  for (let w = 0; w < 4; w++) {',
    '    let bits = words[w];',
    '    while (bits !== 0) {',
    '      const z = Math.clz32(bits);',
    '      bits &= ~(1 << (31 - z));',
    '      const n = w * 32 + z + 1;',
    '      if (n === 1) continue;',
    '      const start = cur.pos;',
    '      let value, codec;',
    '      switch (n) {',
  );
  for (const n of numbers) {
    lines.push(`        case ${n}: if (start >= cur.end) throw pastEnd(${n}, start); value = d${n}(buf, cur); codec = c${n}; break;`);
  }
  lines.push(
    '        default: throw unknownField(n, start);',
    '      }',
    '      fields.set(n, value);',
    '      if (locations !== undefined) locations.push({ field: n, start, dataStart: codec.lastDataStart, end: cur.pos });',
    '    }',
    '  }',
    '}',
    'return { encodeFields, decodeFields };',
  );
  return lines.join('\n');
}

const compiled = new WeakMap<MessageSpec, CompiledSpec>();

/** The last spec used: a process mostly speaks one dialect, and this skips the WeakMap lookup. */
let last: CompiledSpec | undefined;

/** Compiles (once) and returns the spec's codecs; throws bad_spec for an inconsistent spec. */
export function compileSpec(spec: MessageSpec): CompiledSpec {
  if (last?.spec === spec) return last;
  const hit = compiled.get(spec);
  if (hit) return (last = hit);
  const codecs: (FieldCodec | undefined)[] = new Array<FieldCodec | undefined>(129).fill(undefined);
  const limit = spec.layout.secondaryBitmap ? 128 : 64;
  for (const [key, f] of Object.entries(spec.fields)) {
    const n = Number(key);
    if (!Number.isInteger(n) || n < 2 || n > limit) {
      throw new Iso8583Error('bad_spec', { field: Number.isInteger(n) ? n : undefined, detail: `field numbers run from 2 to ${limit}` });
    }
    const codec = compileField(n, f);
    codecs[n] = codec;
  }
  const layout = spec.layout;
  const header = layout.header;
  if (header && (!Number.isInteger(header.bytes) || header.bytes < 1 || header.bytes > 64)) {
    throw new Iso8583Error('bad_spec', { fieldName: 'header', detail: 'header length must be 1–64 bytes' });
  }
  const headerBytes = (layout.tpdu ? 5 : 0) + (header?.bytes ?? 0);
  const bitmapBytes = (layout.bitmap === 'hex' ? 16 : 8) * (layout.secondaryBitmap ? 2 : 1);
  const result: CompiledSpec = {
    spec,
    codecs,
    headBytes: headerBytes + (layout.mti === 'bcd' ? 2 : 4),
    bitmapBytes,
    words: new Int32Array(4),
    decodeWords: new Int32Array(4),
    values: new Array<FieldValue | undefined>(129).fill(undefined),
    ...dispatchers(codecs),
  };
  compiled.set(spec, result);
  return (last = result);
}

// ------------------------------------------------------------------------------------------------
// pack
// ------------------------------------------------------------------------------------------------

const headerError = (fieldName: string, detail: string): Iso8583Error => new Iso8583Error('bad_header', { fieldName, detail });

/** Writes `chars` upper-case hex characters of `s` as bytes; false when one is not upper-case hex. */
function writeHexText(s: unknown, chars: number, out: Buffer, pos: number): boolean {
  if (typeof s !== 'string' || s.length !== chars) return false;
  for (let i = 0; i < chars; i += 2) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    // Upper case only: unpack renders upper case, so only that round-trips.
    if (a > 0x46 || b > 0x46) return false;
    const hi = HEX_VALUE[a]!;
    const lo = HEX_VALUE[b]!;
    if (hi < 0 || lo < 0) return false;
    out[pos + (i >> 1)] = (hi << 4) | lo;
  }
  return true;
}

function writeHeaders(c: CompiledSpec, m: Message, out: Buffer, start: number): number {
  const layout = c.spec.layout;
  let pos = start;
  if (layout.tpdu) {
    const t = m.tpdu;
    out[pos] = 0x60;
    if (!t || !writeHexText(t.destination, 4, out, pos + 1) || !writeHexText(t.source, 4, out, pos + 3)) {
      throw headerError('TPDU', 'needs destination and source of 4 upper-case hex digits');
    }
    pos += 5;
  } else if (m.tpdu !== undefined) throw headerError('TPDU', 'the spec has no TPDU');
  const header = layout.header;
  if (header) {
    const h = m.header;
    if (header.encoding === 'hex') {
      if (!writeHexText(h, header.bytes * 2, out, pos)) throw headerError('header', `needs ${header.bytes * 2} upper-case hex digits`);
    } else {
      if (typeof h !== 'string' || h.length !== header.bytes || badCharIn(h, 'ans') >= 0) {
        throw headerError('header', `needs ${header.bytes} printable ASCII characters`);
      }
      writeAscii(h, out, pos);
    }
    pos += header.bytes;
  } else if (m.header !== undefined) throw headerError('header', 'the spec has no application header');

  const mti = m.mti;
  if (typeof mti !== 'string' || mti.length !== 4 || badCharIn(mti, 'n') >= 0) {
    throw new Iso8583Error('bad_header', { field: 0, fieldName: 'MTI', detail: 'needs 4 digits' });
  }
  if (layout.mti === 'bcd') {
    // Digits checked above: their hex reading is their BCD.
    writeHexText(mti, 4, out, pos);
    return pos + 2;
  }
  return writeAscii(mti, out, pos);
}

function writeWord(w: number, hex: boolean, out: Buffer, pos: number): number {
  if (!hex) {
    out.writeUInt32BE(w >>> 0, pos);
    return pos + 4;
  }
  for (let shift = 28; shift >= 0; shift -= 4) out[pos++] = HEX_CHAR[(w >>> shift) & 0x0f]!;
  return pos;
}

/**
 * Output slabs. pack writes a message at `slabPos` in the current slab and returns a view of
 * those bytes; the next message starts after them (8-byte aligned). A message that might not fit
 * in what is left (its bound is the sum of its fields' maximum sizes) moves to a new slab, so
 * nothing is ever written past the end and no packed message shares bytes with another. Like
 * Node's Buffer pool, a returned Buffer keeps its slab alive and its `.buffer` is the whole slab.
 */
const SLAB_BYTES = 64 * 1024;
let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabPos = 0;

/** Starts a new slab of at least `bytes` bytes; the current one stays with the views already handed out. */
function newSlab(bytes: number): void {
  slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, bytes));
  slabPos = 0;
}

/** Encodes a message; throws Iso8583Error (with the field) for any value the spec refuses. */
export function pack(spec: MessageSpec, message: Message): Buffer {
  const c = compileSpec(spec);
  if (typeof message !== 'object' || message === null) throw new Iso8583Error('bad_value_type', { detail: 'pack takes a message' });
  if (slab.length - slabPos < c.headBytes) newSlab(c.headBytes);
  let pos = writeHeaders(c, message, slab, slabPos);

  const words = c.words;
  words[0] = 0;
  words[1] = 0;
  words[2] = 0;
  words[3] = 0;
  if (!(message.fields instanceof Map)) throw new Iso8583Error('bad_value_type', { detail: 'fields must be a Map' });
  const values = c.values;
  try {
    pos = packFields(c, message, words, values, pos);
  } catch (e) {
    // Do not keep a caller's values (card data among them) alive after a failed pack.
    values.fill(undefined);
    throw e;
  }
  // packFields may have moved the message to a new slab: it starts at slabPos of the current one.
  const out = slab;
  const start = slabPos;
  slabPos = (pos + 7) & ~7;
  return Buffer.from(out.buffer, out.byteOffset + start, pos - start);
}

/** Bitmap and fields after the header written at [slabPos, headEnd); on success every slot of `values` it used is clear again. */
function packFields(c: CompiledSpec, message: Message, words: Int32Array, values: (FieldValue | undefined)[], headEnd: number): number {
  let bound = c.bitmapBytes;
  const codecs = c.codecs;
  const fields = message.fields as Map<unknown, FieldValue>;
  // Keys and a get each: `for (const [key, value] of map)` allocates an entry array per field
  // (~1.1 KB per chip sale), this allocates nothing.
  for (const key of fields.keys()) {
    const value = fields.get(key)!;
    // Only the spec's field numbers (integers 2–128) have a codec.
    const codec = typeof key === 'number' ? codecs[key] : undefined;
    if (codec === undefined) {
      throw new Iso8583Error('unknown_field', {
        field: typeof key === 'number' ? key : undefined,
        detail: typeof key === 'number' ? undefined : 'field keys are numbers',
      });
    }
    const i = (key as number) - 1;
    words[i >> 5]! |= 1 << (31 - (i & 31));
    values[key as number] = value;
    bound += codec.maxBytes;
  }
  let out = slab;
  let pos = headEnd;
  if (pos + bound > out.length) {
    // What is left of this slab might not hold the message: move the header to a new one.
    const head = headEnd - slabPos;
    const old = out;
    const from = slabPos;
    newSlab(head + bound);
    out = slab;
    old.copy(out, 0, from, headEnd);
    pos = head;
  }
  const secondary = (words[2]! | words[3]!) !== 0;
  if (secondary) words[0]! |= 1 << 31;
  const hex = c.spec.layout.bitmap === 'hex';
  const nWords = secondary ? 4 : 2;
  for (let w = 0; w < nWords; w++) pos = writeWord(words[w]!, hex, out, pos);
  return c.encodeFields(values, words, nWords, out, pos);
}

// ------------------------------------------------------------------------------------------------
// unpack
// ------------------------------------------------------------------------------------------------

/** Where one data element sits in a buffer: [start, dataStart) is its length prefix, [dataStart, end) its value. */
export interface FieldLocation {
  readonly field: number;
  readonly start: number;
  readonly dataStart: number;
  readonly end: number;
}

function need(cur: Cursor, bytes: number, field: number | undefined, fieldName: string): void {
  if (cur.pos + bytes > cur.end)
    throw new Iso8583Error('short_buffer', {
      field,
      fieldName,
      offset: cur.pos,
      detail: `needs ${bytes} bytes, ${cur.end - cur.pos} left`,
    });
}

function readWord(buf: Buffer, cur: Cursor, hex: boolean): number {
  const pos = cur.pos;
  if (!hex) {
    cur.pos = pos + 4;
    return buf.readInt32BE(pos);
  }
  let w = 0;
  for (let i = 0; i < 8; i++) {
    const v = HEX_VALUE[buf[pos + i]!]!;
    if (v < 0) throw new Iso8583Error('bad_hex', { field: 1, fieldName: 'bitmap', offset: pos + i });
    w = (w << 4) | v;
  }
  cur.pos = pos + 8;
  return w;
}

function asBuffer(input: unknown): Buffer {
  if (Buffer.isBuffer(input)) return input;
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  throw new Iso8583Error('bad_value_type', { detail: 'unpack takes bytes' });
}

function decode(spec: MessageSpec, input: Uint8Array, locations: FieldLocation[] | undefined): Message {
  const c = compileSpec(spec);
  const buf = asBuffer(input);
  const layout = spec.layout;
  const cur: Cursor = { pos: 0, end: buf.length };
  // The parts go into locals and the message is made at the end with all its properties at
  // once: adding TPDU and header to a made object would give it an out-of-object property store.
  let tpdu: Tpdu | undefined;
  let head: string | undefined;
  let mti: string;

  if (layout.tpdu) {
    need(cur, 5, undefined, 'TPDU');
    if (buf[0] !== 0x60) throw new Iso8583Error('bad_header', { fieldName: 'TPDU', offset: 0, detail: 'ID is not 0x60' });
    tpdu = { destination: HEX_BYTE[buf[1]!]! + HEX_BYTE[buf[2]!]!, source: HEX_BYTE[buf[3]!]! + HEX_BYTE[buf[4]!]! };
    cur.pos = 5;
  }
  const header = layout.header;
  if (header) {
    need(cur, header.bytes, undefined, 'header');
    const end = cur.pos + header.bytes;
    if (header.encoding === 'hex') {
      // Hex characters into the scratch area, then one string: no string per byte.
      let k = 0;
      for (let i = cur.pos; i < end; i++) {
        const b = buf[i]!;
        SCRATCH[k++] = HEX_CHAR[b >> 4]!;
        SCRATCH[k++] = HEX_CHAR[b & 0x0f]!;
      }
      head = latin1(SCRATCH, 0, k);
    } else {
      const bad = badByteIn(buf, cur.pos, end, 'ans');
      if (bad >= 0) throw new Iso8583Error('bad_header', { fieldName: 'header', offset: bad, detail: 'not printable ASCII' });
      head = latin1(buf, cur.pos, end);
    }
    cur.pos = end;
  }

  if (layout.mti === 'bcd') {
    need(cur, 2, 0, 'MTI');
    const p = cur.pos;
    if (BCD_OK[buf[p]!] !== 1 || BCD_OK[buf[p + 1]!] !== 1)
      throw new Iso8583Error('not_numeric', { field: 0, fieldName: 'MTI', offset: p });
    mti = HEX_BYTE[buf[p]!]! + HEX_BYTE[buf[p + 1]!]!;
    cur.pos = p + 2;
  } else {
    need(cur, 4, 0, 'MTI');
    const bad = badByteIn(buf, cur.pos, cur.pos + 4, 'n');
    if (bad >= 0) throw new Iso8583Error('not_numeric', { field: 0, fieldName: 'MTI', offset: bad });
    mti = latin1(buf, cur.pos, cur.pos + 4);
    cur.pos += 4;
  }

  const hex = layout.bitmap === 'hex';
  const wordBytes = hex ? 8 : 4;
  need(cur, 2 * wordBytes, 1, 'bitmap');
  const w0 = readWord(buf, cur, hex);
  const w1 = readWord(buf, cur, hex);
  let w2 = 0;
  let w3 = 0;
  if (w0 < 0) {
    // Bit 1: a secondary bitmap follows.
    if (!layout.secondaryBitmap)
      throw new Iso8583Error('unknown_field', {
        field: 1,
        fieldName: 'bitmap',
        offset: cur.pos - 2 * wordBytes,
        detail: 'the spec has no secondary bitmap',
      });
    need(cur, 2 * wordBytes, 1, 'bitmap');
    w2 = readWord(buf, cur, hex);
    w3 = readWord(buf, cur, hex);
  }

  const words = c.decodeWords;
  words[0] = w0;
  words[1] = w1;
  words[2] = w2;
  words[3] = w3;
  const fields = new Map<number, FieldValue>();
  c.decodeFields(buf, cur, words, fields, locations);
  if (cur.pos !== cur.end) throw new Iso8583Error('trailing_bytes', { offset: cur.pos, detail: `${cur.end - cur.pos} bytes` });
  // In the order the properties always had: mti, fields, tpdu, header.
  if (tpdu !== undefined) return head !== undefined ? { mti, fields, tpdu, header: head } : { mti, fields, tpdu };
  return head !== undefined ? { mti, fields, header: head } : { mti, fields };
}

/** Decodes one message (from the TPDU, if the spec has one, to the last byte). */
export function unpack(spec: MessageSpec, buffer: Uint8Array): Message {
  decodeStarted();
  try {
    return decode(spec, buffer, undefined);
  } finally {
    decodeEnded();
  }
}

/**
 * Where each data element sits in a valid message, in wire order: what a MAC over a byte range
 * needs, and what a fuzz test corrupts. Throws like unpack.
 */
export function locateFields(spec: MessageSpec, buffer: Uint8Array): FieldLocation[] {
  const locations: FieldLocation[] = [];
  decodeStarted();
  try {
    decode(spec, buffer, locations);
  } finally {
    decodeEnded();
  }
  return locations;
}

// ------------------------------------------------------------------------------------------------
// typed access to a decoded message
// ------------------------------------------------------------------------------------------------

function typed<T>(message: Message, field: number, ok: (v: FieldValue) => v is FieldValue & T, what: string): T | undefined {
  const v = message.fields.get(field);
  if (v === undefined) return undefined;
  if (!ok(v)) throw new Iso8583Error('bad_value_type', { field, detail: `expected ${what}` });
  return v;
}

/** The field as a string (n, z, text classes), undefined when absent. */
export const getString = (m: Message, field: number): string | undefined =>
  typed(m, field, (v): v is string => typeof v === 'string', 'a string');

/** The field as bytes (class b), undefined when absent. */
export const getBytes = (m: Message, field: number): Buffer | undefined => typed(m, field, (v): v is Buffer => Buffer.isBuffer(v), 'bytes');

/** Positional sub-fields (CUP 60, 61, 63), undefined when absent. */
export const getSubfields = (m: Message, field: number): Subfields | undefined =>
  typed(m, field, (v): v is Subfields => v instanceof Map, 'sub-fields');

/** TLV data objects (field 55), undefined when absent. */
export const getTlv = (m: Message, field: number): TlvData | undefined =>
  typed(m, field, (v): v is TlvData => Array.isArray(v), 'TLV data');

/** The value of the first data object with this tag in TLV data, undefined when absent. */
export const tlvValue = (data: TlvData, tag: string): Buffer | undefined => data.find((item) => item.tag === tag)?.value;
