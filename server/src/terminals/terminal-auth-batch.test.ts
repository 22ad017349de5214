import { describe, expect, it, vi } from 'vitest';
import { TickBatcher } from './terminal-auth-batch.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TickBatcher', () => {
  it('starts a group at the next tick by default', async () => {
    const groups: number[][] = [];
    const batcher = new TickBatcher<number, number>({ run: (items) => (groups.push(items), items.map((i) => i * 2)), maxBatch: 100, maxQueue: 100 });
    const answers: number[] = [];
    for (const i of [1, 2, 3]) {
      answers.push(await batcher.submit(i));
      await tick();
    }
    expect(answers).toEqual([2, 4, 6]);
    expect(groups).toEqual([[1], [2], [3]]);
  });

  it('with minIntervalMs, gathers what arrives meanwhile into the next group, and drain waits for it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const groups: number[][] = [];
      const batcher = new TickBatcher<number, number>({ run: async (items) => (groups.push(items), items.map((i) => i * 2)), maxBatch: 100, maxQueue: 100, minIntervalMs: 100 });
      expect(await batcher.submit(1)).toBe(2);
      const later = Promise.all([2, 3, 4].map((i) => batcher.submit(i)));
      await tick();
      await tick();
      expect(groups).toEqual([[1]]);
      // Nothing is dropped: the group waits its turn, and drain resolves once it has run.
      let drained = false;
      void batcher.drain().then(() => (drained = true));
      await vi.advanceTimersByTimeAsync(50);
      expect(groups).toEqual([[1]]);
      expect(drained).toBe(false);
      await vi.advanceTimersByTimeAsync(50);
      expect(await later).toEqual([4, 6, 8]);
      expect(groups).toEqual([[1], [2, 3, 4]]);
      await tick();
      expect(drained).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
