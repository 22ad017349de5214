/**
 * The in-memory shape of a message: deliberately plain data, so that `unpack(pack(m))` deep-equals
 * `m` and a test can build one literally.
 *
 * - Numeric, track and text values are strings exactly as on the wire (amounts "000000000100",
 *   never numbers: leading zeros and fixed widths are part of the value).
 * - Binary values (PIN block, MAC, key data) are Buffers.
 * - Positional sub-fields are a Map from sub-field number (1-based) to a string or Buffer; absent
 *   trailing sub-fields are absent keys.
 * - TLV (field 55) is the list of data objects in wire order, each with its tag in upper-case hex
 *   ("9F26") and its value bytes. A list, not a Map: order is part of the bytes (and a MAC covers
 *   the bytes), and building a list costs a fraction of a Map on the unpack hot path.
 *   unpack checks the field but gives a list that builds its objects on first use (tlv.ts, lazyTlv).
 */
export type SubfieldValue = string | Buffer;
export type Subfields = Map<number, SubfieldValue>;
export interface TlvItem {
  tag: string;
  value: Buffer;
}
export type TlvData = TlvItem[];
export type FieldValue = string | Buffer | Subfields | TlvData;

/** TPDU addresses as 4 upper-case hex digits each; the ID byte is always 0x60. */
export interface Tpdu {
  destination: string;
  source: string;
}

export interface Message {
  /** Four digits, e.g. "0200". */
  mti: string;
  /** Data elements 2–128; the bitmap is derived from the keys. */
  fields: Map<number, FieldValue>;
  /** Present exactly when the spec's layout has a TPDU. */
  tpdu?: Tpdu;
  /** Present exactly when the layout has an application header: hex (CUP) or ASCII text. */
  header?: string;
}
