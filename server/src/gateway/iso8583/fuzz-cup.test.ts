/**
 * Fuzz, CUP POS layout: 500,000 mutated and random buffers through unpack (the machinery and why
 * it is a seeded loop plus a smaller fast-check property: test-support/fuzz.ts).
 */
import { describe, expect, it } from 'vitest';
import { CUP_POS, pack } from './index.js';
import { CUP_MESSAGES } from './test-support/cup-samples.js';
import { RUNS_PER_SPEC, SEED, corpus, fastCheckFuzz, fuzz } from './test-support/fuzz.js';

describe('fuzz CUP POS: only Iso8583Error', () => {
  it(`${RUNS_PER_SPEC} mutated and random buffers`, () => {
    const seeds = corpus(
      CUP_POS,
      Object.values(CUP_MESSAGES).map((build) => pack(CUP_POS, build())),
      SEED,
    );
    const outcome = fuzz(CUP_POS, seeds, SEED);
    // The mutations reach every layer of the decoder, not just the first bytes.
    for (const code of [
      'short_buffer',
      'bitmap_past_end',
      'bad_length_prefix',
      'not_numeric',
      'bad_charset',
      'unknown_field',
      'trailing_bytes',
      'bad_header',
      'bad_subfields',
      'bad_tlv',
    ]) {
      expect(outcome.codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    expect(outcome.decoded).toBeGreaterThan(0);
  });

  it('fast-check: shrinkable mutation lists and random bytes', () => {
    fastCheckFuzz(CUP_POS, 5_000);
  });
});
