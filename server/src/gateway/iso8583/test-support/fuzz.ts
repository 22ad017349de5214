/**
 * Fuzzing unpack with 1,000,000 hostile buffers (500,000 per spec): mutations of valid packed
 * messages — bit flips, truncation, length-prefix corruption, insertions, deletions, splices,
 * interesting bytes — and plain random bytes. The only thing unpack may throw is Iso8583Error;
 * whatever it accepts must pack back and read back the same (decode → encode is a fixpoint).
 *
 * Why two parts: fast-check costs tens of microseconds per run in generation and bookkeeping, so
 * a million runs through fc.assert would take minutes. The bulk runs through a loop driven by a
 * seeded PRNG (reproducible: the seed and case number are in the failure message); a smaller
 * fast-check property over explicit mutation lists keeps shrinking for when something breaks.
 * XIAOWEI_ISO_FUZZ_RUNS scales the loop (default 500,000 per spec). One test file per spec
 * (fuzz-cup.test.ts, fuzz-ascii.test.ts) so that vitest runs them on two cores at once.
 */
import fc from 'fast-check';
import { Iso8583Error, locateFields, pack, unpack, type FieldLocation, type MessageSpec } from '../index.js';
import { messageArb } from './arbitrary.js';

export const RUNS_PER_SPEC = Number(process.env.XIAOWEI_ISO_FUZZ_RUNS ?? 500_000);
export const SEED = Number(process.env.XIAOWEI_ISO_FUZZ_SEED ?? 0x8583);

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Seed {
  bytes: Buffer;
  spots: FieldLocation[];
}

export function corpus(spec: MessageSpec, extra: Buffer[], seed: number): Seed[] {
  const sampled = fc.sample(messageArb(spec, ['0100', '0200', '0210', '0800'], true), { seed, numRuns: 150 }).map((m) => pack(spec, m));
  return [...extra, ...sampled].map((bytes) => ({ bytes, spots: locateFields(spec, bytes) }));
}

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x30, 0x39, 0x3a, 0x3d, 0x41, 0x60, 0x99, 0x9f, 0x1f, 0x20, 0x09];

/** One to three stacked mutations of a seed (or, one time in ten, random bytes). */
export function mutate(rand: () => number, seed: Seed): Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  if (int(10) === 0) {
    const out = Buffer.allocUnsafe(int(600));
    for (let i = 0; i < out.length; i++) out[i] = int(256);
    return out;
  }
  let b = Buffer.from(seed.bytes);
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    const len = b.length;
    switch (int(7)) {
      case 0: {
        // bit flips
        const flips = 1 + int(4);
        for (let i = 0; i < flips && len > 0; i++) b[int(len)]! ^= 1 << int(8);
        break;
      }
      case 1:
        // truncation
        b = b.subarray(0, int(len + 1));
        break;
      case 2: {
        // length-prefix corruption of a variable field
        const prefixed = seed.spots.filter((s) => s.dataStart > s.start && s.dataStart <= len);
        if (prefixed.length === 0) break;
        const s = prefixed[int(prefixed.length)]!;
        for (let i = s.start; i < s.dataStart; i++) b[i] = int(2) === 0 ? INTERESTING[int(INTERESTING.length)]! : int(256);
        break;
      }
      case 3: {
        // insertion
        const at = int(len + 1);
        const ins = Buffer.allocUnsafe(1 + int(8));
        for (let i = 0; i < ins.length; i++) ins[i] = int(256);
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 4: {
        // deletion
        const at = int(len + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(len, at + 1 + int(16)))]);
        break;
      }
      case 5:
        // an interesting byte
        if (len > 0) b[int(len)] = INTERESTING[int(INTERESTING.length)]!;
        break;
      default: {
        // splice: a range of the message copied elsewhere
        const from = int(len + 1);
        const to = Math.min(len, from + int(32));
        const at = int(len + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, to), b.subarray(at)]);
      }
    }
  }
  return b;
}

export interface Outcome {
  decoded: number;
  codes: Map<string, number>;
}

/** unpack must throw Iso8583Error or return a message that re-packs to a fixpoint. */
export function probe(spec: MessageSpec, bytes: Buffer, outcome: Outcome): void {
  let message;
  try {
    message = unpack(spec, bytes);
  } catch (e) {
    if (e instanceof Iso8583Error) {
      outcome.codes.set(e.code, (outcome.codes.get(e.code) ?? 0) + 1);
      return;
    }
    throw e;
  }
  outcome.decoded++;
  // Accepted input: packing it must work, and what it packs to must read back to the same.
  const again = pack(spec, message);
  const reread = unpack(spec, again);
  if (!pack(spec, reread).equals(again)) throw new Error('decode → encode is not a fixpoint');
}

export function fuzz(spec: MessageSpec, seeds: Seed[], seed: number): Outcome {
  const rand = prng(seed);
  const outcome: Outcome = { decoded: 0, codes: new Map() };
  for (let i = 0; i < RUNS_PER_SPEC; i++) {
    const base = seeds[Math.floor(rand() * seeds.length)]!;
    const bytes = mutate(rand, base);
    try {
      probe(spec, bytes, outcome);
    } catch (e) {
      throw new Error(`case ${i} (seed ${seed}, input ${bytes.toString('hex')}): ${String(e)}`, { cause: e });
    }
  }
  return outcome;
}

// ---- explicit mutation lists, for the shrinkable fast-check property -------------------------

export const op = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);
export type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;
export const apply = (input: Buffer, ops: Op[]): Buffer => {
  let b = Buffer.from(input);
  for (const o of ops) {
    const at = b.length === 0 ? 0 : o.at % (b.length + (o.kind === 'insert' ? 1 : 0));
    if (o.kind === 'flip' && b.length > 0) b[at]! ^= 1 << o.bit;
    else if (o.kind === 'cut') b = b.subarray(0, at);
    else if (o.kind === 'set' && b.length > 0) b[at] = o.byte;
    else if (o.kind === 'insert') b = Buffer.concat([b.subarray(0, at), o.bytes, b.subarray(at)]);
    else if (o.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + o.count)]);
  }
  return b;
};

/** fast-check: mutations of random valid messages, and random bytes, through probe. */
export function fastCheckFuzz(spec: MessageSpec, numRuns: number): void {
  const outcome: Outcome = { decoded: 0, codes: new Map() };
  fc.assert(
    fc.property(messageArb(spec, ['0200'], true), fc.array(op, { minLength: 1, maxLength: 4 }), (m, ops) => {
      probe(spec, apply(pack(spec, m), ops), outcome);
    }),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => probe(spec, Buffer.from(bytes), outcome)),
    { numRuns },
  );
}
