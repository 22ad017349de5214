import { describe, expect, it } from 'vitest';
import type { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { assignStages, downloadSpreadS, stageSizes, validateStages } from './rollouts.js';

describe('rollout stages', () => {
  it('validates percentages', () => {
    const code = (stages: number[]): string => {
      try {
        validateStages(stages);
        return 'ok';
      } catch (error) {
        return (error as XiaoweiError).code;
      }
    };
    expect(code([1, 10, 100])).toBe('ok');
    expect(code([100])).toBe('ok');
    for (const bad of [[], [10, 50], [10, 10, 100], [50, 10, 100], [0, 100], [1.5, 100], [1, 101], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]]) expect(code(bad), JSON.stringify(bad)).toBe('rollout_invalid');
  });

  it('cuts exact proportions, rounding each stage end up', () => {
    expect(stageSizes(200, [1, 10, 100])).toEqual([2, 18, 180]);
    expect(stageSizes(1000, [1, 10, 50, 100])).toEqual([10, 90, 400, 500]);
    // A tiny first stage still reaches one terminal; a stage may end up empty.
    expect(stageSizes(5, [1, 10, 100])).toEqual([1, 0, 4]);
    expect(stageSizes(1, [1, 10, 100])).toEqual([1, 0, 0]);
    expect(stageSizes(0, [1, 100])).toEqual([0, 0]);
  });

  it('assigns 200 terminals deterministically, whatever their order', () => {
    const ids = Array.from({ length: 200 }, () => newId());
    const a = assignStages(ids, [1, 10, 100]);
    const b = assignStages([...ids].reverse(), [1, 10, 100]);
    expect([...a].sort()).toEqual([...b].sort());
    const counts = [0, 0, 0];
    for (const stage of a.values()) counts[stage]!++;
    expect(counts).toEqual([2, 18, 180]);
    expect(a.size).toBe(200);
    // The order is the terminal id's hash, not the input order or chance: the same ids, the same stages.
    expect([...assignStages(ids, [1, 10, 100])]).toEqual([...a]);
    // Duplicates count once.
    expect(assignStages(['a', 'a', 'b'], [50, 100]).size).toBe(2);
  });

  it('spreads a large stage’s downloads at about 100 a second, a small one not at all', () => {
    const day = 86_400;
    expect(downloadSpreadS(1, day)).toBe(0);
    expect(downloadSpreadS(100, day)).toBe(0);
    expect(downloadSpreadS(101, day)).toBe(2);
    expect(downloadSpreadS(20_000, day)).toBe(200);
  });

  it('never spreads downloads over more than a quarter of the stage deadline', () => {
    // A one-minute stage of 20,000 terminals: all must be able to start within 15 s.
    expect(downloadSpreadS(20_000, 60)).toBe(15);
    expect(downloadSpreadS(20_000, 600)).toBe(150);
  });
});
