/** Test helpers for code that waits on the WAL sync (`wal-sync.ts`): the ledger's and the group writer's tests. */
import { expect } from 'vitest';

/** A log sync the test finishes (or fails) by hand; each call is one sync. Pass `fn` to `WalSync.of`. */
export class ManualSync {
  calls: { resolve: () => void; reject: (e: Error) => void }[] = [];
  readonly fn = (): Promise<void> => new Promise((resolve, reject) => this.calls.push({ resolve, reject }));
  async waitForCall(n: number): Promise<void> {
    for (let i = 0; i < 500 && this.calls.length < n; i++) await new Promise((r) => setTimeout(r, 2));
    expect(this.calls.length).toBeGreaterThanOrEqual(n);
  }
}

/** Whether a promise has settled, after letting everything runnable run (a few rounds of setImmediate). */
export async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}
