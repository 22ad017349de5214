/**
 * Declarative ISO 8583 message specs: a spec is plain data (no functions), so a new dialect is a
 * new table, reviewed against its published field list, not new code. `codec.ts` compiles a spec
 * once into per-field closures (compile.ts) and caches the result per spec object.
 *
 * Units: `max` counts what the standard counts — digits for class n and z, characters for the
 * text classes, bytes (8-bit blocks) for class b. ISO notation "b 64" (bits) is `max: 8` here.
 */

/**
 * Data classes of ISO 8583:1987 §4.
 * - `n` digits; `z` track 2/3 characters (ISO 7813: digits and `: ; < = > ?`, i.e. 0x30–0x3F)
 * - `a` letters, `an` letters and digits, `ans` printable ASCII (0x20–0x7E), `ns` digits and
 *   specials; `a`/`an` also allow the space, the pad the standard puts after short fixed values
 * - `xn` an amount with a sign: `C` (credit) or `D` (debit) then digits ("x+n 8" is `max: 9`)
 * - `b` binary
 */
export type FieldClass = 'n' | 'z' | 'a' | 'an' | 'ans' | 'ns' | 'xn' | 'b';

export type LengthKind = 'fixed' | 'llvar' | 'lllvar';

/**
 * How a variable field's length is written: `ascii` 2 or 3 digit characters; `bcd` 1 byte (LL) or
 * 2 bytes (LLL, 0000–0999); `binary` 1 byte (LL, ≤ 255) or 2 bytes big-endian (LLL).
 * The length counts the field's units (digits for BCD n/z, bytes for b, characters otherwise).
 */
export type PrefixEncoding = 'ascii' | 'bcd' | 'binary';

/**
 * How the value is written: `ascii` one byte per character; `bcd` two digits (n) or track
 * characters (z, nibble = code − 0x30, so `=` is D) per byte; `binary` raw bytes; `hex` each byte
 * as two upper-case hex characters (binary fields of ASCII dialects).
 */
export type ContentEncoding = 'ascii' | 'bcd' | 'binary' | 'hex';

/**
 * Where the pad nibble of an odd-length BCD value goes: `right`-justified values are padded on
 * the left (the default: amounts, STAN…), `left`-justified values on the right (CUP PAN, track 2,
 * entry mode). Unpack does not check the pad nibble's value; pack writes `pad`.
 */
export type Justify = 'left' | 'right';

/**
 * What `dump()` may print: `pan` the first 6 and last 4 digits, `removed` nothing ("[removed]":
 * PIN block, tracks, keys, CVV-like data; for TLV fields the tags only), `mac` only whether it is
 * present, `clear` the value exactly (reviewed: never card data, e.g. a merchant number). Without
 * a policy, text is shown with any run of 13+ digits masked like a card number, and binary shows
 * only its length.
 */
export type DumpPolicy = 'clear' | 'pan' | 'removed' | 'mac';

export interface FieldSpec {
  readonly name: string;
  readonly class: FieldClass;
  readonly length: LengthKind;
  /** Fixed length, or maximum length of a variable field (see the units above). */
  readonly max: number;
  /** Length prefix encoding; required for llvar/lllvar, absent for fixed. */
  readonly prefix?: PrefixEncoding;
  readonly content: ContentEncoding;
  /** BCD only; default `right`. */
  readonly justify?: Justify;
  /** BCD only: the pad nibble pack writes, 0x0 (default) or 0xF. */
  readonly pad?: 0x0 | 0xf;
  readonly sub?: SubfieldsSpec;
  readonly dump?: DumpPolicy;
}

/**
 * Sub-fields inside one data element.
 * - `positional`: consecutive sub-fields of fixed length (CUP 60.1 n2, 60.2 n6, …); a message may
 *   stop after any whole sub-field (trailing ones absent), the last may be `rest` (what remains).
 *   On a BCD or text parent the sub-fields are substrings; on a binary parent they are byte
 *   ranges, text sub-fields decoded as ASCII and checked against their class, `b` ones kept as
 *   bytes (CUP 63.2 carries GBK text, which only round-trips as bytes).
 * - `tlv`: BER-TLV (EMV field 55): tags of 1–2 bytes, lengths of 1–3 bytes (minimal form only,
 *   so that pack(unpack(b)) is b), kept as a list in wire order (repeated tags included).
 */
export type SubfieldsSpec = { readonly kind: 'positional'; readonly fields: readonly PositionalSubfield[] } | { readonly kind: 'tlv' };

export interface PositionalSubfield {
  readonly name: string;
  readonly class: FieldClass;
  /** Length in the parent's units; `rest` only for the last sub-field. */
  readonly length: number | 'rest';
}

/** What precedes the bitmap. */
export interface LayoutSpec {
  /** TPDU: 5 bytes, ID 0x60 then 2 bytes destination and 2 bytes source address. */
  readonly tpdu: boolean;
  /** Fixed application header after the TPDU (CUP: 6 bytes, e.g. 60 31 00 31 10 03). */
  readonly header?: { readonly bytes: number; readonly encoding: 'hex' | 'ascii' };
  /** MTI as 2 BCD bytes or 4 ASCII digits. */
  readonly mti: 'bcd' | 'ascii';
  /** Bitmaps as 8 raw bytes or 16 hex characters each. */
  readonly bitmap: 'binary' | 'hex';
  /** Whether bit 1 may announce a secondary bitmap (fields 65–128). */
  readonly secondaryBitmap: boolean;
}

export interface MessageSpec {
  readonly name: string;
  readonly layout: LayoutSpec;
  /** Data elements 2–128 by number; bit 1 (secondary bitmap) is the codec's, never a field. */
  readonly fields: Readonly<Record<number, FieldSpec>>;
}
