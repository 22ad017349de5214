/**
 * fast-check arbitraries of valid messages for any spec, derived from the spec itself: every
 * field gets values of its class and of any length the spec allows (0 and max included for
 * variable fields), sub-fields any whole prefix, TLV any list of well-formed tags. Used for the
 * round-trip properties and to build the fuzz corpus.
 */
import fc from 'fast-check';
import type { FieldValue, Message, SubfieldValue, TlvData } from '../message.js';
import { ALLOWED, type TextClass } from '../primitives.js';
import type { FieldClass, FieldSpec, MessageSpec, PositionalSubfield } from '../spec.js';

const charsOf = (cls: TextClass): string[] => {
  const out: string[] = [];
  ALLOWED[cls].forEach((ok, code) => {
    if (ok) out.push(String.fromCharCode(code));
  });
  return out;
};
const CHARS = new Map<TextClass, fc.Arbitrary<string>>();
const charArb = (cls: TextClass): fc.Arbitrary<string> => {
  let a = CHARS.get(cls);
  if (!a) CHARS.set(cls, (a = fc.constantFrom(...charsOf(cls))));
  return a;
};

/** A value of `cls` with exactly `min`..`max` units. */
export function valueOf(cls: FieldClass, min: number, max: number): fc.Arbitrary<SubfieldValue> {
  if (cls === 'b') return fc.uint8Array({ minLength: min, maxLength: max }).map((u) => Buffer.from(u));
  if (cls === 'xn') {
    return fc
      .tuple(fc.constantFrom('C', 'D'), fc.string({ unit: charArb('n'), minLength: Math.max(0, min - 1), maxLength: max - 1 }))
      .map(([s, d]) => s + d);
  }
  return fc.string({ unit: charArb(cls), minLength: min, maxLength: max });
}

/** A few real EMV tags plus any well-formed 1- or 2-byte tag. */
const tagArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('9F26', '9F27', '9F10', '9F37', '9F36', '95', '9A', '9C', '9F02', '5F2A', '82', '84', '91', '71', '72', '9F01'),
  fc
    .integer({ min: 0, max: 255 })
    .filter((b) => (b & 0x1f) !== 0x1f)
    .map((b) => b.toString(16).toUpperCase().padStart(2, '0')),
  fc
    .tuple(fc.constantFrom(0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xdf, 0xff), fc.integer({ min: 0, max: 0x7f }))
    .map(([a, b]) => ((a << 8) | b).toString(16).toUpperCase().padStart(4, '0')),
);

function tlvArb(maxBytes: number): fc.Arbitrary<TlvData> {
  const item = fc.record({
    tag: tagArb,
    // Mostly short values, sometimes long enough for the 0x81 and 0x82 length forms.
    value: fc
      .oneof(
        { weight: 8, arbitrary: fc.uint8Array({ maxLength: 20 }) },
        { weight: 1, arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }) },
      )
      .map((u) => Buffer.from(u)),
  });
  const size = (d: TlvData): number =>
    d.reduce((n, { tag, value }) => n + tag.length / 2 + (value.length < 0x80 ? 1 : value.length < 0x100 ? 2 : 3) + value.length, 0);
  return fc.array(item, { maxLength: 12 }).filter((d) => size(d) <= maxBytes);
}

function positionalArb(f: FieldSpec, subs: readonly PositionalSubfield[]): fc.Arbitrary<Map<number, SubfieldValue>> {
  const fixedTotal = subs.reduce((n, s) => n + (s.length === 'rest' ? 0 : s.length), 0);
  const restMax = f.max - fixedTotal;
  const arbs = subs.map((s) =>
    s.length === 'rest' ? valueOf(s.class, 1, Math.max(1, Math.min(restMax, 40))) : valueOf(s.class, s.length, s.length),
  );
  // A fixed parent needs every fixed sub-field; a variable one any whole prefix.
  const minCount = f.length === 'fixed' ? subs.length : 0;
  return fc
    .integer({ min: minCount, max: subs.length })
    .chain((k) => fc.tuple(...arbs.slice(0, k)))
    .filter((values) => values.length === 0 || subs[values.length - 1]!.length !== 'rest' || restMax >= 1)
    .map((values) => new Map(values.map((v, i) => [i + 1, v])));
}

/**
 * Values of a field. Variable fields get mostly short values and sometimes their maximum length,
 * unless `small` (fuzz corpora: messages of a few hundred bytes keep a million mutations fast).
 */
export function fieldArb(f: FieldSpec, small = false): fc.Arbitrary<FieldValue> {
  if (f.sub?.kind === 'tlv') return tlvArb(small ? Math.min(f.max, 60) : f.max);
  if (f.sub?.kind === 'positional') return positionalArb(f, f.sub.fields);
  if (f.length === 'fixed') return valueOf(f.class, f.max, f.max);
  const short = valueOf(f.class, 0, Math.min(f.max, small ? 12 : 24));
  return small ? short : fc.oneof({ weight: 4, arbitrary: short }, { weight: 1, arbitrary: valueOf(f.class, f.max, f.max) });
}

/** A valid message of `spec` with a random subset of its fields (`small`: see fieldArb). */
export function messageArb(spec: MessageSpec, mtis: readonly string[] = ['0200'], small = false): fc.Arbitrary<Message> {
  const numbers = Object.keys(spec.fields).map(Number);
  const fieldArbs = Object.fromEntries(numbers.map((n) => [n, fieldArb(spec.fields[n]!, small)]));
  return fc
    .record({
      mti: fc.constantFrom(...mtis),
      picked: fc.subarray(numbers, small ? { maxLength: 20 } : {}),
      tpdu: fc.record({ destination: hex4, source: hex4 }),
      header:
        spec.layout.header?.encoding === 'hex'
          ? hexString(spec.layout.header.bytes)
          : valueOf('ans', spec.layout.header?.bytes ?? 0, spec.layout.header?.bytes ?? 0),
    })
    .chain(({ mti, picked, tpdu, header }) =>
      fc.tuple(...picked.map((n) => fieldArbs[n]!)).map((values) => {
        const m: Message = { mti, fields: new Map(picked.map((n, i) => [n, values[i]!])) };
        if (spec.layout.tpdu) m.tpdu = tpdu;
        if (spec.layout.header) m.header = header as string;
        return m;
      }),
    );
}

const hex4 = fc.integer({ min: 0, max: 0xffff }).map((v) => v.toString(16).toUpperCase().padStart(4, '0'));
const hexString = (bytes: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((u) => Buffer.from(u).toString('hex').toUpperCase());
