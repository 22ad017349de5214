/**
 * BER-TLV as EMV uses it in field 55 (EMV Book 3, Annex B): tags of one or two bytes (a first
 * byte whose low five bits are all 1 announces a second), lengths in one to three bytes (0x00–0x7F,
 * 0x81 xx, 0x82 xx xx). Values are opaque bytes: field 55 carries primitive data objects only.
 *
 * Decoding is strict so that re-encoding gives back the same bytes: a length in a longer form
 * than needed, a tag announcing a third byte or an indefinite length is refused. A repeated tag
 * is kept as it came (the list keeps wire order and duplicates).
 */
import { inspect } from 'node:util';
import { Iso8583Error, type Iso8583ErrorSite } from './errors.js';
import type { TlvData, TlvItem } from './message.js';
import { HEX_BYTE, HEX_VALUE, TAG2 } from './primitives.js';

function tlvError(site: Iso8583ErrorSite, detail: string, offset: number, tag?: string): Iso8583Error {
  return new Iso8583Error('bad_tlv', { ...site, subfield: tag, offset, detail });
}

/**
 * Walks buf[start, end) as data objects, with every check of the format; pushes each one onto
 * `out` (values are views of `buf`, the caller's private copy) or, without `out`, only checks.
 */
function walkTlv(buf: Buffer, start: number, end: number, site: Iso8583ErrorSite, out: TlvItem[] | undefined): void {
  const memory = buf.buffer;
  const base = buf.byteOffset;
  let p = start;
  while (p < end) {
    const tagAt = p;
    const t0 = buf[p++]!;
    if ((t0 & 0x1f) === 0x1f) {
      if (p >= end) throw tlvError(site, 'tag cut short', tagAt);
      if (buf[p++]! & 0x80) throw tlvError(site, 'tags longer than 2 bytes are not supported', tagAt);
    }
    if (p >= end) throw tlvError(site, 'length missing', p, tagName(buf, tagAt));
    let len = buf[p++]!;
    if (len >= 0x80) {
      if (len === 0x81) {
        if (p >= end) throw tlvError(site, 'length cut short', p, tagName(buf, tagAt));
        len = buf[p++]!;
        if (len < 0x80) throw tlvError(site, 'length not in its shortest form', p - 2, tagName(buf, tagAt));
      } else if (len === 0x82) {
        if (p + 2 > end) throw tlvError(site, 'length cut short', p, tagName(buf, tagAt));
        len = (buf[p]! << 8) | buf[p + 1]!;
        p += 2;
        if (len < 0x100) throw tlvError(site, 'length not in its shortest form', p - 3, tagName(buf, tagAt));
      } else {
        throw tlvError(site, 'indefinite or over-long length', p - 1, tagName(buf, tagAt));
      }
    }
    if (p + len > end) throw tlvError(site, 'value runs past the field', p, tagName(buf, tagAt));
    // Only a list being opened needs the tag as a string; the check alone (unpack) does not.
    // Buffer.from(arrayBuffer, offset, length) is a view like subarray, at two thirds of the cost.
    if (out !== undefined) out.push({ tag: tagName(buf, tagAt), value: Buffer.from(memory, base + p, len) });
    p += len;
  }
}

/** The tag (checked: one byte, or two with a second byte below 0x80) at `at` as upper-case hex. */
function tagName(buf: Buffer, at: number): string {
  const t0 = buf[at]!;
  return (t0 & 0x1f) === 0x1f ? TAG2[((t0 >> 5) << 7) | buf[at + 1]!]! : HEX_BYTE[t0]!;
}

// ------------------------------------------------------------------------------------------------
// Lazy lists: what unpack gives for a TLV field
// ------------------------------------------------------------------------------------------------

/** Answers the proxy's own list (handler use only; a plain array has no such key). */
const TARGET: unique symbol = Symbol('tlv list');

/**
 * The list behind a lazily decoded TLV field: an empty array holding the field's bytes (a
 * private copy, checked) until anything looks at it, then the data objects themselves. The
 * state is a private field, invisible to keys, equality and JSON.
 */
class TlvList extends Array<TlvItem> {
  /** map, filter, slice… of a decoded list give plain arrays. */
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  #bytes: Buffer | undefined;

  constructor(bytes: Buffer) {
    super();
    this.#bytes = bytes;
  }

  /** The checked bytes while nothing has looked at the list, else undefined. */
  static pending(list: TlvList): Buffer | undefined {
    return list.#bytes;
  }

  /** Decodes the data objects into the list, once. */
  static open(list: TlvList): void {
    const bytes = list.#bytes;
    if (bytes === undefined) return;
    list.#bytes = undefined;
    // Checked when unpacked: this cannot throw.
    walkTlv(bytes, 0, bytes.length, {}, list);
  }

  /** util.inspect does not go through a proxy's traps: show the data objects, not an empty list. */
  [inspect.custom](): TlvItem[] {
    const list = (this as unknown as Record<typeof TARGET, TlvList | undefined>)[TARGET] ?? this;
    TlvList.open(list);
    return Array.from(list);
  }
}

/**
 * Every operation on the proxy but reading its prototype decodes the list first, then acts on it:
 * to any code, the list is a plain array of { tag, value } that was always there.
 */
const lazyHandler: ProxyHandler<TlvList> = {
  get(t, key): unknown {
    if (key === TARGET) return t;
    TlvList.open(t);
    return Reflect.get(t, key) as unknown;
  },
  set(t, key, value) {
    TlvList.open(t);
    return Reflect.set(t, key, value);
  },
  has(t, key) {
    TlvList.open(t);
    return Reflect.has(t, key);
  },
  deleteProperty(t, key) {
    TlvList.open(t);
    return Reflect.deleteProperty(t, key);
  },
  ownKeys(t) {
    TlvList.open(t);
    return Reflect.ownKeys(t);
  },
  getOwnPropertyDescriptor(t, key) {
    TlvList.open(t);
    return Reflect.getOwnPropertyDescriptor(t, key);
  },
  defineProperty(t, key, descriptor) {
    TlvList.open(t);
    return Reflect.defineProperty(t, key, descriptor);
  },
  preventExtensions(t) {
    TlvList.open(t);
    return Reflect.preventExtensions(t);
  },
};

/**
 * Checks buf[start, end) as TLV data (throws bad_tlv exactly as decoding would) and returns a
 * list that decodes itself on first use. `bytes` must be a private copy of those bytes: the
 * list keeps it, and pack copies it back as it is while the list has not been opened.
 */
export function lazyTlv(bytes: Buffer, site: Iso8583ErrorSite): TlvData {
  walkTlv(bytes, 0, bytes.length, site, undefined);
  return new Proxy(new TlvList(bytes), lazyHandler);
}

/**
 * For pack: the bytes of a list unpack made that nobody has opened (so nobody can have changed
 * it), or undefined — then `data` is encoded item by item like any list.
 */
export function unopenedBytes(data: unknown): Buffer | undefined {
  if (!Array.isArray(data)) return undefined;
  const t = (data as unknown as Record<typeof TARGET, TlvList | undefined>)[TARGET];
  return t === undefined ? undefined : TlvList.pending(t);
}

/** The list to encode: a decoded list's own array (no trap per access), else `data` itself. */
export function listOf(data: unknown): unknown {
  if (!Array.isArray(data)) return data;
  return (data as unknown as Record<typeof TARGET, TlvList | undefined>)[TARGET] ?? data;
}

/**
 * Tag key → its bytes as a number (one byte: the byte; two bytes: 0x10000 | t0 << 8 | t1), or -1
 * when the key is not a well-formed tag. Four table lookups: cheaper than any cache.
 */
function parseTag(key: string): number {
  const n = key.length;
  if (n !== 2 && n !== 4) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    // Upper case only: decoding renders upper case, so only that round-trips.
    if (c >= 0x61) return -1;
    const h = HEX_VALUE[c]!;
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  if (n === 2) return (v & 0x1f) === 0x1f ? -1 : v;
  const t0 = v >> 8;
  const t1 = v & 0xff;
  return (t0 & 0x1f) === 0x1f && (t1 & 0x80) === 0 ? 0x10000 | v : -1;
}

function tagOf(key: unknown, site: Iso8583ErrorSite): number {
  const t = typeof key === 'string' ? parseTag(key) : -1;
  if (t >= 0) return t;
  throw new Iso8583Error('bad_tlv', { ...site, detail: 'a tag must be 2 or 4 upper-case hex digits of a 1- or 2-byte BER tag' });
}

/** Tag bytes of the list tlvSize last checked, for writeTlv (synchronous use, like pack). */
const checkedTags: number[] = [];

/** Checks a TLV list and returns its encoded size. */
export function tlvSize(data: unknown, site: Iso8583ErrorSite): number {
  if (!Array.isArray(data)) throw new Iso8583Error('bad_value_type', { ...site, detail: 'expected a list of { tag, value }' });
  let size = 0;
  const items = data as unknown[];
  for (let i = 0; i < items.length; i++) {
    const { tag, value } = (items[i] ?? {}) as Partial<TlvItem>;
    const t = tagOf(tag, site);
    checkedTags[i] = t;
    if (!(value instanceof Uint8Array)) throw new Iso8583Error('bad_value_type', { ...site, subfield: tag, detail: 'expected bytes' });
    const len = value.length;
    if (len > 0xffff) throw new Iso8583Error('value_too_long', { ...site, subfield: tag });
    size += (t > 0xff ? 2 : 1) + (len < 0x80 ? 1 : len < 0x100 ? 2 : 3) + len;
  }
  return size;
}

/**
 * Checks and writes a list in one pass, as long as it fits in `max` bytes from `pos` (nothing is
 * written past pos + max); returns the new position, or -1 when the list is longer — then
 * tlvSize gives the error, exactly as if the list had been checked before writing.
 */
export function writeTlvChecked(data: unknown, site: Iso8583ErrorSite, out: Buffer, pos: number, max: number): number {
  if (!Array.isArray(data)) throw new Iso8583Error('bad_value_type', { ...site, detail: 'expected a list of { tag, value }' });
  const items = data as unknown[];
  const limit = pos + max;
  let p = pos;
  for (let i = 0; i < items.length; i++) {
    const { tag, value } = (items[i] ?? {}) as Partial<TlvItem>;
    const t = tagOf(tag, site);
    if (!(value instanceof Uint8Array)) throw new Iso8583Error('bad_value_type', { ...site, subfield: tag, detail: 'expected bytes' });
    const len = value.length;
    if (len > 0xffff) throw new Iso8583Error('value_too_long', { ...site, subfield: tag });
    if (p + (t > 0xff ? 2 : 1) + (len < 0x80 ? 1 : len < 0x100 ? 2 : 3) + len > limit) return -1;
    p = writeItem(out, p, t, value);
  }
  return p;
}

/** Writes the list tlvSize has just checked; returns the new position. */
export function writeTlv(data: TlvData, out: Buffer, pos: number): number {
  let p = pos;
  for (let i = 0; i < data.length; i++) {
    p = writeItem(out, p, checkedTags[i]!, data[i]!.value);
  }
  return p;
}

/** Writes one data object (tag, BER length, value) at `p`, room already checked; returns the new position. */
function writeItem(out: Buffer, p: number, t: number, value: Uint8Array): number {
  if (t > 0xff) {
    out[p++] = (t >> 8) & 0xff;
    out[p++] = t & 0xff;
  } else out[p++] = t;
  const len = value.length;
  if (len < 0x80) out[p++] = len;
  else if (len < 0x100) {
    out[p++] = 0x81;
    out[p++] = len;
  } else {
    out[p++] = 0x82;
    out[p++] = len >> 8;
    out[p++] = len & 0xff;
  }
  // Most EMV values are a few bytes: a loop beats TypedArray#set's call overhead there.
  if (len < 16) for (let k = 0; k < len; k++) out[p + k] = value[k]!;
  else out.set(value, p);
  return p + len;
}
