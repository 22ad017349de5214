/**
 * Fuzz, ISO 8583:1987 ASCII: 500,000 mutated and random buffers through unpack (the machinery and
 * why it is a seeded loop plus a smaller fast-check property: test-support/fuzz.ts).
 */
import { describe, expect, it } from 'vitest';
import { ISO8583_1987_ASCII } from './index.js';
import { RUNS_PER_SPEC, SEED, corpus, fastCheckFuzz, fuzz } from './test-support/fuzz.js';

describe('fuzz ISO 8583:1987 ASCII: only Iso8583Error', () => {
  it(`${RUNS_PER_SPEC} mutated and random buffers`, () => {
    const seeds = corpus(ISO8583_1987_ASCII, [], SEED + 1);
    const outcome = fuzz(ISO8583_1987_ASCII, seeds, SEED + 1);
    for (const code of [
      'short_buffer',
      'bitmap_past_end',
      'bad_length_prefix',
      'not_numeric',
      'bad_charset',
      'bad_hex',
      'trailing_bytes',
    ]) {
      expect(outcome.codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    expect(outcome.decoded).toBeGreaterThan(0);
  });

  it('fast-check: shrinkable mutation lists and random bytes', () => {
    fastCheckFuzz(ISO8583_1987_ASCII, 5_000);
  });
});
