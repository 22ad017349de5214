/**
 * ISO 8583 codec: declarative specs (spec.ts), pack/unpack (codec.ts), safe log dumps (dump.ts)
 * and the two shipped dialects — CUP POS (cup-pos.ts) and generic 1987 ASCII (ascii-1987.ts).
 */
export {
  pack,
  unpack,
  locateFields,
  compileSpec,
  getString,
  getBytes,
  getSubfields,
  getTlv,
  tlvValue,
  type FieldLocation,
  type CompiledSpec,
} from './codec.js';
export { dump, dumpLines, maskPan } from './dump.js';
export { Iso8583Error, isIso8583Error, ISO8583_ERRORS, type Iso8583ErrorCode, type Iso8583ErrorSite } from './errors.js';
export type { Message, FieldValue, Subfields, SubfieldValue, TlvData, TlvItem, Tpdu } from './message.js';
export type {
  MessageSpec,
  FieldSpec,
  FieldClass,
  LengthKind,
  PrefixEncoding,
  ContentEncoding,
  Justify,
  DumpPolicy,
  SubfieldsSpec,
  PositionalSubfield,
  LayoutSpec,
} from './spec.js';
export { CUP_POS } from './cup-pos.js';
export { ISO8583_1987_ASCII } from './ascii-1987.js';
